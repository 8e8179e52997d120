// The activity log: the set of "hot" 4 MiB extents (kExtentSize) of the data area on a Primary.
// A write to a cold extent waits until the extent is added here and the new set is persisted, so
// after a Primary crash only the hot extents (writes that may have reached one disk and not the
// other) need a resync instead of the whole disk. At most slots() extents are hot (al-extents).
//
// Contracts:
//  - Pure, single-threaded; copyable. The caller persists (MetadataStore::write_activity_log).
//  - touch_and_pin() pins the extent once per write in flight; unpin() when the write completed
//    on both sides. Only unpinned extents can be evicted, least recently used first (recency =
//    last pin or last unpin).
//  - Added: the caller must persist encode() before issuing the write; last_change() says which
//    extent came in and which (if any) went out (its bitmap bits should be persisted first).
//    Full: every slot is pinned; nothing changed; the caller waits for an unpin and retries.
//  - transaction() increments on every change that must be persisted (Added, clear()).
//  - Persisted form (little-endian), encoded_size(slots) bytes, a multiple of 4096:
//      0 magic "HAPBX-AL" | 8 version u32 | 12 slots u32 | 16 transaction u64 | 24 count u32 |
//      28 reserved u32 | 32 count x extent u64 (ascending) | zero padding | last 4: CRC32C of
//      everything before it.
//    decode() trusts nothing: a bad magic, checksum, version, slot count, extent count or a
//    duplicate extent is an error naming why. Decoded extents are hot and unpinned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/result.h"
#include "replica/replica_types.h"

namespace hapbx::replica {

class ActivityLog {
 public:
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::size_t kMaxSlots = 65534;

  explicit ActivityLog(std::size_t slots);  // 0 is treated as 1, more than kMaxSlots as kMaxSlots
  std::size_t slots() const { return slots_; }
  bool is_hot(std::uint64_t extent) const { return hot_.count(extent) != 0; }
  std::size_t hot_count() const { return hot_.size(); }

  enum class Touch { AlreadyHot, Added, Full };
  struct Change {
    std::uint64_t added = 0;
    std::optional<std::uint64_t> evicted;
    bool operator==(const Change&) const = default;
  };

  Touch touch_and_pin(std::uint64_t extent);
  // What the last Added touch changed (unchanged by AlreadyHot / Full).
  const Change& last_change() const { return last_change_; }
  void unpin(std::uint64_t extent);  // ignores extents that are not hot or not pinned
  std::size_t pinned(std::uint64_t extent) const;
  std::vector<std::uint64_t> hot_extents() const;  // ascending
  void clear();  // clean shutdown / demote: nothing is in flight
  std::uint64_t transaction() const { return transaction_; }

  static std::size_t encoded_size(std::size_t slots);
  std::vector<std::uint8_t> encode() const;
  static Result<ActivityLog> decode(std::span<const std::uint8_t> bytes, std::size_t slots);

  // The extent a byte offset falls in.
  static std::uint64_t extent_of(std::uint64_t offset) { return offset / kExtentSize; }

 private:
  struct Entry {
    std::size_t pins = 0;
    std::uint64_t tick = 0;  // last use, orders the idle set
  };

  std::size_t slots_;
  std::unordered_map<std::uint64_t, Entry> hot_;
  std::set<std::pair<std::uint64_t, std::uint64_t>> idle_;  // (tick, extent) of unpinned ones
  std::uint64_t tick_ = 0;
  std::uint64_t transaction_ = 0;
  Change last_change_;
};

}  // namespace hapbx::replica
