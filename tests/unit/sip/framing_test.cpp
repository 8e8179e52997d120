// Stream framing for TCP (RFC 3261 18.3): where one message ends, keep-alive CRLFs
// (RFC 5626 4.4.1), partial input, size limits and garbage.
#include <gtest/gtest.h>

#include <string>

#include "sip/message.h"

namespace hapbx::sip {
namespace {

const std::string kHead =
    "MESSAGE sip:201@pbx SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
    "To: <sip:201@pbx>\r\nCall-ID: f1\r\nCSeq: 1 MESSAGE\r\n";

TEST(FramingTest, CompleteMessageWithBody) {
  const std::string msg = kHead + "Content-Length: 5\r\n\r\nhello";
  auto f = frame_stream(msg + "NEXT");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->skip, 0u);
  EXPECT_EQ(f->length, msg.size());
  auto m = parse_message(msg.substr(0, f->length), ParseOptions{.stream = true});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->fault(), ParseFault::None);
  EXPECT_EQ(m->body(), "hello");
}

TEST(FramingTest, EveryPrefixIsIncomplete) {
  const std::string msg = kHead + "l: 5\r\n\r\nhello";
  for (size_t n = 0; n < msg.size(); ++n) {
    auto f = frame_stream(std::string_view(msg).substr(0, n));
    ASSERT_TRUE(f.ok()) << n;
    EXPECT_EQ(f->length, 0u) << n;
  }
  auto f = frame_stream(msg);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->length, msg.size());
}

TEST(FramingTest, KeepAlivesAreSkipped) {
  const std::string msg = kHead + "Content-Length: 0\r\n\r\n";
  auto f = frame_stream("\r\n\r\n" + msg);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->skip, 4u);
  EXPECT_EQ(f->length, msg.size());
  auto only = frame_stream("\r\n\r\n");
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(only->skip, 4u);
  EXPECT_EQ(only->length, 0u);
}

TEST(FramingTest, FoldedContentLength) {
  const std::string msg = kHead + "Content-Length:\r\n 3\r\n\r\nabc";
  auto f = frame_stream(msg);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->length, msg.size());
}

TEST(FramingTest, MissingContentLengthFramesEmptyBodyAndParserFaults) {
  const std::string msg = kHead + "\r\n";
  auto f = frame_stream(msg + "garbage");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->length, msg.size());
  auto m = parse_message(msg, ParseOptions{.stream = true});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->fault(), ParseFault::BadRequest);
  EXPECT_EQ(m->fault_reason(), "Missing Content-Length");
  // The same bytes on a datagram are fine.
  auto udp = parse_message(msg);
  ASSERT_TRUE(udp.ok());
  EXPECT_EQ(udp->fault(), ParseFault::None);
}

TEST(FramingTest, Errors) {
  EXPECT_FALSE(frame_stream("GET / HTTP/1.1\r\nHost: x\r\n\r\n").ok());
  EXPECT_FALSE(frame_stream(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n", 13)).ok());
  EXPECT_FALSE(frame_stream(kHead + "Content-Length: abc\r\n\r\n").ok());
  EXPECT_FALSE(frame_stream(kHead + "Content-Length: 1\r\nl: 2\r\n\r\n").ok());
  EXPECT_FALSE(frame_stream(kHead + "Content-Length: 70000\r\n\r\n").ok());
  EXPECT_FALSE(frame_stream(kHead + "Content-Length: 99999999999999999999\r\n\r\n").ok());
  // Headers that never end, beyond the limit.
  EXPECT_FALSE(frame_stream(kHead + std::string(70000, 'a')).ok());
  EXPECT_TRUE(frame_stream(kHead + std::string(1000, 'a')).ok());
  // A smaller limit applies.
  EXPECT_FALSE(frame_stream(kHead + "Content-Length: 500\r\n\r\n", 300).ok());
}

TEST(FramingTest, ResponsesAndBackToBack) {
  const std::string r1 =
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
      "To: <sip:c@d>;tag=2\r\nCall-ID: f1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 2\r\n\r\nok";
  const std::string stream = r1 + r1;
  auto f = frame_stream(stream);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->length, r1.size());
  auto g = frame_stream(std::string_view(stream).substr(f->length));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->length, r1.size());
}

}  // namespace
}  // namespace hapbx::sip
