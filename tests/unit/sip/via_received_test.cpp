// Responses carry received/rport in the top Via (RFC 3261 18.2.1, RFC 3581 4).
#include <gtest/gtest.h>

#include "sip/message_writer.h"

namespace hapbx::sip {
namespace {

Message parse(std::string text) {
  auto m = parse_message(std::move(text));
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  return std::move(m).value();
}

std::string request_with_via(std::string_view via) {
  return "OPTIONS sip:pbx@10.0.0.1 SIP/2.0\r\n"
         "Via: " + std::string(via) + "\r\n"
         "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKother\r\n"
         "From: <sip:201@10.0.0.1>;tag=a\r\nTo: <sip:pbx@10.0.0.1>\r\n"
         "Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
}

Message response_from(std::string_view via, const Endpoint& source) {
  auto request = parse(request_with_via(via));
  request.set_source(source);
  return parse(make_response(request, 200, {}, "t1").finish());
}

TEST(ViaReceived, RportGetsSourcePortAndReceived) {
  auto r = response_from("SIP/2.0/UDP 192.168.1.5:5060;rport;branch=z9hG4bK1",
                         {TransportKind::Udp, "203.0.113.9", 40000, 0});
  ASSERT_EQ(r.vias().size(), 2u);
  const auto& top = r.vias().front();
  EXPECT_EQ(top.branch, "z9hG4bK1");
  ASSERT_TRUE(top.received.has_value());
  EXPECT_EQ(*top.received, "203.0.113.9");
  ASSERT_TRUE(top.rport.has_value());
  EXPECT_EQ(*top.rport, 40000);
  EXPECT_EQ(r.vias()[1].host, "proxy.example.com");  // only the top Via is touched
}

TEST(ViaReceived, SameHostWithoutRportIsUnchanged) {
  auto r = response_from("SIP/2.0/UDP 192.168.1.5:5060;branch=z9hG4bK2",
                         {TransportKind::Udp, "192.168.1.5", 5060, 0});
  EXPECT_FALSE(r.vias().front().received.has_value());
  EXPECT_FALSE(r.vias().front().has_rport);
}

TEST(ViaReceived, DifferentHostGetsReceivedOnly) {
  auto r = response_from("SIP/2.0/UDP phone.example.com;branch=z9hG4bK3",
                         {TransportKind::Udp, "198.51.100.7", 5062, 0});
  ASSERT_TRUE(r.vias().front().received.has_value());
  EXPECT_EQ(*r.vias().front().received, "198.51.100.7");
  EXPECT_FALSE(r.vias().front().has_rport);
}

TEST(ViaReceived, ClientSuppliedReceivedIsReplaced) {
  auto r = response_from(
      "SIP/2.0/UDP 10.1.1.1:5070;received=6.6.6.6;rport=1;branch=z9hG4bK4",
      {TransportKind::Udp, "198.51.100.8", 6000, 0});
  EXPECT_EQ(*r.vias().front().received, "198.51.100.8");
  EXPECT_EQ(*r.vias().front().rport, 6000);
}

TEST(ViaReceived, WithoutSourceViaIsCopiedVerbatim) {
  auto request = parse(request_with_via("SIP/2.0/UDP 10.1.1.1;rport;branch=z9hG4bK5"));
  auto r = parse(make_response(request, 200, {}, "t").finish());
  EXPECT_FALSE(r.vias().front().received.has_value());
  EXPECT_TRUE(r.vias().front().has_rport);
  EXPECT_FALSE(r.vias().front().rport.has_value());
}

}  // namespace
}  // namespace hapbx::sip
