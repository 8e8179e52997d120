#include "replica/activity_log.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "replica/disk_format.h"

namespace hapbx::replica {

namespace {
constexpr char kMagic[8] = {'H', 'A', 'P', 'B', 'X', '-', 'A', 'L'};
constexpr std::size_t kHeaderBytes = 32;
}  // namespace

ActivityLog::ActivityLog(std::size_t slots) : slots_(std::clamp<std::size_t>(slots, 1, kMaxSlots)) {}

ActivityLog::Touch ActivityLog::touch_and_pin(std::uint64_t extent) {
  if (auto it = hot_.find(extent); it != hot_.end()) {
    if (it->second.pins == 0) idle_.erase({it->second.tick, extent});
    ++it->second.pins;
    it->second.tick = ++tick_;
    return Touch::AlreadyHot;
  }
  std::optional<std::uint64_t> evicted;
  if (hot_.size() >= slots_) {
    if (idle_.empty()) return Touch::Full;
    const auto victim = *idle_.begin();  // the least recently used unpinned extent
    idle_.erase(idle_.begin());
    hot_.erase(victim.second);
    evicted = victim.second;
  }
  hot_.emplace(extent, Entry{1, ++tick_});
  ++transaction_;
  last_change_ = Change{extent, evicted};
  return Touch::Added;
}

void ActivityLog::unpin(std::uint64_t extent) {
  auto it = hot_.find(extent);
  if (it == hot_.end() || it->second.pins == 0) return;
  if (--it->second.pins == 0) {
    it->second.tick = ++tick_;
    idle_.insert({it->second.tick, extent});
  }
}

std::size_t ActivityLog::pinned(std::uint64_t extent) const {
  auto it = hot_.find(extent);
  return it == hot_.end() ? 0 : it->second.pins;
}

std::vector<std::uint64_t> ActivityLog::hot_extents() const {
  std::vector<std::uint64_t> out;
  out.reserve(hot_.size());
  for (const auto& [extent, entry] : hot_) out.push_back(extent);
  std::sort(out.begin(), out.end());
  return out;
}

void ActivityLog::clear() {
  hot_.clear();
  idle_.clear();
  ++transaction_;
  last_change_ = Change{};
}

std::size_t ActivityLog::encoded_size(std::size_t slots) {
  slots = std::clamp<std::size_t>(slots, 1, kMaxSlots);
  const std::size_t raw = kHeaderBytes + 8 * slots + 4;
  return (raw + 4095) / 4096 * 4096;
}

std::vector<std::uint8_t> ActivityLog::encode() const {
  std::vector<std::uint8_t> out(encoded_size(slots_), 0);
  std::memcpy(out.data(), kMagic, sizeof kMagic);
  put_le32(out.data() + 8, kVersion);
  put_le32(out.data() + 12, static_cast<std::uint32_t>(slots_));
  put_le64(out.data() + 16, transaction_);
  const std::vector<std::uint64_t> extents = hot_extents();
  put_le32(out.data() + 24, static_cast<std::uint32_t>(extents.size()));
  for (std::size_t i = 0; i < extents.size(); ++i) {
    put_le64(out.data() + kHeaderBytes + 8 * i, extents[i]);
  }
  const std::uint32_t crc = crc32c({out.data(), out.size() - 4});
  put_le32(out.data() + out.size() - 4, crc);
  return out;
}

Result<ActivityLog> ActivityLog::decode(std::span<const std::uint8_t> bytes, std::size_t slots) {
  const std::size_t size = encoded_size(slots);
  if (bytes.size() < size) {
    return make_error("activity log: " + std::to_string(bytes.size()) + " bytes, expected " +
                      std::to_string(size));
  }
  bytes = bytes.first(size);
  if (std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; })) {
    return make_error("activity log: all zeroes (never written)");
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return make_error("activity log: bad magic (not a hapbx activity log)");
  }
  const std::uint32_t stored_crc = get_le32(bytes.data() + size - 4);
  if (crc32c(bytes.first(size - 4)) != stored_crc) {
    return make_error("activity log: corrupt (checksum mismatch)");
  }
  const std::uint32_t version = get_le32(bytes.data() + 8);
  if (version != kVersion) {
    return make_error("activity log: version " + std::to_string(version) +
                      " is not supported (this hapbx writes version " + std::to_string(kVersion) +
                      ")");
  }
  const std::uint32_t record_slots = get_le32(bytes.data() + 12);
  const std::size_t want_slots = std::clamp<std::size_t>(slots, 1, kMaxSlots);
  if (record_slots != want_slots) {
    return make_error("activity log: written for " + std::to_string(record_slots) +
                      " slots, the metadata says " + std::to_string(want_slots));
  }
  const std::uint32_t count = get_le32(bytes.data() + 24);
  if (count > want_slots) {
    return make_error("activity log: " + std::to_string(count) + " hot extents, more than its " +
                      std::to_string(want_slots) + " slots");
  }
  ActivityLog log(want_slots);
  log.transaction_ = get_le64(bytes.data() + 16);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint64_t extent = get_le64(bytes.data() + kHeaderBytes + 8 * std::size_t{i});
    if (log.hot_.count(extent)) {
      return make_error("activity log: extent " + std::to_string(extent) + " listed twice");
    }
    const std::uint64_t tick = ++log.tick_;
    log.hot_.emplace(extent, Entry{0, tick});
    log.idle_.insert({tick, extent});
  }
  return log;
}

}  // namespace hapbx::replica
