// LoopDevice and DeviceStack against an in-memory disk. Needs root, /dev/fuse and loop devices
// (skipped otherwise): loop over the FUSE file with direct I/O and 4 KiB blocks; the whole stack
// with mkfs.ext4 and a mount in a private mount namespace (a forked child), fsync reaching the
// engine as Flush, down() refused while mounted, then clean teardown of symlink, loop and FUSE.
#include "replica/device_stack.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "replica/fuse_device.h"
#include "replica/loop_device.h"
#include "core/mount_info.h"
#include "support/temp_dir.h"
#include "unit/replica/direct_io_support.h"
#include "unit/replica/memory_disk.h"

namespace hapbx::replica {
namespace {

namespace fs = std::filesystem;
using testing::AlignedBuf;
using testing::Fd;
using testing::MemoryDisk;

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

bool path_exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

bool mounted_under(const std::string& prefix) {
  auto m = core::read_mount_info();
  if (!m.ok()) return false;
  for (const auto& e : *m) {
    if (e.mount_point.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// The loop device no longer holds `file` (it may already hold someone else's: loop devices are
// global and other processes may attach the same number right away).
bool loop_released(int number, const std::string& file) {
  const std::string backing = "/sys/block/loop" + std::to_string(number) + "/loop/backing_file";
  return !path_exists(backing) || read_line(backing) != file;
}

std::string unavailable() {
  std::string why = testing::device_tests_unavailable();
  if (why.empty() && ::access("/dev/loop-control", R_OK | W_OK) != 0) why = "needs /dev/loop-control";
  return why;
}

// ---------------------------------------------------------------------------------------------
// LoopDevice over a FuseDevice.

struct LoopRig {
  hapbx::testing::TempDir dir{"loop-device"};
  MemoryDisk disk{32u << 20};
  std::unique_ptr<FuseDevice> fuse;
  LoopDevice loop;

  Status start() {
    FuseDeviceOptions o;
    o.mount_dir = dir.str() + "/mnt";
    o.size_bytes = 32u << 20;
    o.handler = &disk;
    auto r = FuseDevice::start(std::move(o));
    if (!r.ok()) return r.error();
    fuse = std::move(r).value();
    FuseDevice* f = fuse.get();
    disk.set_completer([f](std::uint64_t id, int e, std::span<const std::uint8_t> d) {
      f->complete(id, e, d);
    });
    auto l = LoopDevice::attach(fuse->file_path());
    if (!l.ok()) return l.error();
    loop = std::move(l).value();
    return Status::Ok();
  }
  ~LoopRig() {
    if (Status st = loop.detach(); !st) ADD_FAILURE() << st.error().message;
    disk.stop();
    fuse.reset();
  }
};

class LoopDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = unavailable(); !why.empty()) GTEST_SKIP() << why;
    ASSERT_FALSE(rig.dir.path().empty());
    Status st = rig.start();
    ASSERT_TRUE(st.ok()) << st.error().message;
  }
  LoopRig rig;
};

TEST_F(LoopDeviceTest, AttachesWithDirectIoAnd4KBlocksAndCarriesIoAndFlushes) {
  const std::string sys = "/sys/block/loop" + std::to_string(rig.loop.number());
  EXPECT_EQ(rig.loop.path(), "/dev/loop" + std::to_string(rig.loop.number()));
  EXPECT_EQ(read_line(sys + "/loop/dio"), "1");
  EXPECT_EQ(read_line(sys + "/queue/logical_block_size"), "4096");
  EXPECT_EQ(read_line(sys + "/loop/backing_file"), rig.fuse->file_path());
  EXPECT_EQ(read_line(sys + "/loop/autoclear"), "0");
  EXPECT_EQ(read_line(sys + "/loop/partscan"), "0");

  Fd fd(::open(rig.loop.path().c_str(), O_RDWR | O_DIRECT));
  ASSERT_GE(fd.fd, 0) << std::strerror(errno);
  AlignedBuf buf(1u << 20);
  for (std::size_t i = 0; i < buf.size; ++i) buf.data[i] = static_cast<std::uint8_t>(i % 251);
  ASSERT_EQ(::pwrite(fd.fd, buf.data, buf.size, 1u << 20), static_cast<ssize_t>(buf.size));
  auto stored = rig.disk.snapshot(1u << 20, buf.size);
  EXPECT_EQ(0, std::memcmp(stored.data(), buf.data, buf.size));
  AlignedBuf back(1u << 20);
  ASSERT_EQ(::pread(fd.fd, back.data, back.size, 1u << 20), static_cast<ssize_t>(back.size));
  EXPECT_EQ(0, std::memcmp(back.data, buf.data, buf.size));

  const auto flushes = rig.disk.flushes.load();
  ASSERT_EQ(::fsync(fd.fd), 0) << std::strerror(errno);
  EXPECT_GT(rig.disk.flushes.load(), flushes) << "a flush of the loop device must reach us";
}

TEST_F(LoopDeviceTest, AHandlerReadErrorIsAnIoErrorOnTheLoopDevice) {
  Fd fd(::open(rig.loop.path().c_str(), O_RDONLY | O_DIRECT));
  ASSERT_GE(fd.fd, 0);
  AlignedBuf buf(4096);
  rig.disk.fail_reads_errno = EIO;
  errno = 0;
  EXPECT_EQ(::pread(fd.fd, buf.data, 4096, 8192), -1);
  EXPECT_EQ(errno, EIO);
  rig.disk.fail_reads_errno = 0;
  EXPECT_EQ(::pread(fd.fd, buf.data, 4096, 8192), 4096);
}

TEST_F(LoopDeviceTest, InUseWhileHeldExclusively) {
  EXPECT_FALSE(rig.loop.in_use());
  {
    Fd excl(::open(rig.loop.path().c_str(), O_RDONLY | O_EXCL));
    ASSERT_GE(excl.fd, 0);
    EXPECT_TRUE(rig.loop.in_use());
  }
  EXPECT_FALSE(rig.loop.in_use());
}

TEST_F(LoopDeviceTest, DetachReleasesTheBackingFileAndIsIdempotent) {
  const int n = rig.loop.number();
  const std::string file = rig.fuse->file_path();
  Status st = rig.loop.detach();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_FALSE(rig.loop.attached());
  EXPECT_TRUE(loop_released(n, file));
  EXPECT_TRUE(rig.loop.detach().ok());
  // Nothing holds the FUSE file any more: a clean unmount works.
  const std::string mnt = rig.fuse->mount_dir();
  rig.fuse->stop();
  EXPECT_FALSE(mounted_under(mnt));
}

TEST(LoopDeviceChecks, RefusesAFileThatIsNotAWholeNumberOfBlocks) {
  if (auto why = unavailable(); !why.empty()) GTEST_SKIP() << why;
  hapbx::testing::TempDir dir("loop-device");
  const std::string file = dir.str() + "/odd.img";
  std::ofstream(file) << std::string(1000, 'x');
  auto r = LoopDevice::attach(file);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("multiple of the block size"), std::string::npos)
      << r.error().message;
  EXPECT_FALSE(LoopDevice::attach(dir.str() + "/missing.img").ok());
}

// ---------------------------------------------------------------------------------------------
// The whole stack.

// A forked child that mounts the device in a private mount namespace, optionally writes (and
// fsyncs) or checks a file, reports "R" on `ready`, holds the mount until the parent closes
// `hold`, then unmounts. Killed and reaped by the destructor if still running.
class MountingChild {
 public:
  enum class Mode { WriteFile, CheckFile };

  bool spawn(const std::string& device, const std::string& mnt, Mode mode) {
    int ready[2], hold[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return false;
    if (::pipe2(hold, O_CLOEXEC) != 0) {
      ::close(ready[0]);
      ::close(ready[1]);
      return false;
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      // Child: only system calls from here on.
      ::close(ready[0]);
      ::close(hold[1]);
      run_child(device.c_str(), mnt.c_str(), mode, ready[1], hold[0]);
    }
    ::close(ready[1]);
    ::close(hold[0]);
    ready_fd_ = ready[0];
    hold_fd_ = hold[1];
    return pid_ > 0;
  }

  // The child's report: "R" when mounted (and the file written/checked), "E<step>" on failure.
  std::string wait_ready(std::chrono::milliseconds timeout) {
    pollfd p{ready_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return "timeout";
    char buf[64] = {};
    ssize_t n = ::read(ready_fd_, buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "closed";
  }

  // Lets the child unmount and exit; its exit status (-1 on timeout).
  int release(std::chrono::milliseconds timeout) {
    if (hold_fd_ >= 0) ::close(hold_fd_);
    hold_fd_ = -1;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (std::chrono::steady_clock::now() >= deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return -1;
  }

  pid_t pid() const { return pid_; }

  ~MountingChild() {
    if (hold_fd_ >= 0) ::close(hold_fd_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (ready_fd_ >= 0) ::close(ready_fd_);
  }

 private:
  [[noreturn]] static void fail(int ready, const char* step) {
    char msg[64] = "E";
    std::size_t n = 1;
    for (const char* s = step; *s != '\0' && n < sizeof msg - 1; ++s) msg[n++] = *s;
    (void)!::write(ready, msg, n);
    ::_exit(2);
  }

  [[noreturn]] static void run_child(const char* device, const char* mnt, Mode mode, int ready,
                                     int hold) {
    if (::unshare(CLONE_NEWNS) != 0) fail(ready, "unshare");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail(ready, "private");
    if (::mount(device, mnt, "ext4", 0, nullptr) != 0) fail(ready, "mount");
    static const char kText[] = "registrations survive a failover\n";
    char path[4096];
    std::size_t len = 0;
    for (const char* s = mnt; *s != '\0' && len < sizeof path - 16; ++s) path[len++] = *s;
    for (const char* s = "/hello.txt"; *s != '\0'; ++s) path[len++] = *s;
    path[len] = '\0';
    if (mode == Mode::WriteFile) {
      int fd = ::open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
      if (fd < 0) fail(ready, "create");
      if (::write(fd, kText, sizeof kText - 1) != static_cast<ssize_t>(sizeof kText - 1)) {
        fail(ready, "write");
      }
      if (::fsync(fd) != 0) fail(ready, "fsync");
      ::close(fd);
    } else {
      int fd = ::open(path, O_RDONLY);
      if (fd < 0) fail(ready, "open");
      char buf[128];
      ssize_t n = ::read(fd, buf, sizeof buf);
      ::close(fd);
      if (n != static_cast<ssize_t>(sizeof kText - 1)) fail(ready, "size");
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] != kText[i]) fail(ready, "content");
      }
    }
    (void)!::write(ready, "R", 1);
    char c;
    while (::read(hold, &c, 1) > 0) {
    }
    if (::umount(mnt) != 0) ::_exit(4);
    ::_exit(0);
  }

  pid_t pid_ = -1;
  int ready_fd_ = -1;
  int hold_fd_ = -1;
};

struct StackRig {
  static constexpr std::uint64_t kSize = 64u << 20;
  hapbx::testing::TempDir dir{"device-stack"};
  MemoryDisk disk{kSize};
  std::unique_ptr<DeviceStack> stack;

  DeviceStackOptions options() const {
    DeviceStackOptions o;
    o.runtime_dir = dir.str() + "/run";
    o.resource = "r0";
    o.size_bytes = kSize;
    o.handler = const_cast<MemoryDisk*>(&disk);
    o.device_path = dir.str() + "/dev/hapbx/r0";
    return o;
  }
  Status up() {
    auto r = DeviceStack::up(options());
    if (!r.ok()) return r.error();
    stack = std::move(r).value();
    DeviceStack* s = stack.get();
    disk.set_completer([s](std::uint64_t id, int e, std::span<const std::uint8_t> d) {
      s->complete(id, e, d);
    });
    return Status::Ok();
  }
  // Down while the disk still answers, then stop answering, then free.
  ~StackRig() {
    if (stack) {
      if (Status st = stack->down(); !st) ADD_FAILURE() << st.error().message;
    }
    disk.stop();
    stack.reset();
  }
};

class DeviceStackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = unavailable(); !why.empty()) GTEST_SKIP() << why;
    ASSERT_FALSE(rig.dir.path().empty());
  }
  StackRig rig;
};

int run_shell(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST_F(DeviceStackTest, Ext4OverTheStackIsDurableAndDownWaitsForTheUnmount) {
  Status st = rig.up();
  ASSERT_TRUE(st.ok()) << st.error().message;
  const std::string device = rig.stack->device_path();
  const std::string loop = rig.stack->loop_path();
  const int number = rig.stack->loop_number();
  const std::string fuse_file = rig.stack->fuse_file_path();
  const std::string fuse_dir = rig.stack->fuse_mount_dir();
  ASSERT_EQ(fs::read_symlink(device).string(), loop);
  EXPECT_EQ(read_line("/sys/block/loop" + std::to_string(number) + "/loop/dio"), "1");

  ASSERT_EQ(run_shell("mkfs.ext4 -q -E nodiscard " + device), 0);
  const std::string mnt = rig.dir.str() + "/replica";
  fs::create_directories(mnt);

  const auto flushes_before = rig.disk.flushes.load();
  {
    MountingChild child;
    ASSERT_TRUE(child.spawn(device, mnt, MountingChild::Mode::WriteFile));
    ASSERT_EQ(child.wait_ready(std::chrono::seconds(30)), "R");
    EXPECT_GT(rig.disk.flushes.load(), flushes_before) << "fsync in ext4 must reach the engine";

    Status refused = rig.stack->down();
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("mounted on " + mnt), std::string::npos)
        << refused.error().message;
    EXPECT_NE(refused.error().message.find(std::to_string(child.pid())), std::string::npos)
        << refused.error().message;
    EXPECT_TRUE(rig.stack->is_up());
    EXPECT_TRUE(path_exists(device));

    EXPECT_EQ(child.release(std::chrono::seconds(30)), 0);
  }

  st = rig.stack->down();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_FALSE(rig.stack->is_up());
  EXPECT_FALSE(path_exists(device));
  EXPECT_TRUE(loop_released(number, fuse_file));
  EXPECT_FALSE(mounted_under(fuse_dir));
  EXPECT_TRUE(rig.stack->down().ok());  // idempotent

  // The data lives in the engine's disk: bring the stack up again and read the file back.
  st = rig.up();
  ASSERT_TRUE(st.ok()) << st.error().message;
  MountingChild checker;
  ASSERT_TRUE(checker.spawn(device, mnt, MountingChild::Mode::CheckFile));
  EXPECT_EQ(checker.wait_ready(std::chrono::seconds(30)), "R");
  EXPECT_EQ(checker.release(std::chrono::seconds(30)), 0);
}

TEST_F(DeviceStackTest, RefusesAnythingButALoopSymlinkAtTheDevicePath) {
  const DeviceStackOptions o = rig.options();
  fs::create_directories(fs::path(o.device_path).parent_path());
  std::ofstream(o.device_path) << "precious";
  auto r = DeviceStack::up(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not a symlink"), std::string::npos) << r.error().message;
  EXPECT_FALSE(mounted_under(o.runtime_dir)) << "a failed up() must not leave the FUSE mount";
  EXPECT_EQ(read_line(o.device_path), "precious");

  fs::remove(o.device_path);
  fs::create_symlink("/etc/hostname", o.device_path);
  r = DeviceStack::up(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not to a loop device"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(fs::read_symlink(o.device_path).string(), "/etc/hostname");
}

TEST_F(DeviceStackTest, ReplacesAStaleLoopSymlinkAndTheDestructorTearsDown) {
  const DeviceStackOptions o = rig.options();
  fs::create_directories(fs::path(o.device_path).parent_path());
  fs::create_symlink("/dev/loop98765", o.device_path);
  Status st = rig.up();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(fs::read_symlink(o.device_path).string(), rig.stack->loop_path());
  const int number = rig.stack->loop_number();
  const std::string file = rig.stack->fuse_file_path();
  rig.disk.stop();  // nothing in flight: the destructor must not need the engine
  rig.stack.reset();
  EXPECT_FALSE(path_exists(o.device_path));
  EXPECT_TRUE(loop_released(number, file));
  EXPECT_FALSE(mounted_under(o.runtime_dir));
}

}  // namespace
}  // namespace hapbx::replica

namespace hapbx::replica {
namespace {

// Not a test: the ceiling of the edge (loop -> FUSE -> memory handler). Run by hand with
//   unit_replica --gtest_also_run_disabled_tests --gtest_filter='DeviceStackBench.*'
TEST(DeviceStackBench, DISABLED_SequentialDirectWriteThroughput) {
  if (auto why = unavailable(); !why.empty()) GTEST_SKIP() << why;
  if (run_shell("command -v fio >/dev/null") != 0) GTEST_SKIP() << "needs fio";
  hapbx::testing::TempDir dir("device-bench");
  MemoryDisk disk(1u << 30);
  DeviceStackOptions o;
  o.runtime_dir = dir.str() + "/run";
  o.resource = "r0";
  o.size_bytes = 1u << 30;
  o.handler = &disk;
  o.device_path = dir.str() + "/dev/r0";
  auto r = DeviceStack::up(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::unique_ptr<DeviceStack> stack = std::move(r).value();
  DeviceStack* s = stack.get();
  disk.set_completer(
      [s](std::uint64_t id, int e, std::span<const std::uint8_t> d) { s->complete(id, e, d); });
  for (const char* depth : {"1", "16"}) {
    for (const std::string& target : {o.device_path, stack->fuse_file_path()}) {
      const std::string cmd = "fio --name=seq --filename=" + target +
                              " --rw=write --bs=1M --direct=1 --ioengine=libaio --iodepth=" +
                              depth + " --size=1G --loops=2 --output-format=terse --terse-version=3"
                              " | awk -F';' '{printf \"" + target + " iodepth " + depth +
                              ": %.0f MiB/s\\n\", $48/1024}'";
      EXPECT_EQ(run_shell(cmd), 0);
    }
  }
  std::printf("max write request seen by the handler: %llu bytes\n",
              static_cast<unsigned long long>(disk.max_write_length.load()));
  EXPECT_TRUE(stack->down().ok());
  disk.stop();
}

}  // namespace
}  // namespace hapbx::replica
