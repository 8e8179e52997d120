// The port pool: even RTP ports with their RTCP neighbour inside the range, exhaustion, reuse.
#include "media/port_pool.h"

#include <gtest/gtest.h>

#include <set>

namespace hapbx::media {
namespace {

TEST(PortPool, HandsOutEvenPortsWhoseRtcpNeighbourIsInRange) {
  PortPool pool(10001, 10010);     // odd start rounds up; 10010 cannot hold a pair (10011 is out)
  EXPECT_EQ(pool.capacity(), 4u);  // 10002 10004 10006 10008
  std::set<uint16_t> seen;
  while (auto port = pool.acquire()) {
    EXPECT_EQ(*port % 2, 0);
    EXPECT_GE(*port, 10002);
    EXPECT_LE(*port + 1, 10010);
    seen.insert(*port);
  }
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(pool.free(), 0u);
}

TEST(PortPool, InclusiveEndHoldsTheLastPair) {
  PortPool pool(10000, 10003);
  EXPECT_EQ(pool.capacity(), 2u);
  PortPool single(10000, 10001);
  EXPECT_EQ(single.capacity(), 1u);
  PortPool none(10001, 10002);
  EXPECT_EQ(none.capacity(), 0u);
  EXPECT_FALSE(none.acquire());
}

TEST(PortPool, ReleasedPortIsReusedAtOnceWhenItIsTheOnlyOne) {
  PortPool pool(20000, 20003);
  auto a = pool.acquire();
  auto b = pool.acquire();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(pool.acquire());
  pool.release(*a);
  auto again = pool.acquire();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *a);
}

TEST(PortPool, ReleasedPortsGoToTheBackOfTheQueue) {
  PortPool pool(20000, 20007);  // 20000 20002 20004 20006
  auto a = pool.acquire();
  ASSERT_TRUE(a);
  pool.release(*a);
  EXPECT_EQ(*pool.acquire(), 20002);  // the oldest free port first
}

TEST(PortPool, IgnoresDoubleAndForeignReleases) {
  PortPool pool(20000, 20003);
  auto a = pool.acquire();
  ASSERT_TRUE(a);
  pool.release(*a);
  pool.release(*a);
  pool.release(20001);
  pool.release(30000);
  pool.release(19998);
  EXPECT_EQ(pool.free(), 2u);
}

TEST(PortPool, TopOfThePortSpace) {
  PortPool pool(65530, 65535);
  EXPECT_EQ(pool.capacity(), 3u);  // 65530 65532 65534 (RTCP 65535)
}

}  // namespace
}  // namespace hapbx::media
