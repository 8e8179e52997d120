// Parsing of whole SIP messages (RFC 3261 7): start lines, the validated headers, bodies and the
// fault classes the caller answers with 400/513 or drops.
#include <gtest/gtest.h>

#include "sip/message.h"

namespace hapbx::sip {
namespace {

const char* kRegister =
    "REGISTER sip:pbx.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 198.18.0.100:5060;branch=z9hG4bKabc;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Alice\" <sip:201@pbx.example.com>;tag=a1\r\n"
    "To: <sip:201@pbx.example.com>\r\n"
    "Call-ID: reg-1@198.18.0.100\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Contact: <sip:201@198.18.0.100:5060;transport=udp>;expires=3600;q=0.5\r\n"
    "Expires: 3600\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

TEST(MessageTest, ParsesRegister) {
  auto m = parse_message(kRegister);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->fault(), ParseFault::None) << m->fault_reason();
  EXPECT_TRUE(m->is_request());
  EXPECT_EQ(m->method(), Method::Register);
  EXPECT_EQ(m->request_uri().host, "pbx.example.com");
  ASSERT_EQ(m->vias().size(), 1u);
  EXPECT_EQ(m->vias()[0].branch, "z9hG4bKabc");
  EXPECT_EQ(m->vias()[0].host, "198.18.0.100");
  EXPECT_EQ(m->vias()[0].port, 5060);
  EXPECT_TRUE(m->vias()[0].has_rport);
  EXPECT_FALSE(m->vias()[0].rport.has_value());
  EXPECT_EQ(m->from().tag(), "a1");
  EXPECT_EQ(m->from().uri.user, "201");
  EXPECT_EQ(m->to().tag(), "");
  EXPECT_EQ(m->call_id(), "reg-1@198.18.0.100");
  EXPECT_EQ(m->cseq().number, 1u);
  EXPECT_EQ(m->cseq().method, Method::Register);
  EXPECT_EQ(m->max_forwards(), 70u);
  EXPECT_EQ(m->expires(), 3600u);
  EXPECT_EQ(m->content_length(), 0u);
  ASSERT_EQ(m->contacts().size(), 1u);
  EXPECT_EQ(param_value(m->contacts()[0].params, "expires"), "3600");
  EXPECT_EQ(m->contacts()[0].uri.port, 5060);
  EXPECT_EQ(m->body(), "");
}

TEST(MessageTest, ParsesResponseWithBody) {
  auto m = parse_message(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
      "To: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 2 INVITE\r\nContent-Type: application/sdp\r\n"
      "Content-Length: 4\r\n\r\nv=0\n");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->fault(), ParseFault::None) << m->fault_reason();
  EXPECT_TRUE(m->is_response());
  EXPECT_EQ(m->status_code(), 200);
  EXPECT_EQ(m->reason_phrase(), "OK");
  EXPECT_EQ(m->body(), "v=0\n");
  EXPECT_EQ(m->header(HeaderId::ContentType), "application/sdp");
}

TEST(MessageTest, MissingRequiredHeaderIsError) {
  auto m = parse_message("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nTo: <sip:a@b>\r\n"
                         "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
  EXPECT_FALSE(m.ok());
}

TEST(MessageTest, BadCSeqIsFault) {
  auto m = parse_message("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>;tag=1\r\n"
                         "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: x OPTIONS\r\n\r\n");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->fault(), ParseFault::BadRequest);
  EXPECT_EQ(m->fault_reason(), "Bad CSeq header");
}

}  // namespace
}  // namespace hapbx::sip
