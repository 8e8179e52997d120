// Digest parsing, printing and hashing: published RFC vectors, edge cases and hostile input;
// and the verifier's decisions (Ok / Stale / Failed) end to end.
#include "sip/digest.h"

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>

#include "sip/digest_verifier.h"
#include "sip/nonce.h"

namespace hapbx::sip {
namespace {

// ---- RFC vectors -------------------------------------------------------------------------

TEST(DigestVectors, Rfc2617Section3_5) {
  auto c = parse_digest_credentials(
      "Digest username=\"Mufasa\",\n"
      "                 realm=\"testrealm@host.com\",\n"
      "                 nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\n"
      "                 uri=\"/dir/index.html\",\n"
      "                 qop=auth,\n"
      "                 nc=00000001,\n"
      "                 cnonce=\"0a4f113b\",\n"
      "                 response=\"6629fae49393a05397450978507c4ef1\",\n"
      "                 opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  // The RFC text is folded over lines; a SIP parser unfolds before we see it, so unfold here.
  ASSERT_FALSE(c.ok());  // newlines are not whitespace inside a header value
  std::string unfolded =
      "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
      "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", qop=auth, "
      "nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", "
      "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
  c = parse_digest_credentials(unfolded);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->username, "Mufasa");
  EXPECT_EQ(c->qop, "auth");
  EXPECT_EQ(c->nc, 1u);
  EXPECT_EQ(c->algorithm, DigestAlgorithm::Md5);
  EXPECT_FALSE(c->algorithm_given);
  auto expected = expected_digest_response(*c, "GET", DigestSecret::plaintext("Circle Of Life"));
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(*expected, "6629fae49393a05397450978507c4ef1");
  EXPECT_TRUE(digest_responses_equal(*expected, c->response));
}

DigestCredentials rfc7616_credentials(DigestAlgorithm algorithm, std::string response) {
  DigestCredentials c;
  c.username = "Mufasa";
  c.realm = "http-auth@example.org";
  c.uri = "/dir/index.html";
  c.algorithm = algorithm;
  c.algorithm_given = true;
  c.nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
  c.nc_text = "00000001";
  c.nc = 1;
  c.cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
  c.qop = "auth";
  c.response = std::move(response);
  c.opaque = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
  return c;
}

TEST(DigestVectors, Rfc7616Section3_9_1Md5) {
  auto c = rfc7616_credentials(DigestAlgorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec");
  // Through the printer and the parser, so both are covered by the vector.
  auto parsed = parse_digest_credentials(format_digest_credentials(c));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  auto expected = expected_digest_response(*parsed, "GET", DigestSecret::plaintext("Circle of Life"));
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(*expected, "8ca523f5e9506fed4657c9700eebdbec");
}

TEST(DigestVectors, Rfc7616Section3_9_1Sha256) {
  auto c = rfc7616_credentials(DigestAlgorithm::Sha256,
                               "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  auto parsed = parse_digest_credentials(format_digest_credentials(c));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->algorithm, DigestAlgorithm::Sha256);
  auto expected = expected_digest_response(*parsed, "GET", DigestSecret::plaintext("Circle of Life"));
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(*expected, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  EXPECT_TRUE(digest_responses_equal(*expected, parsed->response));
}

TEST(DigestVectors, HashPrimitives) {
  EXPECT_EQ(digest_hash_hex(DigestAlgorithm::Md5, ""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(digest_hash_hex(DigestAlgorithm::Sha256, "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // HA1 of the RFC 2617 example, which is also what md5secret= holds for that user.
  auto ha1 = compute_digest_ha1(DigestAlgorithm::Md5, "Mufasa", "testrealm@host.com",
                                DigestSecret::plaintext("Circle Of Life"), "", "");
  ASSERT_TRUE(ha1.ok());
  EXPECT_EQ(*ha1, "939e7578ed9e3c518a452acee763bce9");
}

// RFC 2069 form: response = H(HA1:nonce:HA2), computed independently from the primitives.
TEST(DigestCompute, NoQopForm) {
  std::string ha1 = digest_hash_hex(DigestAlgorithm::Md5, "201:asterisk:secret201");
  std::string ha2 = digest_hash_hex(DigestAlgorithm::Md5, "REGISTER:sip:pbx.example");
  std::string want = digest_hash_hex(DigestAlgorithm::Md5, ha1 + ":abc123:" + ha2);

  auto c = parse_digest_credentials(
      "Digest username=\"201\", realm=\"asterisk\", nonce=\"abc123\", uri=\"sip:pbx.example\", "
      "response=\"" + want + "\"");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->has_qop());
  auto got = expected_digest_response(*c, "REGISTER", DigestSecret::plaintext("secret201"));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, want);
  // A different method gives a different answer.
  auto other = expected_digest_response(*c, "INVITE", DigestSecret::plaintext("secret201"));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, want);
}

TEST(DigestCompute, Md5SecretIsAnMd5Ha1) {
  auto c = rfc7616_credentials(DigestAlgorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec");
  std::string ha1 = digest_hash_hex(DigestAlgorithm::Md5, "Mufasa:http-auth@example.org:Circle of Life");
  auto got = expected_digest_response(c, "GET", DigestSecret::md5_ha1(ha1));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "8ca523f5e9506fed4657c9700eebdbec");
  // Uppercase hex in the config is fine.
  std::string upper = ha1;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  got = expected_digest_response(c, "GET", DigestSecret::md5_ha1(upper));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "8ca523f5e9506fed4657c9700eebdbec");
  // An MD5 HA1 cannot answer SHA-256, and a malformed one is an error, not a crash.
  c.algorithm = DigestAlgorithm::Sha256;
  EXPECT_FALSE(expected_digest_response(c, "GET", DigestSecret::md5_ha1(ha1)).ok());
  c.algorithm = DigestAlgorithm::Md5;
  EXPECT_FALSE(expected_digest_response(c, "GET", DigestSecret::md5_ha1("xyz")).ok());
  EXPECT_FALSE(expected_digest_response(c, "GET", DigestSecret::md5_ha1(std::string(32, 'g'))).ok());
}

TEST(DigestCompute, SessVariant) {
  // MD5-sess: HA1 = H(H(user:realm:pass):nonce:cnonce).
  std::string inner = digest_hash_hex(DigestAlgorithm::Md5, "u:r:p");
  std::string want_ha1 = digest_hash_hex(DigestAlgorithm::Md5, inner + ":n:c");
  auto ha1 = compute_digest_ha1(DigestAlgorithm::Md5Sess, "u", "r", DigestSecret::plaintext("p"),
                                "n", "c");
  ASSERT_TRUE(ha1.ok());
  EXPECT_EQ(*ha1, want_ha1);
  auto from_md5secret = compute_digest_ha1(DigestAlgorithm::Md5Sess, "u", "r",
                                           DigestSecret::md5_ha1(inner), "n", "c");
  ASSERT_TRUE(from_md5secret.ok());
  EXPECT_EQ(*from_md5secret, want_ha1);
  auto sha = compute_digest_ha1(DigestAlgorithm::Sha256Sess, "u", "r", DigestSecret::plaintext("p"),
                                "n", "c");
  ASSERT_TRUE(sha.ok());
  EXPECT_EQ(sha->size(), 64u);
}

TEST(DigestCompute, ConstantTimeCompareSemantics) {
  EXPECT_TRUE(digest_responses_equal("0a1b", "0A1B"));
  EXPECT_FALSE(digest_responses_equal("0a1b", "0a1c"));
  EXPECT_FALSE(digest_responses_equal("0a1b", "0a1"));
  EXPECT_FALSE(digest_responses_equal("", ""));
}

// ---- Credentials parsing -----------------------------------------------------------------

constexpr const char* kMinimal =
    "Digest username=\"201\", realm=\"asterisk\", nonce=\"n\", uri=\"sip:pbx\", response=\"r\"";

TEST(DigestParse, AnyOrderCaseInsensitiveUnknownIgnored) {
  auto c = parse_digest_credentials(
      "dIgEsT  RESPONSE=\"abc\",Uri=\"sip:pbx\" ,  X-Future=whatever, nonce=\"n1\",Realm=\"asterisk\","
      "userName=\"201\", ALGORITHM=sha-256, QOP=\"auth\", Nc=0000000A, CNonce=\"cn\", opaque=\"\"");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->username, "201");
  EXPECT_EQ(c->realm, "asterisk");
  EXPECT_EQ(c->nonce, "n1");
  EXPECT_EQ(c->uri, "sip:pbx");
  EXPECT_EQ(c->response, "abc");
  EXPECT_EQ(c->algorithm, DigestAlgorithm::Sha256);
  EXPECT_EQ(c->qop, "auth");
  EXPECT_EQ(c->nc, 10u);
  EXPECT_EQ(c->nc_text, "0000000A");
  EXPECT_EQ(c->cnonce, "cn");
}

TEST(DigestParse, EscapesAndCommasInQuotedStrings) {
  auto c = parse_digest_credentials(
      "Digest username=\"a\\\"b\\\\c, d\", realm=\"x,y=z\", nonce=\"n\", uri=\"sip:pbx;a=b,c\", "
      "response=\"r\"");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->username, "a\"b\\c, d");
  EXPECT_EQ(c->realm, "x,y=z");
  EXPECT_EQ(c->uri, "sip:pbx;a=b,c");
  // Printing escapes again, and parses back to the same value.
  auto again = parse_digest_credentials(format_digest_credentials(*c));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->username, c->username);
  EXPECT_EQ(again->realm, c->realm);
}

TEST(DigestParse, UnquotedValuesFromLaxPhones) {
  auto c = parse_digest_credentials(
      "Digest username=201, realm=asterisk, nonce=abc/def=, uri=sip:pbx:5060, response=ff");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->nonce, "abc/def=");
  EXPECT_EQ(c->uri, "sip:pbx:5060");
}

TEST(DigestParse, AlgorithmVariants) {
  for (auto [text, want] : {std::pair{"MD5", DigestAlgorithm::Md5},
                            std::pair{"md5-SESS", DigestAlgorithm::Md5Sess},
                            std::pair{"\"SHA-256\"", DigestAlgorithm::Sha256},
                            std::pair{"sha-256-sess", DigestAlgorithm::Sha256Sess}}) {
    auto c = parse_digest_credentials(std::string(kMinimal) + ", algorithm=" + text);
    ASSERT_TRUE(c.ok()) << text << ": " << c.error().message;
    EXPECT_EQ(c->algorithm, want) << text;
  }
  auto bad = parse_digest_credentials(std::string(kMinimal) + ", algorithm=SHA-512-256");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("unsupported algorithm"), std::string::npos);
}

TEST(DigestParse, MissingFields) {
  for (const char* name : {"username", "realm", "nonce", "uri", "response"}) {
    std::string text = "Digest ";
    for (const char* other : {"username", "realm", "nonce", "uri", "response"}) {
      if (std::string(other) == name) continue;
      text += std::string(other) + "=\"x\", ";
    }
    auto c = parse_digest_credentials(text);
    ASSERT_FALSE(c.ok()) << name;
    EXPECT_NE(c.error().message.find(name), std::string::npos) << c.error().message;
  }
  // qop needs cnonce and nc; nc needs qop.
  EXPECT_FALSE(parse_digest_credentials(std::string(kMinimal) + ", qop=auth, nc=00000001").ok());
  EXPECT_FALSE(parse_digest_credentials(std::string(kMinimal) + ", qop=auth, cnonce=\"c\"").ok());
  EXPECT_FALSE(parse_digest_credentials(std::string(kMinimal) + ", nc=00000001").ok());
  EXPECT_TRUE(
      parse_digest_credentials(std::string(kMinimal) + ", qop=auth, cnonce=\"c\", nc=00000001").ok());
}

TEST(DigestParse, BadNcAndQop) {
  std::string base = std::string(kMinimal) + ", qop=auth, cnonce=\"c\", nc=";
  EXPECT_FALSE(parse_digest_credentials(base + "1").ok());
  EXPECT_FALSE(parse_digest_credentials(base + "0000000g").ok());
  EXPECT_FALSE(parse_digest_credentials(base + "000000001").ok());
  auto max = parse_digest_credentials(base + "ffffffff");
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->nc, 0xffffffffu);
  auto auth_int = parse_digest_credentials(std::string(kMinimal) +
                                           ", qop=auth-int, cnonce=\"c\", nc=00000001");
  ASSERT_FALSE(auth_int.ok());
  EXPECT_NE(auth_int.error().message.find("qop"), std::string::npos);
  EXPECT_FALSE(parse_digest_credentials(std::string(kMinimal) + ", userhash=true").ok());
  EXPECT_TRUE(parse_digest_credentials(std::string(kMinimal) + ", userhash=false").ok());
}

TEST(DigestParse, DuplicatesRejected) {
  auto c = parse_digest_credentials(std::string(kMinimal) + ", Realm=\"other\"");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("duplicate"), std::string::npos);
  EXPECT_FALSE(parse_digest_credentials(std::string(kMinimal) + ", foo=1, foo=2").ok());
}

TEST(DigestParse, Garbage) {
  for (const char* text : {
           "", "   ", "Digest", "Basic dXNlcjpwYXNz", "Digest username", "Digest username=",
           "Digest username=\"unterminated", "Digest username=\"a\" realm=\"b\"",
           "Digest =\"a\"", "Digest username=\"a\\", "Digest username=\"a\x01\"",
           "Digest username=\"a\"\"b\"", "Digest, , ,", "Digest\x01username=\"a\"",
           "Digest username=\"a\", realm=\"b\", nonce=\"\", uri=\"u\", response=\"r\"",
           "Digest username=\"a\", realm=\"b\", nonce=\"n\", uri=\"u\", response=\"\"",
           "Digest username=a\"b", "Digestusername=\"a\"",
       }) {
    auto c = parse_digest_credentials(text);
    EXPECT_FALSE(c.ok()) << "accepted: " << text;
  }
  // Empty list elements are allowed.
  EXPECT_TRUE(parse_digest_credentials(std::string("Digest ,, ") + (kMinimal + 7) + " ,,").ok());
}

TEST(DigestParse, Bounded) {
  std::string huge = std::string(kMinimal) + ", x=\"" + std::string(kMaxDigestHeaderLength, 'a') + "\"";
  auto c = parse_digest_credentials(huge);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("longer"), std::string::npos);

  std::string many = kMinimal;
  for (size_t i = 0; i < kMaxDigestParams; ++i) many += ", p" + std::to_string(i) + "=1";
  auto m = parse_digest_credentials(many);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("parameters"), std::string::npos);
}

// ---- Challenges --------------------------------------------------------------------------

TEST(DigestChallenge, BuildOffersSha256FirstThenMd5) {
  auto values = build_digest_challenges("asterisk", "NONCE", false, true);
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0], "Digest realm=\"asterisk\", nonce=\"NONCE\", algorithm=SHA-256, qop=\"auth\"");
  EXPECT_EQ(values[1], "Digest realm=\"asterisk\", nonce=\"NONCE\", algorithm=MD5, qop=\"auth\"");
  auto md5_only = build_digest_challenges("asterisk", "NONCE", true, false);
  ASSERT_EQ(md5_only.size(), 1u);
  EXPECT_EQ(md5_only[0],
            "Digest realm=\"asterisk\", nonce=\"NONCE\", algorithm=MD5, qop=\"auth\", stale=true");
}

TEST(DigestChallenge, ParseRoundTrip) {
  for (const std::string& value :
       build_digest_challenges("a \"quoted\" realm", "N", true, true, "op")) {
    auto c = parse_digest_challenge(value);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->realm, "a \"quoted\" realm");
    EXPECT_EQ(c->nonce, "N");
    EXPECT_EQ(c->opaque, "op");
    EXPECT_TRUE(c->stale);
    ASSERT_EQ(c->qop_options.size(), 1u);
    EXPECT_EQ(c->qop_options[0], "auth");
    EXPECT_EQ(format_digest_challenge(*c), value);
  }
}

TEST(DigestChallenge, ParseVariants) {
  auto c = parse_digest_challenge(
      "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
      "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->qop_options.size(), 2u);
  EXPECT_EQ(c->qop_options[1], "auth-int");
  EXPECT_FALSE(c->algorithm_given);
  EXPECT_FALSE(c->stale);
  EXPECT_TRUE(parse_digest_challenge("Digest realm=r, nonce=n, stale=FALSE").ok());
  EXPECT_FALSE(parse_digest_challenge("Digest realm=r, nonce=n, stale=maybe").ok());
  EXPECT_FALSE(parse_digest_challenge("Digest realm=r").ok());
  EXPECT_FALSE(parse_digest_challenge("Digest nonce=n").ok());
  EXPECT_FALSE(parse_digest_challenge("Digest realm=r, nonce=n, algorithm=foo").ok());
  EXPECT_FALSE(parse_digest_challenge("Digest realm=r, nonce=n, qop=\" , \"").ok());
  EXPECT_FALSE(parse_digest_challenge("Digest realm=r, nonce=n, realm=s").ok());
}

TEST(DigestChallenge, PrintingNeverSplitsAHeader) {
  DigestChallenge c;
  c.realm = "evil\r\nVia: x";
  c.nonce = "n";
  std::string out = format_digest_challenge(c);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(out.find('\n'), std::string::npos);
}

// ---- Verifier ----------------------------------------------------------------------------

// A client answering a challenge the way a phone does.
DigestCredentials answer(std::string_view nonce, DigestAlgorithm algorithm, std::string_view password,
                         uint32_t nc = 1, bool with_qop = true, std::string realm = "asterisk") {
  DigestCredentials c;
  c.username = "201";
  c.realm = std::move(realm);
  c.nonce = nonce;
  c.uri = "sip:192.0.2.10";
  c.algorithm = algorithm;
  c.algorithm_given = true;
  if (with_qop) {
    c.qop = "auth";
    c.cnonce = "0a4f113b";
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", nc);
    c.nc_text = buf;
    c.nc = nc;
  }
  auto r = expected_digest_response(c, "REGISTER", DigestSecret::plaintext(std::string(password)));
  c.response = r.ok() ? *r : "";
  return c;
}

class VerifierTest : public ::testing::Test {
 protected:
  NonceKey key() {
    NonceKey k{};
    for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 7 + 1);
    return k;
  }
  WallTime t0 = WallTime{} + std::chrono::seconds(1'700'000'000);
  DigestVerifier verifier{key()};
  DigestSecret secret = DigestSecret::plaintext("secret201");
  std::string nonce = *verifier.issue_nonce("asterisk", t0);
};

TEST_F(VerifierTest, OkWithQopBothAlgorithms) {
  for (auto alg : {DigestAlgorithm::Md5, DigestAlgorithm::Sha256, DigestAlgorithm::Md5Sess,
                   DigestAlgorithm::Sha256Sess}) {
    auto out = verifier.verify(answer(nonce, alg, "secret201", 1), "REGISTER", secret, "asterisk",
                               t0 + std::chrono::seconds(1));
    EXPECT_TRUE(out.ok()) << to_string(alg) << ": " << to_string(out.reason);
    nonce = *verifier.issue_nonce("asterisk", t0);
  }
  EXPECT_EQ(verifier.stats().ok, 4u);
}

TEST_F(VerifierTest, WrongPasswordFails) {
  auto out = verifier.verify(answer(nonce, DigestAlgorithm::Md5, "guess"), "REGISTER", secret,
                             "asterisk", t0);
  EXPECT_TRUE(out.failed());
  EXPECT_EQ(out.reason, DigestReason::WrongResponse);
  // Wrong method in the hash fails too.
  out = verifier.verify(answer(nonce, DigestAlgorithm::Md5, "secret201"), "INVITE", secret,
                        "asterisk", t0);
  EXPECT_EQ(out.reason, DigestReason::WrongResponse);
}

TEST_F(VerifierTest, StaleNonceWithRightPasswordIsStale) {
  auto late = t0 + kDefaultNonceLifetime + std::chrono::seconds(1);
  auto out = verifier.verify(answer(nonce, DigestAlgorithm::Md5, "secret201"), "REGISTER", secret,
                             "asterisk", late);
  EXPECT_TRUE(out.stale());
  EXPECT_EQ(out.reason, DigestReason::NonceStale);
  // ...but with the wrong password it is a failure, not a hint.
  out = verifier.verify(answer(nonce, DigestAlgorithm::Md5, "guess"), "REGISTER", secret,
                        "asterisk", late);
  EXPECT_TRUE(out.failed());
}

TEST_F(VerifierTest, ForgedNonceWithRightPasswordIsStale) {
  auto out = verifier.verify(answer("forged-nonce", DigestAlgorithm::Md5, "secret201"), "REGISTER",
                             secret, "asterisk", t0);
  EXPECT_TRUE(out.stale());
  EXPECT_EQ(out.reason, DigestReason::NonceInvalid);
}

TEST_F(VerifierTest, NcReplayIsRejectedAndCounted) {
  auto first = answer(nonce, DigestAlgorithm::Md5, "secret201", 1);
  EXPECT_TRUE(verifier.verify(first, "REGISTER", secret, "asterisk", t0).ok());
  auto replay = verifier.verify(first, "REGISTER", secret, "asterisk", t0);
  EXPECT_TRUE(replay.stale());
  EXPECT_EQ(replay.reason, DigestReason::NcReplay);
  EXPECT_TRUE(verifier.verify(answer(nonce, DigestAlgorithm::Md5, "secret201", 2), "REGISTER",
                              secret, "asterisk", t0)
                  .ok());
  EXPECT_EQ(verifier.verify(first, "REGISTER", secret, "asterisk", t0).reason,
            DigestReason::NcReplay);
  EXPECT_EQ(verifier.stats().replays, 2u);
  EXPECT_EQ(verifier.verify(answer(nonce, DigestAlgorithm::Md5, "secret201", 0), "REGISTER",
                            secret, "asterisk", t0)
                .reason,
            DigestReason::NcZero);
}

TEST_F(VerifierTest, NoQopAcceptedWithinLifetimeOnly) {
  auto c = answer(nonce, DigestAlgorithm::Md5, "secret201", 0, false);
  EXPECT_TRUE(verifier.verify(c, "REGISTER", secret, "asterisk", t0).ok());
  // No nc: the same request is accepted again while the nonce lives (documented limit)...
  EXPECT_TRUE(verifier.verify(c, "REGISTER", secret, "asterisk", t0 + std::chrono::seconds(5)).ok());
  // ...and not after.
  EXPECT_TRUE(verifier.verify(c, "REGISTER", secret, "asterisk", t0 + std::chrono::seconds(31)).stale());

  DigestVerifierOptions strict;
  strict.accept_no_qop = false;
  DigestVerifier v2(key(), strict);
  EXPECT_EQ(v2.verify(c, "REGISTER", secret, "asterisk", t0).reason, DigestReason::NoQopRefused);
  auto sess = answer(nonce, DigestAlgorithm::Md5Sess, "secret201", 0, false);
  EXPECT_EQ(verifier.verify(sess, "REGISTER", secret, "asterisk", t0).reason,
            DigestReason::SessWithoutQop);
}

TEST_F(VerifierTest, RealmMismatchAndAlgorithmPolicy) {
  auto other = *verifier.issue_nonce("other", t0);
  auto out = verifier.verify(answer(other, DigestAlgorithm::Md5, "secret201", 1, true, "other"),
                             "REGISTER", secret, "asterisk", t0);
  EXPECT_EQ(out.reason, DigestReason::RealmMismatch);
  // A nonce issued for another realm does not verify in ours (the MAC binds the realm).
  out = verifier.verify(answer(other, DigestAlgorithm::Md5, "secret201"), "REGISTER", secret,
                        "asterisk", t0);
  EXPECT_EQ(out.reason, DigestReason::NonceInvalid);

  DigestVerifierOptions md5_only;
  md5_only.accept_sha256 = false;
  DigestVerifier v2(key(), md5_only);
  EXPECT_EQ(v2.verify(answer(nonce, DigestAlgorithm::Sha256, "secret201"), "REGISTER", secret,
                      "asterisk", t0)
                .reason,
            DigestReason::AlgorithmNotAccepted);
  auto ch = v2.challenges("asterisk", t0, false);
  ASSERT_TRUE(ch.ok());
  EXPECT_EQ(ch->size(), 1u);
}

TEST_F(VerifierTest, Md5SecretUser) {
  DigestSecret md5secret =
      DigestSecret::md5_ha1(digest_hash_hex(DigestAlgorithm::Md5, "201:asterisk:secret201"));
  EXPECT_TRUE(verifier.verify(answer(nonce, DigestAlgorithm::Md5, "secret201"), "REGISTER",
                              md5secret, "asterisk", t0)
                  .ok());
  auto out = verifier.verify(answer(nonce, DigestAlgorithm::Sha256, "secret201", 2), "REGISTER",
                             md5secret, "asterisk", t0);
  EXPECT_TRUE(out.failed());
  EXPECT_EQ(out.reason, DigestReason::Md5SecretWithSha256);
  out = verifier.verify(answer(nonce, DigestAlgorithm::Md5, "secret201", 3), "REGISTER",
                        DigestSecret::md5_ha1("not-hex"), "asterisk", t0);
  EXPECT_EQ(out.reason, DigestReason::BadSecret);
}

TEST_F(VerifierTest, UnknownUserAlwaysFailsEvenWithStaleNonce) {
  auto c = answer(nonce, DigestAlgorithm::Md5, "anything");
  auto out = verifier.verify_unknown_user(c, "REGISTER", "asterisk", t0);
  EXPECT_TRUE(out.failed());
  EXPECT_EQ(out.reason, DigestReason::UnknownUser);
  out = verifier.verify_unknown_user(c, "REGISTER", "asterisk", t0 + std::chrono::hours(1));
  EXPECT_TRUE(out.failed());
  // Even the dummy password itself does not get in.
  auto dummy = answer(nonce, DigestAlgorithm::Md5, "hapbx-unknown-user-dummy-secret");
  EXPECT_TRUE(verifier.verify_unknown_user(dummy, "REGISTER", "asterisk", t0).failed());
  EXPECT_EQ(verifier.tracked_nonces(), 0u);  // failures never touch the nc table
}

TEST_F(VerifierTest, ChallengesCarryAFreshVerifiableNonce) {
  auto ch = verifier.challenges("asterisk", t0, true);
  ASSERT_TRUE(ch.ok());
  ASSERT_EQ(ch->size(), 2u);
  auto sha = parse_digest_challenge((*ch)[0]);
  auto md5 = parse_digest_challenge((*ch)[1]);
  ASSERT_TRUE(sha.ok() && md5.ok());
  EXPECT_EQ(sha->algorithm, DigestAlgorithm::Sha256);
  EXPECT_EQ(md5->algorithm, DigestAlgorithm::Md5);
  EXPECT_EQ(sha->nonce, md5->nonce);
  EXPECT_TRUE(sha->stale);
  EXPECT_TRUE(verifier.verify(answer(sha->nonce, DigestAlgorithm::Sha256, "secret201"), "REGISTER",
                              secret, "asterisk", t0)
                  .ok());
}

TEST(DigestReasonText, EveryReasonHasText) {
  for (int r = 0; r <= static_cast<int>(DigestReason::NcZero); ++r) {
    EXPECT_NE(to_string(static_cast<DigestReason>(r)), "unknown") << r;
  }
}

}  // namespace
}  // namespace hapbx::sip
