// LogRateLimiter: a burst per interval, then silence, then a count of what was held back.
#include <gtest/gtest.h>

#include "core/log.h"

namespace hapbx::core {
namespace {

TEST(LogRateLimiter, AllowsBurstThenCountsSuppressed) {
  ManualClock clock;
  LogRateLimiter limiter(2, seconds(10));
  uint64_t suppressed = 99;
  EXPECT_TRUE(limiter.allow(clock.now(), suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_TRUE(limiter.allow(clock.now(), suppressed));
  EXPECT_FALSE(limiter.allow(clock.now(), suppressed));
  EXPECT_FALSE(limiter.allow(clock.now(), suppressed));
  EXPECT_FALSE(limiter.allow(clock.now(), suppressed));
  clock.advance(seconds(9));
  EXPECT_FALSE(limiter.allow(clock.now(), suppressed));
  clock.advance(seconds(1));
  EXPECT_TRUE(limiter.allow(clock.now(), suppressed));
  EXPECT_EQ(suppressed, 4u);
  EXPECT_TRUE(limiter.allow(clock.now(), suppressed));
  EXPECT_EQ(suppressed, 0u);
}

}  // namespace
}  // namespace hapbx::core
