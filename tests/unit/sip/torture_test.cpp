// The torture corpus (tests/unit/sip/torture/): messages written for hapbx after the case
// descriptions of RFC 4475 and the IPv6 cases of RFC 5118, each with its expected verdict in
// verdicts.txt. Valid ones must also survive print -> parse with the same structure.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sip/message.h"
#include "sip/message_writer.h"

namespace hapbx::sip {
namespace {

struct Case {
  std::string name;
  std::string verdict;  // valid | fault | error
  std::string reason;
};

std::string dir() { return std::string(HAPBX_TEST_DATA_DIR) + "/unit/sip/torture/"; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<Case> load_cases() {
  std::vector<Case> cases;
  std::istringstream in(read_file(dir() + "verdicts.txt"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    Case c;
    ls >> c.name >> c.verdict;
    std::getline(ls, c.reason);
    c.reason = std::string(trim(c.reason));
    cases.push_back(c);
  }
  return cases;
}

// The parts of a message a round trip must preserve.
std::string summary(const Message& m) {
  std::ostringstream s;
  s << m.is_request() << '|' << m.method_text() << '|' << m.request_uri().text << '|'
    << m.status_code() << '|' << m.reason_phrase() << '|';
  for (const Header& h : m.headers()) {
    if (h.id != HeaderId::ContentLength) s << static_cast<int>(h.id) << ':' << h.value << '\n';
  }
  for (const Via& v : m.vias()) s << v.transport << ' ' << v.host << ':' << v.port << ' ' << v.branch << ',';
  s << '|' << m.from().uri.text << ' ' << m.from().tag() << '|' << m.to().uri.text << ' ' << m.to().tag();
  s << '|' << m.call_id() << '|' << m.cseq().number << ' ' << m.cseq().method_text << '|';
  for (const NameAddr& c : m.contacts()) s << c.uri.text << ' ' << c.params.size() << ',';
  s << '|' << m.max_forwards().value_or(999) << '|' << m.expires().value_or(7) << '|' << m.body();
  return s.str();
}

TEST(TortureTest, CorpusIsThere) { EXPECT_GE(load_cases().size(), 50u); }

TEST(TortureTest, EveryMessageGetsItsVerdict) {
  for (const Case& c : load_cases()) {
    SCOPED_TRACE(c.name);
    const std::string bytes = read_file(dir() + c.name + ".sip");
    ASSERT_FALSE(bytes.empty());
    auto m = parse_message(bytes);
    if (c.verdict == "error") {
      ASSERT_FALSE(m.ok());
      EXPECT_NE(m.error().message.find(c.reason), std::string::npos) << m.error().message;
      continue;
    }
    ASSERT_TRUE(m.ok()) << m.error().message;
    if (c.verdict == "fault") {
      EXPECT_EQ(m->fault(), ParseFault::BadRequest);
      EXPECT_EQ(m->fault_reason(), c.reason);
      // A 400 can always be built from a faulty message.
      const std::string reply = make_response(*m, 400, m->fault_reason()).finish();
      EXPECT_TRUE(parse_message(reply).ok()) << reply;
      continue;
    }
    ASSERT_EQ(c.verdict, "valid");
    EXPECT_EQ(m->fault(), ParseFault::None) << m->fault_reason();
    const std::string printed = print_message(*m);
    auto again = parse_message(printed);
    ASSERT_TRUE(again.ok()) << again.error().message << "\n" << printed;
    EXPECT_EQ(again->fault(), ParseFault::None) << again->fault_reason() << "\n" << printed;
    EXPECT_EQ(summary(*m), summary(*again));
    EXPECT_EQ(print_message(*again), printed);  // printing is a fixed point
  }
}

TEST(TortureTest, SelectedDetails) {
  auto wsinv = parse_message(read_file(dir() + "wsinv.sip"));
  ASSERT_TRUE(wsinv.ok());
  ASSERT_EQ(wsinv->vias().size(), 3u);
  EXPECT_EQ(wsinv->vias()[0].protocol, "SIP/2.0");
  EXPECT_EQ(wsinv->vias()[0].transport, "UDP");
  EXPECT_EQ(wsinv->vias()[1].branch, "z9hG4bK9ikj8");
  EXPECT_EQ(wsinv->vias()[2].branch, "z9hG4bK30239");
  EXPECT_EQ(wsinv->max_forwards(), 68u);
  EXPECT_EQ(wsinv->cseq().number, 9u);
  EXPECT_EQ(wsinv->from().tag(), "77kq2");
  EXPECT_EQ(unquote(wsinv->from().display_name), "Bob \\\"");
  EXPECT_EQ(wsinv->to().display_name, "alice");
  ASSERT_EQ(wsinv->contacts().size(), 1u);
  EXPECT_EQ(param_value(wsinv->contacts()[0].params, "q"), "0.33");
  EXPECT_EQ(param_value(wsinv->contacts()[0].params, "newparam"), "newvalue");
  EXPECT_EQ(wsinv->header("NewFangledHeader"), "newfangled value   continued newfangled value");
  EXPECT_EQ(wsinv->body().size(), *wsinv->content_length());

  auto semi = parse_message(read_file(dir() + "semiuri.sip"));
  ASSERT_TRUE(semi.ok());
  EXPECT_EQ(semi->request_uri().user, "user;par=u%40example.net");
  EXPECT_EQ(semi->request_uri().host, "example.com");
  EXPECT_EQ(semi->values(HeaderId::Accept).size(), 6u);

  auto dbl = parse_message(read_file(dir() + "dblreq.sip"));
  ASSERT_TRUE(dbl.ok());
  EXPECT_EQ(dbl->method(), Method::Register);
  EXPECT_EQ(dbl->body(), "");

  auto multi = parse_message(read_file(dir() + "multi01.sip"));
  ASSERT_TRUE(multi.ok());
  ASSERT_EQ(multi->contacts().size(), 3u);
  EXPECT_EQ(unquote(multi->contacts()[0].display_name), "Desk");
  EXPECT_EQ(multi->contacts()[2].uri.host, "198.18.0.102");
  EXPECT_EQ(param_value(multi->contacts()[2].params, "expires"), "0");
  EXPECT_TRUE(multi->contacts()[2].uri.params.empty());
  EXPECT_EQ(multi->values(HeaderId::Route).size(), 3u);
  EXPECT_EQ(multi->vias()[0].rport, 5062);
  EXPECT_EQ(multi->vias()[0].received, "198.18.0.7");

  auto v6 = parse_message(read_file(dir() + "ipv6-port.sip"));
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->request_uri().host, "2001:db8::10");
  EXPECT_EQ(v6->request_uri().port, 5070);
  EXPECT_EQ(v6->vias()[0].host, "2001:db8::9:1");
  EXPECT_EQ(v6->vias()[0].port, 5062);
  EXPECT_EQ(v6->vias()[0].received, "2001:db8::9:255");
  EXPECT_EQ(v6->contacts()[0].uri.host, "2001:db8::1");

  auto amb = parse_message(read_file(dir() + "ipv6-ambiguous.sip"));
  ASSERT_TRUE(amb.ok());
  EXPECT_EQ(amb->request_uri().host, "2001:db8::10:5070");
  EXPECT_EQ(amb->request_uri().port, 0);

  auto scalar = parse_message(read_file(dir() + "scalar02.sip"));
  ASSERT_TRUE(scalar.ok());
  EXPECT_EQ(scalar->expires(), 0xffffffffU);  // overlarge delta-seconds clamp, not a fault

  auto noreason = parse_message(read_file(dir() + "noreason.sip"));
  ASSERT_TRUE(noreason.ok());
  EXPECT_EQ(noreason->status_code(), 100);
  EXPECT_EQ(noreason->reason_phrase(), "");

  auto esc2 = parse_message(read_file(dir() + "esc02.sip"));
  ASSERT_TRUE(esc2.ok());
  EXPECT_EQ(esc2->method(), Method::Unknown);
  EXPECT_EQ(esc2->method_text(), "RE%47IST%45R");
  EXPECT_EQ(esc2->contacts().size(), 2u);  // "C%6Fntact" is another header

  auto compact = parse_message(read_file(dir() + "compact.sip"));
  ASSERT_TRUE(compact.ok());
  EXPECT_EQ(compact->vias()[0].branch, "z9hG4bKcmp1");
  EXPECT_EQ(compact->from().tag(), "cf1");
  EXPECT_EQ(compact->values(HeaderId::Supported).size(), 2u);
  EXPECT_EQ(compact->header(HeaderId::Subject), "a subject,    folded");
  EXPECT_TRUE(compact->header(HeaderId::ReferTo).has_value());
  EXPECT_TRUE(compact->header(HeaderId::SessionExpires).has_value());
  EXPECT_TRUE(compact->header(HeaderId::AllowEvents).has_value());
}

}  // namespace
}  // namespace hapbx::sip
