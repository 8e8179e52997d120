// Stateless HMAC nonces: issue and check (format in nonce.h).
#include "sip/nonce.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

namespace hapbx::sip {
namespace {

constexpr std::string_view kMacLabel = "hapbx-nonce-1";
constexpr size_t kTimeBytes = 8;
constexpr size_t kRandomBytes = 8;
constexpr size_t kMacBytes = 16;
constexpr size_t kNonceBytes = kTimeBytes + kRandomBytes + kMacBytes;  // 32
constexpr size_t kNonceChars = (kNonceBytes * 8 + 5) / 6;               // 43, unpadded
// Issue times outside [0, kMaxIssuedMs] are refused before any time arithmetic, so no
// conversion can overflow (10^14 ms is past the year 5000).
constexpr int64_t kMaxIssuedMs = 100'000'000'000'000;

constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int base64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::string base64url_encode(const uint8_t* data, size_t size) {
  std::string out;
  out.reserve((size * 8 + 5) / 6);
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < size; ++i) {
    buffer = (buffer << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64Url[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kBase64Url[(buffer << (6 - bits)) & 0x3f]);
  return out;
}

// Decodes exactly kNonceBytes from kNonceChars characters; false on any bad character or on
// non-zero padding bits (so each nonce has exactly one spelling).
bool base64url_decode_nonce(std::string_view text, uint8_t (&out)[kNonceBytes]) {
  if (text.size() != kNonceChars) return false;
  uint32_t buffer = 0;
  int bits = 0;
  size_t n = 0;
  for (char c : text) {
    int v = base64url_value(c);
    if (v < 0) return false;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n == kNonceBytes) return false;
      out[n++] = static_cast<uint8_t>((buffer >> bits) & 0xff);
    }
  }
  if (n != kNonceBytes) return false;
  return (buffer & ((1u << bits) - 1)) == 0;
}

void put_be64(uint8_t* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
}

uint64_t get_be64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

// HMAC-SHA256(key, label | time | random | realm), truncated to kMacBytes.
bool compute_mac(const NonceKey& key, const uint8_t* time_and_random, std::string_view realm,
                 uint8_t* mac_out) {
  std::string data;
  data.reserve(kMacLabel.size() + kTimeBytes + kRandomBytes + realm.size());
  data.append(kMacLabel);
  data.append(reinterpret_cast<const char*>(time_and_random), kTimeBytes + kRandomBytes);
  data.append(realm);
  unsigned char full[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), full,
           &size) == nullptr ||
      size < kMacBytes) {
    return false;
  }
  std::memcpy(mac_out, full, kMacBytes);
  return true;
}

int64_t to_ms(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

Result<NonceKey> make_nonce_key() {
  NonceKey key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return make_error("nonce key: the system random generator failed");
  }
  return key;
}

std::string nonce_key_to_hex(const NonceKey& key) {
  constexpr std::string_view hex = "0123456789abcdef";
  std::string out;
  out.reserve(key.size() * 2);
  for (uint8_t b : key) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 0x0f]);
  }
  return out;
}

Result<NonceKey> nonce_key_from_hex(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  if (text.size() != kNonceKeySize * 2) {
    return make_error("nonce key: expected " + std::to_string(kNonceKeySize * 2) +
                      " hex digits, got " + std::to_string(text.size()) + " characters");
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  NonceKey key{};
  for (size_t i = 0; i < key.size(); ++i) {
    int hi = nibble(text[2 * i]);
    int lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return make_error("nonce key: not a hex digit");
    key[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return key;
}

std::string_view to_string(NonceState state) {
  switch (state) {
    case NonceState::Valid: return "valid";
    case NonceState::Stale: return "stale";
    case NonceState::Invalid: return "invalid";
  }
  return "invalid";
}

NonceCodec::NonceCodec(const NonceKey& key, std::chrono::seconds lifetime,
                       std::chrono::seconds max_future_skew)
    : key_(key),
      // Clamped to [0, ~31 years] so the millisecond arithmetic in check() cannot overflow.
      lifetime_(std::clamp(lifetime, std::chrono::seconds(0), std::chrono::seconds(1'000'000'000))),
      max_future_skew_(std::clamp(max_future_skew, std::chrono::seconds(0),
                                  std::chrono::seconds(1'000'000'000))) {}

Result<std::string> NonceCodec::issue(std::string_view realm, WallTime now) const {
  uint8_t random[kRandomBytes];
  if (RAND_bytes(random, sizeof random) != 1) {
    return make_error("nonce: the system random generator failed");
  }
  return issue_with(realm, now, get_be64(random));
}

std::string NonceCodec::issue_with(std::string_view realm, WallTime now, uint64_t random) const {
  uint8_t raw[kNonceBytes];
  int64_t ms = to_ms(now);
  put_be64(raw, static_cast<uint64_t>(ms < 0 ? 0 : ms));
  put_be64(raw + kTimeBytes, random);
  if (!compute_mac(key_, raw, realm, raw + kTimeBytes + kRandomBytes)) {
    // Cannot happen with a working libcrypto; a zero MAC simply never verifies.
    std::memset(raw + kTimeBytes + kRandomBytes, 0, kMacBytes);
  }
  return base64url_encode(raw, sizeof raw);
}

NonceCheck NonceCodec::check(std::string_view nonce, std::string_view realm, WallTime now) const {
  NonceCheck result;
  uint8_t raw[kNonceBytes];
  if (!base64url_decode_nonce(nonce, raw)) {
    result.reason = "bad encoding";
    return result;
  }
  uint8_t mac[kMacBytes];
  if (!compute_mac(key_, raw, realm, mac) ||
      CRYPTO_memcmp(mac, raw + kTimeBytes + kRandomBytes, kMacBytes) != 0) {
    result.reason = "bad MAC";
    return result;
  }
  uint64_t issued_ms = get_be64(raw);
  if (issued_ms > static_cast<uint64_t>(kMaxIssuedMs)) {
    result.reason = "issue time out of range";
    return result;
  }
  int64_t now_ms = to_ms(now);
  auto issued = static_cast<int64_t>(issued_ms);
  int64_t skew_ms = std::chrono::duration_cast<std::chrono::milliseconds>(max_future_skew_).count();
  int64_t lifetime_ms = std::chrono::duration_cast<std::chrono::milliseconds>(lifetime_).count();
  result.issued = WallTime{} + std::chrono::duration_cast<WallTime::duration>(
                                   std::chrono::milliseconds(issued));
  if (issued - skew_ms > now_ms) {
    result.reason = "from the future";
    return result;
  }
  if (now_ms > issued && now_ms - issued > lifetime_ms) {
    result.state = NonceState::Stale;
    result.reason = "expired";
    return result;
  }
  result.state = NonceState::Valid;
  result.reason = "valid";
  return result;
}

}  // namespace hapbx::sip
