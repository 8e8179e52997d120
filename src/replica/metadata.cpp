#include "replica/metadata.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "replica/activity_log.h"
#include "replica/bitmap.h"
#include "replica/disk_format.h"

namespace hapbx::replica {

namespace {

constexpr char kMagic[8] = {'H', 'A', 'P', 'B', 'X', '-', 'M', 'D'};
constexpr std::size_t kResourceOffset = 112;
constexpr std::size_t kCrcOffset = kSuperblockBytes - 4;
constexpr std::uint32_t kKnownFlags = 0x3f;

// DRBD's on-disk superblock carries a big-endian magic at byte 60 (after la_size, the four
// uuids, the device uuid, a reserved u64 and the flags). The values: DRBD_MAGIC 0x83740267 + 3
// (0.7), + 4 (8.x), + 5 (8.4 unclean), + 6 (9.x).
constexpr std::size_t kDrbdMagicOffset = 60;
const char* drbd_flavour(std::uint32_t magic) {
  switch (magic) {
    case 0x8374026a: return "DRBD 0.7";
    case 0x8374026b: return "DRBD 8";
    case 0x8374026c: return "DRBD 8.4 (unclean)";
    case 0x8374026d: return "DRBD 9";
    default: return nullptr;
  }
}

std::uint64_t bitmap_pages_for(std::uint64_t blocks) {
  return (blocks + Bitmap::kBlocksPerPage - 1) / Bitmap::kBlocksPerPage;
}

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::uint32_t encode_flags(const MetadataFlags& f) {
  return (f.consistent ? 1u : 0u) | (f.was_up_to_date ? 2u : 0u) | (f.primary ? 4u : 0u) |
         (f.crashed_primary ? 8u : 0u) | (f.peer_outdated ? 16u : 0u) |
         (f.full_sync_pending ? 32u : 0u);
}

MetadataFlags decode_flags(std::uint32_t v) {
  MetadataFlags f;
  f.consistent = v & 1u;
  f.was_up_to_date = v & 2u;
  f.primary = v & 4u;
  f.crashed_primary = v & 8u;
  f.peer_outdated = v & 16u;
  f.full_sync_pending = v & 32u;
  return f;
}

}  // namespace

std::uint64_t superblock_slot_offset(std::uint64_t disk_bytes, bool internal, int slot) {
  const std::uint64_t s = slot == 0 ? 0 : 1;
  if (!internal) return s * kSuperblockBytes;
  const std::uint64_t aligned = disk_bytes / kBlockSize * kBlockSize;
  return aligned < (s + 1) * kSuperblockBytes ? 0 : aligned - (s + 1) * kSuperblockBytes;
}

std::uint64_t MetadataLayout::superblock_slot_offset(int slot) const {
  const std::uint64_t s = slot == 0 ? 0 : 1;
  if (internal) return superblock_offset + (1 - s) * kSuperblockBytes;
  return superblock_offset + s * kSuperblockBytes;
}

Result<MetadataLayout> compute_layout(std::uint64_t disk_bytes, bool internal, std::size_t al_slots,
                                      std::uint64_t meta_device_bytes) {
  if (al_slots == 0 || al_slots > kMaxAlSlots) {
    return make_error("al-extents " + std::to_string(al_slots) + " is out of range (1.." +
                      std::to_string(kMaxAlSlots) + ")");
  }
  MetadataLayout l;
  l.internal = internal;
  l.al_slots = static_cast<std::uint32_t>(al_slots);
  l.superblock_bytes = 2 * kSuperblockBytes;
  l.activity_log_copy_bytes = ActivityLog::encoded_size(al_slots);
  l.activity_log_bytes = 2 * l.activity_log_copy_bytes;
  const std::uint64_t disk_blocks = disk_bytes / kBlockSize;
  const std::uint64_t fixed_blocks = (l.superblock_bytes + l.activity_log_bytes) / kBlockSize;

  if (internal) {
    auto meta_blocks = [&](std::uint64_t data_blocks) {
      return fixed_blocks + bitmap_pages_for(data_blocks);
    };
    if (disk_blocks < meta_blocks(disk_blocks) + 1) {
      return make_error("disk too small for internal metadata: " + std::to_string(disk_bytes) +
                        " bytes, the metadata alone needs " +
                        std::to_string(meta_blocks(disk_blocks) * kBlockSize) + " bytes");
    }
    // The largest data area whose bitmap still fits next to it (the bitmap of the whole disk is an
    // upper bound; growing back by a few blocks finds the exact answer).
    std::uint64_t d = disk_blocks - meta_blocks(disk_blocks);
    while (d + 1 + meta_blocks(d + 1) <= disk_blocks) ++d;
    l.data_size = d * kBlockSize;
    l.bitmap_bytes = bitmap_pages_for(d) * Bitmap::kPageBytes;
    l.meta_size = meta_blocks(d) * kBlockSize;
    l.meta_offset = disk_blocks * kBlockSize - l.meta_size;
    l.bitmap_offset = l.meta_offset;
    l.activity_log_offset = l.bitmap_offset + l.bitmap_bytes;
    l.superblock_offset = l.activity_log_offset + l.activity_log_bytes;
    return l;
  }

  if (disk_blocks == 0) {
    return make_error("disk too small: " + std::to_string(disk_bytes) +
                      " bytes (at least one 4096-byte block)");
  }
  l.data_size = disk_blocks * kBlockSize;
  l.bitmap_bytes = bitmap_pages_for(disk_blocks) * Bitmap::kPageBytes;
  l.meta_size = l.superblock_bytes + l.activity_log_bytes + l.bitmap_bytes;
  l.meta_offset = 0;
  l.superblock_offset = 0;
  l.activity_log_offset = l.superblock_bytes;
  l.bitmap_offset = l.activity_log_offset + l.activity_log_bytes;
  if (meta_device_bytes < l.meta_size) {
    return make_error("meta device too small: " + std::to_string(meta_device_bytes) +
                      " bytes, the metadata for a " + std::to_string(l.data_size) +
                      "-byte disk needs " + std::to_string(l.meta_size) + " bytes");
  }
  return l;
}

std::vector<std::uint8_t> encode_superblock(const Superblock& sb) {
  std::vector<std::uint8_t> b(kSuperblockBytes, 0);
  std::uint8_t* p = b.data();
  std::memcpy(p, kMagic, sizeof kMagic);
  put_le32(p + 8, kMetadataVersion);
  put_le64(p + 16, sb.sequence);
  put_le64(p + 24, sb.device_uuid);
  put_le64(p + 32, sb.data_size);
  put_le64(p + 40, sb.last_agreed_size);
  put_le64(p + 48, sb.uuids.current);
  put_le64(p + 56, sb.uuids.bitmap);
  put_le64(p + 64, sb.uuids.history[0]);
  put_le64(p + 72, sb.uuids.history[1]);
  put_le32(p + 80, encode_flags(sb.flags));
  put_le32(p + 84, sb.al_slots);
  put_le64(p + 88, sb.generation_started_ms);
  put_le64(p + 96, sb.bitmap_bits);
  const std::size_t len = std::min(sb.resource.size(), kMaxResourceName);
  p[104] = static_cast<std::uint8_t>(len);
  p[105] = static_cast<std::uint8_t>(len >> 8);
  std::memcpy(p + kResourceOffset, sb.resource.data(), len);
  put_le32(p + kCrcOffset, crc32c({p, kCrcOffset}));
  return b;
}

MetadataBlockKind probe_metadata_block(std::span<const std::uint8_t> block) {
  if (std::all_of(block.begin(), block.end(), [](std::uint8_t v) { return v == 0; })) {
    return MetadataBlockKind::Zero;
  }
  if (block.size() >= sizeof kMagic && std::memcmp(block.data(), kMagic, sizeof kMagic) == 0) {
    return MetadataBlockKind::Hapbx;
  }
  if (block.size() >= kDrbdMagicOffset + 4 &&
      drbd_flavour(get_be32(block.data() + kDrbdMagicOffset)) != nullptr) {
    return MetadataBlockKind::Drbd;
  }
  return MetadataBlockKind::Foreign;
}

Result<Superblock> decode_superblock(std::span<const std::uint8_t> block,
                                     const std::string& expected_resource) {
  const std::string res = expected_resource.empty() ? "<resource>" : expected_resource;
  if (block.size() != kSuperblockBytes) {
    return make_error("metadata superblock: " + std::to_string(block.size()) +
                      " bytes, expected " + std::to_string(kSuperblockBytes));
  }
  switch (probe_metadata_block(block)) {
    case MetadataBlockKind::Zero:
      return make_error("no metadata found (run 'hapbx replica create-md " + res + "')");
    case MetadataBlockKind::Drbd: {
      const std::uint32_t magic = get_be32(block.data() + kDrbdMagicOffset);
      return make_error(std::string("DRBD metadata found: ") + drbd_flavour(magic) +
                        " superblock (magic " + hex32(magic) +
                        "), not hapbx's; refusing to attach. To let hapbx take this disk over, "
                        "run 'hapbx replica create-md " + res +
                        " --force' (replaces the DRBD metadata, keeps the data)");
    }
    case MetadataBlockKind::Foreign:
      return make_error("foreign data where the metadata should be (no hapbx or DRBD magic): "
                        "refusing to attach; check the disk in the resource file, or run "
                        "'hapbx replica create-md " + res + "' if this disk is meant for it");
    case MetadataBlockKind::Hapbx:
      break;
  }
  const std::uint8_t* p = block.data();
  if (crc32c({p, kCrcOffset}) != get_le32(p + kCrcOffset)) {
    return make_error("corrupt metadata (checksum mismatch); if the other copy is damaged too, "
                      "recreate it with 'hapbx replica create-md " + res +
                      " --force' and resync from the peer");
  }
  const std::uint32_t version = get_le32(p + 8);
  if (version > kMetadataVersion) {
    return make_error("metadata version " + std::to_string(version) +
                      " is newer than this hapbx understands (" + std::to_string(kMetadataVersion) +
                      "): upgrade hapbx on this node");
  }
  if (version == 0) return make_error("implausible metadata: version 0");
  Superblock sb;
  sb.sequence = get_le64(p + 16);
  sb.device_uuid = get_le64(p + 24);
  sb.data_size = get_le64(p + 32);
  sb.last_agreed_size = get_le64(p + 40);
  sb.uuids.current = get_le64(p + 48);
  sb.uuids.bitmap = get_le64(p + 56);
  sb.uuids.history[0] = get_le64(p + 64);
  sb.uuids.history[1] = get_le64(p + 72);
  const std::uint32_t flags = get_le32(p + 80);
  sb.flags = decode_flags(flags);
  sb.al_slots = get_le32(p + 84);
  sb.generation_started_ms = get_le64(p + 88);
  sb.bitmap_bits = get_le64(p + 96);
  const std::size_t len = std::size_t{p[104]} | std::size_t{p[105]} << 8;
  if (len == 0 || len > kMaxResourceName) {
    return make_error("implausible metadata: resource name length " + std::to_string(len));
  }
  sb.resource.assign(reinterpret_cast<const char*>(p + kResourceOffset), len);
  if (!expected_resource.empty() && sb.resource != expected_resource) {
    return make_error("metadata belongs to resource '" + sb.resource + "', not '" +
                      expected_resource +
                      "': check the disk of this resource in the config (or create-md --force "
                      "to reuse the disk)");
  }
  if (flags & ~kKnownFlags) {
    return make_error("implausible metadata: unknown flags " + hex32(flags));
  }
  if (sb.al_slots == 0 || sb.al_slots > kMaxAlSlots) {
    return make_error("implausible metadata: al_slots " + std::to_string(sb.al_slots) +
                      " (expected 1.." + std::to_string(kMaxAlSlots) + ")");
  }
  if (sb.data_size == 0 || sb.data_size % kBlockSize != 0) {
    return make_error("implausible metadata: data size " + std::to_string(sb.data_size) +
                      " is not a positive multiple of 4096");
  }
  if (sb.bitmap_bits > sb.data_size / kBlockSize) {
    return make_error("implausible metadata: " + std::to_string(sb.bitmap_bits) +
                      " bitmap bits for " + std::to_string(sb.data_size / kBlockSize) + " blocks");
  }
  return sb;
}

}  // namespace hapbx::replica
