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


// Builds a request with the five mandatory headers plus `extra` header lines.
std::string request(std::string_view method, std::string_view extra, std::string_view body = {},
                    std::string_view cseq_method = {}) {
  std::string m(method);
  m += " sip:201@pbx.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 198.18.0.100;branch=z9hG4bKt\r\n"
       "From: <sip:201@pbx.example.com>;tag=t1\r\nTo: <sip:201@pbx.example.com>\r\n"
       "Call-ID: t@x\r\nCSeq: 1 ";
  m += cseq_method.empty() ? method : cseq_method;
  m += "\r\n";
  m += extra;
  m += "\r\n";
  m += body;
  return m;
}

void expect_fault(const std::string& text, std::string_view reason) {
  auto m = parse_message(text);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->fault(), ParseFault::BadRequest) << text;
  EXPECT_EQ(m->fault_reason(), reason) << text;
}

TEST(MessageTest, FaultClasses) {
  expect_fault(request("OPTIONS", "Max-Forwards: 256\r\n"), "Bad Max-Forwards");
  expect_fault(request("OPTIONS", "Max-Forwards: -1\r\n"), "Bad Max-Forwards");
  expect_fault(request("OPTIONS", "Max-Forwards:\r\n"), "Bad Max-Forwards");
  expect_fault(request("OPTIONS", "Content-Length: 1x\r\n"), "Bad Content-Length");
  expect_fault(request("OPTIONS", "Content-Length: 2\r\nContent-Length: 3\r\n", "abc"),
               "Bad Content-Length");
  expect_fault(request("OPTIONS", "Content-Length: 99999999999\r\n"), "Bad Content-Length");
  expect_fault(request("OPTIONS", "Content-Length: 10\r\n", "short"),
               "Content-Length larger than message");
  expect_fault(request("REGISTER", "Contact: <sip:a@b>;expires=soon\r\n"), "Bad Contact header");
  expect_fault(request("REGISTER", "Contact: *, <sip:a@b>\r\n"), "Bad Contact header");
  expect_fault(request("REGISTER", "Contact: <sip:a@b>, *\r\n"), "Bad Contact header");
  expect_fault(request("REGISTER", "Contact:\r\n"), "Bad Contact header");
  expect_fault(request("REGISTER", "Expires: never\r\n"), "Bad Expires header");
  expect_fault(request("OPTIONS", "", "", "INVITE"), "CSeq method does not match request method");
  expect_fault(request("OPTIONS", "", "", "options"), "CSeq method does not match request method");
  expect_fault(request("OPTIONS", "CSeq: 2 OPTIONS\r\n"), "Multiple CSeq headers");
  expect_fault(request("OPTIONS", "Call-ID: other\r\n"), "Multiple Call-ID headers");
  expect_fault(request("OPTIONS", "From: <sip:x@y>;tag=2\r\n"), "Multiple From headers");
  expect_fault(request("OPTIONS", "Via: garbage\r\n"), "Bad Via header");
  expect_fault(request("OPTIONS", "To: *\r\n"), "Multiple To headers");
  expect_fault(request("OPTIONS", "X-Bin: a\x01" "b\r\n"), "Bad header line");
  expect_fault(request("OPTIONS", ": novalue\r\n"), "Bad header line");
  expect_fault(request("OPTIONS", "Bad Name: x\r\n"), "Bad header line");
  // A repeated identical header is harmless.
  auto same = parse_message(request("OPTIONS", "Call-ID: t@x\r\n"));
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->fault(), ParseFault::None);
}

TEST(MessageTest, StartLineErrors) {
  const std::string tail = request("OPTIONS", "").substr(request("OPTIONS", "").find("\r\n"));
  for (const char* line : {"OPTIONS sip:a@b SIP/3.0", "OPTIONS sip:a@b", "OPTIONS", "SIP/2.0",
                           "SIP/2.0 99 Low", "SIP/2.0 700 High", "SIP/2.0 2000 OK",
                           "SIP/1.0 200 OK", "OPTIONS sip:a@b HTTP/1.1", " OPTIONS sip:a@b SIP/2.0",
                           "OPT IONS sip:a@b SIP/2.0x", "SIP/2.0 200 O\x01K"}) {
    EXPECT_FALSE(parse_message(line + tail).ok()) << line;
  }
  EXPECT_FALSE(parse_message("").ok());
  EXPECT_FALSE(parse_message("\r\n\r\n").ok());
  // A request-URI that does not parse is answerable.
  expect_fault("OPTIONS sip:a b SIP/2.0" + tail, "Bad Request-URI");
  expect_fault("OPTIONS sip: SIP/2.0" + tail, "Bad Request-URI");
}

TEST(MessageTest, FoldingIsUndoneInPlace) {
  auto m = parse_message(request("REGISTER", "Contact: <sip:a@b>;\r\n expires=60,\r\n\t<sip:c@d>\r\n"
                                             "Subject: one\r\n two\r\n"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->fault(), ParseFault::None) << m->fault_reason();
  ASSERT_EQ(m->contacts().size(), 2u);
  EXPECT_EQ(param_value(m->contacts()[0].params, "expires"), "60");
  EXPECT_EQ(m->header("subject"), "one   two");
  EXPECT_EQ(m->raw().find("\r\n two"), std::string_view::npos);
}

TEST(MessageTest, ContactStarAndLists) {
  auto m = parse_message(request("REGISTER", "Contact: *\r\nExpires: 0\r\n"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->fault(), ParseFault::None);
  ASSERT_EQ(m->contacts().size(), 1u);
  EXPECT_TRUE(m->contacts()[0].star);
  EXPECT_EQ(m->expires(), 0u);
  auto lists = parse_message(request(
      "OPTIONS", "Allow: INVITE, ACK\r\nallow: BYE\r\nAuthorization: Digest a=\"1\", b=2\r\n"));
  ASSERT_TRUE(lists.ok());
  EXPECT_EQ(lists->values(HeaderId::Allow).size(), 3u);
  ASSERT_EQ(lists->values(HeaderId::Authorization).size(), 1u);  // not a list header
  EXPECT_EQ(lists->header(HeaderId::Authorization), "Digest a=\"1\", b=2");
  EXPECT_EQ(lists->header("ALLOW"), "INVITE, ACK");
  EXPECT_EQ(lists->header("X-Missing"), std::nullopt);
  EXPECT_TRUE(lists->values(HeaderId::Route).empty());
}

TEST(MessageTest, ContentLengthOnDatagrams) {
  auto shorter = parse_message(request("MESSAGE", "Content-Length: 3\r\n", "abcdef"));
  ASSERT_TRUE(shorter.ok());
  EXPECT_EQ(shorter->fault(), ParseFault::None);
  EXPECT_EQ(shorter->body(), "abc");
  auto absent = parse_message(request("MESSAGE", "", "abcdef"));
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(absent->body(), "abcdef");
  EXPECT_EQ(absent->content_length(), std::nullopt);
  auto lf_only = parse_message(
      "OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\nFrom: <sip:a@b>;tag=1\nTo: <sip:a@b>\n"
      "Call-ID: lf\nCSeq: 1 OPTIONS\nl: 2\n\nhi");
  ASSERT_TRUE(lf_only.ok());
  EXPECT_EQ(lf_only->fault(), ParseFault::None);
  EXPECT_EQ(lf_only->body(), "hi");
}

TEST(MessageTest, TooLarge) {
  const std::string big = request("MESSAGE", "Content-Length: 70000\r\n", std::string(70000, 'x'));
  auto m = parse_message(big);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->fault(), ParseFault::TooLarge);
  EXPECT_EQ(m->fault_reason(), "Message Too Large");
  auto small_limit = parse_message(request("OPTIONS", ""), ParseOptions{.max_message_size = 50});
  ASSERT_TRUE(small_limit.ok());
  EXPECT_EQ(small_limit->fault(), ParseFault::TooLarge);
  // Too large and not even answerable: dropped.
  EXPECT_FALSE(parse_message("OPTIONS sip:a@b SIP/2.0\r\n" + std::string(70000, 'x')).ok());
}

TEST(MessageTest, HostileSizesStayLinear) {
  std::string many;
  many.reserve(10000 * 12);
  for (int i = 0; i < 10000; ++i) many += "X-H: v\r\n";
  auto m = parse_message(request("OPTIONS", many), ParseOptions{.max_message_size = 1 << 20});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->fault(), ParseFault::None);
  EXPECT_EQ(m->headers().size(), 10005u);

  auto vias = parse_message(request("OPTIONS", "Via: " + std::string(20000, ',') + "\r\n"));
  ASSERT_TRUE(vias.ok());
  EXPECT_EQ(vias->fault(), ParseFault::BadRequest);

  const std::string long_line = "X-Long: " + std::string(60000, 'a') + "\r\n";
  auto l = parse_message(request("OPTIONS", long_line));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->fault(), ParseFault::None);

  std::string folds = "Subject: a";
  for (int i = 0; i < 10000; ++i) folds += "\r\n b";
  auto f = parse_message(request("OPTIONS", folds + "\r\n"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->fault(), ParseFault::None);
  EXPECT_EQ(f->header(HeaderId::Subject)->size(), 1 + 10000 * 4u);

  auto quotes = parse_message(request("OPTIONS", "Contact: " + std::string(30000, '"') + "\r\n"));
  ASSERT_TRUE(quotes.ok());
  EXPECT_EQ(quotes->fault(), ParseFault::BadRequest);

  auto digits = parse_message(request("OPTIONS", "Max-Forwards: " + std::string(30000, '7') + "\r\n"));
  ASSERT_TRUE(digits.ok());
  EXPECT_EQ(digits->fault_reason(), "Bad Max-Forwards");
}

TEST(MessageTest, MoveKeepsViewsValid) {
  auto m = parse_message(kRegister);
  ASSERT_TRUE(m.ok());
  Message moved = std::move(m).value();
  std::vector<Message> store;
  store.push_back(std::move(moved));
  store.emplace_back(std::move(parse_message(kRegister).value()));
  EXPECT_EQ(store[0].call_id(), "reg-1@198.18.0.100");
  EXPECT_EQ(store[0].vias()[0].branch, "z9hG4bKabc");
  EXPECT_EQ(store[0].raw().substr(0, 8), "REGISTER");
}

}  // namespace
}  // namespace hapbx::sip
