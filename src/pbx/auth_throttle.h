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
// Bounded memory: two tables, each capped at `max_sources`: the failure counters (least recently
// failed evicted first, expired windows dropped first) and the blocks (ordered by expiry, so the
// block that ends soonest goes first, expired ones dropped first). A spray from more addresses
// than the cap only evicts counters, never a block: each new address still needs max_failures
// tries before it is blocked. Blocks are evicted only with more than max_sources sources blocked.
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

  size_t size() const { return counters_.size() + blocks_.size(); }
  uint64_t blocks_started() const { return blocks_started_; }
  uint64_t evictions() const { return evictions_; }
  const AuthThrottleOptions& options() const { return options_; }

 private:
  struct Entry {
    std::string source;
    uint32_t failures = 0;
    core::TimePoint window_start{};   // counters: start of the fixed window
    core::TimePoint blocked_until{};  // blocks: blocked while now < blocked_until
  };
  // An LRU list with an index; keys view Entry::source (list nodes never move).
  struct Table {
    std::list<Entry> lru;  // front = evicted first
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index;

    std::list<Entry>::iterator find(std::string_view source);
    std::list<Entry>::iterator push_back(Entry entry);
    void erase(std::list<Entry>::iterator it);
    size_t size() const { return lru.size(); }
  };

  bool counter_expired(const Entry& entry, core::TimePoint now) const;
  // Drops expired entries from the front, then evicts until there is room for one more.
  void make_room(Table& table, bool blocks, core::TimePoint now);

  AuthThrottleOptions options_;
  Table counters_;
  Table blocks_;
  uint64_t blocks_started_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace hapbx::pbx
