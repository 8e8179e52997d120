// Building outgoing messages: requests, responses per RFC 3261 8.2.6, reason phrases,
// canonical re-printing and random tokens.
#include <gtest/gtest.h>

#include <set>

#include "sip/message_writer.h"

namespace hapbx::sip {
namespace {

const char* kInvite =
    "INVITE sip:202@pbx.example.com SIP/2.0\r\n"
    "v: SIP/2.0/UDP 198.18.0.10;branch=z9hG4bKproxy\r\n"
    "Via: SIP/2.0/UDP 198.18.0.100:5060;branch=z9hG4bKuac;rport=5060;received=198.18.0.100\r\n"
    "f: \"Alice\" <sip:201@pbx.example.com>;tag=from1\r\n"
    "t: <sip:202@pbx.example.com>\r\n"
    "i: call-1@198.18.0.100\r\n"
    "CSeq: 10 INVITE\r\n"
    "Max-Forwards: 69\r\n"
    "X-Custom: kept\r\n"
    "c: application/sdp\r\n"
    "l: 4\r\n\r\nv=0\n";

TEST(MessageWriterTest, Request) {
  const std::string text = MessageWriter::request(Method::Options, "sip:201@198.18.0.100:5060")
                               .header(HeaderId::Via, "SIP/2.0/UDP 198.18.0.10;branch=" + new_branch())
                               .header(HeaderId::From, "<sip:pbx@example.com>;tag=" + random_token())
                               .header("To", "<sip:201@example.com>")
                               .header(HeaderId::CallId, random_token(24))
                               .header(HeaderId::CSeq, "1 OPTIONS")
                               .header(HeaderId::MaxForwards, "70")
                               .finish();
  auto m = parse_message(text, ParseOptions{.stream = true});
  ASSERT_TRUE(m.ok()) << m.error().message << text;
  EXPECT_EQ(m->fault(), ParseFault::None) << m->fault_reason();
  EXPECT_EQ(m->method(), Method::Options);
  EXPECT_EQ(m->content_length(), 0u);
  EXPECT_EQ(m->vias()[0].branch.substr(0, 7), "z9hG4bK");
  EXPECT_EQ(m->call_id().size(), 24u);
}

TEST(MessageWriterTest, BodyAndContentType) {
  const std::string text = MessageWriter::response(200)
                               .header(HeaderId::Via, "SIP/2.0/UDP h;branch=z9hG4bK1")
                               .header(HeaderId::From, "<sip:a@b>;tag=1")
                               .header(HeaderId::To, "<sip:a@b>;tag=2")
                               .header(HeaderId::CallId, "x")
                               .header(HeaderId::CSeq, "1 INVITE")
                               .body("application/sdp", "v=0\r\n")
                               .finish();
  EXPECT_NE(text.find("SIP/2.0 200 OK\r\n"), std::string::npos);
  EXPECT_NE(text.find("Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n"),
            std::string::npos);
  auto m = parse_message(text);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->body(), "v=0\r\n");
}

TEST(MessageWriterTest, HeaderInjectionIsNeutralised) {
  const std::string text = MessageWriter::response(486, "Busy\r\nX-Evil: 1")
                               .header("Subject", "a\r\nX-Evil: 2")
                               .finish();
  EXPECT_EQ(text.find("\r\nX-Evil"), std::string::npos);
}

TEST(MessageWriterTest, MakeResponseCopiesDialogHeaders) {
  auto req = parse_message(kInvite);
  ASSERT_TRUE(req.ok());
  const std::string text = make_response(*req, 180, {}, "totag9").header("Contact", "<sip:pbx@x>").finish();
  auto r = parse_message(text);
  ASSERT_TRUE(r.ok()) << text;
  EXPECT_EQ(r->fault(), ParseFault::None) << r->fault_reason();
  EXPECT_EQ(r->status_code(), 180);
  EXPECT_EQ(r->reason_phrase(), "Ringing");
  ASSERT_EQ(r->vias().size(), 2u);
  EXPECT_EQ(r->vias()[0].branch, "z9hG4bKproxy");
  EXPECT_EQ(r->vias()[1].received, "198.18.0.100");
  EXPECT_EQ(r->from().tag(), "from1");
  EXPECT_EQ(r->to().tag(), "totag9");
  EXPECT_EQ(r->call_id(), "call-1@198.18.0.100");
  EXPECT_EQ(r->cseq().number, 10u);
  EXPECT_EQ(r->cseq().method, Method::Invite);
  EXPECT_EQ(r->body(), "");
  // An existing To tag is kept, not doubled.
  auto r2 = parse_message(make_response(*r, 200, "Fine", "other").finish());
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->to().tag(), "totag9");
  EXPECT_EQ(r2->reason_phrase(), "Fine");
}

TEST(MessageWriterTest, PrintMessageIsCanonical) {
  auto req = parse_message(kInvite);
  ASSERT_TRUE(req.ok());
  const std::string printed = print_message(*req);
  EXPECT_EQ(printed,
            "INVITE sip:202@pbx.example.com SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 198.18.0.10;branch=z9hG4bKproxy\r\n"
            "Via: SIP/2.0/UDP 198.18.0.100:5060;branch=z9hG4bKuac;rport=5060;received=198.18.0.100\r\n"
            "From: \"Alice\" <sip:201@pbx.example.com>;tag=from1\r\n"
            "To: <sip:202@pbx.example.com>\r\n"
            "Call-ID: call-1@198.18.0.100\r\n"
            "CSeq: 10 INVITE\r\n"
            "Max-Forwards: 69\r\n"
            "X-Custom: kept\r\n"
            "Content-Type: application/sdp\r\n"
            "Content-Length: 4\r\n\r\nv=0\n");
}

TEST(MessageWriterTest, ReasonPhrases) {
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(401), "Unauthorized");
  EXPECT_EQ(reason_phrase(423), "Interval Too Brief");
  EXPECT_EQ(reason_phrase(483), "Too Many Hops");
  EXPECT_EQ(reason_phrase(513), "Message Too Large");
  EXPECT_EQ(reason_phrase(799), "");
  EXPECT_NE(MessageWriter::response(299).finish().find("SIP/2.0 299 \r\n"), std::string::npos);
}

TEST(MessageWriterTest, RandomTokens) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string t = random_token();
    ASSERT_EQ(t.size(), 16u);
    for (char c : t) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_EQ(random_token(0), "");
  EXPECT_EQ(random_token(40).size(), 40u);
  EXPECT_EQ(new_branch().rfind("z9hG4bK", 0), 0u);
  EXPECT_NE(new_branch(), new_branch());
}

}  // namespace
}  // namespace hapbx::sip
