// The takeover safety net of the VIP (vip_agent.h: vip_probe_holder, make_probing_vip_agent) in a
// network namespace of the test's own (root only): a veth pair, the "other holder" is the far
// end carrying the VIP. The probe sees its answer (and how fast it comes), sees nothing once the
// address is gone, and the probing agent does not add an address that still answers elsewhere.
#include "cluster/vip_agent.h"
#include "private_veth.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <thread>
#include <vector>

namespace hapbx::cluster {
namespace {

using namespace std::chrono_literals;

class VipProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace of its own)";
    ASSERT_TRUE(test_net::enter_namespace_with_veth("probe0", "holder0"));
  }
  const VipSpec mine_{"198.18.0.10", 24, "probe0", ""};
  const VipSpec theirs_{"198.18.0.10", 24, "holder0", ""};
};

TEST_F(VipProbeTest, SeesAHolderAndNothingOnceItIsGone) {
  ASSERT_TRUE(vip_add(theirs_));
  // The holder's answer, and how long a probe takes when one comes (a few runs, the slowest).
  double slowest = 0;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto h = vip_probe_holder(mine_, {std::chrono::milliseconds(50), 2});
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(h) << h.error().message;
    ASSERT_TRUE(*h) << "the holder did not answer the probe";
    EXPECT_EQ(h->value().size(), 17u) << **h;
    slowest = std::max(slowest, ms);
  }
  std::printf("ARP probe answered within %.2f ms (slowest of 5)\n", slowest);
  EXPECT_LT(slowest, 50.0);
  ASSERT_TRUE(vip_remove(theirs_));
  // Nobody answers: the probe costs its window and says so.
  const auto t0 = std::chrono::steady_clock::now();
  auto none = vip_probe_holder(mine_);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(*none) << **none;
  EXPECT_GE(took, ProbeOptions{}.window);
  EXPECT_LT(took, ProbeOptions{}.window + 20ms);
  std::printf("ARP probe without an answer: %.2f ms\n", std::chrono::duration<double, std::milli>(took).count());
}

TEST_F(VipProbeTest, AfterASuccessfulFenceAnAnswerDoesNotHoldTheTakeover) {
  ASSERT_TRUE(vip_add(theirs_));
  VipTakeoverOptions o;
  o.give_up = 5000ms;
  o.peer_fenced = [] { return true; };
  auto agent = make_probing_vip_agent(make_vip_agent(mine_, "IPaddr::198.18.0.10/24/probe0"), mine_, o);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(agent->start());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms);
  EXPECT_TRUE(*vip_present(mine_));
  ASSERT_TRUE(agent->stop());
}

TEST_F(VipProbeTest, ErrorsNameTheInterfaceAndIpv6IsNotProbed) {
  auto bad = vip_probe_holder(VipSpec{"198.18.0.10", 24, "nosuch0", ""});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("nosuch0"), std::string::npos) << bad.error().message;
  auto v6 = vip_probe_holder(VipSpec{"2001:db8::10", 64, "probe0", ""});
  ASSERT_TRUE(v6);
  EXPECT_FALSE(*v6);
}

TEST_F(VipProbeTest, TheProbingAgentWaitsWhileTheAddressAnswersElsewhere) {
  ASSERT_TRUE(vip_add(theirs_));
  VipTakeoverOptions o;
  o.give_up = 300ms;
  o.retry = 20ms;
  auto agent = make_probing_vip_agent(make_vip_agent(mine_, "IPaddr::198.18.0.10/24/probe0"), mine_, o);
  auto s = agent->start();
  ASSERT_FALSE(s) << "added an address another host answers for";
  EXPECT_NE(s.error().message.find("still answers"), std::string::npos) << s.error().message;
  EXPECT_FALSE(*vip_present(mine_));
  // The other holder lets go while we wait: we add it then.
  o.give_up = 3000ms;
  agent = make_probing_vip_agent(make_vip_agent(mine_, "IPaddr::198.18.0.10/24/probe0"), mine_, o);
  std::thread release([this] {
    std::this_thread::sleep_for(150ms);
    (void)vip_remove(theirs_);
  });
  const auto t0 = std::chrono::steady_clock::now();
  s = agent->start();
  release.join();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
  EXPECT_TRUE(*vip_present(mine_));
  // Already ours (a restart in place): no probe needed, and the far end answering does not matter.
  ASSERT_TRUE(agent->start());
  ASSERT_TRUE(agent->stop());
  EXPECT_FALSE(*vip_present(mine_));
}

}  // namespace
}  // namespace hapbx::cluster

namespace hapbx::cluster {
namespace {

// What the probe adds to a VIP start (the takeover's critical path): the median of three starts
// with and without it, printed; the difference stays within the probe window plus a margin.
TEST_F(VipProbeTest, CostOfTheProbeOnAStart) {
  auto median_start_ms = [&](bool probing) {
    std::vector<double> runs;
    for (int i = 0; i < 3; ++i) {
      auto plain = make_vip_agent(mine_, "IPaddr::198.18.0.10/24/probe0");
      auto agent = probing ? make_probing_vip_agent(std::move(plain), mine_) : std::move(plain);
      const auto t0 = std::chrono::steady_clock::now();
      EXPECT_TRUE(agent->start());
      runs.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      EXPECT_TRUE(agent->stop());
    }
    std::sort(runs.begin(), runs.end());
    return runs[runs.size() / 2];
  };
  const double plain = median_start_ms(false), probing = median_start_ms(true);
  std::printf("VIP start: %.2f ms without the probe, %.2f ms with it (median of 3)\n", plain, probing);
  const double window_ms = std::chrono::duration<double, std::milli>(ProbeOptions{}.window).count();
  EXPECT_LT(probing - plain, window_ms + 10.0);
}

}  // namespace
}  // namespace hapbx::cluster
