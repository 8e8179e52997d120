// The replication link's digests against published vectors: RFC 2202 (HMAC-SHA1, HMAC-MD5),
// RFC 4231 (HMAC-SHA256), FIPS 180 / RFC 1321 ("abc"), CRC-32C check values (RFC 3720 B.4).
#include "replica/digest.h"

#include <gtest/gtest.h>

#include <numeric>
#include <string>

namespace hapbx::replica {
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

TEST(Digest, NamesRoundTrip) {
  for (DigestAlg alg : {DigestAlg::Sha1, DigestAlg::Sha256, DigestAlg::Md5, DigestAlg::Crc32c}) {
    auto back = digest_alg_from_name(to_string(alg));
    ASSERT_TRUE(back.has_value()) << to_string(alg);
    EXPECT_EQ(*back, alg);
    EXPECT_EQ(digest(alg, as_bytes("x")).size(), digest_size(alg));
    EXPECT_LE(digest_size(alg), kMaxDigestLength);
  }
  EXPECT_FALSE(digest_alg_from_name("SHA1").has_value());
  EXPECT_FALSE(digest_alg_from_name("sha512").has_value());
  EXPECT_FALSE(digest_alg_from_name("").has_value());
}

TEST(Digest, ShaAndMd5OfAbc) {
  EXPECT_EQ(hex(digest(DigestAlg::Sha1, as_bytes("abc"))),
            "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex(digest(DigestAlg::Sha256, as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(digest(DigestAlg::Md5, as_bytes("abc"))), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hex(digest(DigestAlg::Md5, {})), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex(digest(DigestAlg::Sha1, {})), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(Digest, Crc32cCheckValues) {
  EXPECT_EQ(crc32c(as_bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(hex(digest(DigestAlg::Crc32c, as_bytes("123456789"))), "e3069283");  // big-endian
  EXPECT_EQ(crc32c({}), 0u);
  Bytes zeros(32, 0x00);
  Bytes ones(32, 0xFF);
  Bytes inc(32);
  std::iota(inc.begin(), inc.end(), std::uint8_t{0});
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
  EXPECT_EQ(crc32c(inc), 0x46DD794Eu);
}

TEST(Digest, Crc32cContinuesAcrossSplitsAndAlignments) {
  Bytes data(4096 + 13);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 131 + 7);
  const std::uint32_t whole = crc32c(data);
  std::span<const std::uint8_t> all(data);
  for (std::size_t split : {0u, 1u, 3u, 7u, 8u, 9u, 100u, 4096u, 4109u}) {
    EXPECT_EQ(crc32c(all.subspan(split), crc32c(all.first(split))), whole) << split;
  }
  // The slice-by-8 loop against the byte-wise tail: one byte at a time gives the same.
  std::uint32_t bytewise = 0;
  for (std::size_t i = 0; i < data.size(); ++i) bytewise = crc32c(all.subspan(i, 1), bytewise);
  EXPECT_EQ(bytewise, whole);
}

TEST(Digest, HmacSha1Rfc2202) {
  EXPECT_EQ(hex(hmac(DigestAlg::Sha1, std::string(20, '\x0b'), as_bytes("Hi There"))),
            "b617318655057264e28bc0b6fb378c8ef146be00");
  EXPECT_EQ(hex(hmac(DigestAlg::Sha1, "Jefe", as_bytes("what do ya want for nothing?"))),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(hex(hmac(DigestAlg::Sha1, std::string(20, '\xaa'), Bytes(50, 0xdd))),
            "125d7342b9ac11cd91a39af48aa17b4f63f175d3");
  EXPECT_EQ(hex(hmac(DigestAlg::Sha1, std::string(80, '\xaa'),
                     as_bytes("Test Using Larger Than Block-Size Key - Hash Key First"))),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

TEST(Digest, HmacMd5Rfc2202) {
  EXPECT_EQ(hex(hmac(DigestAlg::Md5, std::string(16, '\x0b'), as_bytes("Hi There"))),
            "9294727a3638bb1c13f48ef8158bfc9d");
  EXPECT_EQ(hex(hmac(DigestAlg::Md5, "Jefe", as_bytes("what do ya want for nothing?"))),
            "750c783e6ab0b503eaa86e310a5db738");
  EXPECT_EQ(hex(hmac(DigestAlg::Md5, std::string(16, '\xaa'), Bytes(50, 0xdd))),
            "56be34521d144c88dbb8c733f0e8b3f6");
  EXPECT_EQ(hex(hmac(DigestAlg::Md5, std::string(80, '\xaa'),
                     as_bytes("Test Using Larger Than Block-Size Key - Hash Key First"))),
            "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
}

TEST(Digest, HmacSha256Rfc4231) {
  EXPECT_EQ(hex(hmac(DigestAlg::Sha256, std::string(20, '\x0b'), as_bytes("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hex(hmac(DigestAlg::Sha256, "Jefe", as_bytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hex(hmac(DigestAlg::Sha256, std::string(131, '\xaa'),
                     as_bytes("Test Using Larger Than Block-Size Key - Hash Key First"))),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Digest, HmacEdgeCases) {
  EXPECT_TRUE(hmac(DigestAlg::Crc32c, "key", as_bytes("data")).empty());
  // An empty key and empty data are legal HMAC inputs (not crashes).
  EXPECT_EQ(hmac(DigestAlg::Sha256, "", {}).size(), 32u);
  EXPECT_NE(hmac(DigestAlg::Sha256, "", {}), hmac(DigestAlg::Sha256, "k", {}));
}

TEST(Digest, ConstantTimeEqual) {
  const Bytes a{1, 2, 3, 4};
  EXPECT_TRUE(constant_time_equal(a, Bytes{1, 2, 3, 4}));
  EXPECT_FALSE(constant_time_equal(a, Bytes{1, 2, 3, 5}));
  EXPECT_FALSE(constant_time_equal(a, Bytes{0, 2, 3, 4}));
  EXPECT_FALSE(constant_time_equal(a, Bytes{1, 2, 3}));
  EXPECT_FALSE(constant_time_equal(a, Bytes{1, 2, 3, 4, 0}));
  EXPECT_TRUE(constant_time_equal(Bytes{}, Bytes{}));
  EXPECT_FALSE(constant_time_equal(Bytes{}, a));
}

TEST(Digest, AuthResponseIsTheDefinedHmac) {
  Bytes challenge(32);
  std::iota(challenge.begin(), challenge.end(), std::uint8_t{0});
  // Computed independently (Python hmac) from the definition in digest.h:
  // HMAC(secret, u32be(32) || challenge || u32be(9) || "asterisk2").
  EXPECT_EQ(hex(auth_response(DigestAlg::Sha256, "my-secret", challenge, "asterisk2")),
            "7451c60151b4621e4e2efe310d6eff0882aaceec491079a9aa5c4c568445ed1a");
  EXPECT_EQ(hex(auth_response(DigestAlg::Sha1, "my-secret", challenge, "asterisk2")),
            "6eece94af15450507e449e3ac3c02534b40094d2");
  EXPECT_EQ(hex(auth_response(DigestAlg::Md5, "my-secret", challenge, "asterisk2")),
            "549999608a09648d6bae043ba921db7a");
  EXPECT_TRUE(auth_response(DigestAlg::Crc32c, "my-secret", challenge, "asterisk2").empty());
}

TEST(Digest, AuthResponseDependsOnEveryInput) {
  const Bytes challenge(32, 0x5a);
  const Bytes base = auth_response(DigestAlg::Sha256, "secret", challenge, "asterisk2");
  EXPECT_NE(base, auth_response(DigestAlg::Sha256, "secreT", challenge, "asterisk2"));
  EXPECT_NE(base, auth_response(DigestAlg::Sha256, "secret", Bytes(32, 0x5b), "asterisk2"));
  // A challenge reflected back to its issuer: the issuer's own answer differs from the one it
  // expects from the peer.
  EXPECT_NE(base, auth_response(DigestAlg::Sha256, "secret", challenge, "asterisk1"));
  // The lengths keep the boundary between challenge and name: "n1" answering challenge||"x" is
  // not "xn1" answering challenge.
  Bytes longer = challenge;
  longer.push_back('x');
  EXPECT_NE(auth_response(DigestAlg::Sha256, "secret", challenge, "xn1"),
            auth_response(DigestAlg::Sha256, "secret", longer, "n1"));
}

}  // namespace
}  // namespace hapbx::replica
