#include "replica/metadata_store.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <utility>
#include <vector>

namespace hapbx::replica {

namespace {

struct PickedSuperblock {
  Superblock sb;
  int slot = 0;
};

// Reads both superblock slots and takes the newest valid one. When neither is valid, reports the
// most telling of the two errors: our own (corrupt, other resource, newer version) before DRBD's
// before foreign data before "no metadata".
Result<PickedSuperblock> read_superblock(BackingDisk& dev, bool internal,
                                         const std::string& resource) {
  if (dev.size() < 2 * kSuperblockBytes) {
    return make_error(dev.path() + ": " + std::to_string(dev.size()) +
                      " bytes, too small to hold hapbx metadata");
  }
  std::vector<std::uint8_t> blocks[2];
  std::optional<Result<Superblock>> decoded[2];
  MetadataBlockKind kinds[2] = {};
  for (int slot = 0; slot < 2; ++slot) {
    blocks[slot].resize(kSuperblockBytes);
    const std::uint64_t at = superblock_slot_offset(dev.size(), internal, slot);
    if (Status s = dev.read(at, blocks[slot]); !s.ok()) return s.error();
    kinds[slot] = probe_metadata_block(blocks[slot]);
    decoded[slot].emplace(decode_superblock(blocks[slot], resource));
  }
  const bool ok0 = decoded[0]->ok(), ok1 = decoded[1]->ok();
  if (ok0 || ok1) {
    int slot = ok0 ? 0 : 1;
    if (ok0 && ok1 && decoded[1]->value().sequence > decoded[0]->value().sequence) slot = 1;
    return PickedSuperblock{decoded[slot]->value(), slot};
  }
  for (MetadataBlockKind kind :
       {MetadataBlockKind::Hapbx, MetadataBlockKind::Drbd, MetadataBlockKind::Foreign}) {
    for (int slot = 0; slot < 2; ++slot) {
      if (kinds[slot] == kind) return make_error(dev.path() + ": " + decoded[slot]->error().message);
    }
  }
  return make_error(dev.path() + ": " + decoded[0]->error().message);
}

// (generation_uuids.h's format_uuid lives with the sync decision; this file does not need it.)
std::string hex_id(std::uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(v));
  return buf;
}

std::uint64_t random_nonzero_u64() {
  std::random_device rd;
  std::uint64_t v = 0;
  while (v == 0) v = (std::uint64_t{rd()} << 32) ^ std::uint64_t{rd()};
  return v;
}

}  // namespace

Result<MetadataStore> MetadataStore::open(const std::string& disk_path, const std::string& meta_path,
                                          const std::string& resource) {
  auto disk = BackingDisk::open(disk_path);
  if (!disk.ok()) return disk.error();
  const std::uint64_t disk_bytes = disk.value()->size();
  if (meta_path.empty()) {
    return open_on(std::shared_ptr<BackingDisk>(std::move(disk).value()), disk_bytes, true,
                   resource);
  }
  auto meta = BackingDisk::open(meta_path);
  if (!meta.ok()) return meta.error();
  return open_on(std::shared_ptr<BackingDisk>(std::move(meta).value()), disk_bytes, false,
                 resource);
}

Status MetadataStore::create(const std::string& disk_path, const std::string& meta_path,
                             const std::string& resource, std::size_t al_slots, bool force) {
  auto disk = BackingDisk::open(disk_path);
  if (!disk.ok()) return disk.error();
  const std::uint64_t disk_bytes = disk.value()->size();
  if (meta_path.empty()) {
    return create_on(std::shared_ptr<BackingDisk>(std::move(disk).value()), disk_bytes, true,
                     resource, al_slots, force);
  }
  auto meta = BackingDisk::open(meta_path);
  if (!meta.ok()) return meta.error();
  return create_on(std::shared_ptr<BackingDisk>(std::move(meta).value()), disk_bytes, false,
                   resource, al_slots, force);
}

Result<MetadataStore> MetadataStore::open_on(std::shared_ptr<BackingDisk> meta,
                                             std::uint64_t disk_bytes, bool internal,
                                             const std::string& resource) {
  if (!meta) return make_error("metadata: no device");
  if (internal) disk_bytes = meta->size();
  auto picked = read_superblock(*meta, internal, resource);
  if (!picked.ok()) return picked.error();
  Superblock& sb = picked->sb;

  auto layout = compute_layout(disk_bytes, internal, sb.al_slots, internal ? 0 : meta->size());
  if (!layout.ok()) return make_error(meta->path() + ": " + layout.error().message);
  if (layout->data_size != sb.data_size) {
    return make_error(meta->path() + ": the metadata describes a data area of " +
                      std::to_string(sb.data_size) + " bytes but this disk gives " +
                      std::to_string(layout->data_size) +
                      " (was the disk resized, or is this the wrong disk?)");
  }

  Bitmap bitmap(layout->data_blocks());
  {
    constexpr std::uint64_t kChunkPages = 256;  // 1 MiB reads
    std::vector<std::uint8_t> buf;
    for (std::uint64_t page = 0; page < bitmap.pages(); page += kChunkPages) {
      const std::uint64_t n = std::min(kChunkPages, bitmap.pages() - page);
      buf.resize(static_cast<std::size_t>(n * Bitmap::kPageBytes));
      if (Status s = meta->read(layout->bitmap_offset + page * Bitmap::kPageBytes, buf); !s.ok()) {
        return s.error();
      }
      for (std::uint64_t i = 0; i < n; ++i) {
        std::span<const std::uint8_t> bytes(buf.data() + i * Bitmap::kPageBytes,
                                            Bitmap::kPageBytes);
        if (Status s = bitmap.load_page(page + i, bytes); !s.ok()) {
          return make_error(meta->path() + ": " + s.error().message);
        }
      }
    }
  }

  std::optional<ActivityLog> best;
  int best_copy = 0;
  std::string al_errors;
  for (int copy = 0; copy < 2; ++copy) {
    std::vector<std::uint8_t> buf(static_cast<std::size_t>(layout->activity_log_copy_bytes));
    if (Status s = meta->read(layout->activity_log_copy_offset(copy), buf); !s.ok()) {
      return s.error();
    }
    auto log = ActivityLog::decode(buf, sb.al_slots);
    if (!log.ok()) {
      al_errors += (al_errors.empty() ? "" : "; ") + std::string("copy ") +
                   std::to_string(copy) + ": " + log.error().message;
      continue;
    }
    if (!best || log->transaction() > best->transaction()) {
      best.emplace(std::move(log).value());
      best_copy = copy;
    }
  }
  if (!best) {
    return make_error(meta->path() + ": corrupt metadata: no valid activity log (" + al_errors +
                      "); recreate it with 'hapbx replica create-md " + resource +
                      " --force' and resync from the peer");
  }
  MetadataLayout l = layout.value();
  const int slot = picked->slot;
  return MetadataStore(std::move(meta), l, std::move(sb), slot, std::move(bitmap),
                       std::move(*best), best_copy);
}

Status MetadataStore::create_on(std::shared_ptr<BackingDisk> meta, std::uint64_t disk_bytes,
                                bool internal, const std::string& resource, std::size_t al_slots,
                                bool force) {
  if (!meta) return make_error("create-md: no device");
  if (resource.empty() || resource.size() > kMaxResourceName) {
    return make_error("create-md: resource name must be 1.." + std::to_string(kMaxResourceName) +
                      " characters");
  }
  if (internal) disk_bytes = meta->size();
  auto layout = compute_layout(disk_bytes, internal, al_slots, internal ? 0 : meta->size());
  if (!layout.ok()) return make_error(meta->path() + ": " + layout.error().message);
  const MetadataLayout& l = layout.value();

  if (!force) {
    for (int slot = 0; slot < 2; ++slot) {
      std::vector<std::uint8_t> block(kSuperblockBytes);
      if (Status s = meta->read(l.superblock_slot_offset(slot), block); !s.ok()) return s;
      auto existing = decode_superblock(block, "");
      if (existing.ok()) {
        return make_error(meta->path() + ": valid hapbx metadata for resource '" +
                          existing->resource + "' is already there (generation " +
                          hex_id(existing->uuids.current) +
                          "); refusing to overwrite it. Use --force to create new metadata "
                          "(loses the bitmap and the generation ids; the data stays)");
      }
      if (probe_metadata_block(block) == MetadataBlockKind::Drbd) {
        return make_error(meta->path() + ": DRBD metadata found: refusing to overwrite it; use "
                          "--force to replace it with hapbx metadata (the data stays)");
      }
    }
  }

  // Invalidate the old superblocks first: a crash half way leaves "no metadata", never old
  // generation ids next to a fresh bitmap.
  if (Status s = meta->zero(l.superblock_offset, l.superblock_bytes); !s.ok()) return s;
  if (Status s = meta->flush(); !s.ok()) return s;
  if (Status s = meta->zero(l.bitmap_offset, l.bitmap_bytes); !s.ok()) return s;
  const std::vector<std::uint8_t> empty_log = ActivityLog(al_slots).encode();
  for (int copy = 0; copy < 2; ++copy) {
    if (Status s = meta->write(l.activity_log_copy_offset(copy), empty_log); !s.ok()) return s;
  }
  if (Status s = meta->flush(); !s.ok()) return s;

  Superblock sb;
  sb.resource = resource;
  sb.device_uuid = random_nonzero_u64();
  sb.data_size = l.data_size;
  sb.al_slots = static_cast<std::uint32_t>(al_slots);
  for (int slot : {1, 0}) {  // slot 0 gets the higher sequence number
    sb.sequence = slot == 0 ? 1 : 0;
    if (Status s = meta->write(l.superblock_slot_offset(slot), encode_superblock(sb)); !s.ok()) {
      return s;
    }
  }
  return meta->flush();
}

Status MetadataStore::write_superblock(const Superblock& sb) {
  if (sb.resource != superblock_.resource || sb.al_slots != layout_.al_slots ||
      sb.data_size != layout_.data_size) {
    return make_error(path() + ": refusing to write a superblock for resource '" + sb.resource +
                      "' (al_slots " + std::to_string(sb.al_slots) + ", data size " +
                      std::to_string(sb.data_size) + ") over the metadata of '" +
                      superblock_.resource + "' (al_slots " + std::to_string(layout_.al_slots) +
                      ", data size " + std::to_string(layout_.data_size) +
                      "): start from superblock()");
  }
  Superblock next = sb;
  next.sequence = superblock_.sequence + 1;
  // Never write what open() would refuse to read back (an implausible field).
  const std::vector<std::uint8_t> block = encode_superblock(next);
  if (auto check = decode_superblock(block, superblock_.resource); !check.ok()) {
    return make_error(path() + ": refusing to write the superblock: " + check.error().message);
  }
  const int slot = 1 - sb_slot_;
  if (Status s = meta_->write(layout_.superblock_slot_offset(slot), block); !s.ok()) return s;
  if (Status s = meta_->flush(); !s.ok()) return s;
  superblock_ = std::move(next);
  sb_slot_ = slot;
  return Status::Ok();
}

Status MetadataStore::write_bitmap_pages(const Bitmap& bitmap,
                                         std::span<const std::uint64_t> pages) {
  if (bitmap.blocks() != layout_.data_blocks()) {
    return make_error(path() + ": bitmap of " + std::to_string(bitmap.blocks()) +
                      " blocks does not match the data area (" +
                      std::to_string(layout_.data_blocks()) + " blocks)");
  }
  if (pages.empty()) return Status::Ok();
  constexpr std::size_t kMaxRun = 64;  // coalesce up to 256 KiB per write
  std::vector<std::uint8_t> buf;
  std::size_t i = 0;
  while (i < pages.size()) {
    const std::uint64_t first = pages[i];
    if (first >= bitmap.pages()) {
      return make_error(path() + ": bitmap page " + std::to_string(first) + " is beyond the " +
                        std::to_string(bitmap.pages()) + " pages");
    }
    std::size_t n = 1;
    while (i + n < pages.size() && n < kMaxRun && pages[i + n] == first + n &&
           pages[i + n] < bitmap.pages()) {
      ++n;
    }
    buf.clear();
    for (std::size_t k = 0; k < n; ++k) {
      const auto bytes = bitmap.page_bytes(first + k);
      buf.insert(buf.end(), bytes.begin(), bytes.end());
    }
    if (Status s = meta_->write(layout_.bitmap_offset + first * Bitmap::kPageBytes, buf); !s.ok()) {
      return s;
    }
    i += n;
  }
  return meta_->flush();
}

Status MetadataStore::write_bitmap(const Bitmap& bitmap) {
  std::vector<std::uint64_t> all(static_cast<std::size_t>(bitmap.pages()));
  for (std::size_t p = 0; p < all.size(); ++p) all[p] = p;
  return write_bitmap_pages(bitmap, all);
}

Status MetadataStore::write_activity_log(const ActivityLog& log) {
  if (log.slots() != layout_.al_slots) {
    return make_error(path() + ": activity log of " + std::to_string(log.slots()) +
                      " slots does not match the metadata (" + std::to_string(layout_.al_slots) +
                      " slots)");
  }
  const int copy = 1 - al_copy_;
  if (Status s = meta_->write(layout_.activity_log_copy_offset(copy), log.encode()); !s.ok()) {
    return s;
  }
  if (Status s = meta_->flush(); !s.ok()) return s;
  al_copy_ = copy;
  return Status::Ok();
}

}  // namespace hapbx::replica
