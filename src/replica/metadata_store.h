// The metadata of one resource on its disk (the edge between metadata.h and the device):
// open = attach-time read and validation; create = `hapbx replica create-md`; and the durable
// writes the engine makes while running (superblock, bitmap pages, activity log).
//
// Contracts:
//  - open() only reads. When anything is wrong it returns the decode error prefixed with the path
//    and changes nothing on the disk.
//  - Every write_*() is followed by a flush (fdatasync): when it returns OK the data is durable.
//    Errors name the path.
//  - Torn writes: the superblock has two slots and the activity log two copies; writes alternate
//    between them (sequence / transaction numbers, checksums) and open() takes the newest valid
//    one, so a crash in the middle of a write leaves the previous version readable. Bitmap pages
//    are written in place (one 4 KiB page is the device's atomic unit, as in DRBD).
//  - The accessors give what open() read (or create() wrote). The engine owns the live bitmap
//    and activity log (it may use the mutable accessors in place); write_*() do not copy their
//    argument into the store, except write_superblock(), which also updates superblock().
//  - Not thread-safe: one owner (the engine's I/O side).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/result.h"
#include "replica/activity_log.h"
#include "replica/backing_disk.h"
#include "replica/bitmap.h"
#include "replica/metadata.h"

namespace hapbx::replica {

class MetadataStore {
 public:
  // meta_path empty: internal metadata at the end of disk_path.
  static Result<MetadataStore> open(const std::string& disk_path, const std::string& meta_path,
                                    const std::string& resource);
  static Status create(const std::string& disk_path, const std::string& meta_path,
                       const std::string& resource, std::size_t al_slots, bool force);

  // The same on an opened device (tests and the simulation run them on a MemoryDisk).
  // internal: `meta` is the data disk itself and disk_bytes == meta->size();
  // external: `meta` is the meta device and disk_bytes the size of the data disk.
  static Result<MetadataStore> open_on(std::shared_ptr<BackingDisk> meta, std::uint64_t disk_bytes,
                                       bool internal, const std::string& resource);
  static Status create_on(std::shared_ptr<BackingDisk> meta, std::uint64_t disk_bytes,
                          bool internal, const std::string& resource, std::size_t al_slots,
                          bool force);

  const Superblock& superblock() const { return superblock_; }
  const Bitmap& bitmap() const { return bitmap_; }
  Bitmap& bitmap() { return bitmap_; }
  const ActivityLog& activity_log() const { return activity_log_; }
  ActivityLog& activity_log() { return activity_log_; }
  const MetadataLayout& layout() const { return layout_; }
  const std::string& path() const { return meta_->path(); }
  BackingDisk& device() { return *meta_; }

  // Writes to the older slot with the next sequence number (sb.sequence is ignored), then flush.
  Status write_superblock(const Superblock& sb);
  // The given pages of `bitmap` (which must have layout().data_blocks() blocks), then flush.
  Status write_bitmap_pages(const Bitmap& bitmap, std::span<const std::uint64_t> pages);
  Status write_bitmap(const Bitmap& bitmap);  // every page
  // To the older copy, then flush.
  Status write_activity_log(const ActivityLog& log);

 private:
  MetadataStore(std::shared_ptr<BackingDisk> meta, MetadataLayout layout, Superblock sb,
                int sb_slot, Bitmap bitmap, ActivityLog log, int al_copy)
      : meta_(std::move(meta)),
        layout_(layout),
        superblock_(std::move(sb)),
        sb_slot_(sb_slot),
        bitmap_(std::move(bitmap)),
        activity_log_(std::move(log)),
        al_copy_(al_copy) {}

  std::shared_ptr<BackingDisk> meta_;
  MetadataLayout layout_;
  Superblock superblock_;
  int sb_slot_ = 0;  // the slot holding superblock_ (the next write goes to the other)
  Bitmap bitmap_;
  ActivityLog activity_log_;
  int al_copy_ = 0;  // the copy holding the newest activity log
};

}  // namespace hapbx::replica
