// The in-memory binding table: per-AOR contact lists plus an expiry index for the timers.
#include "pbx/bindings.h"

#include <algorithm>
#include <chrono>

namespace hapbx::pbx {

uint32_t remaining_seconds(const Binding& binding, core::TimePoint now) {
  if (binding.expires_at <= now) return 0;
  // Round up: a binding with 0.4 s left is still there and must not be shown as "expires=0",
  // which a UA would read as "removed".
  const auto left = binding.expires_at - now;
  const auto secs = std::chrono::ceil<std::chrono::seconds>(left).count();
  return secs > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(secs);
}

void rebase_expiry(Binding& binding, core::TimePoint now, int64_t wall_now) {
  const int64_t left = binding.expires_wall - wall_now;
  binding.expires_at = now + std::chrono::seconds(left > 0 ? left : 0);
}

BindingTable::BindingTable(BindingLimits limits) : limits_(limits) {}

std::span<const Binding> BindingTable::contacts(std::string_view aor) const {
  auto it = by_aor_.find(aor);
  if (it == by_aor_.end()) return {};
  return it->second;
}

const Binding* BindingTable::find(std::string_view aor, std::string_view contact) const {
  for (const Binding& b : contacts(aor)) {
    if (b.contact == contact) return &b;
  }
  return nullptr;
}

std::vector<std::string> BindingTable::aors() const {
  std::vector<std::string> out;
  out.reserve(by_aor_.size());
  for (const auto& [aor, list] : by_aor_) out.push_back(aor);
  std::sort(out.begin(), out.end());
  return out;
}

BindingTable::PutOutcome BindingTable::put(Binding binding, BindingChange* change) {
  auto it = by_aor_.find(std::string_view(binding.aor));
  if (it != by_aor_.end()) {
    for (Binding& existing : it->second) {
      if (existing.contact != binding.contact) continue;
      by_expiry_.erase(ExpiryKey{existing.expires_at, existing.aor, existing.contact});
      by_expiry_.insert(ExpiryKey{binding.expires_at, binding.aor, binding.contact});
      if (change) change->before = existing;
      existing = std::move(binding);
      if (change) change->after = existing;
      return PutOutcome::Updated;
    }
    if (it->second.size() >= limits_.max_per_aor) return PutOutcome::AorFull;
  }
  if (total_ >= limits_.max_total) return PutOutcome::TableFull;
  if (it == by_aor_.end()) {
    if (limits_.max_per_aor == 0) return PutOutcome::AorFull;
    it = by_aor_.emplace(binding.aor, std::vector<Binding>{}).first;
  }
  by_expiry_.insert(ExpiryKey{binding.expires_at, binding.aor, binding.contact});
  it->second.push_back(std::move(binding));
  ++total_;
  if (change) {
    change->before.reset();
    change->after = it->second.back();
  }
  return PutOutcome::Added;
}

void BindingTable::erase_at(std::vector<Binding>& list, size_t index) {
  const Binding& b = list[index];
  by_expiry_.erase(ExpiryKey{b.expires_at, b.aor, b.contact});
  list.erase(list.begin() + static_cast<std::ptrdiff_t>(index));
  --total_;
}

std::optional<BindingChange> BindingTable::remove(std::string_view aor, std::string_view contact) {
  auto it = by_aor_.find(aor);
  if (it == by_aor_.end()) return std::nullopt;
  auto& list = it->second;
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].contact != contact) continue;
    BindingChange change{list[i], std::nullopt};
    erase_at(list, i);
    if (list.empty()) by_aor_.erase(it);
    return change;
  }
  return std::nullopt;
}

std::vector<BindingChange> BindingTable::remove_all(std::string_view aor) {
  std::vector<BindingChange> out;
  auto it = by_aor_.find(aor);
  if (it == by_aor_.end()) return out;
  for (Binding& b : it->second) {
    by_expiry_.erase(ExpiryKey{b.expires_at, b.aor, b.contact});
    --total_;
    out.push_back(BindingChange{std::move(b), std::nullopt});
  }
  by_aor_.erase(it);
  return out;
}

std::optional<core::TimePoint> BindingTable::next_expiry() const {
  if (by_expiry_.empty()) return std::nullopt;
  return std::get<0>(*by_expiry_.begin());
}

std::vector<BindingChange> BindingTable::expire(core::TimePoint now) {
  std::vector<BindingChange> out;
  while (!by_expiry_.empty() && std::get<0>(*by_expiry_.begin()) <= now) {
    // Copy the key: remove() erases the set node it lives in.
    const auto [when, aor, contact] = *by_expiry_.begin();
    auto removed = remove(aor, contact);
    if (!removed) {  // index out of step with the lists: drop the stale key, never loop forever
      by_expiry_.erase(by_expiry_.begin());
      continue;
    }
    out.push_back(std::move(*removed));
  }
  return out;
}

void BindingTable::revert(std::span<const BindingChange> changes) {
  for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
    const Binding& key = it->binding();
    remove(key.aor, key.contact);
    // Restoring what was there before cannot hit a limit: it fit before the batch.
    if (it->before) put(*it->before);
  }
}

}  // namespace hapbx::pbx
