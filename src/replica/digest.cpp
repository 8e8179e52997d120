// Digests and HMACs of the replication link (contracts in digest.h).
#include "replica/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <climits>
#include <cstring>

namespace hapbx::replica {

namespace {

// Slice-by-8 tables for CRC-32C, built at compile time. kCrcTables[0] is the classic byte-wise
// table; kCrcTables[k][b] is the CRC of byte b followed by k zero bytes.
constexpr std::uint32_t kCrc32cPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

using CrcTables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr CrcTables make_crc_tables() {
  CrcTables t{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c & 1u) ? (c >> 1) ^ kCrc32cPoly : c >> 1;
    t[0][b] = c;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
  }
  return t;
}

constexpr CrcTables kCrcTables = make_crc_tables();

// The OpenSSL digest of an algorithm, fetched once (EVP_MD_fetch is costly per call). The fetched
// objects live for the whole process.
const EVP_MD* evp_md(DigestAlg alg) {
  static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  switch (alg) {
    case DigestAlg::Sha1: return sha1;
    case DigestAlg::Sha256: return sha256;
    case DigestAlg::Md5: return md5;
    case DigestAlg::Crc32c: return nullptr;
  }
  return nullptr;
}

void put_u32be(Bytes& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

}  // namespace

std::optional<DigestAlg> digest_alg_from_name(std::string_view name) {
  if (name == "sha1") return DigestAlg::Sha1;
  if (name == "sha256") return DigestAlg::Sha256;
  if (name == "md5") return DigestAlg::Md5;
  if (name == "crc32c") return DigestAlg::Crc32c;
  return std::nullopt;
}

std::string_view to_string(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::Sha1: return "sha1";
    case DigestAlg::Sha256: return "sha256";
    case DigestAlg::Md5: return "md5";
    case DigestAlg::Crc32c: return "crc32c";
  }
  return "?";
}

std::size_t digest_size(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::Sha1: return 20;
    case DigestAlg::Sha256: return 32;
    case DigestAlg::Md5: return 16;
    case DigestAlg::Crc32c: return 4;
  }
  return 0;
}

std::uint32_t crc32c(std::span<const std::uint8_t> data, std::uint32_t crc) {
  std::uint32_t c = ~crc;
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  while (n >= 8) {
    const std::uint32_t lo = c ^ (static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
                                  static_cast<std::uint32_t>(p[2]) << 16 |
                                  static_cast<std::uint32_t>(p[3]) << 24);
    c = kCrcTables[7][lo & 0xFFu] ^ kCrcTables[6][(lo >> 8) & 0xFFu] ^
        kCrcTables[5][(lo >> 16) & 0xFFu] ^ kCrcTables[4][lo >> 24] ^ kCrcTables[3][p[4]] ^
        kCrcTables[2][p[5]] ^ kCrcTables[1][p[6]] ^ kCrcTables[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ kCrcTables[0][(c ^ *p++) & 0xFFu];
  return ~c;
}

Bytes digest(DigestAlg alg, std::span<const std::uint8_t> data) {
  if (alg == DigestAlg::Crc32c) {
    Bytes out;
    put_u32be(out, crc32c(data));
    return out;
  }
  const EVP_MD* md = evp_md(alg);
  if (md == nullptr) return {};
  std::array<unsigned char, EVP_MAX_MD_SIZE> buf{};
  unsigned int size = 0;
  static const unsigned char kEmpty = 0;
  const void* in = data.empty() ? &kEmpty : data.data();
  if (EVP_Digest(in, data.size(), buf.data(), &size, md, nullptr) != 1) return {};
  return Bytes(buf.begin(), buf.begin() + size);
}

Bytes hmac(DigestAlg alg, std::string_view key, std::span<const std::uint8_t> data) {
  const EVP_MD* md = evp_md(alg);
  if (md == nullptr || key.size() > static_cast<std::size_t>(INT_MAX)) return {};
  std::array<unsigned char, EVP_MAX_MD_SIZE> buf{};
  unsigned int size = 0;
  static const unsigned char kEmpty = 0;
  const void* k = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  const unsigned char* in = data.empty() ? &kEmpty : data.data();
  if (HMAC(md, k, static_cast<int>(key.size()), in, data.size(), buf.data(), &size) == nullptr) {
    return {};
  }
  return Bytes(buf.begin(), buf.begin() + size);
}

bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Bytes auth_response(DigestAlg alg, std::string_view secret, std::span<const std::uint8_t> challenge,
                    std::string_view responder_node) {
  if (alg == DigestAlg::Crc32c) return {};
  Bytes message;
  message.reserve(8 + challenge.size() + responder_node.size());
  put_u32be(message, static_cast<std::uint32_t>(challenge.size()));
  message.insert(message.end(), challenge.begin(), challenge.end());
  put_u32be(message, static_cast<std::uint32_t>(responder_node.size()));
  message.insert(message.end(), responder_node.begin(), responder_node.end());
  return hmac(alg, secret, message);
}

}  // namespace hapbx::replica
