// The backing disk: the file implementation (read/write/flush/zero, range checks) and the
// in-memory one with its fault injection and power-loss model.
#include "replica/backing_disk.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "replica/memory_disk.h"
#include "support/temp_dir.h"

namespace hapbx::replica {
namespace {

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + i * 7);
  return v;
}

std::vector<std::uint8_t> read_back(BackingDisk& d, std::uint64_t off, std::size_t n) {
  std::vector<std::uint8_t> out(n, 0xee);
  Status s = d.read(off, out);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return out;
}

struct FileDisk : ::testing::Test {
  testing::TempDir dir{"replica-disk"};
  std::string path;
  void SetUp() override {
    ASSERT_FALSE(dir.path().empty());
    path = dir.str() + "/disk.img";
    std::ofstream out(path, std::ios::binary);
    out.seekp((1 << 20) - 1);
    out.put(0);
  }
};

using BackingDiskFile = FileDisk;

TEST_F(BackingDiskFile, ReadWriteFlushZero) {
  auto opened = BackingDisk::open(path);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  BackingDisk& d = **opened;
  EXPECT_EQ(d.size(), 1u << 20);
  EXPECT_GE(d.fd(), 0);
  EXPECT_EQ(d.path(), path);
  const auto data = pattern(3 * 4096 + 123, 1);
  ASSERT_TRUE(d.write(4096 + 5, data).ok());
  ASSERT_TRUE(d.flush().ok());
  EXPECT_EQ(read_back(d, 4096 + 5, data.size()), data);
  // Zero a range that starts and ends inside blocks.
  ASSERT_TRUE(d.zero(4096 + 100, 8192).ok());
  auto now = read_back(d, 4096 + 5, data.size());
  for (std::size_t i = 0; i < now.size(); ++i) {
    const std::uint64_t at = 4096 + 5 + i;
    const bool zeroed = at >= 4096 + 100 && at < 4096 + 100 + 8192;
    ASSERT_EQ(now[i], zeroed ? 0 : data[i]) << i;
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);  // zero keeps the size
  // A reopen sees the same bytes.
  auto again = BackingDisk::open(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(read_back(**again, 4096 + 5, now.size()), now);
}

TEST_F(BackingDiskFile, OutOfRangeIsAnErrorNamingThePath) {
  auto d = BackingDisk::open(path);
  ASSERT_TRUE(d.ok());
  std::vector<std::uint8_t> buf(4096);
  Status s = (*d)->read((1 << 20) - 100, buf);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(path), std::string::npos);
  EXPECT_NE(s.error().message.find("beyond the end"), std::string::npos);
  EXPECT_FALSE((*d)->write(~std::uint64_t{0} - 10, buf).ok());  // no wrap-around
  EXPECT_FALSE((*d)->zero(1 << 20, 1).ok());
  EXPECT_TRUE((*d)->zero(1 << 20, 0).ok());
  EXPECT_TRUE((*d)->read(1 << 20, std::span<std::uint8_t>()).ok());
}

TEST_F(BackingDiskFile, OpenRefusesWhatIsNotADisk) {
  auto missing = BackingDisk::open(dir.str() + "/missing.img");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("missing.img"), std::string::npos);
  auto directory = BackingDisk::open(dir.str());
  EXPECT_FALSE(directory.ok());
  EXPECT_FALSE(BackingDisk::open("").ok());
}

TEST(BackingDiskMemory, ReadsSeeWritesAndUnwrittenIsZero) {
  MemoryDisk d(std::uint64_t{1} << 40, "m");  // sparse: 1 TiB costs nothing
  EXPECT_EQ(d.fd(), -1);
  EXPECT_EQ(read_back(d, 12345, 10), std::vector<std::uint8_t>(10, 0));
  const auto data = pattern(10000, 3);
  ASSERT_TRUE(d.write((std::uint64_t{1} << 40) - 10000, data).ok());
  EXPECT_EQ(read_back(d, (std::uint64_t{1} << 40) - 10000, 10000), data);
  EXPECT_FALSE(d.write((std::uint64_t{1} << 40) - 9999, data).ok());
}

TEST(BackingDiskMemory, CrashDropsUnflushedWrites) {
  MemoryDisk d(1 << 20);
  const auto a = pattern(4096, 1), b = pattern(4096, 2), c = pattern(100, 3);
  ASSERT_TRUE(d.write(0, a).ok());
  ASSERT_TRUE(d.flush().ok());
  ASSERT_TRUE(d.write(0, b).ok());      // overwrites flushed data
  ASSERT_TRUE(d.write(8192, c).ok());   // new data
  EXPECT_EQ(d.unflushed_writes(), 2u);
  EXPECT_EQ(d.durable_bytes(0, 4096), a);
  d.crash();
  EXPECT_EQ(d.unflushed_writes(), 0u);
  EXPECT_EQ(read_back(d, 0, 4096), a);
  EXPECT_EQ(read_back(d, 8192, 100), std::vector<std::uint8_t>(100, 0));
  // The disk works after the "reboot".
  ASSERT_TRUE(d.write(8192, c).ok());
  ASSERT_TRUE(d.flush().ok());
  d.crash();
  EXPECT_EQ(read_back(d, 8192, 100), c);
  EXPECT_EQ(d.flush_count(), 2u);
}

TEST(BackingDiskMemory, CrashCanKeepTearOrDropEachWrite) {
  MemoryDisk d(1 << 20);
  const auto w0 = pattern(4096, 10), w1 = pattern(4096, 20), w2 = pattern(4096, 30);
  ASSERT_TRUE(d.write(0, w0).ok());
  ASSERT_TRUE(d.write(4096, w1).ok());
  ASSERT_TRUE(d.write(8192, w2).ok());
  d.crash([](std::size_t i, std::uint64_t, std::uint64_t len) {
    return i == 0 ? len : i == 1 ? len / 2 : 0;  // kept, torn, lost
  });
  EXPECT_EQ(read_back(d, 0, 4096), w0);
  auto torn = read_back(d, 4096, 4096);
  EXPECT_TRUE(std::equal(torn.begin(), torn.begin() + 2048, w1.begin()));
  EXPECT_EQ(std::vector<std::uint8_t>(torn.begin() + 2048, torn.end()),
            std::vector<std::uint8_t>(2048, 0));
  EXPECT_EQ(read_back(d, 8192, 4096), std::vector<std::uint8_t>(4096, 0));
}

TEST(BackingDiskMemory, ZeroIsAWriteLikeAnyOther) {
  MemoryDisk d(1 << 20);
  ASSERT_TRUE(d.write(0, pattern(3 * 4096, 5)).ok());
  ASSERT_TRUE(d.flush().ok());
  ASSERT_TRUE(d.zero(100, 2 * 4096).ok());
  EXPECT_EQ(read_back(d, 100, 2 * 4096), std::vector<std::uint8_t>(2 * 4096, 0));
  EXPECT_NE(d.durable_bytes(100, 10), std::vector<std::uint8_t>(10, 0));
  d.crash();
  EXPECT_EQ(read_back(d, 0, 3 * 4096), pattern(3 * 4096, 5));
  ASSERT_TRUE(d.zero(100, 2 * 4096).ok());
  ASSERT_TRUE(d.flush().ok());
  d.crash();
  EXPECT_EQ(read_back(d, 100, 2 * 4096), std::vector<std::uint8_t>(2 * 4096, 0));
  EXPECT_EQ(read_back(d, 99, 1), std::vector<std::uint8_t>(1, pattern(100, 5)[99]));
}

TEST(BackingDiskMemory, InjectedFaults) {
  MemoryDisk d(1 << 20, "sim-disk");
  const auto data = pattern(512, 1);
  d.fail_nth_write(2);
  EXPECT_TRUE(d.write(0, data).ok());
  Status s = d.write(512, data);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("sim-disk"), std::string::npos);
  EXPECT_EQ(read_back(d, 512, 512), std::vector<std::uint8_t>(512, 0));  // nothing written
  EXPECT_TRUE(d.write(1024, data).ok());
  EXPECT_EQ(d.write_count(), 3u);

  d.fail_writes_after(4);
  EXPECT_TRUE(d.write(0, data).ok());   // #4
  EXPECT_FALSE(d.write(0, data).ok());  // #5
  EXPECT_FALSE(d.zero(0, 512).ok());    // #6

  d.set_fail_flush(true);
  EXPECT_FALSE(d.flush().ok());
  EXPECT_EQ(d.unflushed_writes(), 3u);  // the successful ones stay volatile
  d.crash();
  EXPECT_EQ(read_back(d, 0, 512), std::vector<std::uint8_t>(512, 0));

  d.set_fail_reads(true);
  std::vector<std::uint8_t> buf(10);
  EXPECT_FALSE(d.read(0, buf).ok());
  d.clear_faults();
  EXPECT_TRUE(d.read(0, buf).ok());
  EXPECT_TRUE(d.write(0, data).ok());
  EXPECT_TRUE(d.flush().ok());
}

}  // namespace
}  // namespace hapbx::replica
