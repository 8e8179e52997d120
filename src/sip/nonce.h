// Stateless digest nonces: the nonce carries its own issue time and an HMAC, so any server that
// holds the key can validate it without remembering what it issued (and so a restart, or the
// standby after a failover, accepts the nonces the other one issued if both share the key).
//
// Format (32 bytes, then base64url without padding = 43 characters, all safe in a quoted-string):
//   issued_ms  8 bytes big-endian, milliseconds since the Unix epoch (wall clock)
//   random     8 bytes from RAND_bytes (two nonces issued in the same ms differ)
//   mac       16 bytes: HMAC-SHA256(key, "hapbx-nonce-1" | issued_ms | random | realm),
//                       truncated to 128 bits (plenty against forgery for a 30 s lifetime)
// The realm is bound into the MAC, so a nonce issued for one realm is invalid in another.
//
// Why wall time and not the monotonic core::TimePoint: the nonce must mean the same thing to the
// standby node after a failover and to this node after a restart; steady_clock has neither
// property. The caller passes `now` (pure code); tests build WallTime values directly.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hapbx::sip {

using WallTime = std::chrono::system_clock::time_point;

// A nonce older than this is stale: the client must retry with a fresh one (401 stale=true,
// which phones follow without asking the user). 30 s is the common SIP choice: long enough for a
// challenge round trip over a slow link, short enough that a captured no-qop request (which has
// no nonce count, see nonce_count.h) cannot be replayed for long.
inline constexpr std::chrono::seconds kDefaultNonceLifetime{30};
// A nonce dated later than now + this is invalid (forged, or the clocks of the two nodes are
// further apart than NTP keeps them).
inline constexpr std::chrono::seconds kDefaultNonceFutureSkew{5};

inline constexpr size_t kNonceKeySize = 32;
using NonceKey = std::array<uint8_t, kNonceKeySize>;

// A fresh random key (RAND_bytes). The daemon stores it (hex) with its state, so a restart or a
// failover does not invalidate every outstanding nonce.
Result<NonceKey> make_nonce_key();
std::string nonce_key_to_hex(const NonceKey& key);
// Exactly 64 hex digits (surrounding whitespace allowed, e.g. a trailing newline in a file).
Result<NonceKey> nonce_key_from_hex(std::string_view text);

enum class NonceState {
  Valid,
  Stale,    // authentic but older than the lifetime
  Invalid,  // bad encoding, wrong length, bad MAC (forged / other key / other realm), future
};
std::string_view to_string(NonceState state);

struct NonceCheck {
  NonceState state = NonceState::Invalid;
  WallTime issued{};            // meaningful for Valid and Stale
  std::string_view reason;      // for logs: "bad MAC", "bad encoding", "from the future", ...
};

class NonceCodec {
 public:
  explicit NonceCodec(const NonceKey& key,
                      std::chrono::seconds lifetime = kDefaultNonceLifetime,
                      std::chrono::seconds max_future_skew = kDefaultNonceFutureSkew);

  // Fails only if the system random generator fails.
  Result<std::string> issue(std::string_view realm, WallTime now) const;

  // Deterministic form of issue() for tests: `random` supplies the 8 random bytes.
  std::string issue_with(std::string_view realm, WallTime now, uint64_t random) const;

  // Never fails: any input, however hostile, yields a state. Constant-time MAC comparison.
  NonceCheck check(std::string_view nonce, std::string_view realm, WallTime now) const;

  std::chrono::seconds lifetime() const { return lifetime_; }

 private:
  NonceKey key_;
  std::chrono::seconds lifetime_;
  std::chrono::seconds max_future_skew_;
};

}  // namespace hapbx::sip
