// Heartbeat signatures (contracts in heartbeat_signature.h).
#include "cluster/heartbeat_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <climits>

namespace hapbx::cluster {
namespace {

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1u) != 0 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> kCrcTable = make_crc_table();

// The OpenSSL digest of an HMAC method; nullptr for crc. EVP_md5() and friends return static
// objects (no fetch, nothing to free).
const EVP_MD* hmac_digest(AuthMethod method) {
  switch (method) {
    case AuthMethod::Md5: return EVP_md5();
    case AuthMethod::Sha1: return EVP_sha1();
    case AuthMethod::Sha256: return EVP_sha256();
    case AuthMethod::Crc: return nullptr;
  }
  return nullptr;
}

}  // namespace

std::size_t signature_size(AuthMethod method) {
  switch (method) {
    case AuthMethod::Crc: return 4;
    case AuthMethod::Md5: return 16;
    case AuthMethod::Sha1: return 20;
    case AuthMethod::Sha256: return 32;
  }
  return 0;
}

std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc) {
  std::uint32_t c = ~crc;
  for (std::uint8_t b : data) c = (c >> 8) ^ kCrcTable[(c ^ b) & 0xFFu];
  return ~c;
}

Bytes sign(const AuthKey& key, std::span<const std::uint8_t> data) {
  if (key.method == AuthMethod::Crc) {
    const std::uint32_t c = crc32(data);
    return Bytes{static_cast<std::uint8_t>(c >> 24), static_cast<std::uint8_t>(c >> 16),
                 static_cast<std::uint8_t>(c >> 8), static_cast<std::uint8_t>(c)};
  }
  const EVP_MD* md = hmac_digest(key.method);
  if (md == nullptr || key.secret.size() > static_cast<std::size_t>(INT_MAX)) return {};
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int size = 0;
  static const unsigned char kEmpty = 0;  // OpenSSL wants non-null pointers even for length 0
  const void* k = key.secret.empty() ? static_cast<const void*>(&kEmpty) : key.secret.data();
  const unsigned char* in = data.empty() ? &kEmpty : data.data();
  if (HMAC(md, k, static_cast<int>(key.secret.size()), in, data.size(), out.data(), &size) ==
      nullptr) {
    return {};
  }
  return Bytes(out.begin(), out.begin() + size);
}

bool verify_signature(const AuthKey& key, std::span<const std::uint8_t> data,
                      std::span<const std::uint8_t> signature) {
  const Bytes expected = sign(key, data);
  if (expected.empty() || expected.size() != signature.size()) return false;
  return CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) == 0;
}

}  // namespace hapbx::cluster
