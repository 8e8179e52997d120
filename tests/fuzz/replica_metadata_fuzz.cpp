// Fuzz target for replicad's on-disk and wire metadata formats: the superblock decoder, the
// activity-log decoder and the bitmap's run-length chunks. Whatever decodes must re-encode to
// something that decodes to the same value; nothing may crash.
//
// Input: byte 0 picks the decoder (mod 3), the rest is its input:
//   0: a superblock block (padded with zeroes / cut to 4096 bytes)
//   1: u16 LE slot count (mod 2000, + 1) then an activity-log record
//   2: u32 LE bitmap size (mod 2^20 blocks), u32 LE first block (mod size + 2), then the runs
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "replica/activity_log.h"
#include "replica/bitmap.h"
#include "replica/metadata.h"

using namespace hapbx::replica;

namespace {

std::uint32_t le32(std::span<const std::uint8_t> p) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4 && i < p.size(); ++i) v |= std::uint32_t{p[i]} << (8 * i);
  return v;
}

void fuzz_superblock(std::span<const std::uint8_t> in) {
  std::vector<std::uint8_t> block(in.begin(), in.begin() + std::min<std::size_t>(in.size(), 4096));
  block.resize(4096, 0);
  (void)probe_metadata_block(block);
  (void)decode_superblock(in, "r0");  // any size: must be refused, not crash
  auto sb = decode_superblock(block, "");
  if (!sb.ok()) return;
  auto again = decode_superblock(encode_superblock(*sb), sb->resource);
  if (!again.ok() || !(*again == *sb)) __builtin_trap();
}

void fuzz_activity_log(std::span<const std::uint8_t> in) {
  if (in.size() < 2) return;
  const std::size_t slots = 1 + (std::size_t{in[0]} | std::size_t{in[1]} << 8) % 2000;
  auto log = ActivityLog::decode(in.subspan(2), slots);
  if (!log.ok()) return;
  const auto bytes = log->encode();
  if (bytes.size() != ActivityLog::encoded_size(slots)) __builtin_trap();
  auto again = ActivityLog::decode(bytes, slots);
  if (!again.ok() || again->hot_extents() != log->hot_extents() ||
      again->transaction() != log->transaction()) {
    __builtin_trap();
  }
  // It stays usable.
  ActivityLog& l = *log;
  if (l.touch_and_pin(0xfffffff) == ActivityLog::Touch::Full) __builtin_trap();  // none pinned
}

void fuzz_bitmap_runs(std::span<const std::uint8_t> in) {
  if (in.size() < 8) return;
  const std::uint64_t blocks = le32(in) % (1u << 20);
  const std::uint64_t first = le32(in.subspan(4)) % (blocks + 2);
  Bitmap b(blocks);
  std::uint64_t next = 0;
  if (!b.merge_runs(first, in.subspan(8), &next).ok()) {
    if (b.count() != 0) __builtin_trap();  // a refused chunk changes nothing
    return;
  }
  if (next < first || next > blocks) __builtin_trap();
  // The count is exact, and the chunk re-encodes to the same bits.
  std::uint64_t n = 0;
  for (auto at = b.next_set(0); at; at = b.next_set(*at + 1)) ++n;
  if (n != b.count()) __builtin_trap();
  Bitmap copy(blocks);
  std::uint64_t at = 0;
  while (at < blocks) {
    std::uint64_t chunk_next = 0;
    const auto runs = b.encode_runs(at, 7, &chunk_next);
    if (chunk_next <= at) __builtin_trap();
    if (!copy.merge_runs(at, runs, nullptr).ok()) __builtin_trap();
    at = chunk_next;
  }
  if (!(copy == b)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> in(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: fuzz_superblock(in); break;
    case 1: fuzz_activity_log(in); break;
    default: fuzz_bitmap_runs(in); break;
  }
  return 0;
}
