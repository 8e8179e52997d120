// The out-of-sync bitmap: one bit per 4 KiB block (kBlockSize) of the data area. A set bit means
// "this block may differ from the peer's copy and must be resynced".
//
// Contracts:
//  - Pure, single-threaded (the owner's event loop); copyable.
//  - count() is maintained incrementally: every mutator knows how many bits it changed.
//  - Anything past blocks() reads as clear and is never set; ranges are clipped at the end.
//  - Persistence is by 4 KiB pages of 32768 blocks. The on-disk byte order is fixed: block b is
//    bit (b % 8) of byte (b / 8) of the bitmap area (little-endian words, so a page is a plain view
//    of the in-memory words). Every mutation marks the pages it actually changed dirty;
//    take_dirty_pages() hands them to the writer. load_page() does not mark pages dirty.
//  - The wire form (encode_runs / merge_runs) is a sequence of LEB128 varints giving the lengths of
//    alternating runs, always starting with a (possibly empty) run of clear bits, from
//    `first_block` on. A chunk covers [first_block, next_block); chunks are independent, so a
//    bitmap is sent as encode_runs(0, ..), encode_runs(next, ..), ... until next == blocks().
//    A full or an empty bitmap of any size fits in a handful of bytes.
//  - merge_runs() treats its input as hostile: it validates the whole chunk first and changes
//    nothing when it is malformed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/result.h"
#include "replica/replica_types.h"

namespace hapbx::replica {

class Bitmap {
 public:
  static constexpr std::size_t kPageBytes = 4096;
  static constexpr std::uint64_t kBlocksPerPage = kPageBytes * 8;  // 32768
  // encode_runs always makes progress given at least this many bytes; smaller budgets are raised.
  static constexpr std::size_t kMinRunsBytes = 2;

  explicit Bitmap(std::uint64_t blocks = 0);

  std::uint64_t blocks() const { return blocks_; }
  std::uint64_t count() const { return count_; }
  bool test(std::uint64_t block) const;
  void set_block(std::uint64_t block);
  void clear_block(std::uint64_t block);

  // Every block the byte range [offset, offset + length) touches (partial blocks included);
  // clipped at the end; length 0 touches nothing. Return how many bits changed.
  std::uint64_t set_range(std::uint64_t offset, std::uint64_t length);
  std::uint64_t clear_range(std::uint64_t offset, std::uint64_t length);
  // The same on block numbers: [first_block, first_block + count), clipped.
  std::uint64_t set_blocks(std::uint64_t first_block, std::uint64_t count);
  std::uint64_t clear_blocks(std::uint64_t first_block, std::uint64_t count);

  void set_all();
  void clear_all();

  // The first set block >= from_block, skipping whole zero words.
  std::optional<std::uint64_t> next_set(std::uint64_t from_block) const;
  // The first clear block >= from_block (blocks() when there is none).
  std::uint64_t next_clear(std::uint64_t from_block) const;
  // How many consecutive set bits start at from_block (at most max_blocks); 0 if it is clear.
  std::uint64_t run_length(std::uint64_t from_block, std::uint64_t max_blocks) const;

  // OR of the common part (sizes may differ).
  void merge(const Bitmap& other);

  // Wire form, see the header comment. At most max_bytes of output (max_bytes < kMinRunsBytes is
  // treated as kMinRunsBytes). *next_block: where the next chunk starts (== blocks() when done).
  // first_block >= blocks() gives an empty chunk and *next_block = blocks().
  std::vector<std::uint8_t> encode_runs(std::uint64_t first_block, std::size_t max_bytes,
                                        std::uint64_t* next_block) const;
  // ORs one chunk that starts at first_block. Errors (nothing changed): first_block beyond the
  // end, a run crossing blocks(), a truncated or overlong varint. *next_block (may be null) gets
  // the block after the chunk.
  Status merge_runs(std::uint64_t first_block, std::span<const std::uint8_t> runs,
                    std::uint64_t* next_block);

  // Persistence.
  std::uint64_t pages() const { return (blocks_ + kBlocksPerPage - 1) / kBlocksPerPage; }
  std::vector<std::uint64_t> take_dirty_pages();  // changed since the last call, sorted
  void mark_all_dirty();
  bool has_dirty_pages() const { return !dirty_list_.empty(); }
  // Exactly kPageBytes (bits past blocks() are zero); an empty span for page >= pages().
  std::span<const std::uint8_t> page_bytes(std::uint64_t page) const;
  // Replaces a page's bits; bits beyond blocks() are ignored. Does not mark the page dirty.
  Status load_page(std::uint64_t page, std::span<const std::uint8_t> bytes);

  bool operator==(const Bitmap& other) const {
    return blocks_ == other.blocks_ && words_ == other.words_;
  }

 private:
  static constexpr std::uint64_t kWordsPerPage = kPageBytes / 8;

  // Sets/clears bits [first, end) (already clipped), returns how many changed.
  std::uint64_t set_span(std::uint64_t first, std::uint64_t end);
  std::uint64_t clear_span(std::uint64_t first, std::uint64_t end);
  void mark_dirty_word(std::uint64_t word_index);
  void mark_dirty_words(std::uint64_t first_word, std::uint64_t end_word);
  std::uint64_t tail_mask(std::uint64_t word_index) const;  // valid bits of that word

  std::uint64_t blocks_ = 0;
  std::uint64_t count_ = 0;
  std::vector<std::uint64_t> words_;  // pages() * kWordsPerPage words, padding bits always 0
  std::vector<bool> dirty_;           // per page
  std::vector<std::uint64_t> dirty_list_;
};

}  // namespace hapbx::replica
