// Result/Status: value and error paths.
#include "core/result.h"

#include <gtest/gtest.h>

#include "core/clock.h"

namespace hapbx {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return make_error("not positive");
  return v;
}

TEST(Result, CarriesValueOrError) {
  auto good = parse_positive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "not positive");
}

TEST(Status, DefaultIsOk) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  Status failed = make_error("boom");
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message, "boom");
}

TEST(ManualClock, MovesOnlyWhenTold) {
  core::ManualClock clock;
  const auto start = clock.now();
  EXPECT_EQ(clock.now(), start);
  clock.advance(core::milliseconds(500));
  EXPECT_EQ(clock.now() - start, core::milliseconds(500));
}

}  // namespace
}  // namespace hapbx
