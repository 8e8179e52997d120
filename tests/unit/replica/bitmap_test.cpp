// The out-of-sync bitmap: ranges, counts, scanning, the run-length wire form, persistence pages.
#include "replica/bitmap.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace hapbx::replica {
namespace {

std::uint64_t slow_count(const Bitmap& b) {
  std::uint64_t n = 0;
  for (std::uint64_t i = 0; i < b.blocks(); ++i) n += b.test(i);
  return n;
}

TEST(Bitmap, StartsClearAndIgnoresBlocksPastTheEnd) {
  Bitmap b(100);
  EXPECT_EQ(b.blocks(), 100u);
  EXPECT_EQ(b.count(), 0u);
  EXPECT_EQ(b.pages(), 1u);
  b.set_block(100);
  b.set_block(~std::uint64_t{0});
  EXPECT_EQ(b.count(), 0u);
  EXPECT_FALSE(b.test(100));
  EXPECT_FALSE(b.test(5000));
  b.set_block(99);
  EXPECT_TRUE(b.test(99));
  EXPECT_EQ(b.count(), 1u);
  b.set_block(99);
  EXPECT_EQ(b.count(), 1u);
  b.clear_block(99);
  b.clear_block(99);
  EXPECT_EQ(b.count(), 0u);
  Bitmap empty;
  EXPECT_EQ(empty.pages(), 0u);
  EXPECT_FALSE(empty.next_set(0));
  EXPECT_EQ(empty.set_range(0, 4096), 0u);
}

TEST(Bitmap, RangesCoverPartialBlocks) {
  Bitmap b(64 * 3);
  // One byte inside block 1.
  EXPECT_EQ(b.set_range(kBlockSize + 17, 1), 1u);
  EXPECT_TRUE(b.test(1));
  // Spans the end of block 2 and the start of block 3: two blocks.
  EXPECT_EQ(b.set_range(3 * kBlockSize - 1, 2), 2u);
  EXPECT_TRUE(b.test(2));
  EXPECT_TRUE(b.test(3));
  // Exactly blocks 10..19.
  EXPECT_EQ(b.set_range(10 * kBlockSize, 10 * kBlockSize), 10u);
  EXPECT_FALSE(b.test(9));
  EXPECT_TRUE(b.test(19));
  EXPECT_FALSE(b.test(20));
  EXPECT_EQ(b.count(), 13u);
  // Setting again changes nothing.
  EXPECT_EQ(b.set_range(10 * kBlockSize, 10 * kBlockSize), 0u);
  // Length 0 touches nothing.
  EXPECT_EQ(b.set_range(50 * kBlockSize, 0), 0u);
  EXPECT_FALSE(b.test(50));
  // Clear a partial range: every touched block is cleared.
  EXPECT_EQ(b.clear_range(12 * kBlockSize + 5, kBlockSize), 2u);
  EXPECT_FALSE(b.test(12));
  EXPECT_FALSE(b.test(13));
  EXPECT_EQ(b.count(), 11u);
  EXPECT_EQ(slow_count(b), b.count());
}

TEST(Bitmap, RangesAreClippedAtTheEndWithoutOverflow) {
  Bitmap b(130);
  EXPECT_EQ(b.set_range(120 * kBlockSize, 1000 * kBlockSize), 10u);
  EXPECT_EQ(b.count(), 10u);
  EXPECT_EQ(b.set_range(~std::uint64_t{0} - 10, 100), 0u);  // starts past the end
  EXPECT_EQ(b.set_range(0, ~std::uint64_t{0}), 120u);       // whole bitmap, no wrap
  EXPECT_EQ(b.count(), 130u);
  EXPECT_EQ(b.clear_range(5 * kBlockSize, ~std::uint64_t{0}), 125u);
  EXPECT_EQ(b.count(), 5u);
  EXPECT_EQ(slow_count(b), 5u);
}

TEST(Bitmap, SetAllClearAllAndCountsOnOddSizes) {
  for (std::uint64_t n : {1u, 63u, 64u, 65u, 32767u, 32768u, 32769u, 100000u}) {
    Bitmap b(n);
    b.set_all();
    EXPECT_EQ(b.count(), n);
    EXPECT_FALSE(b.test(n));
    EXPECT_EQ(b.run_length(0, ~std::uint64_t{0}), n);
    b.clear_all();
    EXPECT_EQ(b.count(), 0u);
    EXPECT_FALSE(b.next_set(0));
  }
}

TEST(Bitmap, NextSetOverALargeSparseMap) {
  const std::uint64_t blocks = std::uint64_t{1} << 28;  // 1 TiB of data
  Bitmap b(blocks);
  const std::set<std::uint64_t> marks = {0, 63, 64, 1'000'000, 77'777'777, blocks - 1};
  for (std::uint64_t m : marks) b.set_block(m);
  std::vector<std::uint64_t> seen;
  for (auto at = b.next_set(0); at; at = b.next_set(*at + 1)) seen.push_back(*at);
  EXPECT_EQ(seen, std::vector<std::uint64_t>(marks.begin(), marks.end()));
  EXPECT_EQ(b.next_set(65), 1'000'000u);
  EXPECT_FALSE(b.next_set(blocks));
  EXPECT_EQ(b.count(), marks.size());
}

TEST(Bitmap, RunLengthIsBoundedAndStopsAtClearBits) {
  Bitmap b(1000);
  b.set_blocks(100, 300);
  EXPECT_EQ(b.run_length(100, 1000), 300u);
  EXPECT_EQ(b.run_length(150, 1000), 250u);
  EXPECT_EQ(b.run_length(100, 64), 64u);
  EXPECT_EQ(b.run_length(99, 1000), 0u);
  EXPECT_EQ(b.run_length(400, 1000), 0u);
  EXPECT_EQ(b.run_length(399, 0), 0u);
  b.set_blocks(990, 100);
  EXPECT_EQ(b.run_length(990, 1000), 10u);
  EXPECT_EQ(b.next_clear(100), 400u);
  EXPECT_EQ(b.next_clear(995), 1000u);
}

TEST(Bitmap, MergeOrsTheCommonPart) {
  Bitmap a(200), small(70), big(500);
  a.set_block(5);
  small.set_block(5);
  small.set_block(6);
  small.set_block(69);
  big.set_block(150);
  big.set_block(199);
  big.set_block(200);
  big.set_block(400);
  a.merge(small);
  EXPECT_EQ(a.count(), 3u);
  a.merge(big);
  EXPECT_EQ(a.count(), 5u);
  EXPECT_TRUE(a.test(199));
  EXPECT_FALSE(a.test(200));
  EXPECT_EQ(slow_count(a), a.count());
  Bitmap c(70);
  c.merge(a);
  EXPECT_EQ(c.count(), 3u);  // 5, 6, 69
}

std::vector<std::uint8_t> encode_all(const Bitmap& b, std::size_t max_bytes, int* chunks) {
  std::vector<std::uint8_t> total;
  std::uint64_t at = 0;
  *chunks = 0;
  Bitmap rebuilt(b.blocks());
  while (at < b.blocks()) {
    std::uint64_t next = 0;
    auto chunk = b.encode_runs(at, max_bytes, &next);
    EXPECT_LE(chunk.size(), std::max(max_bytes, Bitmap::kMinRunsBytes));
    EXPECT_GT(next, at) << "no progress at block " << at;
    if (next <= at) break;
    std::uint64_t decoded_next = 0;
    EXPECT_TRUE(rebuilt.merge_runs(at, chunk, &decoded_next).ok());
    EXPECT_EQ(decoded_next, next);
    total.insert(total.end(), chunk.begin(), chunk.end());
    at = next;
    ++*chunks;
  }
  EXPECT_EQ(rebuilt, b);
  return total;
}

TEST(Bitmap, RunsRoundTripAndAreCompactForSparseAndFullMaps) {
  int chunks = 0;
  Bitmap full(std::uint64_t{1} << 28);
  full.set_all();
  std::uint64_t next = 0;
  auto runs = full.encode_runs(0, 4096, &next);
  EXPECT_EQ(next, full.blocks());
  EXPECT_LE(runs.size(), 8u);  // "0 clear, 2^28 set"
  Bitmap empty(std::uint64_t{1} << 28);
  runs = empty.encode_runs(0, 4096, &next);
  EXPECT_EQ(next, empty.blocks());
  EXPECT_LE(runs.size(), 8u);

  Bitmap sparse(1'000'000);
  sparse.set_block(3);
  sparse.set_blocks(500'000, 1000);
  sparse.set_block(999'999);
  auto all = encode_all(sparse, 1 << 16, &chunks);
  EXPECT_EQ(chunks, 1);
  EXPECT_LE(all.size(), 20u);
}

TEST(Bitmap, RunsChunkWithTinyBudgets) {
  std::mt19937_64 rng(42);
  Bitmap b(70'000);
  for (int i = 0; i < 300; ++i) {
    const std::uint64_t at = rng() % b.blocks();
    b.set_blocks(at, rng() % 400);
  }
  for (std::size_t max_bytes : {0u, 1u, 2u, 3u, 5u, 16u, 100u, 4096u}) {
    int chunks = 0;
    encode_all(b, max_bytes, &chunks);
    if (max_bytes >= 2 && max_bytes <= 16) {
      EXPECT_GT(chunks, 1) << max_bytes;
    }
  }
  // A chunk may start in the middle of a set run.
  Bitmap full(1'000'000);
  full.set_all();
  int chunks = 0;
  encode_all(full, 2, &chunks);
  EXPECT_GT(chunks, 1);
}

TEST(Bitmap, MergeRunsOrsIntoExistingBits) {
  Bitmap src(1000), dst(1000);
  src.set_blocks(10, 10);
  dst.set_blocks(15, 10);
  std::uint64_t next = 0;
  auto runs = src.encode_runs(0, 100, &next);
  ASSERT_TRUE(dst.merge_runs(0, runs, &next).ok());
  EXPECT_EQ(dst.count(), 15u);
  EXPECT_EQ(next, 1000u);
}

TEST(Bitmap, HostileRunsAreRefusedAndChangeNothing) {
  Bitmap b(100);
  b.set_block(7);
  std::uint64_t next = 0;
  // Starts beyond the end.
  auto s = b.merge_runs(101, std::vector<std::uint8_t>{0, 1}, &next);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("beyond the end"), std::string::npos) << s.error().message;
  // Overrun: 50 clear then 51 set.
  s = b.merge_runs(0, std::vector<std::uint8_t>{50, 51}, &next);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("overruns"), std::string::npos) << s.error().message;
  // A valid prefix followed by garbage sets nothing.
  s = b.merge_runs(0, std::vector<std::uint8_t>{0, 5, 0x80}, &next);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("truncated"), std::string::npos) << s.error().message;
  // Eleven-byte varint.
  std::vector<std::uint8_t> overlong(10, 0x80);
  overlong.push_back(0);
  s = b.merge_runs(0, overlong, &next);
  EXPECT_FALSE(s.ok());
  // Ten bytes but more than 64 bits.
  std::vector<std::uint8_t> too_big(9, 0xff);
  too_big.push_back(0x7f);
  s = b.merge_runs(0, too_big, &next);
  EXPECT_FALSE(s.ok());
  // Runs summing past 2^64 must not wrap around.
  std::vector<std::uint8_t> wrap = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                                    0x10};
  s = b.merge_runs(0, wrap, &next);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(b.count(), 1u);
  EXPECT_TRUE(b.test(7));
  EXPECT_TRUE(b.take_dirty_pages().size() == 1u);  // only set_block(7)
  // Empty input at the end is fine.
  EXPECT_TRUE(b.merge_runs(100, {}, &next).ok());
  EXPECT_EQ(next, 100u);
}

TEST(Bitmap, DirtyPagesTrackChangesSorted) {
  Bitmap b(Bitmap::kBlocksPerPage * 5 + 10);
  EXPECT_EQ(b.pages(), 6u);
  EXPECT_TRUE(b.take_dirty_pages().empty());
  b.set_block(Bitmap::kBlocksPerPage * 5 + 1);
  b.set_block(3);
  b.set_block(4);
  EXPECT_EQ(b.take_dirty_pages(), (std::vector<std::uint64_t>{0, 5}));
  EXPECT_TRUE(b.take_dirty_pages().empty());
  b.set_block(3);  // no change, not dirty
  EXPECT_TRUE(b.take_dirty_pages().empty());
  // A range across pages 1..2.
  b.set_range((Bitmap::kBlocksPerPage * 2 - 1) * kBlockSize, 2 * kBlockSize);
  EXPECT_EQ(b.take_dirty_pages(), (std::vector<std::uint64_t>{1, 2}));
  b.clear_all();
  EXPECT_EQ(b.take_dirty_pages(), (std::vector<std::uint64_t>{0, 1, 2, 5}));
  b.mark_all_dirty();
  EXPECT_EQ(b.take_dirty_pages().size(), 6u);
  Bitmap other(b.blocks());
  other.set_block(Bitmap::kBlocksPerPage * 3);
  b.merge(other);
  EXPECT_EQ(b.take_dirty_pages(), (std::vector<std::uint64_t>{3}));
}

TEST(Bitmap, PagesRoundTripAndClearBitsPastTheEnd) {
  Bitmap b(Bitmap::kBlocksPerPage + 100);
  b.set_block(0);
  b.set_block(9);  // byte 1, bit 1
  b.set_block(Bitmap::kBlocksPerPage + 99);
  auto p0 = b.page_bytes(0);
  ASSERT_EQ(p0.size(), Bitmap::kPageBytes);
  EXPECT_EQ(p0[0], 0x01);
  EXPECT_EQ(p0[1], 0x02);
  EXPECT_TRUE(b.page_bytes(2).empty());

  Bitmap c(b.blocks());
  ASSERT_TRUE(c.load_page(0, b.page_bytes(0)).ok());
  std::vector<std::uint8_t> last(Bitmap::kPageBytes, 0xff);  // everything set, also past the end
  ASSERT_TRUE(c.load_page(1, last).ok());
  EXPECT_EQ(c.count(), 2u + 100u);
  EXPECT_FALSE(c.test(Bitmap::kBlocksPerPage + 100));
  EXPECT_EQ(c.page_bytes(1)[11], 0xff);  // 100 bits = 12 bytes + 4 bits
  EXPECT_EQ(c.page_bytes(1)[12], 0x0f);
  EXPECT_EQ(c.page_bytes(1)[13], 0x00);
  EXPECT_TRUE(c.take_dirty_pages().empty());  // loading is not a change to persist
  // Reloading a page replaces its bits and keeps the count right.
  std::vector<std::uint8_t> zero(Bitmap::kPageBytes, 0);
  ASSERT_TRUE(c.load_page(1, zero).ok());
  EXPECT_EQ(c.count(), 2u);
  EXPECT_FALSE(c.load_page(2, zero).ok());
  EXPECT_FALSE(c.load_page(0, std::vector<std::uint8_t>(100)).ok());
}

TEST(Bitmap, RandomOperationsKeepTheCountExact) {
  std::mt19937_64 rng(7);
  Bitmap b(5000);
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t off = rng() % (5100 * kBlockSize);
    const std::uint64_t len = rng() % (70 * kBlockSize);
    if (rng() % 2) {
      b.set_range(off, len);
    } else {
      b.clear_range(off, len);
    }
  }
  EXPECT_EQ(slow_count(b), b.count());
}

}  // namespace
}  // namespace hapbx::replica
