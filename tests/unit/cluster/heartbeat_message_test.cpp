// The heartbeat datagram: signatures against published vectors (RFC 2202, RFC 4231, the CRC-32
// check value), round trips per method, and the decoder on hostile input (tampering, wrong or
// unknown keys, every truncation, oversize, bad magic/version, malformed bodies).
#include "cluster/heartbeat_message.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hapbx::cluster {
namespace {

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string hex(const Bytes& b) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (std::uint8_t c : b) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

HeartbeatMessage sample() {
  HeartbeatMessage m;
  m.cluster = "thesis";
  m.node = "asterisk1";
  m.generation = 0x0123456789abcdefULL;
  m.sequence = 42;
  m.hears = {HeardNode{"asterisk2", 0xfedcba9876543210ULL, true}, HeardNode{"asterisk3", 7, false}};
  m.resources = ResourceReport{ResourceState::Running, "pbx"};
  m.ping = PingReport{1, 1};
  return m;
}

const std::vector<AuthKey>& all_keys() {
  static const std::vector<AuthKey> keys = {
      {1, AuthMethod::Sha1, "sha1 secret"},
      {2, AuthMethod::Md5, "md5 secret"},
      {3, AuthMethod::Sha256, "sha256 secret"},
      {4, AuthMethod::Crc, ""},
  };
  return keys;
}

TEST(HeartbeatSignature, PublishedVectors) {
  const auto data = as_bytes("what do ya want for nothing?");
  EXPECT_EQ(hex(sign({1, AuthMethod::Sha1, "Jefe"}, data)),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");  // RFC 2202 test case 2
  EXPECT_EQ(hex(sign({1, AuthMethod::Md5, "Jefe"}, data)),
            "750c783e6ab0b503eaa86e310a5db738");  // RFC 2202 test case 2
  EXPECT_EQ(hex(sign({1, AuthMethod::Sha256, "Jefe"}, data)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");  // RFC 4231 4.3
  EXPECT_EQ(crc32(as_bytes("123456789")), 0xCBF43926u);
  EXPECT_EQ(crc32(as_bytes("456789"), crc32(as_bytes("123"))), 0xCBF43926u);
  EXPECT_EQ(hex(sign({1, AuthMethod::Crc, "ignored"}, as_bytes("123456789"))), "cbf43926");
  for (AuthMethod m : {AuthMethod::Crc, AuthMethod::Md5, AuthMethod::Sha1, AuthMethod::Sha256}) {
    EXPECT_EQ(sign({1, m, "k"}, data).size(), signature_size(m));
    EXPECT_LE(signature_size(m), kMaxSignatureSize);
  }
}

TEST(HeartbeatSignature, VerifyRejectsWrongLengthAndContent) {
  const AuthKey key{1, AuthMethod::Sha1, "k"};
  const auto data = as_bytes("abc");
  Bytes sig = sign(key, data);
  EXPECT_TRUE(verify_signature(key, data, sig));
  sig[5] ^= 1;
  EXPECT_FALSE(verify_signature(key, data, sig));
  sig[5] ^= 1;
  sig.pop_back();
  EXPECT_FALSE(verify_signature(key, data, sig));
  EXPECT_FALSE(verify_signature(key, data, {}));
}

TEST(HeartbeatMessage, RoundTripPerMethod) {
  for (const AuthKey& key : all_keys()) {
    SCOPED_TRACE(std::string(to_string(key.method)));
    auto bytes = encode(sample(), key);
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    EXPECT_LE(bytes->size(), kMaxDatagram);
    EXPECT_EQ((*bytes)[5], key.index);
    DecodeFailure why = DecodeFailure::Malformed;
    auto back = decode(*bytes, all_keys(), &why);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(why, DecodeFailure::None);
    HeartbeatMessage expected = sample();
    expected.key_index = key.index;
    EXPECT_EQ(*back, expected);
  }
}

TEST(HeartbeatMessage, MinimalAndFullMessages) {
  HeartbeatMessage minimal;
  minimal.node = "n";
  auto bytes = encode(minimal, all_keys()[0]);
  ASSERT_TRUE(bytes.ok());
  auto back = decode(*bytes, all_keys());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(back->cluster.empty());
  EXPECT_FALSE(back->resources.has_value());
  EXPECT_FALSE(back->ping.has_value());
  EXPECT_FALSE(back->leaving);

  HeartbeatMessage full = sample();
  full.leaving = true;
  full.resources->group = "";
  full.resources->state = ResourceState::Failed;
  full.hears.clear();
  for (std::size_t i = 0; i < 16; ++i) full.hears.push_back({"node" + std::to_string(i), i, i % 2 == 0});
  bytes = encode(full, all_keys()[2]);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  back = decode(*bytes, all_keys());
  ASSERT_TRUE(back.ok()) << back.error().message;
  full.key_index = 3;
  EXPECT_EQ(*back, full);
}

TEST(HeartbeatMessage, EncodeRefusesWhatDoesNotFit) {
  const AuthKey& key = all_keys()[0];
  HeartbeatMessage m = sample();
  m.node = "";
  EXPECT_FALSE(encode(m, key).ok());
  m.node = std::string(kMaxName + 1, 'a');
  EXPECT_NE(encode(m, key).error().message.find("node name"), std::string::npos);
  m = sample();
  m.node = "has space";
  EXPECT_FALSE(encode(m, key).ok());
  m = sample();
  m.hears.assign(kMaxHeard + 1, HeardNode{"x", 1, true});
  EXPECT_FALSE(encode(m, key).ok());
  m = sample();
  m.ping = PingReport{3, 2};
  EXPECT_FALSE(encode(m, key).ok());
  m = sample();
  m.hears.assign(kMaxHeard, HeardNode{std::string(kMaxName, 'h'), 1, true});  // 32 * 75 > 1400
  auto too_big = encode(m, key);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.error().message.find("1400"), std::string::npos);
  EXPECT_FALSE(encode(sample(), AuthKey{0, AuthMethod::Sha1, "k"}).ok());
  EXPECT_FALSE(encode(sample(), AuthKey{16, AuthMethod::Sha1, "k"}).ok());
}

TEST(HeartbeatMessage, EveryTamperedByteIsRejected) {
  for (const AuthKey& key : all_keys()) {
    auto bytes = encode(sample(), key);
    ASSERT_TRUE(bytes.ok());
    for (std::size_t i = 0; i < bytes->size(); ++i) {
      Bytes t = *bytes;
      t[i] ^= 0x01;
      DecodeFailure why = DecodeFailure::None;
      auto r = decode(t, all_keys(), &why);
      ASSERT_FALSE(r.ok()) << "byte " << i << " method " << to_string(key.method);
      if (i >= 8) {
        EXPECT_EQ(why, DecodeFailure::BadSignature) << "byte " << i << ": " << r.error().message;
        EXPECT_NE(r.error().message.find("bad signature"), std::string::npos);
      }
    }
  }
}

TEST(HeartbeatMessage, WrongKeyAndUnknownKeyIndex) {
  auto bytes = encode(sample(), AuthKey{1, AuthMethod::Sha1, "right"});
  ASSERT_TRUE(bytes.ok());
  DecodeFailure why = DecodeFailure::None;
  auto r = decode(*bytes, {AuthKey{1, AuthMethod::Sha1, "wrong"}}, &why);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(why, DecodeFailure::BadSignature);

  // Same index, other method: the signature length does not fit.
  r = decode(*bytes, {AuthKey{1, AuthMethod::Md5, "right"}}, &why);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(why, DecodeFailure::BadSignature);

  r = decode(*bytes, {AuthKey{2, AuthMethod::Sha1, "right"}}, &why);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(why, DecodeFailure::UnknownKey);
  EXPECT_NE(r.error().message.find("key index 1"), std::string::npos) << r.error().message;

  r = decode(*bytes, {}, &why);
  EXPECT_EQ(why, DecodeFailure::UnknownKey);
}

TEST(HeartbeatMessage, TruncatedAtEveryLength) {
  for (const AuthKey& key : all_keys()) {
    auto bytes = encode(sample(), key);
    ASSERT_TRUE(bytes.ok());
    for (std::size_t n = 0; n < bytes->size(); ++n) {
      DecodeFailure why = DecodeFailure::None;
      auto r = decode(std::span<const std::uint8_t>(bytes->data(), n), all_keys(), &why);
      ASSERT_FALSE(r.ok()) << n;
      EXPECT_NE(why, DecodeFailure::None);
      EXPECT_FALSE(r.error().message.empty());
    }
    // And extended by a byte.
    Bytes longer = *bytes;
    longer.push_back(0);
    EXPECT_FALSE(decode(longer, all_keys()).ok());
  }
}

TEST(HeartbeatMessage, OversizedBadMagicBadVersion) {
  Bytes big(kMaxDatagram + 1, 0);
  DecodeFailure why = DecodeFailure::None;
  auto r = decode(big, all_keys(), &why);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(why, DecodeFailure::TooLong);

  auto bytes = encode(sample(), all_keys()[0]);
  ASSERT_TRUE(bytes.ok());
  Bytes t = *bytes;
  t[0] = 'X';
  r = decode(t, all_keys(), &why);
  EXPECT_EQ(why, DecodeFailure::BadMagic);
  EXPECT_NE(r.error().message.find("bad magic"), std::string::npos);
  t = *bytes;
  t[4] = 2;
  r = decode(t, all_keys(), &why);
  EXPECT_EQ(why, DecodeFailure::BadVersion);
  r = decode(Bytes{}, all_keys(), &why);
  EXPECT_EQ(why, DecodeFailure::TooShort);
}

// A correctly signed body that does not parse: built by hand and signed with the real signer.
Bytes signed_datagram(const Bytes& body, const AuthKey& key) {
  Bytes d = {'H', 'X', 'H', 'B', 1, static_cast<std::uint8_t>(key.index),
             static_cast<std::uint8_t>(body.size() >> 8), static_cast<std::uint8_t>(body.size())};
  d.insert(d.end(), body.begin(), body.end());
  const Bytes sig = sign(key, d);
  d.insert(d.end(), sig.begin(), sig.end());
  return d;
}

Bytes header_body(std::string_view node) {
  Bytes b = {0, static_cast<std::uint8_t>(node.size())};
  for (char c : node) b.push_back(static_cast<std::uint8_t>(c));
  for (int i = 0; i < 16; ++i) b.push_back(static_cast<std::uint8_t>(i));
  return b;
}

TEST(HeartbeatMessage, SignedButMalformedBodies) {
  const AuthKey& key = all_keys()[0];
  auto expect_malformed = [&](const Bytes& body, std::string_view what) {
    DecodeFailure why = DecodeFailure::None;
    auto r = decode(signed_datagram(body, key), all_keys(), &why);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(why, DecodeFailure::Malformed) << what << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
  };
  expect_malformed(Bytes{}, "cluster id");
  expect_malformed(Bytes{0, 0}, "node name is empty");
  expect_malformed(Bytes{0, 5, 'a'}, "node name runs past");
  expect_malformed(Bytes{0, 2, 'a', '\n'}, "non-printable");
  expect_malformed(Bytes{0, 1, 'a', 0, 0, 0}, "generation");
  Bytes b = header_body("a");
  b.insert(b.end(), {1, 19, 'x'});
  expect_malformed(b, "runs past the body");
  b = header_body("a");
  b.push_back(1);
  expect_malformed(b, "field header");
  b = header_body("a");
  b.insert(b.end(), {2, 1, 9});
  expect_malformed(b, "unknown resource state 9");
  b = header_body("a");
  b.insert(b.end(), {2, 1, 0, 2, 1, 0});
  expect_malformed(b, "repeated");
  b = header_body("a");
  b.insert(b.end(), {3, 2, 2, 1});
  expect_malformed(b, "reachable > configured");
  b = header_body("a");
  b.insert(b.end(), {3, 1, 0});
  expect_malformed(b, "ping field is 1 bytes");
  b = header_body("a");
  b.insert(b.end(), {4, 1, 0});
  expect_malformed(b, "leaving field has a value");
  b = header_body("a");
  for (std::size_t i = 0; i <= kMaxHeard; ++i) b.insert(b.end(), {1, 10, 1, 0, 0, 0, 0, 0, 0, 0, 9, 'h'});
  expect_malformed(b, "heard nodes");
  b = header_body("a");
  b.insert(b.end(), {1, 9, 1, 0, 0, 0, 0, 0, 0, 0, 9});
  expect_malformed(b, "heard node name is empty");
  b = header_body("a");
  b.insert(b.end(), {1, 3, 1, 0, 0});
  expect_malformed(b, "heard node field is 3 bytes");
  b = header_body("a");
  b.insert(b.end(), {1, 10, 2, 0, 0, 0, 0, 0, 0, 0, 9, 'h'});
  expect_malformed(b, "unknown flags");

  // An unknown field type is skipped (a newer sender).
  b = header_body("a");
  b.insert(b.end(), {200, 3, 1, 2, 3, 4, 0});
  auto r = decode(signed_datagram(b, key), all_keys());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->node, "a");
  EXPECT_TRUE(r->leaving);
}

TEST(HeartbeatMessage, BodyLengthLies) {
  auto bytes = encode(sample(), all_keys()[0]);
  ASSERT_TRUE(bytes.ok());
  for (std::size_t body : {std::size_t{0}, std::size_t{1}, std::size_t{0xFFFF}}) {
    Bytes t = *bytes;
    t[6] = static_cast<std::uint8_t>(body >> 8);
    t[7] = static_cast<std::uint8_t>(body);
    DecodeFailure why = DecodeFailure::None;
    EXPECT_FALSE(decode(t, all_keys(), &why).ok());
    EXPECT_EQ(why, DecodeFailure::BadSignature);
  }
}

TEST(HeartbeatMessage, CrcIsAccepted) {
  const std::vector<AuthKey> crc_only = {{1, AuthMethod::Crc, ""}};
  auto bytes = encode(sample(), crc_only[0]);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), 8 + ((*bytes)[6] << 8 | (*bytes)[7]) + 4u);
  auto r = decode(*bytes, crc_only);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->node, "asterisk1");
  // A corrupted crc datagram is still caught.
  (*bytes)[10] ^= 0x80;
  EXPECT_FALSE(decode(*bytes, crc_only).ok());
}

TEST(HeartbeatMessage, GenerationsIncreaseWithTime) {
  EXPECT_LT(make_generation(1000, ~0ULL), make_generation(1001, 0));
  EXPECT_NE(make_generation(1000, 1), make_generation(1000, 2));
}

}  // namespace
}  // namespace hapbx::cluster

namespace hapbx::cluster {
namespace {

TEST(HeartbeatClaim, RoundTripAndRange) {
  AuthKey key{1, AuthMethod::Sha256, "k"};
  HeartbeatMessage m;
  m.node = "asterisk1";
  m.generation = 7;
  m.sequence = 9;
  m.claim = ClaimReport{3, false, true};
  auto bytes = encode(m, key);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  auto back = decode(*bytes, {key});
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_TRUE(back->claim.has_value());
  EXPECT_EQ(*back->claim, (ClaimReport{3, false, true}));
  m.claim = ClaimReport{1, true, false, false};  // not ready
  auto unready = decode(*encode(m, key), {key});
  ASSERT_TRUE(unready.ok());
  EXPECT_FALSE(unready->claim->ready);
  EXPECT_TRUE(unready->claim->ping_ok);
  m.claim = ClaimReport{200, true, false};
  EXPECT_FALSE(encode(m, key).ok()) << "a claim out of range is refused";
}

}  // namespace
}  // namespace hapbx::cluster
