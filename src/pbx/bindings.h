// The registrar's in-memory location service (RFC 3261 10.3): for each address-of-record (the
// sip.conf peer name) the contacts it registered, with their expiry. Pure: no clock, no I/O;
// every call that depends on time takes `now`.
//
// Two clocks, on purpose: `expires_at` is monotonic (timers must not jump with NTP), while
// `expires_wall` (Unix epoch seconds) is what the store persists, because monotonic time does not
// survive a restart. Both are set together by the registrar and restored together on load.
//
// Memory is bounded: at most `max_per_aor` contacts per AOR and `max_total` overall, so a hostile
// client cannot grow the table without bound (the registrar decides what to do when full).
//
// Every mutation is returned as a BindingChange that also carries the binding as it was before,
// so a caller can persist a batch and, if the write fails, revert() the batch in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "sip/endpoint.h"

namespace hapbx::pbx {

struct Binding {
  std::string aor;              // peer name from sip.conf (the user part of the To URI)
  std::string contact;          // the Contact URI as the UA wrote it (without header params)
  sip::Endpoint source;         // where the REGISTER really came from (RFC 3581 received/rport)
  core::TimePoint expires_at;   // monotonic, for timers
  int64_t expires_wall = 0;     // Unix epoch seconds, for persistence
  std::string call_id;
  uint32_t cseq = 0;
  std::string user_agent;
  std::string path;             // Path header values (RFC 3327), comma-joined; may be empty
  int q = -1;                   // q-value in thousandths (0..1000); -1 = not given

  friend bool operator==(const Binding&, const Binding&) = default;
};

// Seconds until `binding` expires at `now` (0 when already due).
uint32_t remaining_seconds(const Binding& binding, core::TimePoint now);

// Re-derives the monotonic expiry of a binding read back from the store, from its wall-clock
// expiry and a (monotonic, wall) pair taken at the same instant.
void rebase_expiry(Binding& binding, core::TimePoint now, int64_t wall_now);

// One mutation of the table. `after` is the binding as it is now (absent for a removal);
// `before` is the binding as it was (absent for an addition).
struct BindingChange {
  std::optional<Binding> before;
  std::optional<Binding> after;

  bool is_removal() const { return !after.has_value(); }
  const Binding& binding() const { return after ? *after : *before; }
};

struct BindingLimits {
  size_t max_per_aor = 10;
  size_t max_total = 100000;
};

class BindingTable {
 public:
  explicit BindingTable(BindingLimits limits = {});

  const BindingLimits& limits() const { return limits_; }
  size_t size() const { return total_; }

  // Current contacts of an AOR, in registration order (empty span when none).
  std::span<const Binding> contacts(std::string_view aor) const;
  const Binding* find(std::string_view aor, std::string_view contact) const;
  // Every AOR with at least one contact, sorted (for status output).
  std::vector<std::string> aors() const;

  enum class PutOutcome { Added, Updated, AorFull, TableFull };
  // Adds or replaces the binding keyed by (aor, contact). A new binding is refused (and nothing
  // changes) when the AOR or the table is at its limit. On success `change` is filled in.
  PutOutcome put(Binding binding, BindingChange* change = nullptr);
  // Removes one binding; nullopt when it was not there.
  std::optional<BindingChange> remove(std::string_view aor, std::string_view contact);
  std::vector<BindingChange> remove_all(std::string_view aor);

  // Timers: the earliest expiry (nullopt when empty) and the removal of every binding due at
  // `now` (expires_at <= now), returned as removals for the store.
  std::optional<core::TimePoint> next_expiry() const;
  std::vector<BindingChange> expire(core::TimePoint now);

  // Undoes a batch of changes (newest first), e.g. when persisting them failed.
  void revert(std::span<const BindingChange> changes);

 private:
  using ExpiryKey = std::tuple<core::TimePoint, std::string, std::string>;  // when, aor, contact

  // Transparent hash so lookups by string_view do not allocate.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };

  void erase_at(std::vector<Binding>& list, size_t index);

  BindingLimits limits_;
  size_t total_ = 0;
  std::unordered_map<std::string, std::vector<Binding>, StringHash, std::equal_to<>> by_aor_;
  std::set<ExpiryKey> by_expiry_;
};

}  // namespace hapbx::pbx
