// FuseDevice: the FUSE image file against an in-memory disk. Needs root and /dev/fuse (skipped
// otherwise): reads/writes with O_DIRECT, 1 MiB writes in one request, fsync -> Flush,
// fallocate -> Zero, clipping at the end, handler errors, pending requests failed, a stale mount
// of a crashed run.
#include "replica/fuse_device.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "core/mount_info.h"
#include "support/temp_dir.h"
#include "unit/replica/direct_io_support.h"
#include "unit/replica/memory_disk.h"

namespace hapbx::replica {
namespace {

using testing::AlignedBuf;
using testing::Fd;
using testing::MemoryDisk;

constexpr std::uint64_t kSize = 16u << 20;

bool mounted_at(const std::string& dir) {
  auto m = core::read_mount_info();
  if (!m.ok()) return false;
  for (const auto& e : *m) {
    if (e.mount_point == dir) return true;
  }
  return false;
}

template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Everything one test needs, torn down in the right order even when an assertion fails.
struct Rig {
  hapbx::testing::TempDir dir{"fuse-device"};
  MemoryDisk disk{kSize};
  std::unique_ptr<FuseDevice> dev;

  Status start() {
    FuseDeviceOptions o;
    o.mount_dir = dir.str() + "/mnt";
    o.file_name = "r0";
    o.size_bytes = kSize;
    o.handler = &disk;
    auto r = FuseDevice::start(std::move(o));
    if (!r.ok()) return r.error();
    dev = std::move(r).value();
    FuseDevice* d = dev.get();
    disk.set_completer([d](std::uint64_t id, int err, std::span<const std::uint8_t> data) {
      d->complete(id, err, data);
    });
    return Status::Ok();
  }
  ~Rig() {
    disk.stop();
    dev.reset();
  }
};

class FuseDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = testing::device_tests_unavailable(); !why.empty()) GTEST_SKIP() << why;
    ASSERT_FALSE(rig.dir.path().empty());
    Status st = rig.start();
    ASSERT_TRUE(st.ok()) << st.error().message;
  }
  Rig rig;
};

TEST_F(FuseDeviceTest, ShowsOneFileOfTheDeviceSize) {
  struct stat st;
  ASSERT_EQ(::stat(rig.dev->file_path().c_str(), &st), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), kSize);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(rig.dev->mount_dir())) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"r0"});
  EXPECT_EQ(rig.dev->negotiated_max_write(), 1u << 20);
}

TEST_F(FuseDeviceTest, ODirectWriteAndReadReachTheHandlerInOneMegabyteRequests) {
  Fd fd(::open(rig.dev->file_path().c_str(), O_RDWR | O_DIRECT));
  ASSERT_GE(fd.fd, 0) << std::strerror(errno);
  AlignedBuf buf(1u << 20);
  ASSERT_NE(buf.data, nullptr);
  for (std::size_t i = 0; i < buf.size; ++i) buf.data[i] = static_cast<std::uint8_t>(i * 7 + 1);
  ASSERT_EQ(::pwrite(fd.fd, buf.data, buf.size, 4096), static_cast<ssize_t>(buf.size))
      << std::strerror(errno);
  EXPECT_EQ(rig.disk.max_write_length.load(), 1u << 20) << "max_pages not negotiated?";
  auto stored = rig.disk.snapshot(4096, buf.size);
  EXPECT_EQ(0, std::memcmp(stored.data(), buf.data, buf.size));

  AlignedBuf back(1u << 20);
  ASSERT_EQ(::pread(fd.fd, back.data, back.size, 4096), static_cast<ssize_t>(back.size));
  EXPECT_EQ(0, std::memcmp(back.data, buf.data, buf.size));
  EXPECT_EQ(rig.dev->pending(), 0u);
}

TEST_F(FuseDeviceTest, FsyncBecomesAFlushRequestOnceSomethingWasWritten) {
  Fd fd(::open(rig.dev->file_path().c_str(), O_RDWR | O_DIRECT));
  ASSERT_GE(fd.fd, 0);
  // Nothing written yet: answered by the device itself (LOOP_CONFIGURE fsyncs like this).
  ASSERT_EQ(::fsync(fd.fd), 0) << std::strerror(errno);
  EXPECT_EQ(rig.disk.flushes.load(), 0u);
  AlignedBuf buf(4096);
  std::memset(buf.data, 1, buf.size);
  ASSERT_EQ(::pwrite(fd.fd, buf.data, 4096, 0), 4096);
  ASSERT_EQ(::fsync(fd.fd), 0) << std::strerror(errno);
  EXPECT_EQ(rig.disk.flushes.load(), 1u);
  ASSERT_EQ(::fdatasync(fd.fd), 0) << std::strerror(errno);
  EXPECT_EQ(rig.disk.flushes.load(), 2u);
}

TEST_F(FuseDeviceTest, PunchHoleAndZeroRangeBecomeZeroRequests) {
  rig.disk.fill(0xAA);
  Fd fd(::open(rig.dev->file_path().c_str(), O_RDWR | O_DIRECT));
  ASSERT_GE(fd.fd, 0);
  ASSERT_EQ(::fallocate(fd.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8192, 4096), 0)
      << std::strerror(errno);
  EXPECT_EQ(rig.disk.zeros.load(), 1u);
  EXPECT_EQ(rig.disk.last_zero_offset.load(), 8192u);
  EXPECT_EQ(rig.disk.last_zero_length.load(), 4096u);
  ASSERT_EQ(::fallocate(fd.fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 65536, 8192), 0)
      << std::strerror(errno);
  EXPECT_EQ(rig.disk.zeros.load(), 2u);
  AlignedBuf back(4096);
  ASSERT_EQ(::pread(fd.fd, back.data, 4096, 8192), 4096);
  EXPECT_EQ(back.data[0], 0);
  EXPECT_EQ(back.data[4095], 0);
  ASSERT_EQ(::pread(fd.fd, back.data, 4096, 4096), 4096);
  EXPECT_EQ(back.data[0], 0xAA);
  // The end of the disk clips with KEEP_SIZE; plain preallocation is a no-op.
  ASSERT_EQ(::fallocate(fd.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, kSize - 4096, 65536),
            0);
  EXPECT_EQ(rig.disk.last_zero_length.load(), 4096u);
  EXPECT_EQ(::fallocate(fd.fd, 0, 0, 4096), 0);
  EXPECT_EQ(rig.disk.zeros.load(), 3u);
}

TEST_F(FuseDeviceTest, ClipsAtTheEndLikeADisk) {
  Fd fd(::open(rig.dev->file_path().c_str(), O_RDWR | O_DIRECT));
  ASSERT_GE(fd.fd, 0);
  AlignedBuf buf(8192);
  std::memset(buf.data, 0x5A, buf.size);
  EXPECT_EQ(::pread(fd.fd, buf.data, 8192, kSize - 4096), 4096);
  EXPECT_EQ(::pread(fd.fd, buf.data, 8192, kSize), 0);
  EXPECT_EQ(::pwrite(fd.fd, buf.data, 8192, kSize - 4096), 4096);
  errno = 0;
  EXPECT_EQ(::pwrite(fd.fd, buf.data, 4096, kSize), -1);
  EXPECT_EQ(errno, ENOSPC);
  EXPECT_EQ(rig.dev->pending(), 0u);
}

TEST_F(FuseDeviceTest, AHandlerErrorIsAnIoErrorForTheReader) {
  Fd fd(::open(rig.dev->file_path().c_str(), O_RDWR | O_DIRECT));
  ASSERT_GE(fd.fd, 0);
  AlignedBuf buf(4096);
  rig.disk.fail_reads_errno = EIO;
  errno = 0;
  EXPECT_EQ(::pread(fd.fd, buf.data, 4096, 0), -1);
  EXPECT_EQ(errno, EIO);
  rig.disk.fail_reads_errno = 0;
  rig.disk.fail_writes_errno = EIO;
  errno = 0;
  EXPECT_EQ(::pwrite(fd.fd, buf.data, 4096, 0), -1);
  EXPECT_EQ(errno, EIO);
  rig.disk.fail_writes_errno = 0;
  EXPECT_EQ(::pread(fd.fd, buf.data, 4096, 0), 4096);
}

TEST_F(FuseDeviceTest, FailAllPendingAnswersHeldRequests) {
  rig.disk.hold();
  std::string path = rig.dev->file_path();
  std::atomic<int> result{0}, result_errno{0};
  std::thread reader([&] {
    Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECT));
    AlignedBuf buf(4096);
    result = static_cast<int>(::pread(fd.fd, buf.data, 4096, 0));
    result_errno = errno;
  });
  bool held = wait_until([&] { return rig.dev->pending() == 1; });
  rig.dev->fail_all_pending(EIO);
  reader.join();
  ASSERT_TRUE(held);
  EXPECT_EQ(result.load(), -1);
  EXPECT_EQ(result_errno.load(), EIO);
  EXPECT_EQ(rig.dev->pending(), 0u);
  // Late answers to a request that is gone are ignored.
  rig.dev->complete(12345, 0);
}

TEST_F(FuseDeviceTest, StopUnmountsAndIsIdempotent) {
  const std::string dir = rig.dev->mount_dir();
  EXPECT_TRUE(mounted_at(dir));
  rig.dev->stop();
  EXPECT_FALSE(mounted_at(dir));
  rig.dev->stop();
}

TEST(FuseDeviceStaleMount, AStaleMountOfACrashedRunIsReplaced) {
  if (auto why = testing::device_tests_unavailable(); !why.empty()) GTEST_SKIP() << why;
  Rig rig;
  ASSERT_FALSE(rig.dir.path().empty());
  const std::string dir = rig.dir.str() + "/mnt";
  std::filesystem::create_directories(dir);
  // A FUSE mount whose server went away: mount with a /dev/fuse fd, then close it.
  int fuse_fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fuse_fd, 0);
  const std::string opts =
      "fd=" + std::to_string(fuse_fd) + ",rootmode=40000,user_id=0,group_id=0";
  int m = ::mount("hapbx-stale", dir.c_str(), "fuse.hapbx", MS_NOSUID | MS_NODEV, opts.c_str());
  int mount_errno = errno;
  ::close(fuse_fd);
  ASSERT_EQ(m, 0) << std::strerror(mount_errno);
  struct stat st;
  errno = 0;
  EXPECT_NE(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(errno, ENOTCONN);

  Status started = rig.start();
  if (!started.ok()) ::umount2(dir.c_str(), MNT_DETACH);
  ASSERT_TRUE(started.ok()) << started.error().message;
  ASSERT_EQ(::stat(rig.dev->file_path().c_str(), &st), 0) << std::strerror(errno);
  EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), kSize);
}

TEST(FuseDeviceOptionsCheck, RefusesBadOptions) {
  MemoryDisk disk(4096);
  FuseDeviceOptions o;
  o.mount_dir = "/nonexistent/hapbx-never-mounted";
  o.size_bytes = 4096;
  EXPECT_FALSE(FuseDevice::start(o).ok());  // no handler
  o.handler = &disk;
  o.size_bytes = 1000;
  auto r = FuseDevice::start(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("4096"), std::string::npos) << r.error().message;
  o.size_bytes = 4096;
  o.file_name = "a/b";
  EXPECT_FALSE(FuseDevice::start(o).ok());
  o.file_name = "..";
  EXPECT_FALSE(FuseDevice::start(o).ok());
}

}  // namespace
}  // namespace hapbx::replica
