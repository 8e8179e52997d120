// Header value parsers: Via (RFC 3261 20.42, RFC 3581 rport), name-addr / addr-spec
// (RFC 3261 20.10), CSeq, generic parameters, comma-separated lists, delta-seconds and qvalue.
#include <gtest/gtest.h>

#include "sip/message.h"

namespace hapbx::sip {
namespace {

TEST(ViaTest, Basic) {
  auto v = parse_via("SIP/2.0/UDP 198.18.0.100:5062;branch=z9hG4bK776;received=198.18.0.1;rport=40000");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->protocol, "SIP/2.0");
  EXPECT_EQ(v->transport, "UDP");
  EXPECT_EQ(v->host, "198.18.0.100");
  EXPECT_EQ(v->port, 5062);
  EXPECT_EQ(v->branch, "z9hG4bK776");
  EXPECT_EQ(v->received, "198.18.0.1");
  EXPECT_TRUE(v->has_rport);
  EXPECT_EQ(v->rport, 40000);
}

TEST(ViaTest, RportFlagIPv6AndWhitespace) {
  auto v = parse_via(" SIP / 2.0 / TCP  [2001:db8::9:1] : 5070 ; rport ; branch = z9hG4bKx ");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->protocol, "SIP/2.0");
  EXPECT_EQ(v->transport, "TCP");
  EXPECT_EQ(v->host, "2001:db8::9:1");
  EXPECT_EQ(v->port, 5070);
  EXPECT_TRUE(v->has_rport);
  EXPECT_FALSE(v->rport.has_value());
  EXPECT_EQ(v->branch, "z9hG4bKx");
  EXPECT_FALSE(v->received.has_value());
}

TEST(ViaTest, NoBranchIsAccepted) {
  auto v = parse_via("SIP/2.0/UDP host.example.com");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->branch, "");
  EXPECT_EQ(v->port, 0);
}

TEST(ViaTest, Rejects) {
  for (const char* bad : {"", "SIP/2.0", "SIP/2.0/UDP", "SIP/2.0/UDP ", "SIP 2.0 UDP host",
                          "SIP/2.0/UDPhost", "SIP/2.0/UDP host:0", "SIP/2.0/UDP host:99999",
                          "SIP/2.0/UDP host;;", "SIP/2.0/UDP host;branch=", "SIP/2.0/UDP host;rport=x",
                          "SIP/2.0/UDP [::1", "SIP/2.0/UDP host junk"}) {
    EXPECT_FALSE(parse_via(bad).ok()) << bad;
  }
}

TEST(NameAddrTest, QuotedDisplayName) {
  auto na = parse_name_addr("\"Alice \\\"A\\\" Smith\" <sip:alice@example.com;transport=tcp>;tag=abc;expires=60");
  ASSERT_TRUE(na.ok()) << na.error().message;
  EXPECT_EQ(unquote(na->display_name), "Alice \"A\" Smith");
  EXPECT_EQ(na->uri.user, "alice");
  EXPECT_EQ(param_value(na->uri.params, "transport"), "tcp");
  EXPECT_EQ(na->tag(), "abc");
  EXPECT_EQ(param_value(na->params, "expires"), "60");
}

TEST(NameAddrTest, TokenDisplayNameAndNoSpace) {
  auto na = parse_name_addr("Bob Jones<sip:bob@example.com>");
  ASSERT_TRUE(na.ok());
  EXPECT_EQ(na->display_name, "Bob Jones");
  EXPECT_EQ(na->uri.host, "example.com");
}

TEST(NameAddrTest, AddrSpecParamsAreHeaderParams) {
  // RFC 3261 20.10: without <>, ;tag belongs to the header, not to the URI.
  auto na = parse_name_addr("sip:bob@example.com;tag=xyz;transport=tcp");
  ASSERT_TRUE(na.ok());
  EXPECT_TRUE(na->uri.params.empty());
  EXPECT_EQ(na->tag(), "xyz");
  EXPECT_EQ(param_value(na->params, "transport"), "tcp");
  EXPECT_EQ(na->display_name, "");
}

TEST(NameAddrTest, StarAndOtherSchemes) {
  auto star = parse_name_addr(" * ");
  ASSERT_TRUE(star.ok());
  EXPECT_TRUE(star->star);
  auto tel = parse_name_addr("<tel:+15551234>;tag=1");
  ASSERT_TRUE(tel.ok());
  EXPECT_EQ(tel->uri.scheme, "tel");
  EXPECT_EQ(tel->tag(), "1");
}

TEST(NameAddrTest, Rejects) {
  for (const char* bad : {"", "\"unterminated <sip:a@b>", "\"name\" sip:a@b", "<sip:a@b",
                          "< sip:a@b>", "<sip:a@b >", "Bell, Alex <sip:a@b>", "sip:a@b?x=y",
                          "<sip:a@b>;", "<sip:a@b>;tag", "<sip:a@b>;tag=\"x", "<sip:a@b> junk",
                          "<>", "\"x\"", "@@@"}) {
    auto r = parse_name_addr(bad);
    if (std::string_view(bad) == "<sip:a@b>;tag") {
      EXPECT_TRUE(r.ok());  // a flag parameter is fine
      continue;
    }
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST(CSeqTest, Parses) {
  auto c = parse_cseq(" 4711   INVITE ");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->number, 4711u);
  EXPECT_EQ(c->method, Method::Invite);
  EXPECT_EQ(c->method_text, "INVITE");
  auto max = parse_cseq("2147483647 FOO");
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->method, Method::Unknown);
  EXPECT_EQ(max->method_text, "FOO");
  for (const char* bad : {"", "1", "INVITE", "2147483648 INVITE", "-1 INVITE", "1INVITE",
                          "1 INVITE x", "99999999999999999999 INVITE", "1 INV\"ITE"}) {
    EXPECT_FALSE(parse_cseq(bad).ok()) << bad;
  }
}

TEST(SplitTest, RespectsQuotesAndAngles) {
  auto v = split_header_values("\"Doe, John\" <sip:a@b;x=1,2>, <sip:c@d> ,,sip:e@f ,");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], "\"Doe, John\" <sip:a@b;x=1,2>");
  EXPECT_EQ(v[1], "<sip:c@d>");
  EXPECT_EQ(v[2], "sip:e@f");
  EXPECT_TRUE(split_header_values("").empty());
  EXPECT_EQ(split_header_values("\"a\\\",b\", c").size(), 2u);
}

TEST(ParamsTest, GenericParams) {
  Params p;
  ASSERT_TRUE(parse_header_params(" ; a = 1 ;b; c=\"x;y\" ", p).ok());
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].value, "1");
  EXPECT_FALSE(p[1].has_value);
  EXPECT_EQ(p[2].value, "\"x;y\"");
  Params q;
  EXPECT_FALSE(parse_header_params("a=1", q).ok());
  EXPECT_FALSE(parse_header_params(";=1", q).ok());
}

TEST(ScalarsTest, DeltaSecondsAndQvalue) {
  EXPECT_EQ(parse_delta_seconds("3600"), 3600u);
  EXPECT_EQ(parse_delta_seconds(" 0 "), 0u);
  EXPECT_EQ(parse_delta_seconds("99999999999999999999999999"), 0xffffffffU);
  EXPECT_EQ(parse_delta_seconds("-1"), std::nullopt);
  EXPECT_EQ(parse_delta_seconds("1h"), std::nullopt);
  EXPECT_EQ(parse_delta_seconds(""), std::nullopt);
  EXPECT_EQ(parse_qvalue("0.5"), 500);
  EXPECT_EQ(parse_qvalue("1"), 1000);
  EXPECT_EQ(parse_qvalue("1.000"), 1000);
  EXPECT_EQ(parse_qvalue("0.123"), 123);
  EXPECT_EQ(parse_qvalue("0."), 0);
  EXPECT_EQ(parse_qvalue("1.1"), std::nullopt);
  EXPECT_EQ(parse_qvalue("0.1234"), std::nullopt);
  EXPECT_EQ(parse_qvalue("2"), std::nullopt);
  EXPECT_EQ(parse_qvalue(".5"), std::nullopt);
}

TEST(HeaderIdTest, FullCompactAndCase) {
  EXPECT_EQ(header_id("v"), HeaderId::Via);
  EXPECT_EQ(header_id("VIA"), HeaderId::Via);
  EXPECT_EQ(header_id("call-id"), HeaderId::CallId);
  EXPECT_EQ(header_id("I"), HeaderId::CallId);
  EXPECT_EQ(header_id("m"), HeaderId::Contact);
  EXPECT_EQ(header_id("l"), HeaderId::ContentLength);
  EXPECT_EQ(header_id("c"), HeaderId::ContentType);
  EXPECT_EQ(header_id("k"), HeaderId::Supported);
  EXPECT_EQ(header_id("s"), HeaderId::Subject);
  EXPECT_EQ(header_id("e"), HeaderId::ContentEncoding);
  EXPECT_EQ(header_id("f"), HeaderId::From);
  EXPECT_EQ(header_id("t"), HeaderId::To);
  EXPECT_EQ(header_id("o"), HeaderId::Event);
  EXPECT_EQ(header_id("u"), HeaderId::AllowEvents);
  EXPECT_EQ(header_id("r"), HeaderId::ReferTo);
  EXPECT_EQ(header_id("b"), HeaderId::ReferredBy);
  EXPECT_EQ(header_id("x"), HeaderId::SessionExpires);
  EXPECT_EQ(header_id("www-authenticate"), HeaderId::WwwAuthenticate);
  EXPECT_EQ(header_id("X-Custom"), HeaderId::Other);
  EXPECT_EQ(header_id("z"), HeaderId::Other);
  EXPECT_EQ(header_id(""), HeaderId::Other);
  EXPECT_EQ(canonical_name(HeaderId::CallId), "Call-ID");
  EXPECT_EQ(canonical_name(HeaderId::WwwAuthenticate), "WWW-Authenticate");
  EXPECT_EQ(canonical_name(HeaderId::Other), "");
  // Every id maps back to itself through its canonical name.
  for (int i = 1; i <= static_cast<int>(HeaderId::RAck); ++i) {
    const auto id = static_cast<HeaderId>(i);
    EXPECT_EQ(header_id(canonical_name(id)), id) << i;
  }
}

TEST(MethodTest, Conversions) {
  EXPECT_EQ(method_from_string("INVITE"), Method::Invite);
  EXPECT_EQ(method_from_string("invite"), Method::Unknown);  // case-sensitive
  EXPECT_EQ(method_from_string("PUBLISH"), Method::Publish);
  EXPECT_EQ(to_string(Method::Register), "REGISTER");
  for (int i = 0; i < static_cast<int>(Method::Unknown); ++i) {
    const auto m = static_cast<Method>(i);
    EXPECT_EQ(method_from_string(to_string(m)), m);
  }
}

}  // namespace
}  // namespace hapbx::sip
