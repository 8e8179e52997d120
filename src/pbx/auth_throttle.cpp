// Per-source authentication failure counter and temporary block (policy in auth_throttle.h).
#include "pbx/auth_throttle.h"

#include <algorithm>

namespace hapbx::pbx {

std::list<AuthThrottle::Entry>::iterator AuthThrottle::Table::find(std::string_view source) {
  auto it = index.find(source);
  return it == index.end() ? lru.end() : it->second;
}

std::list<AuthThrottle::Entry>::iterator AuthThrottle::Table::push_back(Entry entry) {
  lru.push_back(std::move(entry));
  auto it = std::prev(lru.end());
  index.emplace(it->source, it);
  return it;
}

void AuthThrottle::Table::erase(std::list<Entry>::iterator it) {
  index.erase(it->source);  // before the node (and the string the key views) goes away
  lru.erase(it);
}

AuthThrottle::AuthThrottle(AuthThrottleOptions options) : options_(options) {
  options_.max_failures = std::max<uint32_t>(options_.max_failures, 1);
  options_.max_sources = std::max<size_t>(options_.max_sources, 1);
}

bool AuthThrottle::counter_expired(const Entry& entry, core::TimePoint now) const {
  return now - entry.window_start >= options_.window;
}

void AuthThrottle::make_room(Table& table, bool blocks, core::TimePoint now) {
  // Expired entries at the front go first; the scan stops at the first live one, so the cost is
  // proportional to what is removed.
  while (!table.lru.empty()) {
    const Entry& front = table.lru.front();
    bool expired = blocks ? now >= front.blocked_until : counter_expired(front, now);
    if (!expired) break;
    table.erase(table.lru.begin());
  }
  while (table.size() >= options_.max_sources) {
    table.erase(table.lru.begin());
    ++evictions_;
  }
}

AuthThrottleCheck AuthThrottle::check(std::string_view source, core::TimePoint now) {
  auto it = blocks_.find(source);
  if (it == blocks_.lru.end()) return {};
  if (now < it->blocked_until) return {true, it->blocked_until};
  blocks_.erase(it);  // the block is over
  return {};
}

AuthFailureResult AuthThrottle::record_failure(std::string_view source, core::TimePoint now) {
  AuthFailureResult result;
  if (auto check_result = check(source, now); check_result.blocked) {
    result.blocked = true;  // already blocked: the caller should not have asked; no new block
    return result;
  }
  auto it = counters_.find(source);
  if (it == counters_.lru.end()) {
    make_room(counters_, false, now);
    it = counters_.push_back(Entry{std::string(source), 0, now, {}});
  } else {
    counters_.lru.splice(counters_.lru.end(), counters_.lru, it);  // most recently failed
    if (counter_expired(*it, now)) {
      it->failures = 0;
      it->window_start = now;  // a fresh fixed window starts at its first failure
    }
  }
  ++it->failures;
  result.failures = it->failures;
  if (it->failures < options_.max_failures) return result;

  // Start the block: the counter is replaced by a block entry; afterwards the source starts
  // afresh. Blocks all last block_for, so appending keeps the list ordered by expiry.
  std::string key = it->source;
  counters_.erase(it);
  make_room(blocks_, true, now);
  blocks_.push_back(Entry{std::move(key), 0, now, now + options_.block_for});
  result.blocked = true;
  result.just_blocked = true;
  ++blocks_started_;
  return result;
}

void AuthThrottle::record_success(std::string_view source, core::TimePoint) {
  // Only the counter: a block runs its course (a blocked source is not checked, so it cannot
  // succeed anyway).
  auto it = counters_.find(source);
  if (it != counters_.lru.end()) counters_.erase(it);
}

}  // namespace hapbx::pbx
