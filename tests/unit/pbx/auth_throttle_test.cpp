// Per-source authentication throttle, driven by a ManualClock.
#include "pbx/auth_throttle.h"

#include <gtest/gtest.h>

#include <string>

namespace hapbx::pbx {
namespace {

using core::seconds;

AuthThrottleOptions small_options() {
  AuthThrottleOptions o;
  o.max_failures = 3;
  o.window = seconds(60);
  o.block_for = seconds(300);
  o.max_sources = 100;
  return o;
}

TEST(AuthThrottle, BlocksAfterNFailuresAndLogsOnce) {
  core::ManualClock clock;
  AuthThrottle t(small_options());
  const std::string ip = "198.18.0.100";
  EXPECT_FALSE(t.check(ip, clock.now()).blocked);
  auto r1 = t.record_failure(ip, clock.now());
  EXPECT_FALSE(r1.blocked);
  EXPECT_EQ(r1.failures, 1u);
  clock.advance(seconds(1));
  EXPECT_FALSE(t.record_failure(ip, clock.now()).blocked);
  clock.advance(seconds(1));
  auto r3 = t.record_failure(ip, clock.now());
  EXPECT_TRUE(r3.blocked);
  EXPECT_TRUE(r3.just_blocked);
  EXPECT_EQ(t.blocks_started(), 1u);

  auto c = t.check(ip, clock.now());
  EXPECT_TRUE(c.blocked);
  EXPECT_EQ(c.blocked_until, clock.now() + seconds(300));
  // A failure reported during the block does not start another one (one log line per block).
  auto again = t.record_failure(ip, clock.now());
  EXPECT_TRUE(again.blocked);
  EXPECT_FALSE(again.just_blocked);
  EXPECT_EQ(t.blocks_started(), 1u);
  // Other sources are not affected.
  EXPECT_FALSE(t.check("198.18.0.101", clock.now()).blocked);
}

TEST(AuthThrottle, UnblocksAfterTheBlockTime) {
  core::ManualClock clock;
  AuthThrottle t(small_options());
  for (int i = 0; i < 3; ++i) (void)t.record_failure("10.0.0.1", clock.now());
  clock.advance(seconds(299));
  EXPECT_TRUE(t.check("10.0.0.1", clock.now()).blocked);
  clock.advance(seconds(1));
  EXPECT_FALSE(t.check("10.0.0.1", clock.now()).blocked);
  // It starts afresh: one failure does not block again.
  EXPECT_FALSE(t.record_failure("10.0.0.1", clock.now()).blocked);
}

TEST(AuthThrottle, FailuresOutsideTheWindowDoNotAddUp) {
  core::ManualClock clock;
  AuthThrottle t(small_options());
  (void)t.record_failure("10.0.0.1", clock.now());
  (void)t.record_failure("10.0.0.1", clock.now());
  clock.advance(seconds(60));  // the window has ended
  auto r = t.record_failure("10.0.0.1", clock.now());
  EXPECT_FALSE(r.blocked);
  EXPECT_EQ(r.failures, 1u);
}

TEST(AuthThrottle, SuccessResetsTheCount) {
  core::ManualClock clock;
  AuthThrottle t(small_options());
  (void)t.record_failure("10.0.0.1", clock.now());
  (void)t.record_failure("10.0.0.1", clock.now());
  t.record_success("10.0.0.1", clock.now());
  EXPECT_EQ(t.size(), 0u);
  EXPECT_FALSE(t.record_failure("10.0.0.1", clock.now()).blocked);
  EXPECT_FALSE(t.record_failure("10.0.0.1", clock.now()).blocked);
  EXPECT_TRUE(t.record_failure("10.0.0.1", clock.now()).blocked);
  // A success cannot lift a block.
  t.record_success("10.0.0.1", clock.now());
  EXPECT_TRUE(t.check("10.0.0.1", clock.now()).blocked);
  t.record_success("10.9.9.9", clock.now());  // unknown source: nothing to do
}

TEST(AuthThrottle, TableIsBounded) {
  core::ManualClock clock;
  AuthThrottleOptions o = small_options();
  o.max_sources = 10;
  AuthThrottle t(o);
  for (int i = 0; i < 1000; ++i) {
    (void)t.record_failure("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256),
                           clock.now());
    ASSERT_LE(t.size(), 10u);
  }
  EXPECT_EQ(t.evictions(), 990u);
}

TEST(AuthThrottle, ExpiredEntriesAreDroppedBeforeLiveOnes) {
  core::ManualClock clock;
  AuthThrottleOptions o = small_options();
  o.max_sources = 3;
  AuthThrottle t(o);
  for (int i = 0; i < 3; ++i) (void)t.record_failure("10.0.0.9", clock.now());  // blocked
  (void)t.record_failure("10.0.0.1", clock.now());
  (void)t.record_failure("10.0.0.2", clock.now());
  clock.advance(seconds(61));  // the two single failures are expired; the block is not
  (void)t.record_failure("10.0.0.3", clock.now());
  (void)t.record_failure("10.0.0.4", clock.now());
  EXPECT_EQ(t.evictions(), 0u);
  EXPECT_TRUE(t.check("10.0.0.9", clock.now()).blocked);
  EXPECT_EQ(t.size(), 3u);
}

TEST(AuthThrottle, RecentlyTouchedSurvivesEviction) {
  core::ManualClock clock;
  AuthThrottleOptions o = small_options();
  o.max_sources = 2;
  AuthThrottle t(o);
  (void)t.record_failure("a", clock.now());
  clock.advance(seconds(1));
  (void)t.record_failure("b", clock.now());
  clock.advance(seconds(1));
  (void)t.record_failure("a", clock.now());  // a is now the most recent
  clock.advance(seconds(1));
  (void)t.record_failure("c", clock.now());  // evicts b
  EXPECT_EQ(t.record_failure("a", clock.now()).failures, 3u);  // a kept its count
  EXPECT_EQ(t.evictions(), 1u);
}

TEST(AuthThrottle, SprayFromManySourcesDoesNotEvictABlock) {
  core::ManualClock clock;
  AuthThrottleOptions o = small_options();
  o.max_sources = 10;
  AuthThrottle t(o);
  for (int i = 0; i < 3; ++i) (void)t.record_failure("192.0.2.1", clock.now());
  for (int i = 0; i < 1000; ++i) (void)t.record_failure("10.1.0." + std::to_string(i), clock.now());
  EXPECT_TRUE(t.check("192.0.2.1", clock.now()).blocked);
  EXPECT_LE(t.size(), 20u);
}

}  // namespace
}  // namespace hapbx::pbx
