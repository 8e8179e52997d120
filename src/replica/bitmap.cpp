#include "replica/bitmap.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

namespace hapbx::replica {

// page_bytes() hands out the words' memory as the on-disk form, which is defined little-endian.
static_assert(std::endian::native == std::endian::little,
              "bitmap pages are a view of little-endian words");

namespace {

constexpr std::uint64_t kAllOnes = ~std::uint64_t{0};

std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void put_varint(std::vector<std::uint8_t>& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

// Reads one LEB128 varint at runs[*at]; advances *at. False when truncated or longer than 64 bits.
bool get_varint(std::span<const std::uint8_t> runs, std::size_t* at, std::uint64_t* value,
                std::string* why) {
  std::uint64_t v = 0;
  const std::size_t start = *at;
  for (unsigned shift = 0;; shift += 7) {
    if (*at >= runs.size()) {
      *why = "truncated varint at byte " + std::to_string(start);
      return false;
    }
    const std::uint8_t b = runs[(*at)++];
    if (shift == 63 && b > 1) {
      *why = "varint at byte " + std::to_string(start) + " does not fit in 64 bits";
      return false;
    }
    v |= std::uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) break;
    if (shift == 63) {
      *why = "varint at byte " + std::to_string(start) + " is longer than 10 bytes";
      return false;
    }
  }
  *value = v;
  return true;
}

}  // namespace

Bitmap::Bitmap(std::uint64_t blocks)
    : blocks_(blocks),
      words_(static_cast<std::size_t>(pages() * kWordsPerPage), 0),
      dirty_(static_cast<std::size_t>(pages()), false) {}

std::uint64_t Bitmap::tail_mask(std::uint64_t word_index) const {
  const std::uint64_t first_bit = word_index * 64;
  if (first_bit >= blocks_) return 0;
  if (blocks_ - first_bit >= 64) return kAllOnes;
  return (std::uint64_t{1} << (blocks_ - first_bit)) - 1;
}

void Bitmap::mark_dirty_word(std::uint64_t word_index) {
  const std::uint64_t page = word_index / kWordsPerPage;
  if (!dirty_[page]) {
    dirty_[page] = true;
    dirty_list_.push_back(page);
  }
}

void Bitmap::mark_dirty_words(std::uint64_t first_word, std::uint64_t end_word) {
  if (first_word >= end_word) return;
  for (std::uint64_t p = first_word / kWordsPerPage; p <= (end_word - 1) / kWordsPerPage; ++p) {
    if (!dirty_[p]) {
      dirty_[p] = true;
      dirty_list_.push_back(p);
    }
  }
}

bool Bitmap::test(std::uint64_t block) const {
  if (block >= blocks_) return false;
  return (words_[block / 64] >> (block % 64)) & 1u;
}

void Bitmap::set_block(std::uint64_t block) {
  if (block >= blocks_) return;
  (void)set_span(block, block + 1);
}

void Bitmap::clear_block(std::uint64_t block) {
  if (block >= blocks_) return;
  (void)clear_span(block, block + 1);
}

std::uint64_t Bitmap::set_span(std::uint64_t first, std::uint64_t end) {
  if (first >= end) return 0;
  std::uint64_t changed = 0;
  const std::uint64_t fw = first / 64;
  const std::uint64_t lw = (end - 1) / 64;
  for (std::uint64_t w = fw; w <= lw; ++w) {
    std::uint64_t mask = kAllOnes;
    if (w == fw) mask &= kAllOnes << (first % 64);
    if (w == lw && end % 64 != 0) mask &= (std::uint64_t{1} << (end % 64)) - 1;
    const std::uint64_t old = words_[w];
    const std::uint64_t now = old | mask;
    if (now != old) {
      words_[w] = now;
      changed += static_cast<std::uint64_t>(std::popcount(now ^ old));
      mark_dirty_word(w);
    }
  }
  count_ += changed;
  return changed;
}

std::uint64_t Bitmap::clear_span(std::uint64_t first, std::uint64_t end) {
  if (first >= end) return 0;
  std::uint64_t changed = 0;
  const std::uint64_t fw = first / 64;
  const std::uint64_t lw = (end - 1) / 64;
  for (std::uint64_t w = fw; w <= lw; ++w) {
    std::uint64_t mask = kAllOnes;
    if (w == fw) mask &= kAllOnes << (first % 64);
    if (w == lw && end % 64 != 0) mask &= (std::uint64_t{1} << (end % 64)) - 1;
    const std::uint64_t old = words_[w];
    const std::uint64_t now = old & ~mask;
    if (now != old) {
      words_[w] = now;
      changed += static_cast<std::uint64_t>(std::popcount(now ^ old));
      mark_dirty_word(w);
    }
  }
  count_ -= changed;
  return changed;
}

namespace {
// [first, end) in blocks of the byte range, clipped to `blocks`; empty when length is 0.
void byte_range_to_blocks(std::uint64_t offset, std::uint64_t length, std::uint64_t blocks,
                          std::uint64_t* first, std::uint64_t* end) {
  *first = *end = 0;
  if (length == 0) return;
  const std::uint64_t f = offset / kBlockSize;
  if (f >= blocks) return;
  // The last byte, saturating instead of wrapping.
  const std::uint64_t last_byte =
      length - 1 > ~std::uint64_t{0} - offset ? ~std::uint64_t{0} : offset + (length - 1);
  *first = f;
  *end = std::min(blocks, last_byte / kBlockSize + 1);
}
}  // namespace

std::uint64_t Bitmap::set_range(std::uint64_t offset, std::uint64_t length) {
  std::uint64_t first = 0, end = 0;
  byte_range_to_blocks(offset, length, blocks_, &first, &end);
  return set_span(first, end);
}

std::uint64_t Bitmap::clear_range(std::uint64_t offset, std::uint64_t length) {
  std::uint64_t first = 0, end = 0;
  byte_range_to_blocks(offset, length, blocks_, &first, &end);
  return clear_span(first, end);
}

std::uint64_t Bitmap::set_blocks(std::uint64_t first_block, std::uint64_t count) {
  if (first_block >= blocks_) return 0;
  return set_span(first_block, first_block + std::min(count, blocks_ - first_block));
}

std::uint64_t Bitmap::clear_blocks(std::uint64_t first_block, std::uint64_t count) {
  if (first_block >= blocks_) return 0;
  return clear_span(first_block, first_block + std::min(count, blocks_ - first_block));
}

void Bitmap::set_all() { (void)set_span(0, blocks_); }

void Bitmap::clear_all() {
  if (count_ == 0) return;
  const std::uint64_t n = (blocks_ + 63) / 64;
  for (std::uint64_t w = 0; w < n; ++w) {
    if (words_[w] != 0) {
      words_[w] = 0;
      mark_dirty_word(w);
    }
  }
  count_ = 0;
}

std::optional<std::uint64_t> Bitmap::next_set(std::uint64_t from_block) const {
  if (from_block >= blocks_ || count_ == 0) return std::nullopt;
  const std::uint64_t n = (blocks_ + 63) / 64;
  std::uint64_t w = from_block / 64;
  std::uint64_t word = words_[w] & (kAllOnes << (from_block % 64));
  while (word == 0) {
    if (++w >= n) return std::nullopt;
    word = words_[w];
  }
  const std::uint64_t found = w * 64 + static_cast<std::uint64_t>(std::countr_zero(word));
  if (found >= blocks_) return std::nullopt;  // padding bits are always 0; defensive
  return found;
}

std::uint64_t Bitmap::next_clear(std::uint64_t from_block) const {
  if (from_block >= blocks_) return blocks_;
  const std::uint64_t n = (blocks_ + 63) / 64;
  std::uint64_t w = from_block / 64;
  std::uint64_t word = ~words_[w] & (kAllOnes << (from_block % 64));
  while (word == 0) {
    if (++w >= n) return blocks_;
    word = ~words_[w];
  }
  return std::min(blocks_, w * 64 + static_cast<std::uint64_t>(std::countr_zero(word)));
}

std::uint64_t Bitmap::run_length(std::uint64_t from_block, std::uint64_t max_blocks) const {
  if (from_block >= blocks_ || max_blocks == 0) return 0;
  // Bounded scan: a resync asking for 256 blocks at a time must not walk a full 1 TiB bitmap.
  const std::uint64_t limit = from_block + std::min(max_blocks, blocks_ - from_block);
  std::uint64_t pos = from_block;
  while (pos < limit) {
    const std::uint64_t w = pos / 64;
    const std::uint64_t bit = pos % 64;
    const std::uint64_t ones = ~words_[w] >> bit;  // zeros where set, from `bit` on
    const std::uint64_t run =
        ones == 0 ? 64 - bit : static_cast<std::uint64_t>(std::countr_zero(ones));
    if (run < 64 - bit) return std::min(pos + run, limit) - from_block;
    pos += 64 - bit;
  }
  return limit - from_block;
}

void Bitmap::merge(const Bitmap& other) {
  const std::uint64_t common = std::min(blocks_, other.blocks_);
  const std::uint64_t n = (common + 63) / 64;
  std::uint64_t changed = 0;
  for (std::uint64_t w = 0; w < n; ++w) {
    std::uint64_t add = other.words_[w];
    if ((w + 1) * 64 > common) add &= (std::uint64_t{1} << (common - w * 64)) - 1;
    const std::uint64_t old = words_[w];
    const std::uint64_t now = old | add;
    if (now != old) {
      words_[w] = now;
      changed += static_cast<std::uint64_t>(std::popcount(now ^ old));
      mark_dirty_word(w);
    }
  }
  count_ += changed;
}

std::vector<std::uint8_t> Bitmap::encode_runs(std::uint64_t first_block, std::size_t max_bytes,
                                              std::uint64_t* next_block) const {
  std::vector<std::uint8_t> out;
  max_bytes = std::max(max_bytes, kMinRunsBytes);
  if (first_block >= blocks_) {
    if (next_block) *next_block = blocks_;
    return out;
  }
  std::uint64_t pos = first_block;
  bool set_run = false;  // every chunk starts with a run of clear bits (maybe empty)
  while (pos < blocks_ && out.size() < max_bytes) {
    const std::uint64_t end = set_run ? next_clear(pos) : next_set(pos).value_or(blocks_);
    std::uint64_t len = end - pos;
    const std::size_t room = max_bytes - out.size();
    if (varint_size(len) > room) {
      // Only part of this run fits (room < 10 here): send that much; the next chunk starts
      // inside the run (with an empty clear run if it is a set run).
      len = (std::uint64_t{1} << (7 * room)) - 1;
      put_varint(out, len);
      pos += len;
      break;
    }
    put_varint(out, len);
    pos = end;
    set_run = !set_run;
  }
  if (next_block) *next_block = pos;
  return out;
}

Status Bitmap::merge_runs(std::uint64_t first_block, std::span<const std::uint8_t> runs,
                          std::uint64_t* next_block) {
  if (first_block > blocks_) {
    return make_error("bitmap chunk starts at block " + std::to_string(first_block) +
                      ", beyond the end of the bitmap (" + std::to_string(blocks_) + " blocks)");
  }
  // Pass 1: validate everything, so a bad chunk changes nothing.
  std::uint64_t pos = first_block;
  std::size_t at = 0;
  while (at < runs.size()) {
    const std::size_t run_at = at;
    std::uint64_t len = 0;
    std::string why;
    if (!get_varint(runs, &at, &len, &why)) return make_error("bitmap chunk: " + why);
    if (len > blocks_ - pos) {
      return make_error("bitmap chunk: run at byte " + std::to_string(run_at) + " (" +
                        std::to_string(len) + " blocks from block " + std::to_string(pos) +
                        ") overruns the bitmap (" + std::to_string(blocks_) + " blocks)");
    }
    pos += len;
  }
  // Pass 2: apply the set runs.
  pos = first_block;
  at = 0;
  bool set_run = false;
  while (at < runs.size()) {
    std::uint64_t len = 0;
    std::string why;
    (void)get_varint(runs, &at, &len, &why);
    if (set_run) (void)set_span(pos, pos + len);
    pos += len;
    set_run = !set_run;
  }
  if (next_block) *next_block = pos;
  return Status::Ok();
}

std::vector<std::uint64_t> Bitmap::take_dirty_pages() {
  std::vector<std::uint64_t> out;
  out.swap(dirty_list_);
  std::sort(out.begin(), out.end());
  for (std::uint64_t p : out) dirty_[p] = false;
  return out;
}

void Bitmap::mark_all_dirty() { mark_dirty_words(0, words_.size()); }

std::span<const std::uint8_t> Bitmap::page_bytes(std::uint64_t page) const {
  if (page >= pages()) return {};
  return {reinterpret_cast<const std::uint8_t*>(words_.data() + page * kWordsPerPage),
          kPageBytes};
}

Status Bitmap::load_page(std::uint64_t page, std::span<const std::uint8_t> bytes) {
  if (page >= pages()) {
    return make_error("bitmap page " + std::to_string(page) + " is beyond the bitmap (" +
                      std::to_string(pages()) + " pages)");
  }
  if (bytes.size() != kPageBytes) {
    return make_error("bitmap page " + std::to_string(page) + ": " + std::to_string(bytes.size()) +
                      " bytes, expected " + std::to_string(kPageBytes));
  }
  std::uint64_t* dst = words_.data() + page * kWordsPerPage;
  for (std::uint64_t i = 0; i < kWordsPerPage; ++i) {
    std::uint64_t v = 0;
    std::memcpy(&v, bytes.data() + i * 8, 8);
    v &= tail_mask(page * kWordsPerPage + i);
    count_ -= static_cast<std::uint64_t>(std::popcount(dst[i]));
    count_ += static_cast<std::uint64_t>(std::popcount(v));
    dst[i] = v;
  }
  return Status::Ok();
}

}  // namespace hapbx::replica
