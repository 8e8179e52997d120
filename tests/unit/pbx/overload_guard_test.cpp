// The overload guard's hysteresis, on a manual clock.
#include "pbx/overload_guard.h"

#include <gtest/gtest.h>

namespace hapbx::pbx {
namespace {

using std::chrono::milliseconds;

class OverloadGuardTest : public ::testing::Test {
 protected:
  // One check that ran `lag` late.
  bool sample(milliseconds lag) {
    const auto scheduled = clock_.now();
    clock_.advance(lag);
    const bool changed = guard_.on_sample(scheduled, clock_.now());
    clock_.advance(milliseconds(20));
    return changed;
  }
  core::ManualClock clock_;
  OverloadGuard guard_;
};

TEST_F(OverloadGuardTest, OnTimeLoopIsNotOverloaded) {
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(sample(milliseconds(5)));
  EXPECT_FALSE(guard_.overloaded());
  EXPECT_EQ(guard_.episodes(), 0u);
}

TEST_F(OverloadGuardTest, OneLateCheckEntersOverload) {
  EXPECT_FALSE(sample(milliseconds(199)));
  EXPECT_FALSE(guard_.overloaded());
  EXPECT_TRUE(sample(milliseconds(200)));
  EXPECT_TRUE(guard_.overloaded());
  EXPECT_EQ(guard_.episodes(), 1u);
  EXPECT_EQ(guard_.worst_lag(), milliseconds(200));
}

TEST_F(OverloadGuardTest, LeavesOnlyAfterASecondOfCalm) {
  sample(milliseconds(300));
  ASSERT_TRUE(guard_.overloaded());
  // 39 ms per sample (19 late + 20 period): the 26th after the first calm one is 1 s later.
  for (int i = 0; i < 24; ++i) EXPECT_FALSE(sample(milliseconds(19))) << i;
  EXPECT_TRUE(guard_.overloaded());
  bool left = false;
  for (int i = 0; i < 3 && !left; ++i) left = sample(milliseconds(19));
  EXPECT_TRUE(left);
  EXPECT_FALSE(guard_.overloaded());
}

TEST_F(OverloadGuardTest, ALateSampleRestartsTheCalmPeriod) {
  sample(milliseconds(300));
  for (int i = 0; i < 20; ++i) sample(milliseconds(5));
  sample(milliseconds(50));  // not enough to enter, too much to count as calm
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(sample(milliseconds(5)));
  EXPECT_TRUE(guard_.overloaded());
  EXPECT_EQ(guard_.episodes(), 1u);
}

TEST_F(OverloadGuardTest, AQueueDelayCountsLikeALateTimer) {
  EXPECT_FALSE(guard_.on_lag(milliseconds(150), clock_.now()));
  EXPECT_TRUE(guard_.on_lag(milliseconds(250), clock_.now()));
  EXPECT_TRUE(guard_.overloaded());
  EXPECT_FALSE(guard_.on_lag(milliseconds(-5), clock_.now()));  // a clock step is no lag
}

TEST_F(OverloadGuardTest, ATimerThatFiresEarlyIsNoLag) {
  const auto scheduled = clock_.now() + milliseconds(10);
  EXPECT_FALSE(guard_.on_sample(scheduled, clock_.now()));
  EXPECT_EQ(guard_.worst_lag(), milliseconds(0));
}

}  // namespace
}  // namespace hapbx::pbx
