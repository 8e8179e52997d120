// Per-source brute-force throttle for authentication (REGISTER, later INVITE): counts failures
// per source address in a fixed window; after `max_failures` within `window` the source is
// blocked for `block_for`, and the caller drops (or 403s) its requests without checking them.
//
// Window: fixed, starting at the first failure of a fresh window (simple, and an attacker gets
// at most 2*max_failures-1 tries around a window edge, which is fine against password guessing).
// A success resets the source's count (a phone that mistyped once is not punished later).
//
// Logging once per block: record_failure() returns `just_blocked` exactly once, on the failure
// that starts the block; check() on a blocked source says blocked without asking to log.
//
// Bounded memory: at most `max_sources` entries; when full, the least recently touched entry is
// evicted (expired ones go first, as they are never touched again). Under a spray from more
// addresses than the cap, an old block can be evicted: acceptable, as each new source still
// needs max_failures tries before it is blocked.
//
// Pure: takes `now` (monotonic). Not thread-safe: owned by the registrar's event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"

namespace hapbx::pbx {

struct AuthThrottleOptions {
  uint32_t max_failures = 10;                 // failures within `window` that start a block
  core::Duration window = core::seconds(60);
  core::Duration block_for = core::seconds(300);
  size_t max_sources = 16384;                 // table cap
};

struct AuthThrottleCheck {
  bool blocked = false;
  core::TimePoint blocked_until{};  // meaningful when blocked
};

struct AuthFailureResult {
  bool blocked = false;       // the source is blocked now (also true if it already was)
  bool just_blocked = false;  // this failure started the block: log it (once per block)
  uint32_t failures = 0;      // failures in the current window (after this one)
};

class AuthThrottle {
 public:
  explicit AuthThrottle(AuthThrottleOptions options = {});

  // Call before checking credentials. `source` is the numeric address (no port: a phone
  // changes ports, and an attacker can too).
  AuthThrottleCheck check(std::string_view source, core::TimePoint now);

  // Call when a source failed authentication (Failed outcome, not Stale).
  AuthFailureResult record_failure(std::string_view source, core::TimePoint now);

  // Call when a source authenticated: clears its failures (not an active block: a blocked
  // source is not checked, so it cannot succeed).
  void record_success(std::string_view source, core::TimePoint now);

  size_t size() const { return entries_.size(); }
  uint64_t blocks_started() const { return blocks_started_; }
  uint64_t evictions() const { return evictions_; }
  const AuthThrottleOptions& options() const { return options_; }

 private:
  struct Entry {
    std::string source;
    uint32_t failures = 0;
    core::TimePoint window_start{};
    core::TimePoint blocked_until{};  // blocked while now < blocked_until
    core::TimePoint touched{};
  };
  using List = std::list<Entry>;  // least recently touched first

  List::iterator find(std::string_view source);
  void touch(List::iterator it, core::TimePoint now);
  bool expired(const Entry& entry, core::TimePoint now) const;
  void make_room(core::TimePoint now);

  AuthThrottleOptions options_;
  List lru_;
  std::unordered_map<std::string_view, List::iterator> entries_;  // keys view Entry::source
  uint64_t blocks_started_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace hapbx::pbx
