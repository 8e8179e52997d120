// The VIP agent in a network namespace of the test's own (root only): a veth pair, the VIP added,
// seen, announced (the frames captured on the other end of the veth and checked field by field),
// removed; IPv4 and IPv6; errors that name the interface.
#include "cluster/vip_agent.h"
#include "private_veth.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <vector>

namespace hapbx::cluster {
namespace {

class VipAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace of its own)";
    // Our own network namespace: nothing here can touch the machine's interfaces.
    ASSERT_TRUE(test_net::enter_namespace_with_veth("vip0", "vip0peer"));
  }

  // Frames of `ethertype` arriving on vip0peer until `count` came or 2 s passed.
  std::vector<std::vector<std::uint8_t>> capture_start(std::uint16_t ethertype) {
    cap_ = ::socket(AF_PACKET, SOCK_RAW, htons(ethertype));
    sockaddr_ll at{};
    at.sll_family = AF_PACKET;
    at.sll_protocol = htons(ethertype);
    at.sll_ifindex = static_cast<int>(if_nametoindex("vip0peer"));
    EXPECT_EQ(::bind(cap_, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
    return {};
  }
  std::vector<std::vector<std::uint8_t>> capture_wait(std::size_t count) {
    std::vector<std::vector<std::uint8_t>> frames;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (frames.size() < count && std::chrono::steady_clock::now() < deadline) {
      pollfd p{cap_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      std::vector<std::uint8_t> f(2048);
      const ssize_t n = ::recv(cap_, f.data(), f.size(), 0);
      if (n > 0) {
        f.resize(static_cast<std::size_t>(n));
        frames.push_back(std::move(f));
      }
    }
    ::close(cap_);
    return frames;
  }

  int cap_ = -1;
};

TEST_F(VipAgentTest, AddAnnounceRemoveIpv4) {
  const VipSpec vip{"198.18.0.10", 24, "vip0", ""};
  ASSERT_FALSE(*vip_present(vip));
  ASSERT_TRUE(vip_add(vip));
  EXPECT_TRUE(*vip_present(vip));
  EXPECT_TRUE(vip_add(vip)) << "adding it twice is fine";

  capture_start(ETH_P_ARP);
  ASSERT_TRUE(vip_announce(vip, {2, std::chrono::milliseconds(10)}));
  auto frames = capture_wait(4);
  ASSERT_EQ(frames.size(), 4u) << "two rounds of request + reply";
  int requests = 0, replies = 0;
  in_addr ip{};
  inet_pton(AF_INET, "198.18.0.10", &ip);
  for (const auto& f : frames) {
    ASSERT_GE(f.size(), 42u);
    EXPECT_EQ(std::memcmp(f.data(), "\xff\xff\xff\xff\xff\xff", 6), 0) << "broadcast";
    const std::uint8_t* a = f.data() + 14;
    EXPECT_EQ(std::memcmp(a + 14, &ip, 4), 0) << "sender IP is the VIP";
    EXPECT_EQ(std::memcmp(a + 24, &ip, 4), 0) << "target IP is the VIP";
    EXPECT_EQ(std::memcmp(a + 8, f.data() + 6, 6), 0) << "sender MAC is the interface's";
    if (a[7] == 1) ++requests;
    if (a[7] == 2) ++replies;
  }
  EXPECT_EQ(requests, 2);
  EXPECT_EQ(replies, 2);

  ASSERT_TRUE(vip_remove(vip));
  EXPECT_FALSE(*vip_present(vip));
  EXPECT_TRUE(vip_remove(vip)) << "removing it twice is fine";
}

TEST_F(VipAgentTest, AddAnnounceRemoveIpv6) {
  const VipSpec vip{"2001:db8::10", 64, "vip0", ""};
  ASSERT_TRUE(vip_add(vip));
  EXPECT_TRUE(*vip_present(vip));
  capture_start(ETH_P_IPV6);
  ASSERT_TRUE(vip_announce(vip, {1, std::chrono::milliseconds(10)}));
  in6_addr ip{};
  inet_pton(AF_INET6, "2001:db8::10", &ip);
  bool seen = false;
  for (const auto& f : capture_wait(8)) {
    // Ethernet 14 + IPv6 40: next header 58 (ICMPv6), type 136.
    if (f.size() < 14 + 40 + 32 || f[14 + 6] != IPPROTO_ICMPV6) continue;
    const std::uint8_t* icmp = f.data() + 14 + 40;
    if (icmp[0] != ND_NEIGHBOR_ADVERT) continue;
    seen = true;
    EXPECT_EQ(f[14 + 7], 255) << "hop limit 255";
    EXPECT_TRUE(icmp[4] & 0x20) << "override flag";
    EXPECT_FALSE(icmp[4] & 0x40) << "not solicited";
    EXPECT_EQ(std::memcmp(icmp + 8, &ip, 16), 0) << "target is the VIP";
  }
  EXPECT_TRUE(seen) << "no unsolicited neighbour advertisement captured";
  ASSERT_TRUE(vip_remove(vip));
  EXPECT_FALSE(*vip_present(vip));
}

TEST_F(VipAgentTest, ErrorsNameTheInterface) {
  const VipSpec vip{"198.18.0.10", 24, "nosuch0", ""};
  Status s = vip_add(vip);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("nosuch0"), std::string::npos) << s.error().message;
  EXPECT_FALSE(vip_present(vip).ok());
  const VipSpec bad{"198.18.0.999", 24, "vip0", ""};
  EXPECT_FALSE(vip_add(bad));
}

}  // namespace
}  // namespace hapbx::cluster
