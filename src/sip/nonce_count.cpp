// Nonce-count replay table: highest accepted nc per nonce, bounded by lifetime and capacity.
#include "sip/nonce_count.h"

#include <algorithm>

namespace hapbx::sip {

std::string_view to_string(NonceCountVerdict verdict) {
  switch (verdict) {
    case NonceCountVerdict::Accepted: return "accepted";
    case NonceCountVerdict::Replay: return "replay";
    case NonceCountVerdict::Evicted: return "evicted";
    case NonceCountVerdict::Zero: return "zero";
  }
  return "zero";
}

NonceCountTracker::NonceCountTracker(std::chrono::seconds lifetime, size_t capacity)
    : lifetime_(std::clamp(lifetime, std::chrono::seconds(0), std::chrono::seconds(1'000'000'000))),
      capacity_(std::max<size_t>(capacity, 1)) {}

void NonceCountTracker::expire(WallTime now) {
  // An entry is useless once its nonce is stale: the codec rejects the nonce before we are asked.
  while (!entries_.empty() && now - entries_.begin()->first.first > lifetime_) {
    entries_.erase(entries_.begin());
  }
}

NonceCountVerdict NonceCountTracker::accept(std::string_view nonce, WallTime issued, uint32_t nc,
                                            WallTime now) {
  if (nc == 0) return NonceCountVerdict::Zero;
  expire(now);
  Key key{issued, std::string(nonce)};
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    if (nc <= it->second) {
      ++replays_;
      return NonceCountVerdict::Replay;
    }
    it->second = nc;
    return NonceCountVerdict::Accepted;
  }
  // Not in the table: new, unless it is as old as something we had to forget.
  if (issued <= evicted_up_to_) return NonceCountVerdict::Evicted;
  if (entries_.size() >= capacity_) {
    auto oldest = entries_.begin();
    // Evicting the oldest keeps the rule simple: everything issued up to here is now unknown.
    evicted_up_to_ = std::max(evicted_up_to_, oldest->first.first);
    entries_.erase(oldest);
    ++evictions_;
    if (issued <= evicted_up_to_) return NonceCountVerdict::Evicted;
  }
  entries_.emplace(std::move(key), nc);
  return NonceCountVerdict::Accepted;
}

}  // namespace hapbx::sip
