// The activity log: LRU eviction of unpinned extents, pinning, Full, the persisted form.
#include "replica/activity_log.h"

#include <gtest/gtest.h>

#include "replica/disk_format.h"

namespace hapbx::replica {
namespace {

using Touch = ActivityLog::Touch;

TEST(ActivityLog, AddsUntilFullThenEvictsTheLeastRecentlyUsedUnpinned) {
  ActivityLog al(3);
  EXPECT_EQ(al.slots(), 3u);
  EXPECT_EQ(al.touch_and_pin(10), Touch::Added);
  EXPECT_EQ(al.last_change(), (ActivityLog::Change{10, std::nullopt}));
  EXPECT_EQ(al.touch_and_pin(11), Touch::Added);
  EXPECT_EQ(al.touch_and_pin(12), Touch::Added);
  EXPECT_EQ(al.transaction(), 3u);
  al.unpin(10);
  al.unpin(11);
  al.unpin(12);
  // 10 is the oldest; using it again makes 11 the oldest.
  EXPECT_EQ(al.touch_and_pin(10), Touch::AlreadyHot);
  al.unpin(10);
  EXPECT_EQ(al.transaction(), 3u);  // already hot: nothing to persist
  EXPECT_EQ(al.touch_and_pin(13), Touch::Added);
  EXPECT_EQ(al.last_change(), (ActivityLog::Change{13, 11}));
  EXPECT_FALSE(al.is_hot(11));
  EXPECT_EQ(al.hot_extents(), (std::vector<std::uint64_t>{10, 12, 13}));
  EXPECT_EQ(al.transaction(), 4u);
}

TEST(ActivityLog, PinnedExtentsAreNeverEvictedAndFullChangesNothing) {
  ActivityLog al(2);
  EXPECT_EQ(al.touch_and_pin(1), Touch::Added);
  EXPECT_EQ(al.touch_and_pin(1), Touch::AlreadyHot);
  EXPECT_EQ(al.pinned(1), 2u);
  EXPECT_EQ(al.touch_and_pin(2), Touch::Added);
  const auto tx = al.transaction();
  EXPECT_EQ(al.touch_and_pin(3), Touch::Full);
  EXPECT_EQ(al.transaction(), tx);
  EXPECT_FALSE(al.is_hot(3));
  EXPECT_EQ(al.last_change().added, 2u);
  al.unpin(1);
  EXPECT_EQ(al.touch_and_pin(3), Touch::Full);  // 1 still has a write in flight
  al.unpin(1);
  EXPECT_EQ(al.pinned(1), 0u);
  EXPECT_EQ(al.touch_and_pin(3), Touch::Added);
  EXPECT_EQ(al.last_change(), (ActivityLog::Change{3, 1}));
  EXPECT_EQ(al.pinned(2), 1u);
  // Unpinning what is not pinned or not hot is harmless.
  al.unpin(99);
  al.unpin(3);
  al.unpin(3);
  EXPECT_EQ(al.pinned(3), 0u);
  EXPECT_TRUE(al.is_hot(3));
}

TEST(ActivityLog, ClearEmptiesAndCountsAsAChange) {
  ActivityLog al(4);
  al.touch_and_pin(5);
  al.unpin(5);
  const auto tx = al.transaction();
  al.clear();
  EXPECT_TRUE(al.hot_extents().empty());
  EXPECT_EQ(al.transaction(), tx + 1);
  EXPECT_EQ(al.touch_and_pin(5), Touch::Added);
}

TEST(ActivityLog, ZeroSlotsIsOneSlot) {
  ActivityLog al(0);
  EXPECT_EQ(al.slots(), 1u);
  EXPECT_EQ(al.touch_and_pin(1), Touch::Added);
  EXPECT_EQ(al.touch_and_pin(2), Touch::Full);
}

TEST(ActivityLog, EncodedSizeIsWholePages) {
  EXPECT_EQ(ActivityLog::encoded_size(1), 4096u);
  EXPECT_EQ(ActivityLog::encoded_size(127), 4096u);
  EXPECT_EQ(ActivityLog::encoded_size(507), 4096u);   // 32 + 8 * 507 + 4 = 4092
  EXPECT_EQ(ActivityLog::encoded_size(508), 8192u);
  EXPECT_EQ(ActivityLog::encoded_size(65534) % 4096, 0u);
}

TEST(ActivityLog, EncodeDecodeRoundTrip) {
  ActivityLog al(127);
  for (std::uint64_t e : {7u, 3u, 1000000u, 0u}) al.touch_and_pin(e);
  al.unpin(3);
  const auto bytes = al.encode();
  ASSERT_EQ(bytes.size(), ActivityLog::encoded_size(127));
  auto back = ActivityLog::decode(bytes, 127);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->hot_extents(), al.hot_extents());
  EXPECT_EQ(back->transaction(), al.transaction());
  EXPECT_EQ(back->pinned(7), 0u);  // after a restart nothing is in flight
  // Decoded extents can be evicted like any other.
  ActivityLog& log = *back;
  for (std::uint64_t e = 100; e < 100 + 123; ++e) EXPECT_EQ(log.touch_and_pin(e), Touch::Added);
  EXPECT_EQ(log.touch_and_pin(500), Touch::Added);
  EXPECT_TRUE(log.last_change().evicted.has_value());
  // A larger buffer (a whole on-disk area) decodes too.
  auto padded = bytes;
  padded.resize(bytes.size() + 4096, 0xee);
  EXPECT_TRUE(ActivityLog::decode(padded, 127).ok());
}

void expect_error(const std::vector<std::uint8_t>& bytes, std::size_t slots, const char* why) {
  auto r = ActivityLog::decode(bytes, slots);
  ASSERT_FALSE(r.ok()) << why;
  EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
}

// Re-seals a modified record so the checks after the checksum are reached. The checksum is
// CRC32C over everything but the last 4 bytes, stored little-endian there.
void reseal(std::vector<std::uint8_t>& b) {
  put_le32(b.data() + b.size() - 4, crc32c({b.data(), b.size() - 4}));
}

TEST(ActivityLog, CorruptRecordsAreRefusedWithAReason) {
  ActivityLog al(127);
  al.touch_and_pin(1);
  al.touch_and_pin(2);
  const auto good = al.encode();

  expect_error(std::vector<std::uint8_t>(4096, 0), 127, "never written");
  expect_error(std::vector<std::uint8_t>(100, 1), 127, "bytes, expected");
  auto b = good;
  b[0] = 'X';
  expect_error(b, 127, "bad magic");
  b = good;
  b[40] ^= 1;
  expect_error(b, 127, "checksum mismatch");
  expect_error(good, 100, "slots");

  b = good;
  b[8] = 9;  // version
  reseal(b);
  expect_error(b, 127, "version 9");
  b = good;
  b[24] = 200;  // count > slots
  reseal(b);
  expect_error(b, 127, "more than");
  b = good;
  b[40] = b[32];  // second extent == first
  reseal(b);
  expect_error(b, 127, "listed twice");
}

}  // namespace
}  // namespace hapbx::replica

