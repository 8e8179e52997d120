// Metadata: the layout numbers, the superblock format and each of its refusals, and the store on
// a MemoryDisk and on files (create-md, open, torn writes, refusals that change nothing).
#include "replica/metadata.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <random>

#include "replica/disk_format.h"
#include "replica/memory_disk.h"
#include "replica/metadata_store.h"
#include "support/temp_dir.h"

namespace hapbx::replica {
namespace {

constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;

TEST(MetadataLayout, Internal1GiB) {
  auto l = compute_layout(kGiB, true, 127);
  ASSERT_TRUE(l.ok()) << l.error().message;
  // 8 bitmap pages + 2 AL copies + 2 superblock slots = 12 blocks.
  EXPECT_EQ(l->data_size, kGiB - 12 * 4096);
  EXPECT_EQ(l->data_size, 1073692672u);
  EXPECT_EQ(l->meta_size, 49152u);
  EXPECT_EQ(l->meta_offset, 1073692672u);
  EXPECT_EQ(l->bitmap_offset, 1073692672u);
  EXPECT_EQ(l->bitmap_bytes, 32768u);
  EXPECT_EQ(l->activity_log_offset, 1073725440u);
  EXPECT_EQ(l->activity_log_bytes, 8192u);
  EXPECT_EQ(l->superblock_offset, 1073733632u);
  EXPECT_EQ(l->superblock_slot_offset(0), kGiB - 4096);  // where DRBD keeps its superblock
  EXPECT_EQ(l->superblock_slot_offset(1), kGiB - 8192);
  EXPECT_EQ(superblock_slot_offset(kGiB, true, 0), l->superblock_slot_offset(0));
  EXPECT_EQ(superblock_slot_offset(kGiB, true, 1), l->superblock_slot_offset(1));
}

TEST(MetadataLayout, Internal2GiB) {
  auto l = compute_layout(2 * kGiB, true, 127);
  ASSERT_TRUE(l.ok()) << l.error().message;
  EXPECT_EQ(l->bitmap_bytes, 65536u);
  EXPECT_EQ(l->meta_size, 81920u);
  EXPECT_EQ(l->data_size, 2 * kGiB - 81920);
  EXPECT_EQ(l->data_size, 2147401728u);
  EXPECT_EQ(l->meta_offset, l->data_size);
  EXPECT_EQ(l->superblock_slot_offset(0), 2 * kGiB - 4096);
}

TEST(MetadataLayout, External1GiBAnd2GiB) {
  auto l = compute_layout(kGiB, false, 127, 128 << 20);
  ASSERT_TRUE(l.ok()) << l.error().message;
  EXPECT_EQ(l->data_size, kGiB);
  EXPECT_EQ(l->meta_offset, 0u);
  EXPECT_EQ(l->superblock_offset, 0u);
  EXPECT_EQ(l->superblock_slot_offset(0), 0u);
  EXPECT_EQ(l->superblock_slot_offset(1), 4096u);
  EXPECT_EQ(l->activity_log_offset, 8192u);
  EXPECT_EQ(l->bitmap_offset, 16384u);
  EXPECT_EQ(l->bitmap_bytes, 32768u);
  EXPECT_EQ(l->meta_size, 49152u);

  auto l2 = compute_layout(2 * kGiB, false, 127, 81920);
  ASSERT_TRUE(l2.ok()) << l2.error().message;
  EXPECT_EQ(l2->data_size, 2 * kGiB);
  EXPECT_EQ(l2->bitmap_bytes, 65536u);
  EXPECT_EQ(l2->meta_size, 81920u);

  auto small = compute_layout(2 * kGiB, false, 127, 81919);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().message.find("meta device too small"), std::string::npos);
}

TEST(MetadataLayout, OddSizesAreAlignedAndTight) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 200; ++i) {
    const std::uint64_t disk = 200'000 + rng() % (std::uint64_t{64} << 30);
    const std::size_t slots = 1 + rng() % 3000;
    auto l = compute_layout(disk, true, slots);
    ASSERT_TRUE(l.ok()) << disk;
    const std::uint64_t aligned = disk / 4096 * 4096;
    EXPECT_EQ(l->data_size % 4096, 0u);
    EXPECT_LE(l->data_size, l->meta_offset);
    EXPECT_LE(l->meta_offset - l->data_size, 4096u);  // a gap of at most one block
    EXPECT_EQ(l->meta_offset + l->meta_size, aligned);
    EXPECT_GE(l->bitmap_bytes * 8, l->data_blocks());
    EXPECT_LT((l->bitmap_bytes - 4096) * 8, l->data_blocks());
    EXPECT_EQ(l->activity_log_bytes, 2 * ActivityLog::encoded_size(slots));
    EXPECT_EQ(l->superblock_slot_offset(0), aligned - 4096);
  }
}

TEST(MetadataLayout, Refusals) {
  EXPECT_FALSE(compute_layout(kGiB, true, 0).ok());
  EXPECT_FALSE(compute_layout(kGiB, true, 65535).ok());
  EXPECT_TRUE(compute_layout(kGiB, true, 65534).ok());
  auto tiny = compute_layout(8192, true, 127);
  ASSERT_FALSE(tiny.ok());
  EXPECT_NE(tiny.error().message.find("disk too small"), std::string::npos);
  EXPECT_FALSE(compute_layout(4095, false, 127, kGiB).ok());
}

Superblock sample() {
  Superblock sb;
  sb.resource = "r0";
  sb.device_uuid = 0x1122334455667788;
  sb.data_size = 1073692672;
  sb.last_agreed_size = 1073692672;
  sb.uuids = {0xAAAA, 0xBBBB, {0xCCCC, 0xDDDD}};
  sb.flags.consistent = true;
  sb.flags.was_up_to_date = true;
  sb.flags.crashed_primary = true;
  sb.flags.full_sync_pending = true;
  sb.generation_started_ms = 1700000000123;
  sb.al_slots = 1237;
  sb.bitmap_bits = 42;
  sb.sequence = 9;
  return sb;
}

TEST(MetadataSuperblock, RoundTrip) {
  const Superblock sb = sample();
  const auto bytes = encode_superblock(sb);
  ASSERT_EQ(bytes.size(), 4096u);
  auto back = decode_superblock(bytes, "r0");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, sb);
  Superblock other;
  other.resource = std::string(255, 'x');
  other.data_size = 4096;
  other.flags.primary = true;
  other.flags.peer_outdated = true;
  auto back2 = decode_superblock(encode_superblock(other), "");
  ASSERT_TRUE(back2.ok()) << back2.error().message;
  EXPECT_EQ(*back2, other);
}

void reseal(std::vector<std::uint8_t>& b) { put_le32(b.data() + 4092, crc32c({b.data(), 4092})); }

void expect_refused(const std::vector<std::uint8_t>& block, const std::string& resource,
                    const std::string& text) {
  auto r = decode_superblock(block, resource);
  ASSERT_FALSE(r.ok()) << text;
  EXPECT_NE(r.error().message.find(text), std::string::npos) << r.error().message;
}

TEST(MetadataSuperblock, EachRefusalSaysWhyAndWhatToDo) {
  expect_refused(std::vector<std::uint8_t>(4096, 0), "r0",
                 "no metadata found (run 'hapbx replica create-md r0')");

  for (std::uint32_t magic : {0x8374026au, 0x8374026bu, 0x8374026cu, 0x8374026du}) {
    std::vector<std::uint8_t> drbd(4096, 0);
    drbd[7] = 0x40;  // la_size
    drbd[60] = static_cast<std::uint8_t>(magic >> 24);
    drbd[61] = static_cast<std::uint8_t>(magic >> 16);
    drbd[62] = static_cast<std::uint8_t>(magic >> 8);
    drbd[63] = static_cast<std::uint8_t>(magic);
    expect_refused(drbd, "r0", "DRBD metadata found: ");
    expect_refused(drbd, "r0", "not hapbx's");
  }

  std::vector<std::uint8_t> ext4(4096, 0);
  ext4[0x38] = 0x53;
  ext4[0x39] = 0xef;
  expect_refused(ext4, "r0", "foreign data");
  expect_refused(ext4, "r0", "refusing to attach");

  auto good = encode_superblock(sample());
  auto b = good;
  b[200] ^= 0x10;
  expect_refused(b, "r0", "corrupt metadata (checksum mismatch)");

  b = good;
  b[8] = 2;
  reseal(b);
  expect_refused(b, "r0", "metadata version 2 is newer");

  Superblock r1 = sample();
  r1.resource = "r1";
  expect_refused(encode_superblock(r1), "r0", "metadata belongs to resource 'r1'");

  Superblock bad = sample();
  bad.al_slots = 0;
  expect_refused(encode_superblock(bad), "r0", "implausible metadata: al_slots 0");
  bad.al_slots = 65535;
  expect_refused(encode_superblock(bad), "r0", "implausible metadata: al_slots 65535");
  bad = sample();
  bad.data_size = 4097;
  expect_refused(encode_superblock(bad), "r0", "not a positive multiple of 4096");
  bad.data_size = 0;
  expect_refused(encode_superblock(bad), "r0", "not a positive multiple of 4096");
  bad = sample();
  bad.bitmap_bits = bad.data_size;  // more bits than blocks
  expect_refused(encode_superblock(bad), "r0", "bitmap bits");
  bad = sample();
  bad.resource.clear();
  expect_refused(encode_superblock(bad), "", "resource name length 0");
  b = good;
  b[81] = 0x80;  // an unknown flag
  reseal(b);
  expect_refused(b, "r0", "unknown flags");
  expect_refused(std::vector<std::uint8_t>(100, 0), "r0", "expected 4096");
}

// ---------------------------------------------------------------------------------------------
// The store on a MemoryDisk.

struct MemFixture : ::testing::Test {
  std::shared_ptr<MemoryDisk> disk = std::make_shared<MemoryDisk>(kGiB, "mem");

  MetadataStore open_ok(const std::string& res = "r0") {
    auto s = MetadataStore::open_on(disk, disk->size(), true, res);
    EXPECT_TRUE(s.ok()) << s.error().message;
    if (!s.ok()) std::abort();
    return std::move(s).value();
  }
  void create_ok(std::size_t slots = 127) {
    Status s = MetadataStore::create_on(disk, disk->size(), true, "r0", slots, false);
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
};

using MetadataStoreMem = MemFixture;

TEST_F(MetadataStoreMem, CreateThenOpen) {
  create_ok();
  MetadataStore store = open_ok();
  EXPECT_EQ(store.superblock().resource, "r0");
  EXPECT_NE(store.superblock().device_uuid, 0u);
  EXPECT_EQ(store.superblock().data_size, 1073692672u);
  EXPECT_EQ(store.superblock().uuids, GenerationUuids{});
  EXPECT_EQ(store.superblock().flags, MetadataFlags{});
  EXPECT_EQ(store.superblock().al_slots, 127u);
  EXPECT_EQ(store.layout(), compute_layout(kGiB, true, 127).value());
  EXPECT_EQ(store.bitmap().blocks(), 262132u);
  EXPECT_EQ(store.bitmap().count(), 0u);
  EXPECT_TRUE(store.activity_log().hot_extents().empty());
  EXPECT_EQ(disk->unflushed_writes(), 0u);  // create-md is durable
}

TEST_F(MetadataStoreMem, WritesSurviveAReopen) {
  create_ok();
  {
    MetadataStore store = open_ok();
    Superblock sb = store.superblock();
    sb.uuids.current = 0x1234;
    sb.flags.primary = true;
    ASSERT_TRUE(store.write_superblock(sb).ok());
    sb.uuids.current = 0x5678;
    ASSERT_TRUE(store.write_superblock(sb).ok());
    sb.uuids.current = 0x9abc;
    ASSERT_TRUE(store.write_superblock(sb).ok());
    EXPECT_EQ(store.superblock().uuids.current, 0x9abcu);

    Bitmap& bm = store.bitmap();
    bm.set_block(0);
    bm.set_block(100'000);
    bm.set_block(bm.blocks() - 1);
    const auto pages = bm.take_dirty_pages();
    ASSERT_TRUE(store.write_bitmap_pages(bm, pages).ok());

    ActivityLog al = store.activity_log();
    al.touch_and_pin(3);
    ASSERT_TRUE(store.write_activity_log(al).ok());
    al.touch_and_pin(250);
    ASSERT_TRUE(store.write_activity_log(al).ok());
    al.touch_and_pin(17);
    ASSERT_TRUE(store.write_activity_log(al).ok());
  }
  disk->crash();  // nothing unflushed may be needed
  MetadataStore again = open_ok();
  EXPECT_EQ(again.superblock().uuids.current, 0x9abcu);
  EXPECT_TRUE(again.superblock().flags.primary);
  EXPECT_EQ(again.bitmap().count(), 3u);
  EXPECT_TRUE(again.bitmap().test(100'000));
  EXPECT_EQ(again.activity_log().hot_extents(), (std::vector<std::uint64_t>{3, 17, 250}));
}

TEST_F(MetadataStoreMem, WritesAreCheckedAgainstTheLayout) {
  create_ok();
  MetadataStore store = open_ok();
  Superblock sb = store.superblock();
  sb.al_slots = 99;
  EXPECT_FALSE(store.write_superblock(sb).ok());
  sb = store.superblock();
  sb.resource = "r1";
  EXPECT_FALSE(store.write_superblock(sb).ok());
  sb = store.superblock();
  sb.bitmap_bits = sb.data_size;  // more bits than blocks: open() would refuse it
  Status implausible = store.write_superblock(sb);
  ASSERT_FALSE(implausible.ok());
  EXPECT_NE(implausible.error().message.find("refusing to write"), std::string::npos);
  EXPECT_FALSE(store.write_bitmap_pages(Bitmap(10), std::vector<std::uint64_t>{0}).ok());
  const std::uint64_t beyond[] = {8};
  EXPECT_FALSE(store.write_bitmap_pages(store.bitmap(), beyond).ok());
  EXPECT_FALSE(store.write_activity_log(ActivityLog(10)).ok());
}

// Power fails while a superblock write is on its way: the write is torn (only its first half
// reached the disk). The other slot still holds the previous superblock.
TEST_F(MetadataStoreMem, TornSuperblockWriteFallsBackToTheOtherSlot) {
  create_ok();
  {
    MetadataStore store = open_ok();
    Superblock sb = store.superblock();
    sb.uuids.current = 0x1111;
    ASSERT_TRUE(store.write_superblock(sb).ok());
    disk->set_fail_flush(true);
    sb.uuids.current = 0x2222;
    EXPECT_FALSE(store.write_superblock(sb).ok());
    ASSERT_EQ(disk->unflushed_writes(), 1u);
    disk->crash([](std::size_t, std::uint64_t, std::uint64_t len) { return len / 2; });
    disk->clear_faults();
  }
  MetadataStore store = open_ok();
  EXPECT_EQ(store.superblock().uuids.current, 0x1111u);
  // And the next write goes on normally (into the torn slot).
  Superblock sb = store.superblock();
  sb.uuids.current = 0x3333;
  ASSERT_TRUE(store.write_superblock(sb).ok());
  EXPECT_EQ(open_ok().superblock().uuids.current, 0x3333u);
}

TEST_F(MetadataStoreMem, TornActivityLogWriteFallsBackToTheOtherCopy) {
  create_ok();
  {
    MetadataStore store = open_ok();
    ActivityLog al = store.activity_log();
    al.touch_and_pin(5);
    ASSERT_TRUE(store.write_activity_log(al).ok());
    disk->set_fail_flush(true);
    al.touch_and_pin(6);
    EXPECT_FALSE(store.write_activity_log(al).ok());
    disk->crash([](std::size_t, std::uint64_t, std::uint64_t) { return std::uint64_t{100}; });
    disk->clear_faults();
  }
  EXPECT_EQ(open_ok().activity_log().hot_extents(), (std::vector<std::uint64_t>{5}));
}

TEST_F(MetadataStoreMem, BothActivityLogCopiesCorruptIsRefused) {
  create_ok();
  const MetadataLayout l = compute_layout(kGiB, true, 127).value();
  std::vector<std::uint8_t> junk(4096, 0x5a);
  ASSERT_TRUE(disk->write(l.activity_log_copy_offset(0), junk).ok());
  ASSERT_TRUE(disk->write(l.activity_log_copy_offset(1), junk).ok());
  auto s = MetadataStore::open_on(disk, disk->size(), true, "r0");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("no valid activity log"), std::string::npos)
      << s.error().message;
}

TEST_F(MetadataStoreMem, CreateRefusesOverExistingMetadataUnlessForced) {
  create_ok();
  const std::uint64_t first_uuid = open_ok().superblock().device_uuid;
  Status again = MetadataStore::create_on(disk, disk->size(), true, "r0", 127, false);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("already there"), std::string::npos)
      << again.error().message;
  EXPECT_NE(again.error().message.find("--force"), std::string::npos);
  EXPECT_EQ(open_ok().superblock().device_uuid, first_uuid);  // untouched

  // Also metadata of another resource.
  Status other = MetadataStore::create_on(disk, disk->size(), true, "r1", 127, false);
  EXPECT_FALSE(other.ok());

  MetadataStore store = open_ok();
  store.bitmap().set_all();
  ASSERT_TRUE(store.write_bitmap(store.bitmap()).ok());
  ASSERT_TRUE(MetadataStore::create_on(disk, disk->size(), true, "r0", 127, true).ok());
  MetadataStore fresh = open_ok();
  EXPECT_NE(fresh.superblock().device_uuid, first_uuid);
  EXPECT_EQ(fresh.bitmap().count(), 0u);
}

TEST_F(MetadataStoreMem, CreateRefusesOverDrbdMetadataUnlessForced) {
  std::vector<std::uint8_t> drbd(4096, 0);
  drbd[60] = 0x83;
  drbd[61] = 0x74;
  drbd[62] = 0x02;
  drbd[63] = 0x6b;
  ASSERT_TRUE(disk->write(kGiB - 4096, drbd).ok());
  auto open = MetadataStore::open_on(disk, disk->size(), true, "r0");
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message.find("DRBD metadata found"), std::string::npos);
  Status s = MetadataStore::create_on(disk, disk->size(), true, "r0", 127, false);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("DRBD"), std::string::npos);
  ASSERT_TRUE(MetadataStore::create_on(disk, disk->size(), true, "r0", 127, true).ok());
  open_ok();
}

TEST_F(MetadataStoreMem, OpenReportsTheMostTellingError) {
  auto none = MetadataStore::open_on(disk, disk->size(), true, "r0");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message, "mem: no metadata found (run 'hapbx replica create-md r0')");
  create_ok();
  auto wrong = MetadataStore::open_on(disk, disk->size(), true, "r1");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("metadata belongs to resource 'r0'"), std::string::npos);
  // Both slots damaged: corrupt, not "no metadata".
  std::vector<std::uint8_t> b(4096);
  ASSERT_TRUE(disk->read(kGiB - 4096, b).ok());
  b[300] ^= 1;
  ASSERT_TRUE(disk->write(kGiB - 4096, b).ok());
  ASSERT_TRUE(disk->zero(kGiB - 8192, 4096).ok());
  auto corrupt = MetadataStore::open_on(disk, disk->size(), true, "r0");
  ASSERT_FALSE(corrupt.ok());
  EXPECT_NE(corrupt.error().message.find("checksum mismatch"), std::string::npos)
      << corrupt.error().message;
}

TEST_F(MetadataStoreMem, ExternalMetadataAndASizeMismatch) {
  auto meta = std::make_shared<MemoryDisk>(1 << 20, "meta");
  ASSERT_TRUE(MetadataStore::create_on(meta, kGiB, false, "r0", 127, false).ok());
  auto store = MetadataStore::open_on(meta, kGiB, false, "r0");
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(store->superblock().data_size, kGiB);
  EXPECT_EQ(store->bitmap().blocks(), kGiB / 4096);
  auto grown = MetadataStore::open_on(meta, 2 * kGiB, false, "r0");
  ASSERT_FALSE(grown.ok());
  EXPECT_NE(grown.error().message.find("data area"), std::string::npos) << grown.error().message;
}

TEST_F(MetadataStoreMem, IoErrorsAreReported) {
  create_ok();
  MetadataStore store = open_ok();
  disk->fail_writes_after(disk->write_count());
  Superblock sb = store.superblock();
  sb.uuids.current = 1;
  Status s = store.write_superblock(sb);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("mem"), std::string::npos);
  EXPECT_EQ(store.superblock().uuids.current, 0u);
  disk->clear_faults();
  disk->set_fail_reads(true);
  EXPECT_FALSE(MetadataStore::open_on(disk, disk->size(), true, "r0").ok());
}

// ---------------------------------------------------------------------------------------------
// On files: the paths, and refusals that leave the disk byte for byte as it was.

std::vector<char> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  std::vector<char> bytes(static_cast<std::size_t>(in.tellg()));
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

void make_file(const std::string& path, std::size_t size, char fill) {
  std::ofstream out(path, std::ios::binary);
  std::vector<char> bytes(size, fill);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(MetadataStoreFile, CreateOpenInternalAndExternal) {
  testing::TempDir dir("replica-meta");
  ASSERT_FALSE(dir.path().empty());
  const std::string disk = dir.str() + "/disk.img";
  const std::string meta = dir.str() + "/meta.img";
  make_file(disk, 8 << 20, 0);
  make_file(meta, 1 << 20, 0);
  ASSERT_TRUE(MetadataStore::create(disk, "", "r0", 127, false).ok());
  auto internal = MetadataStore::open(disk, "", "r0");
  ASSERT_TRUE(internal.ok()) << internal.error().message;
  EXPECT_EQ(internal->layout().data_size, compute_layout(8 << 20, true, 127)->data_size);
  EXPECT_EQ(internal->path(), disk);

  ASSERT_TRUE(MetadataStore::create(disk, meta, "r0", 127, false).ok());
  auto external = MetadataStore::open(disk, meta, "r0");
  ASSERT_TRUE(external.ok()) << external.error().message;
  EXPECT_EQ(external->superblock().data_size, std::uint64_t{8} << 20);
  EXPECT_EQ(external->path(), meta);

  auto missing = MetadataStore::open(dir.str() + "/nope.img", "", "r0");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nope.img"), std::string::npos);
}

TEST(MetadataStoreFile, OpenChangesNothingWhenItRefuses) {
  testing::TempDir dir("replica-meta");
  ASSERT_FALSE(dir.path().empty());
  const std::string disk = dir.str() + "/disk.img";
  constexpr int kSize = 1 << 20;
  struct Case {
    const char* name;
    std::function<void()> prepare;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"zeroes", [&] { make_file(disk, kSize, 0); }, "no metadata found"},
      {"foreign", [&] { make_file(disk, kSize, 'x'); }, "foreign data"},
      {"other resource",
       [&] {
         make_file(disk, kSize, 0);
         ASSERT_TRUE(MetadataStore::create(disk, "", "r1", 127, false).ok());
       },
       "belongs to resource 'r1'"},
      {"torn both",
       [&] {
         make_file(disk, kSize, 0);
         ASSERT_TRUE(MetadataStore::create(disk, "", "r0", 127, false).ok());
         std::fstream f(disk, std::ios::in | std::ios::out | std::ios::binary);
         f.seekp((kSize) - 8192 + 500);
         f.write("garbage", 7);
         f.seekp((kSize) - 4096 + 500);
         f.write("garbage", 7);
       },
       "checksum mismatch"},
  };
  for (const Case& c : cases) {
    c.prepare();
    const auto before = slurp(disk);
    auto r = MetadataStore::open(disk, "", "r0");
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(disk), std::string::npos) << r.error().message;
    EXPECT_EQ(slurp(disk), before) << c.name;
  }
}

}  // namespace
}  // namespace hapbx::replica

namespace hapbx::replica {
namespace {

// The fuzz seeds are written by hand (tests/fuzz/corpus/replica_metadata); make sure the "valid"
// ones really are, so the fuzzer starts from the decoders' success paths.
std::vector<std::uint8_t> seed(const std::string& name) {
  std::ifstream in(std::string(HAPBX_TEST_DATA_DIR) + "/fuzz/corpus/replica_metadata/" + name,
                   std::ios::binary | std::ios::ate);
  if (!in) return {};
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(in.tellg()));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

TEST(MetadataSeedCorpus, ValidSeedsDecode) {
  auto sb = seed("sb-valid");
  ASSERT_EQ(sb.size(), 4097u);
  auto decoded = decode_superblock(std::span(sb).subspan(1), "r0");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->uuids.current, 0xAAAAu);
  auto al = seed("al-valid");
  ASSERT_GT(al.size(), 3u);
  auto log = ActivityLog::decode(std::span(al).subspan(3), 127);
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ(log->hot_extents(), (std::vector<std::uint64_t>{3, 7, 1000000}));
  auto big = seed("al-big");
  ASSERT_TRUE(ActivityLog::decode(std::span(big).subspan(3), 1200).ok());
}

}  // namespace
}  // namespace hapbx::replica
