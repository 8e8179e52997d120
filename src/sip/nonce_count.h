// Nonce-count replay protection (RFC 7616 3.4: the server remembers, per nonce, the highest nc it
// accepted; a request with an equal or lower nc is a replay).
//
// Memory is bounded two ways: an entry lives only as long as its nonce is valid (the codec calls
// an older nonce stale anyway), and the table has a hard cap, beyond which the entry of the
// oldest-issued nonce is evicted. An evicted nonce can no longer be used with qop: we cannot tell
// its next nc from a replay, so every nonce issued at or before the newest evicted one that is not
// in the table is answered "evicted" (the verifier turns that into stale=true, and the phone
// simply retries with a fresh nonce).
//
// Requests without qop (RFC 2069 form) carry no nc: they are protected only by the nonce
// lifetime (a captured request can be replayed until its nonce goes stale).
//
// Not thread-safe: owned by the event loop that runs the registrar.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "sip/nonce.h"

namespace hapbx::sip {

inline constexpr size_t kDefaultMaxTrackedNonces = 8192;

enum class NonceCountVerdict {
  Accepted,  // nc is higher than any accepted before for this nonce; now remembered
  Replay,    // nc equal to or lower than one already accepted
  Evicted,   // the nonce's entry may have been evicted: cannot check, answer stale
  Zero,      // nc == 0 is never valid (counts start at 1)
};
std::string_view to_string(NonceCountVerdict verdict);

class NonceCountTracker {
 public:
  explicit NonceCountTracker(std::chrono::seconds lifetime = kDefaultNonceLifetime,
                             size_t capacity = kDefaultMaxTrackedNonces);

  // `issued` is the nonce's issue time from NonceCodec::check (the nonce must have been
  // checked Valid first). Drops expired entries as a side effect.
  NonceCountVerdict accept(std::string_view nonce, WallTime issued, uint32_t nc, WallTime now);

  size_t size() const { return entries_.size(); }
  size_t capacity() const { return capacity_; }
  uint64_t replays() const { return replays_; }
  uint64_t evictions() const { return evictions_; }

 private:
  void expire(WallTime now);

  // Keyed by (issue time, nonce): begin() is the oldest, so expiry and eviction are cheap and
  // the lookup needs no second index.
  using Key = std::pair<WallTime, std::string>;
  std::map<Key, uint32_t> entries_;
  std::chrono::seconds lifetime_;
  size_t capacity_;
  // Issue time of the newest nonce evicted for lack of room (WallTime::min() when none).
  WallTime evicted_up_to_ = WallTime::min();
  uint64_t replays_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace hapbx::sip
