// Registrar, end to end at the pure level: REGISTER text in, response text out, with a manual
// clock. Covers the challenge, success, wrong password, unknown user (identical 401 and 403),
// stale nonce, nc replay, throttle, 423, max clamp, Expires 0, Contact *, refresh, CSeq order,
// query, per-peer cap.
#include "pbx/registrar.h"

#include <gtest/gtest.h>

#include <regex>

#include "sip/message_writer.h"

namespace hapbx::pbx {
namespace {

using std::chrono::seconds;

const sip::Endpoint kPhone{sip::TransportKind::Udp, "198.18.0.100", 5062, 0};
const sip::Endpoint kAttacker{sip::TransportKind::Udp, "203.0.113.9", 5060, 0};

SipPeer peer(std::string name, std::string secret) {
  SipPeer p;
  p.name = std::move(name);
  p.secret = std::move(secret);
  return p;
}

SipConfig make_config() {
  SipConfig c;
  c.general.realm = "asterisk";
  c.general.offer_sha256 = true;  // authalgorithms=sha-256,md5
  c.peers.push_back(peer("201", "s3cret201"));
  c.peers.push_back(peer("202", "s3cret202"));
  SipPeer fixed = peer("300", "trunkpw");  // static host: may not register
  fixed.dynamic = false;
  fixed.host = "198.18.0.50";
  c.peers.push_back(fixed);
  c.reindex();
  return c;
}

struct Request {
  std::string user = "201";
  std::vector<std::string> contacts{"<sip:201@198.18.0.100:5062>"};
  std::optional<uint32_t> expires;
  uint32_t cseq = 1;
  std::string call_id = "reg-call-1";
  std::string authorization;
};

std::string text(const Request& r) {
  std::string m = "REGISTER sip:198.18.0.10 SIP/2.0\r\n";
  m += "Via: SIP/2.0/UDP 198.18.0.100:5062;branch=z9hG4bK-" + std::to_string(r.cseq) + ";rport\r\n";
  m += "Max-Forwards: 70\r\n";
  m += "From: <sip:" + r.user + "@198.18.0.10>;tag=from1\r\n";
  m += "To: <sip:" + r.user + "@198.18.0.10>\r\n";
  m += "Call-ID: " + r.call_id + "\r\n";
  m += "CSeq: " + std::to_string(r.cseq) + " REGISTER\r\n";
  for (const auto& c : r.contacts) m += "Contact: " + c + "\r\n";
  if (r.expires) m += "Expires: " + std::to_string(*r.expires) + "\r\n";
  if (!r.authorization.empty()) m += "Authorization: " + r.authorization + "\r\n";
  m += "User-Agent: TestPhone 1.0, build 7\r\n";
  m += "Content-Length: 0\r\n\r\n";
  return m;
}

sip::Message parse(std::string bytes) {
  auto m = sip::parse_message(std::move(bytes));
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  return std::move(m).value();
}

// Masks what differs between two otherwise identical responses (tags, nonces, branches).
std::string masked(std::string response) {
  response = std::regex_replace(response, std::regex("tag=[A-Za-z0-9_-]+"), "tag=X");
  response = std::regex_replace(response, std::regex("nonce=\"[^\"]*\""), "nonce=\"X\"");
  return response;
}

class RegistrarTest : public ::testing::Test {
 protected:
  RegistrarTest()
      : config_(make_config()),
        table_(BindingLimits{3, 100}),
        verifier_(sip::NonceKey{1, 2, 3, 4, 5, 6, 7, 8}),
        throttle_(AuthThrottleOptions{4, seconds(60), seconds(300), 100}),
        registrar_(config_, table_, verifier_, &throttle_) {}

  void advance(seconds d) {
    clock_.advance(d);
    wall_ += d;
  }

  RegisterOutcome send(const Request& r, const sip::Endpoint& from = kPhone) {
    auto request = parse(text(r));
    return registrar_.handle(request, from, clock_.now(), wall_);
  }

  // The first WWW-Authenticate challenge of a 401 with the given algorithm.
  static sip::DigestChallenge challenge_of(const RegisterOutcome& out, std::string_view alg) {
    auto response = parse(*out.response);
    for (const auto& h : response.headers()) {
      if (h.id != sip::HeaderId::WwwAuthenticate) continue;
      auto c = sip::parse_digest_challenge(h.value);
      if (c.ok() && sip::to_string(c->algorithm) == alg) return *c;
    }
    ADD_FAILURE() << "no " << alg << " challenge in " << *out.response;
    return {};
  }

  static std::string answer(const sip::DigestChallenge& ch, std::string user,
                            std::string password, uint32_t nc = 1) {
    sip::DigestCredentials cr;
    cr.username = std::move(user);
    cr.realm = ch.realm;
    cr.nonce = ch.nonce;
    cr.uri = "sip:198.18.0.10";
    cr.algorithm = ch.algorithm;
    cr.algorithm_given = true;
    cr.qop = "auth";
    cr.cnonce = "c0ffee";
    char nc_text[9];
    std::snprintf(nc_text, sizeof nc_text, "%08x", nc);
    cr.nc_text = nc_text;
    cr.nc = nc;
    auto response =
        sip::expected_digest_response(cr, "REGISTER", sip::DigestSecret::plaintext(password));
    EXPECT_TRUE(response.ok());
    cr.response = *response;
    return sip::format_digest_credentials(cr);
  }

  // 401 then the authenticated retry (CSeq + 1); returns the second outcome.
  RegisterOutcome login(Request r, std::string password, std::string_view alg = "MD5",
                        const sip::Endpoint& from = kPhone) {
    auto first = send(r, from);
    EXPECT_EQ(first.status, 401);
    r.cseq += 1;
    r.authorization = answer(challenge_of(first, alg), r.user, std::move(password));
    return send(r, from);
  }

  static std::vector<std::string> contacts_of(const RegisterOutcome& out) {
    std::vector<std::string> v;
    const auto response = parse(*out.response);  // must outlive the views values() returns
    for (auto c : response.values(sip::HeaderId::Contact)) v.emplace_back(c);
    return v;
  }

  SipConfig config_;
  BindingTable table_;
  sip::DigestVerifier verifier_;
  AuthThrottle throttle_;
  Registrar registrar_;
  core::ManualClock clock_;
  sip::WallTime wall_ = sip::WallTime{} + seconds(1'800'000'000);
};

TEST_F(RegistrarTest, ChallengeOffersSha256ThenMd5WithQopAuth) {
  auto out = send(Request{});
  ASSERT_EQ(out.status, 401);
  ASSERT_TRUE(out.changes.empty());
  auto response = parse(*out.response);
  EXPECT_EQ(response.status_code(), 401);
  std::vector<std::string> algs;
  for (const auto& h : response.headers()) {
    if (h.id != sip::HeaderId::WwwAuthenticate) continue;
    auto c = sip::parse_digest_challenge(h.value);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->realm, "asterisk");
    EXPECT_EQ(c->qop_options, std::vector<std::string>{"auth"});
    EXPECT_FALSE(c->stale);
    algs.emplace_back(sip::to_string(c->algorithm));
  }
  EXPECT_EQ(algs, (std::vector<std::string>{"SHA-256", "MD5"}));
  EXPECT_FALSE(response.to().tag().empty());
}

TEST_F(RegistrarTest, ChallengeIsMd5OnlyUnlessSha256IsConfigured) {
  SipConfig md5_only = make_config();
  md5_only.general.offer_sha256 = false;
  md5_only.reindex();
  registrar_.reconfigure(md5_only);
  Request r;
  auto out = send(r);
  ASSERT_EQ(out.status, 401);
  auto response = parse(*out.response);
  std::vector<std::string> algs;
  for (const auto& h : response.headers()) {
    if (h.id != sip::HeaderId::WwwAuthenticate) continue;
    auto c = sip::parse_digest_challenge(h.value);
    ASSERT_TRUE(c.ok());
    algs.emplace_back(sip::to_string(c->algorithm));
  }
  EXPECT_EQ(algs, (std::vector<std::string>{"MD5"}));
  registrar_.reconfigure(config_);
}

TEST_F(RegistrarTest, CorrectPasswordRegistersAndListsContacts) {
  Request r;
  r.expires = 600;
  auto out = login(r, "s3cret201");
  ASSERT_EQ(out.status, 200);
  EXPECT_EQ(out.aor, "201");
  ASSERT_EQ(out.changes.size(), 1u);
  const Binding& b = *out.changes[0].after;
  EXPECT_EQ(b.contact, "sip:201@198.18.0.100:5062");
  EXPECT_EQ(b.source, kPhone);
  EXPECT_EQ(b.expires_at, clock_.now() + seconds(600));
  EXPECT_EQ(b.expires_wall, 1'800'000'600);
  EXPECT_EQ(b.cseq, 2u);
  EXPECT_EQ(b.call_id, "reg-call-1");
  EXPECT_EQ(b.user_agent, "TestPhone 1.0, build 7");
  auto response = parse(*out.response);
  EXPECT_EQ(contacts_of(out), std::vector<std::string>{"<sip:201@198.18.0.100:5062>;expires=600"});
  ASSERT_TRUE(response.header(sip::HeaderId::Date).has_value());
  EXPECT_EQ(*response.header(sip::HeaderId::Date), "Fri, 15 Jan 2027 08:00:00 GMT");
  EXPECT_EQ(table_.size(), 1u);
  // SHA-256 works too.
  Request r2;
  r2.user = "202";
  r2.contacts = {"<sip:202@198.18.0.101>"};
  EXPECT_EQ(login(r2, "s3cret202", "SHA-256").status, 200);
}

TEST_F(RegistrarTest, WrongPasswordAndUnknownUserLookAlike) {
  Request known;
  auto known_401 = send(known);
  Request unknown = known;
  unknown.user = "999";
  auto unknown_401 = send(unknown);
  ASSERT_EQ(known_401.status, 401);
  ASSERT_EQ(unknown_401.status, 401);
  // Identical but for the user in From/To and the random parts.
  auto same_user = [](std::string s) {
    return masked(std::regex_replace(s, std::regex("sip:999@"), "sip:201@"));
  };
  EXPECT_EQ(same_user(*unknown_401.response), masked(*known_401.response));

  Request k2 = known;
  k2.cseq = 2;
  k2.authorization = answer(challenge_of(known_401, "MD5"), "201", "wrong");
  auto known_403 = send(k2);
  Request u2 = unknown;
  u2.cseq = 2;
  u2.authorization = answer(challenge_of(unknown_401, "MD5"), "999", "wrong");
  auto unknown_403 = send(u2);
  ASSERT_EQ(known_403.status, 403);
  ASSERT_EQ(unknown_403.status, 403);
  EXPECT_EQ(same_user(*unknown_403.response), masked(*known_403.response));
  EXPECT_TRUE(known_403.changes.empty());
  EXPECT_EQ(table_.size(), 0u);
  // The log says why; the response does not.
  ASSERT_FALSE(unknown_403.log.empty());
  EXPECT_NE(unknown_403.log[0].text.find("no peer named '999'"), std::string::npos);
}

TEST_F(RegistrarTest, StaticPeerAndUsernameMismatchAreForbidden) {
  Request r;
  r.user = "300";
  EXPECT_EQ(login(r, "trunkpw").status, 403);  // right password, but host is not dynamic
  Request m;
  auto first = send(m);
  m.cseq = 2;
  m.authorization = answer(challenge_of(first, "MD5"), "202", "s3cret202");  // 202's own creds
  EXPECT_EQ(send(m).status, 403);
  EXPECT_EQ(table_.size(), 0u);
}

TEST_F(RegistrarTest, StaleNonceGetsStaleChallenge) {
  Request r;
  auto first = send(r);
  advance(seconds(31));  // nonce lifetime is 30 s
  r.cseq = 2;
  r.authorization = answer(challenge_of(first, "MD5"), "201", "s3cret201");
  auto out = send(r);
  ASSERT_EQ(out.status, 401);
  EXPECT_TRUE(challenge_of(out, "MD5").stale);
  EXPECT_TRUE(challenge_of(out, "SHA-256").stale);
  EXPECT_EQ(table_.size(), 0u);
}

TEST_F(RegistrarTest, NonceCountReplayIsRejected) {
  Request r;
  auto first = send(r);
  r.cseq = 2;
  r.authorization = answer(challenge_of(first, "MD5"), "201", "s3cret201", 1);
  ASSERT_EQ(send(r).status, 200);
  // The same authorized request again (a captured packet replayed with a new CSeq).
  r.cseq = 3;
  auto replay = send(r);
  ASSERT_EQ(replay.status, 401);  // not accepted: a fresh challenge
  EXPECT_TRUE(challenge_of(replay, "MD5").stale);
  EXPECT_TRUE(replay.changes.empty());
  // A higher nc with the same nonce is fine.
  r.cseq = 4;
  r.authorization = answer(challenge_of(first, "MD5"), "201", "s3cret201", 2);
  EXPECT_EQ(send(r).status, 200);
}

TEST_F(RegistrarTest, ThrottleBlocksAfterFailuresAndLogsOnce) {
  Request r;
  r.user = "999";
  int warnings = 0;
  for (uint32_t i = 0; i < 4; ++i) {
    auto first = send(r, kAttacker);
    ASSERT_EQ(first.status, 401);
    Request attempt = r;
    attempt.cseq = r.cseq + 1;
    attempt.authorization = answer(challenge_of(first, "MD5"), "999", "guess");
    auto out = send(attempt, kAttacker);
    ASSERT_EQ(out.status, 403);
    for (const auto& l : out.log) warnings += l.level == RegistrarLog::Level::Warning;
    r.cseq += 2;
  }
  EXPECT_EQ(warnings, 1);
  // Blocked now: even the first REGISTER gets 403 and no challenge, and nothing more is logged.
  auto blocked = send(r, kAttacker);
  EXPECT_EQ(blocked.status, 403);
  EXPECT_TRUE(blocked.log.empty());
  // Another source is unaffected; with drop_blocked the attacker gets no answer at all.
  EXPECT_EQ(send(Request{}).status, 401);
  registrar_.set_drop_blocked(true);
  auto dropped = send(r, kAttacker);
  EXPECT_EQ(dropped.status, 0);
  EXPECT_FALSE(dropped.response.has_value());
  // The block ends.
  advance(seconds(301));
  EXPECT_EQ(send(r, kAttacker).status, 401);
}

TEST_F(RegistrarTest, TooBriefIs423WithMinExpiresAndMaxIsClamped) {
  Request r;
  r.expires = 30;
  auto out = login(r, "s3cret201");
  ASSERT_EQ(out.status, 423);
  auto response = parse(*out.response);
  ASSERT_TRUE(response.header(sip::HeaderId::MinExpires).has_value());
  EXPECT_EQ(*response.header(sip::HeaderId::MinExpires), "60");
  EXPECT_EQ(table_.size(), 0u);

  Request big;
  big.expires = 30;  // header says too brief, but the contact param wins
  big.contacts = {"<sip:201@198.18.0.100:5062>;expires=99999"};
  big.cseq = 10;
  auto clamped = login(big, "s3cret201");
  ASSERT_EQ(clamped.status, 200);
  EXPECT_EQ(contacts_of(clamped),
            std::vector<std::string>{"<sip:201@198.18.0.100:5062>;expires=3600"});
  // No expiry anywhere: defaultexpiry (120).
  Request none;
  none.user = "202";
  none.contacts = {"<sip:202@198.18.0.101>"};
  auto def = login(none, "s3cret202");
  EXPECT_EQ(contacts_of(def), std::vector<std::string>{"<sip:202@198.18.0.101>;expires=120"});
}

TEST_F(RegistrarTest, RefreshKeepsOneBindingAndRemainingIsShown) {
  Request r;
  r.expires = 600;
  ASSERT_EQ(login(r, "s3cret201").status, 200);
  advance(seconds(100));
  // A second binding from another device, then the query shows both with their remaining time.
  Request other;
  other.contacts = {"<sip:201@198.18.0.102:5060>"};
  other.call_id = "other-device";
  other.expires = 300;
  ASSERT_EQ(login(other, "s3cret201").status, 200);
  EXPECT_EQ(table_.size(), 2u);

  r.cseq = 5;
  auto refresh = login(r, "s3cret201");
  ASSERT_EQ(refresh.status, 200);
  EXPECT_EQ(table_.size(), 2u);
  ASSERT_EQ(refresh.changes.size(), 1u);
  EXPECT_TRUE(refresh.changes[0].before.has_value());  // an update, not an addition
  EXPECT_EQ(contacts_of(refresh),
            (std::vector<std::string>{"<sip:201@198.18.0.100:5062>;expires=600",
                                      "<sip:201@198.18.0.102:5060>;expires=300"}));
}

TEST_F(RegistrarTest, QueryWithoutContactListsBindings) {
  Request r;
  r.expires = 600;
  ASSERT_EQ(login(r, "s3cret201").status, 200);
  advance(seconds(10));
  Request q;
  q.contacts.clear();
  q.call_id = "query";
  auto out = login(q, "s3cret201");
  ASSERT_EQ(out.status, 200);
  EXPECT_TRUE(out.changes.empty());
  EXPECT_EQ(contacts_of(out), std::vector<std::string>{"<sip:201@198.18.0.100:5062>;expires=590"});
}

TEST_F(RegistrarTest, ExpiresZeroRemovesOneBinding) {
  Request r;
  ASSERT_EQ(login(r, "s3cret201").status, 200);
  r.cseq = 5;
  r.expires = 0;
  auto out = login(r, "s3cret201");
  ASSERT_EQ(out.status, 200);
  ASSERT_EQ(out.changes.size(), 1u);
  EXPECT_TRUE(out.changes[0].is_removal());
  EXPECT_TRUE(contacts_of(out).empty());
  EXPECT_EQ(table_.size(), 0u);
}

TEST_F(RegistrarTest, ContactStarRemovesAllAndIsStrict) {
  Request a;
  ASSERT_EQ(login(a, "s3cret201").status, 200);
  Request b;
  b.contacts = {"<sip:201@198.18.0.102>"};
  b.call_id = "second";
  ASSERT_EQ(login(b, "s3cret201").status, 200);
  ASSERT_EQ(table_.size(), 2u);

  Request bad = a;
  bad.cseq = 10;
  bad.contacts = {"*"};
  bad.expires = 3600;  // * needs Expires: 0
  EXPECT_EQ(login(bad, "s3cret201").status, 400);
  bad.cseq = 20;
  bad.expires = 0;
  bad.contacts = {"*", "<sip:201@198.18.0.103>"};  // * must be alone
  EXPECT_EQ(login(bad, "s3cret201").status, 400);
  EXPECT_EQ(table_.size(), 2u);

  Request star = a;
  star.cseq = 30;
  star.contacts = {"*"};
  star.expires = 0;
  auto out = login(star, "s3cret201");
  ASSERT_EQ(out.status, 200);
  EXPECT_EQ(out.changes.size(), 2u);
  EXPECT_EQ(table_.size(), 0u);
}

TEST_F(RegistrarTest, SameCallIdWithOldCSeqFailsAndChangesNothing) {
  Request r;
  r.cseq = 10;
  r.expires = 600;
  ASSERT_EQ(login(r, "s3cret201").status, 200);  // binding has CSeq 11
  // A delayed older request of the same Call-ID (CSeq 5, authenticated with CSeq 6).
  Request old = r;
  old.cseq = 5;
  old.expires = 0;
  auto out = login(old, "s3cret201");
  EXPECT_EQ(out.status, 500);
  EXPECT_TRUE(out.changes.empty());
  EXPECT_EQ(table_.size(), 1u);
  // Equal CSeq fails too (11): the authenticated retry of CSeq 10 lands on 11.
  old.cseq = 10;
  EXPECT_EQ(login(old, "s3cret201").status, 500);
  // Contact * is held to the same rule.
  Request star = r;
  star.cseq = 3;
  star.contacts = {"*"};
  star.expires = 0;
  EXPECT_EQ(login(star, "s3cret201").status, 500);
  EXPECT_EQ(table_.size(), 1u);
  // Another Call-ID may do anything (a rebooted phone).
  Request other = old;
  other.call_id = "rebooted";
  other.cseq = 1;
  EXPECT_EQ(login(other, "s3cret201").status, 200);
  EXPECT_EQ(table_.size(), 0u);
}

TEST_F(RegistrarTest, PerPeerCapEvictsOldestAndRefusesOversizedRequests) {
  // Cap is 3 in this fixture.
  for (int i = 0; i < 3; ++i) {
    Request r;
    r.contacts = {"<sip:201@198.18.0." + std::to_string(100 + i) + ">"};
    r.call_id = "dev" + std::to_string(i);
    r.expires = static_cast<uint32_t>(600 + i * 10);
    ASSERT_EQ(login(r, "s3cret201").status, 200);
  }
  Request fourth;
  fourth.contacts = {"<sip:201@198.18.0.200>"};
  fourth.call_id = "dev4";
  fourth.expires = 600;
  auto out = login(fourth, "s3cret201");
  ASSERT_EQ(out.status, 200);
  EXPECT_EQ(table_.contacts("201").size(), 3u);
  EXPECT_EQ(table_.find("201", "sip:201@198.18.0.100"), nullptr);  // closest to expiry: evicted
  ASSERT_EQ(out.changes.size(), 2u);
  EXPECT_TRUE(out.changes[0].is_removal());

  Request many;
  many.call_id = "many";
  many.contacts = {"<sip:201@10.0.0.1>", "<sip:201@10.0.0.2>", "<sip:201@10.0.0.3>",
                   "<sip:201@10.0.0.4>"};
  EXPECT_EQ(login(many, "s3cret201").status, 403);
  EXPECT_EQ(table_.contacts("201").size(), 3u);
}

TEST_F(RegistrarTest, ExpireRemovesAndLogs) {
  Request r;
  r.expires = 60;
  ASSERT_EQ(login(r, "s3cret201").status, 200);
  EXPECT_EQ(table_.next_expiry(), clock_.now() + seconds(60));
  advance(seconds(59));
  EXPECT_TRUE(registrar_.expire(clock_.now()).changes.empty());
  advance(seconds(1));
  auto out = registrar_.expire(clock_.now());
  ASSERT_EQ(out.changes.size(), 1u);
  EXPECT_TRUE(out.changes[0].is_removal());
  ASSERT_EQ(out.log.size(), 1u);
  EXPECT_NE(out.log[0].text.find("Unregistered SIP '201'"), std::string::npos);
}

TEST_F(RegistrarTest, FailureResponseAndRevertAfterStoreError) {
  Request r;
  auto out = login(r, "s3cret201");
  ASSERT_EQ(out.status, 200);
  // The daemon could not persist: it reverts and answers 500.
  table_.revert(out.changes);
  EXPECT_EQ(table_.size(), 0u);
  auto request = parse(text(r));
  auto failure = parse(registrar_.failure_response(request, wall_));
  EXPECT_EQ(failure.status_code(), 500);
}

TEST(SipDate, Rfc1123Format) {
  EXPECT_EQ(format_sip_date(sip::WallTime{} + seconds(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_sip_date(sip::WallTime{} + seconds(1'800'000'000)),
            "Fri, 15 Jan 2027 08:00:00 GMT");
}

}  // namespace
}  // namespace hapbx::pbx
