// The relay over real loopback sockets: forwarding both ways, RTCP, latching, echo, prompts,
// ports coming back, hostile datagrams. Every wait is on a condition with a deadline.
#include "media/media_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "unit/media/loopback_peer.h"

namespace hapbx::media {
namespace {

using namespace std::chrono_literals;
using testing::Datagram;
using testing::LoopbackPeer;
using testing::rtcp_packet;
using testing::rtp_packet;
using testing::wait_until;

class RelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto [lo, hi] = testing::random_port_range();
    options_.bind_address = "127.0.0.1";
    options_.port_min = lo;
    options_.port_max = hi;
    auto r = MediaRelay::start(options_, [this] { ++wakes_; });
    ASSERT_TRUE(r) << r.error().message;
    relay_ = std::move(r.value());
  }

  StreamInfo open() {
    auto r = relay_->open_stream();
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : StreamInfo{};
  }
  void remote(StreamId id, const LoopbackPeer& rtp, const LoopbackPeer* rtcp = nullptr) {
    relay_->set_remote(id, {"127.0.0.1", rtp.port(), rtcp ? rtcp->port() : uint16_t{0}});
  }
  StreamStats stats(StreamId id) { return relay_->stats(id).value_or(StreamStats{}); }
  // Waits until the relay thread has applied every control call made so far (they are
  // asynchronous: a packet sent right after bridge() could otherwise beat the command).
  void settle() {
    ASSERT_TRUE(wait_until([&] {
      auto c = relay_->counters();
      return c.commands == c.commands_queued;
    }));
  }
  bool wait_stat(StreamId id, uint64_t StreamStats::*field, uint64_t at_least) {
    return wait_until([&] { return stats(id).*field >= at_least; });
  }

  RelayOptions options_;
  std::atomic<int> wakes_{0};
  std::unique_ptr<MediaRelay> relay_;
};

TEST_F(RelayTest, OpensEvenPortsInTheRange) {
  std::set<uint16_t> ports;
  std::set<StreamId> ids;
  for (int i = 0; i < 10; ++i) {
    StreamInfo s = open();
    EXPECT_EQ(s.rtp_port % 2, 0);
    EXPECT_GE(s.rtp_port, options_.port_min);
    EXPECT_LE(s.rtp_port + 1, options_.port_max);
    ports.insert(s.rtp_port);
    ids.insert(s.id);
    EXPECT_NE(s.id, 0u);
  }
  EXPECT_EQ(ports.size(), 10u);
  EXPECT_EQ(ids.size(), 10u);
  EXPECT_EQ(relay_->counters().streams_open, 10u);
}

TEST_F(RelayTest, BridgesRtpBothWaysUntouched) {
  LoopbackPeer a, b;
  StreamInfo sa = open(), sb = open();
  remote(sa.id, a);
  remote(sb.id, b);
  relay_->bridge(sa.id, sb.id);
  settle();

  auto packet = rtp_packet(1234, 0x11);
  a.send_to(sa.rtp_port, packet);
  auto got = b.receive();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, packet);
  EXPECT_EQ(got->from_port, sb.rtp_port);

  auto back = rtp_packet(99, 0x22, 20);
  b.send_to(sb.rtp_port, back);
  auto got_back = a.receive();
  ASSERT_TRUE(got_back);
  EXPECT_EQ(got_back->bytes, back);
  EXPECT_EQ(got_back->from_port, sa.rtp_port);

  // Counters are bumped just after the send, so the packet can arrive first.
  ASSERT_TRUE(wait_until([&] { return relay_->counters().rtp_relayed == 2; }));
  StreamStats st = stats(sa.id);
  EXPECT_EQ(st.rtp_in, 1u);
  EXPECT_EQ(st.rtp_out, 1u);
  EXPECT_EQ(st.bytes_in, packet.size());
  EXPECT_EQ(st.bytes_out, back.size());
  EXPECT_TRUE(st.last_rtp_in.has_value());
  EXPECT_TRUE(st.latched);
  EXPECT_EQ(st.remote_address, "127.0.0.1");
  EXPECT_EQ(st.remote_rtp_port, a.port());
}

TEST_F(RelayTest, BridgesRtcpOnThePortAbove) {
  LoopbackPeer a, a_rtcp, b, b_rtcp;
  StreamInfo sa = open(), sb = open();
  remote(sa.id, a, &a_rtcp);
  remote(sb.id, b, &b_rtcp);
  relay_->bridge(sa.id, sb.id);
  settle();

  a_rtcp.send_to(static_cast<uint16_t>(sa.rtp_port + 1), rtcp_packet());
  auto got = b_rtcp.receive();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, rtcp_packet());
  EXPECT_EQ(got->from_port, sb.rtp_port + 1);
  b_rtcp.send_to(static_cast<uint16_t>(sb.rtp_port + 1), rtcp_packet());
  ASSERT_TRUE(a_rtcp.receive());
  ASSERT_TRUE(wait_until([&] { return relay_->counters().rtcp_relayed == 2; }));
  EXPECT_EQ(stats(sa.id).rtcp_in, 1u);
  EXPECT_EQ(stats(sa.id).rtcp_out, 1u);
  EXPECT_TRUE(b.silent_for(0ms));  // RTCP never lands on the RTP port
}

TEST_F(RelayTest, LatchesToTheRealSourceAndIgnoresStrangersUntilANewSdp) {
  LoopbackPeer a_sdp, a_nat, b, stranger, a_new;
  StreamInfo sa = open(), sb = open();
  remote(sa.id, a_sdp);  // the SDP says a_sdp, but the phone is behind NAT and sends from a_nat
  remote(sb.id, b);
  relay_->bridge(sa.id, sb.id);
  settle();

  a_nat.send_to(sa.rtp_port, rtp_packet(1));
  ASSERT_TRUE(b.receive());
  ASSERT_TRUE(wait_until([&] { return stats(sa.id).latched; }));
  EXPECT_EQ(stats(sa.id).remote_rtp_port, a_nat.port());

  b.send_to(sb.rtp_port, rtp_packet(2));
  auto to_a = a_nat.receive();
  ASSERT_TRUE(to_a);  // re-targeted to where the packets come from
  EXPECT_TRUE(a_sdp.silent_for(0ms));

  // A stranger on the latched port is dropped, not relayed and not latched to.
  stranger.send_to(sa.rtp_port, rtp_packet(3, 0x66));
  ASSERT_TRUE(wait_stat(sa.id, &StreamStats::dropped, 1));
  EXPECT_TRUE(b.silent_for(0ms));
  EXPECT_EQ(stats(sa.id).remote_rtp_port, a_nat.port());

  // A new SDP (re-INVITE) clears the latch: the next sender wins.
  remote(sa.id, a_new);
  settle();
  EXPECT_FALSE(stats(sa.id).latched);
  a_new.send_to(sa.rtp_port, rtp_packet(4));
  ASSERT_TRUE(b.receive());
  b.send_to(sb.rtp_port, rtp_packet(5));
  EXPECT_TRUE(a_new.receive());
}

TEST_F(RelayTest, RtcpLatchesSeparately) {
  LoopbackPeer a, a_rtcp_sdp, a_rtcp_nat, b, b_rtcp;
  StreamInfo sa = open(), sb = open();
  remote(sa.id, a, &a_rtcp_sdp);
  remote(sb.id, b, &b_rtcp);
  relay_->bridge(sa.id, sb.id);
  settle();
  a_rtcp_nat.send_to(static_cast<uint16_t>(sa.rtp_port + 1), rtcp_packet());
  ASSERT_TRUE(b_rtcp.receive());
  b_rtcp.send_to(static_cast<uint16_t>(sb.rtp_port + 1), rtcp_packet());
  EXPECT_TRUE(a_rtcp_nat.receive());
  EXPECT_TRUE(a_rtcp_sdp.silent_for(0ms));
  EXPECT_FALSE(stats(sa.id).latched);  // RTP has not latched yet
}

TEST_F(RelayTest, StreamWithoutSdpLatchesToItsFirstSender) {
  LoopbackPeer a, b;
  StreamInfo sa = open(), sb = open();
  remote(sb.id, b);
  relay_->bridge(sa.id, sb.id);
  settle();
  // b talks first: sa has no remote yet, so the packet is dropped for want of a peer address.
  b.send_to(sb.rtp_port, rtp_packet(1));
  ASSERT_TRUE(wait_stat(sb.id, &StreamStats::dropped, 1));
  a.send_to(sa.rtp_port, rtp_packet(2));
  ASSERT_TRUE(b.receive());
  b.send_to(sb.rtp_port, rtp_packet(3));
  EXPECT_TRUE(a.receive());
}

TEST_F(RelayTest, EchoSendsBackToTheSender) {
  LoopbackPeer a;
  StreamInfo sa = open();
  relay_->echo(sa.id);
  settle();
  auto p = rtp_packet(7, 0x77);
  a.send_to(sa.rtp_port, p);
  auto got = a.receive();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, p);
  EXPECT_EQ(got->from_port, sa.rtp_port);
  EXPECT_TRUE(wait_stat(sa.id, &StreamStats::rtp_out, 1));
}

TEST_F(RelayTest, UnbridgedPacketsAreCountedAndDropped) {
  LoopbackPeer a, b;
  StreamInfo sa = open(), sb = open();
  remote(sa.id, a);
  remote(sb.id, b);
  relay_->bridge(sa.id, sb.id);
  settle();
  a.send_to(sa.rtp_port, rtp_packet(1));
  ASSERT_TRUE(b.receive());
  relay_->unbridge(sb.id);  // either side ends both directions
  settle();
  a.send_to(sa.rtp_port, rtp_packet(2));
  b.send_to(sb.rtp_port, rtp_packet(3));
  ASSERT_TRUE(wait_stat(sa.id, &StreamStats::dropped, 1));
  ASSERT_TRUE(wait_stat(sb.id, &StreamStats::dropped, 1));
  EXPECT_TRUE(b.silent_for(0ms));
  EXPECT_TRUE(a.silent_for(0ms));
  EXPECT_EQ(stats(sa.id).rtp_in, 2u);
}

TEST_F(RelayTest, PlaysAPromptAsPacedG711Packets) {
  LoopbackPeer a;
  StreamInfo sa = open();
  remote(sa.id, a);
  settle();
  auto beep = make_tone("beep", 0ms);  // 2000 samples: 12.5 frames -> 13 packets, last padded
  auto id = relay_->play(sa.id, beep, 0, false);
  ASSERT_TRUE(id) << id.error().message;

  std::vector<Datagram> got;
  while (got.size() < 13) {
    auto d = a.receive();
    ASSERT_TRUE(d) << "after " << got.size() << " packets";
    got.push_back(*d);
  }
  const auto& first = got[0].bytes;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto& p = got[i].bytes;
    ASSERT_EQ(p.size(), 12u + 160u);
    EXPECT_EQ(p[0], 0x80);
    EXPECT_EQ(p[1] & 0x7F, 0);              // PCMU
    EXPECT_EQ((p[1] & 0x80) != 0, i == 0);  // marker on the first only
    const uint16_t seq = static_cast<uint16_t>((p[2] << 8) | p[3]);
    const uint16_t seq0 = static_cast<uint16_t>((first[2] << 8) | first[3]);
    EXPECT_EQ(seq, static_cast<uint16_t>(seq0 + i));
    const uint32_t ts =
        (uint32_t{p[4]} << 24) | (uint32_t{p[5]} << 16) | (uint32_t{p[6]} << 8) | p[7];
    const uint32_t ts0 = (uint32_t{first[4]} << 24) | (uint32_t{first[5]} << 16) |
                         (uint32_t{first[6]} << 8) | first[7];
    EXPECT_EQ(ts, ts0 + 160 * i);
    EXPECT_TRUE(std::equal(p.begin() + 8, p.begin() + 12, first.begin() + 8));  // one SSRC
    EXPECT_EQ(got[i].from_port, sa.rtp_port);
  }
  EXPECT_EQ(got[0].bytes[12], beep->ulaw()[0]);
  EXPECT_EQ(got[12].bytes.back(), 0xFF);  // padding is mu-law silence

  ASSERT_TRUE(wait_until([&] { return wakes_ > 0; }));
  auto events = relay_->take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].stream, sa.id);
  EXPECT_EQ(events[0].playback, *id);
  EXPECT_TRUE(events[0].completed);
  EXPECT_TRUE(a.silent_for(50ms));  // nothing after the end
  EXPECT_EQ(relay_->counters().played, 13u);
}

TEST_F(RelayTest, PlayingHoldsBridgedAudioTowardTheStreamUntilStopped) {
  LoopbackPeer a, b;
  StreamInfo sa = open(), sb = open();
  remote(sa.id, a);
  remote(sb.id, b);
  relay_->bridge(sa.id, sb.id);
  settle();
  auto ring = make_tone("ring", 0ms);
  auto id = relay_->play(sb.id, ring, 8, true);
  ASSERT_TRUE(id);
  auto prompt_packet = b.receive();
  ASSERT_TRUE(prompt_packet);
  EXPECT_EQ(prompt_packet->bytes[1] & 0x7F, 8);  // PCMA

  a.send_to(sa.rtp_port, rtp_packet(1, 0x55, 40));
  ASSERT_TRUE(wait_stat(sa.id, &StreamStats::dropped, 1));  // held back during the prompt

  relay_->stop_play(sb.id);
  settle();
  ASSERT_TRUE(wait_until([&] { return wakes_ > 0; }));
  auto events = relay_->take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].playback, *id);
  EXPECT_FALSE(events[0].completed);

  // Now a's audio flows again; prompt packets still in flight are skipped.
  a.send_to(sa.rtp_port, rtp_packet(2, 0x55, 40));
  bool relayed = false;
  for (int i = 0; i < 10 && !relayed; ++i) {
    auto d = b.receive();
    ASSERT_TRUE(d);
    relayed = d->bytes.size() == 52;
  }
  EXPECT_TRUE(relayed);
}

TEST_F(RelayTest, PlayErrors) {
  StreamInfo sa = open();
  EXPECT_FALSE(relay_->play(sa.id, nullptr, 0, false));
  auto bad_pt = relay_->play(sa.id, make_tone("beep", 0ms), 18, false);
  ASSERT_FALSE(bad_pt);
  EXPECT_NE(bad_pt.error().message.find("18"), std::string::npos);
  EXPECT_FALSE(relay_->play(424242, make_tone("beep", 0ms), 0, false));
}

TEST_F(RelayTest, ClosingEndsThePlaybackAndReturnsThePorts) {
  const uint64_t free_at_start = relay_->counters().ports_free;
  LoopbackPeer a;
  StreamInfo s1 = open(), s2 = open(), s3 = open();
  remote(s1.id, a);
  settle();
  auto id = relay_->play(s1.id, make_tone("ring", 0ms), 0, true);
  ASSERT_TRUE(id);
  ASSERT_TRUE(a.receive());
  EXPECT_EQ(relay_->counters().ports_free, free_at_start - 3);
  relay_->close_stream(s1.id);
  relay_->close_stream(s2.id);
  relay_->close_stream(s3.id);
  EXPECT_FALSE(relay_->stats(s1.id));
  ASSERT_TRUE(wait_until([&] { return relay_->counters().ports_free == free_at_start; }));
  EXPECT_EQ(relay_->counters().streams_open, 0u);
  auto events = relay_->take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].completed);

  // The ports are usable by anyone at once.
  for (uint16_t port : {s1.rtp_port, uint16_t(s1.rtp_port + 1)}) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << port;
    ::close(fd);
  }
}

TEST_F(RelayTest, HostileDatagramsAreCountedAndDropped) {
  LoopbackPeer a, b;
  StreamInfo sa = open(), sb = open();
  remote(sa.id, a);
  remote(sb.id, b);
  relay_->bridge(sa.id, sb.id);
  settle();
  std::vector<std::vector<uint8_t>> junk = {
      {},                                // empty datagram
      {0x80, 0, 0, 1, 0, 0},             // shorter than an RTP header
      std::vector<uint8_t>(12, 0x00),    // version 0
      std::vector<uint8_t>(172, 0xC0),   // version 3
      std::vector<uint8_t>(3000, 0x80),  // longer than any MTU: truncated
  };
  for (const auto& j : junk) a.send_to(sa.rtp_port, j);
  a.send_to(static_cast<uint16_t>(sa.rtp_port + 1), {0x40, 201, 0, 1, 0, 0, 0, 0});  // RTCP v1
  a.send_to(static_cast<uint16_t>(sa.rtp_port + 1), {0x80, 201});  // RTCP too short
  ASSERT_TRUE(wait_stat(sa.id, &StreamStats::dropped, junk.size() + 2));
  EXPECT_TRUE(b.silent_for(0ms));
  EXPECT_FALSE(stats(sa.id).latched);  // junk never latches
  EXPECT_EQ(stats(sa.id).rtp_in, 0u);

  a.send_to(sa.rtp_port, rtp_packet(1));
  EXPECT_TRUE(b.receive());  // still relaying
  EXPECT_GE(relay_->counters().dropped, junk.size() + 2);
}

TEST_F(RelayTest, ControlCallsOnUnknownStreamsAreHarmless) {
  relay_->set_remote(999, {"127.0.0.1", 4000, 0});
  relay_->bridge(999, 998);
  relay_->unbridge(999);
  relay_->echo(999);
  relay_->stop_play(999);
  relay_->close_stream(999);
  StreamInfo s = open();
  relay_->bridge(s.id, s.id);  // a stream cannot be bridged to itself
  relay_->set_remote(s.id, {"not-an-address", 4000, 0});
  EXPECT_FALSE(relay_->stats(999));
  settle();
  EXPECT_EQ(relay_->counters().commands, 8u);
  EXPECT_TRUE(relay_->stats(s.id));
}

TEST(Relay, ExhaustionNamesTheRangeAndFreedPairsComeBack) {
  auto [lo, hi] = testing::random_port_range(4);  // two pairs
  RelayOptions o;
  o.bind_address = "127.0.0.1";
  o.port_min = lo;
  o.port_max = hi;
  auto relay = MediaRelay::start(o, nullptr);
  ASSERT_TRUE(relay) << relay.error().message;
  std::vector<StreamInfo> open;
  while (true) {
    auto s = (*relay)->open_stream();
    if (!s) {
      EXPECT_EQ(s.error().message,
                "no free RTP port pair in " + std::to_string(lo) + "-" + std::to_string(hi));
      break;
    }
    open.push_back(*s);
    ASSERT_LE(open.size(), 2u);
  }
  ASSERT_FALSE(open.empty()) << "both test pairs were taken by someone else";
  (*relay)->close_stream(open[0].id);
  ASSERT_TRUE(wait_until([&] { return (*relay)->counters().ports_free == 1; }));
  auto again = (*relay)->open_stream();
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->rtp_port, open[0].rtp_port);
  EXPECT_NE(again->id, open[0].id);  // ids are never reused
}

TEST(Relay, DestroyingTheRelayClosesEveryPort) {
  auto [lo, hi] = testing::random_port_range(20);
  RelayOptions o;
  o.bind_address = "127.0.0.1";
  o.port_min = lo;
  o.port_max = hi;
  std::vector<uint16_t> ports;
  {
    auto relay = MediaRelay::start(o, nullptr);
    ASSERT_TRUE(relay);
    for (int i = 0; i < 3; ++i) {
      auto s = (*relay)->open_stream();
      ASSERT_TRUE(s);
      ports.push_back(s->rtp_port);
    }
    (*relay)->bridge(1, 2);
  }
  for (uint16_t port : ports) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << port;
    ::close(fd);
  }
}

TEST(Relay, StartErrorsNameTheProblem) {
  RelayOptions o;
  o.bind_address = "pbx.example";
  auto r = MediaRelay::start(o, nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'pbx.example'"), std::string::npos) << r.error().message;

  o.bind_address = "127.0.0.1";
  o.port_min = 20000;
  o.port_max = 10000;
  r = MediaRelay::start(o, nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("20000-10000"), std::string::npos) << r.error().message;

  o.port_min = 10001;
  o.port_max = 10002;
  r = MediaRelay::start(o, nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no even/odd port pair"), std::string::npos)
      << r.error().message;

  o.port_min = 10000;
  o.port_max = 20000;
  o.bind_address = "192.0.2.1";  // TEST-NET-1: not an address of this machine
  r = MediaRelay::start(o, nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot bind RTP sockets on 192.0.2.1"), std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace hapbx::media
