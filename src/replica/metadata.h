// replicad's metadata: where it lives (the layout) and its superblock (the generation ids, flags
// and sizes of one resource). Pure: no I/O here (metadata_store.h does the disk side).
//
// Layout. All offsets are absolute on the device that holds the metadata and multiples of 4096.
//  internal (`meta-disk internal`): the metadata sits at the end of the disk, the data area is
//    the rest (4 KiB aligned); the bitmap is sized for the data area:
//      [ data ... | gap < a few blocks | bitmap | AL copy 0 | AL copy 1 | SB slot 1 | SB slot 0 ]
//    SB slot 0 is the last 4 KiB of the (4 KiB aligned) disk, where DRBD keeps its superblock too,
//    so a DRBD disk is recognised.
//  external (`meta-disk /dev/x` or a file): the whole meta device, from offset 0:
//      [ SB slot 0 | SB slot 1 | AL copy 0 | AL copy 1 | bitmap ]   and the data is the whole disk.
//  The superblock and the activity log are written alternately to their two copies, each with a
//  sequence / transaction number and a checksum; readers take the newest valid copy, so a write
//  torn by a crash loses at most that write, never the metadata.
//
// Superblock (4096 bytes, little-endian):
//    0 magic "HAPBX-MD" |   8 version u32 | 12 reserved u32 | 16 sequence u64 | 24 device_uuid u64
//   32 data_size u64    |  40 last_agreed_size u64 | 48 uuids current, bitmap, history[0..1] u64
//   80 flags u32 (bit 0 consistent, 1 was_up_to_date, 2 primary, 3 crashed_primary,
//      4 peer_outdated, 5 full_sync_pending) | 84 al_slots u32 | 88 generation_started_ms u64
//   96 bitmap_bits u64  | 104 resource length u16 | 106 reserved | 112 resource (256 bytes)
//   ... zero ... | 4092 CRC32C of bytes 0..4091.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "replica/generation_uuids.h"
#include "replica/replica_types.h"

namespace hapbx::replica {

inline constexpr std::uint32_t kMetadataVersion = 1;
inline constexpr std::size_t kSuperblockBytes = 4096;
inline constexpr std::size_t kMaxResourceName = 255;
inline constexpr std::uint32_t kMaxAlSlots = 65534;

struct MetadataLayout {
  std::uint64_t data_size = 0;           // usable bytes of the data area (multiple of 4096)
  std::uint64_t meta_offset = 0;         // start of the metadata area
  std::uint64_t superblock_offset = 0;   // start of the two superblock slots (superblock_bytes)
  std::uint64_t activity_log_offset = 0; // start of the two AL copies (activity_log_bytes)
  std::uint64_t activity_log_bytes = 0;  // both copies
  std::uint64_t bitmap_offset = 0;
  std::uint64_t bitmap_bytes = 0;        // whole 4 KiB pages covering data_size / 4096 bits
  std::uint64_t meta_size = 0;           // the whole metadata area
  // Added members.
  bool internal = true;
  std::uint64_t superblock_bytes = 2 * kSuperblockBytes;
  std::uint64_t activity_log_copy_bytes = 0;  // one copy: ActivityLog::encoded_size(al_slots)
  std::uint32_t al_slots = 0;

  std::uint64_t data_blocks() const { return data_size / kBlockSize; }
  // Where superblock slot 0 / 1 is (slot 0 is DRBD's superblock place on an internal disk).
  std::uint64_t superblock_slot_offset(int slot) const;
  std::uint64_t activity_log_copy_offset(int copy) const {
    return activity_log_offset + (copy == 0 ? 0 : activity_log_copy_bytes);
  }

  bool operator==(const MetadataLayout&) const = default;
};

// Where the superblock slots are, before the layout is known (they do not depend on al_slots):
// internal: the last 8 KiB of the 4 KiB aligned disk; external: the first 8 KiB of the meta device.
std::uint64_t superblock_slot_offset(std::uint64_t disk_bytes, bool internal, int slot);

// internal: metadata at the end of disk_bytes. external: meta_device_bytes must hold the whole
// metadata area; the data area is the whole disk (4 KiB aligned). Errors name the sizes.
Result<MetadataLayout> compute_layout(std::uint64_t disk_bytes, bool internal, std::size_t al_slots,
                                      std::uint64_t meta_device_bytes = 0);

struct Superblock {
  std::string resource;            // "r0": foreign metadata (another resource) is refused
  std::uint64_t device_uuid = 0;   // random at create-md
  std::uint64_t data_size = 0;     // usable bytes (from the layout)
  std::uint64_t last_agreed_size = 0;
  GenerationUuids uuids;
  MetadataFlags flags;
  std::uint64_t generation_started_ms = 0;
  std::uint32_t al_slots = 127;
  std::uint64_t bitmap_bits = 0;   // informational: set bits at last write
  // Added: which superblock slot is newer. Set by MetadataStore::write_superblock; callers need
  // not touch it.
  std::uint64_t sequence = 0;

  bool operator==(const Superblock&) const = default;
};

// Exactly 4096 bytes. Resource names longer than kMaxResourceName are cut (config validation
// refuses them earlier).
std::vector<std::uint8_t> encode_superblock(const Superblock&);

// Validates everything; errors say why and what to do (see metadata.cpp for the exact texts).
// expected_resource empty: accept any resource (create-md's "is there metadata already?").
Result<Superblock> decode_superblock(std::span<const std::uint8_t> block,
                                     const std::string& expected_resource);

// A first look at a superblock-sized block, to choose which error to report when neither slot
// holds valid metadata.
enum class MetadataBlockKind { Zero, Hapbx, Drbd, Foreign };
MetadataBlockKind probe_metadata_block(std::span<const std::uint8_t> block);

}  // namespace hapbx::replica
