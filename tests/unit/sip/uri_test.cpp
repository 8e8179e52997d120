// SIP/SIPS/tel URI parsing, printing and RFC 3261 19.1.4 comparison.
#include <gtest/gtest.h>

#include "sip/uri.h"

namespace hapbx::sip {
namespace {

TEST(UriTest, FullSipUri) {
  auto u = parse_uri("sip:alice:secret@pbx.example.com:5070;transport=tcp;lr?subject=hi&priority=urgent");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->scheme, "sip");
  EXPECT_TRUE(u->is_sip());
  EXPECT_EQ(u->user, "alice");
  EXPECT_EQ(u->password, "secret");
  EXPECT_EQ(u->host, "pbx.example.com");
  EXPECT_EQ(u->port, 5070);
  ASSERT_EQ(u->params.size(), 2u);
  EXPECT_EQ(param_value(u->params, "TRANSPORT"), "tcp");
  EXPECT_EQ(param_value(u->params, "lr"), "");
  EXPECT_FALSE(find_param(u->params, "lr")->has_value);
  ASSERT_EQ(u->headers.size(), 2u);
  EXPECT_EQ(u->headers[1].name, "priority");
  EXPECT_EQ(u->headers[1].value, "urgent");
}

TEST(UriTest, HostForms) {
  auto v4 = parse_uri("sips:198.18.0.10");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->scheme, "sips");
  EXPECT_EQ(v4->host, "198.18.0.10");
  EXPECT_EQ(v4->user, "");
  auto v6 = parse_uri("sip:201@[2001:db8::1]:5060;maddr=[2001:db8::2]");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->host, "2001:db8::1");
  EXPECT_EQ(v6->port, 5060);
  EXPECT_EQ(param_value(v6->params, "maddr"), "[2001:db8::2]");
  EXPECT_EQ(to_string(*v6), "sip:201@[2001:db8::1]:5060;maddr=[2001:db8::2]");
}

TEST(UriTest, SchemeIsCaseInsensitive) {
  auto u = parse_uri("SIP:Bob@Example.COM");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->is_sip());
  EXPECT_EQ(u->scheme, "sip");
  EXPECT_EQ(u->text, "SIP:Bob@Example.COM");
}

TEST(UriTest, TelAndOtherSchemes) {
  auto tel = parse_uri("tel:+1-201-555-0123;phone-context=example.com");
  ASSERT_TRUE(tel.ok());
  EXPECT_EQ(tel->scheme, "tel");
  EXPECT_EQ(tel->user, "+1-201-555-0123");
  EXPECT_EQ(param_value(tel->params, "phone-context"), "example.com");
  EXPECT_EQ(to_string(*tel), "tel:+1-201-555-0123;phone-context=example.com");
  auto urn = parse_uri("urn:service:sos");
  ASSERT_TRUE(urn.ok());
  EXPECT_EQ(urn->scheme, "urn");
  EXPECT_EQ(urn->opaque, "service:sos");
  EXPECT_FALSE(urn->is_sip());
  EXPECT_EQ(to_string(*urn), "urn:service:sos");
}

TEST(UriTest, RejectsMalformed) {
  for (const char* bad : {"", "sip:", "sip:@host", "sip:user@", "sip:host:0", "sip:host:65536",
                          "sip:host:12a", "sip:[2001:db8::1", "sip:[zz]", "sip:a b@host",
                          "<sip:host>", "sip:host;=x", "sip:host;a=", "sip:host?", "sip:host?a",
                          "1sip:host", "nocolon", "sip:host\x01", "sip:2001:db8::1", "tel:"}) {
    EXPECT_FALSE(parse_uri(bad).ok()) << bad;
  }
}

TEST(UriTest, PrintRoundTrip) {
  for (const char* text : {"sip:201@pbx.example.com", "sips:a:b@h:1;x;y=z?h=v&i=",
                           "sip:[::1]:5060;transport=udp", "sip:user;par=u%40x@example.com"}) {
    auto u = parse_uri(text);
    ASSERT_TRUE(u.ok()) << text;
    const std::string printed = to_string(*u);
    EXPECT_EQ(printed, text);
    auto again = parse_uri(printed);
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(uri_equal(*u, *again));
  }
}

TEST(UriTest, ComparisonRules) {
  auto eq = [](const char* a, const char* b) {
    auto ua = parse_uri(a);
    auto ub = parse_uri(b);
    return ua.ok() && ub.ok() && uri_equal(*ua, *ub) && uri_equal(*ub, *ua);
  };
  // RFC 3261 19.1.4 examples, equal.
  EXPECT_TRUE(eq("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
  EXPECT_TRUE(eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
  EXPECT_TRUE(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5"));
  EXPECT_TRUE(eq("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                 "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
  // ... and not equal.
  EXPECT_FALSE(eq("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
  EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
  EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
  EXPECT_FALSE(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
  EXPECT_FALSE(eq("sip:bob@biloxi.com", "sips:bob@biloxi.com"));
  EXPECT_FALSE(eq("sip:h?a=1", "sip:h"));
}

TEST(UriTest, Helpers) {
  EXPECT_TRUE(iequals("Call-ID", "call-id"));
  EXPECT_FALSE(iequals("Call-ID", "call-i"));
  EXPECT_EQ(trim(" \t x y \r\n"), "x y");
  EXPECT_EQ(trim("   "), "");
  EXPECT_EQ(unquote("\"a \\\"b\\\\ c\""), "a \"b\\ c");
  EXPECT_EQ(unquote("token"), "token");
  EXPECT_EQ(unquote("\""), "\"");
  EXPECT_EQ(param_value({}, "x"), std::nullopt);
}

}  // namespace
}  // namespace hapbx::sip
