// Per-source authentication failure counter and temporary block (policy in auth_throttle.h).
#include "pbx/auth_throttle.h"

#include <algorithm>

namespace hapbx::pbx {

AuthThrottle::AuthThrottle(AuthThrottleOptions options) : options_(options) {
  options_.max_failures = std::max<uint32_t>(options_.max_failures, 1);
  options_.max_sources = std::max<size_t>(options_.max_sources, 1);
}

AuthThrottle::List::iterator AuthThrottle::find(std::string_view source) {
  auto it = entries_.find(source);
  return it == entries_.end() ? lru_.end() : it->second;
}

void AuthThrottle::touch(List::iterator it, core::TimePoint now) {
  it->touched = now;
  lru_.splice(lru_.end(), lru_, it);  // iterators and the string's address stay valid
}

// Nothing to remember: no block in force and the failure window is over.
bool AuthThrottle::expired(const Entry& entry, core::TimePoint now) const {
  return now >= entry.blocked_until && now - entry.window_start >= options_.window;
}

void AuthThrottle::make_room(core::TimePoint now) {
  // Expired entries first, scanning from the least recently touched; stop at the first live one
  // so the cost stays proportional to what is removed (plus one).
  while (!lru_.empty() && expired(lru_.front(), now)) {
    entries_.erase(lru_.front().source);
    lru_.pop_front();
  }
  while (lru_.size() >= options_.max_sources) {
    entries_.erase(lru_.front().source);
    lru_.pop_front();
    ++evictions_;
  }
}

AuthThrottleCheck AuthThrottle::check(std::string_view source, core::TimePoint now) {
  auto it = find(source);
  if (it == lru_.end()) return {};
  if (now < it->blocked_until) return {true, it->blocked_until};
  return {};
}

AuthFailureResult AuthThrottle::record_failure(std::string_view source, core::TimePoint now) {
  auto it = find(source);
  if (it == lru_.end()) {
    make_room(now);
    lru_.push_back(Entry{std::string(source), 0, now, {}, now});
    it = std::prev(lru_.end());
    entries_.emplace(it->source, it);
  }
  touch(it, now);
  AuthFailureResult result;
  if (now < it->blocked_until) {  // already blocked (the caller should not have asked)
    result.blocked = true;
    result.failures = it->failures;
    return result;
  }
  if (it->failures == 0 || now - it->window_start >= options_.window) {
    it->window_start = now;  // a fresh fixed window starts at its first failure
    it->failures = 0;
  }
  ++it->failures;
  result.failures = it->failures;
  if (it->failures >= options_.max_failures) {
    it->blocked_until = now + options_.block_for;
    it->failures = 0;  // the block is the punishment; after it the source starts afresh
    result.blocked = true;
    result.just_blocked = true;
    ++blocks_started_;
  }
  return result;
}

void AuthThrottle::record_success(std::string_view source, core::TimePoint now) {
  auto it = find(source);
  if (it == lru_.end()) return;
  if (now < it->blocked_until) return;  // a block runs its course
  entries_.erase(it->source);
  lru_.erase(it);
}

}  // namespace hapbx::pbx
