// Loop device attach/detach through /dev/loop-control and the loop ioctls. See loop_device.h.
#include "replica/loop_device.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

namespace hapbx::replica {
namespace {

constexpr unsigned kLoopMajor = 7;
constexpr int kAttachAttempts = 8;

std::string errno_text(int e) { return std::strerror(e); }

// A file descriptor that closes itself.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

std::string sys_dir(int n) { return "/sys/block/loop" + std::to_string(n); }

std::string read_sys(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The node is normally made by devtmpfs; make it ourselves where /dev is a plain directory.
int open_loop_node(int n, const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    if (::mknod(path.c_str(), S_IFBLK | 0660, makedev(kLoopMajor, static_cast<unsigned>(n))) ==
        0) {
      spdlog::info("loop device: created the missing node {}", path);
    }
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  }
  return fd;
}

void fill_info(loop_info64& info, const std::string& file, bool read_only) {
  std::memset(&info, 0, sizeof info);
  info.lo_flags = LO_FLAGS_DIRECT_IO | (read_only ? LO_FLAGS_READ_ONLY : 0);
  std::strncpy(reinterpret_cast<char*>(info.lo_file_name), file.c_str(), LO_NAME_SIZE - 1);
}

enum class ConfigureResult { Ok, Busy, Unsupported, Failed };

ConfigureResult configure(int loop_fd, int file_fd, const std::string& file,
                          const LoopOptions& o, int& err) {
  loop_config cfg;
  std::memset(&cfg, 0, sizeof cfg);
  cfg.fd = static_cast<__u32>(file_fd);
  cfg.block_size = o.block_size;
  fill_info(cfg.info, file, o.read_only);
  if (::ioctl(loop_fd, LOOP_CONFIGURE, &cfg) == 0) return ConfigureResult::Ok;
  err = errno;
  if (err == EBUSY) return ConfigureResult::Busy;
  if (err == ENOTTY) return ConfigureResult::Unsupported;
  return ConfigureResult::Failed;
}

// Pre-5.8 kernels: the same in four steps.
ConfigureResult configure_legacy(int loop_fd, int file_fd, const std::string& file,
                                 const LoopOptions& o, int& err, std::string& step) {
  step = "LOOP_SET_FD";
  if (::ioctl(loop_fd, LOOP_SET_FD, file_fd) != 0) {
    err = errno;
    return err == EBUSY ? ConfigureResult::Busy : ConfigureResult::Failed;
  }
  loop_info64 info;
  fill_info(info, file, o.read_only);
  info.lo_flags &= ~static_cast<__u32>(LO_FLAGS_DIRECT_IO);  // set below, after the block size
  bool ok = true;
  if (ok && ::ioctl(loop_fd, LOOP_SET_STATUS64, &info) != 0) {
    step = "LOOP_SET_STATUS64";
    ok = false;
  }
  if (ok && ::ioctl(loop_fd, LOOP_SET_BLOCK_SIZE, static_cast<unsigned long>(o.block_size)) != 0) {
    step = "LOOP_SET_BLOCK_SIZE";
    ok = false;
  }
  if (ok && ::ioctl(loop_fd, LOOP_SET_DIRECT_IO, 1UL) != 0) {
    step = "LOOP_SET_DIRECT_IO";
    ok = false;
  }
  if (!ok) {
    err = errno;
    ::ioctl(loop_fd, LOOP_CLR_FD, 0);
    return ConfigureResult::Failed;
  }
  return ConfigureResult::Ok;
}

}  // namespace

LoopDevice::~LoopDevice() {
  if (!attached()) return;
  if (Status st = detach(std::chrono::seconds(2)); !st) {
    spdlog::error("loop device: {}", st.error().message);
  }
}

LoopDevice::LoopDevice(LoopDevice&& o) noexcept
    : number_(o.number_),
      path_(std::move(o.path_)),
      file_(std::move(o.file_)),
      file_dev_(o.file_dev_),
      file_ino_(o.file_ino_),
      block_size_(o.block_size_),
      sys_backing_(std::move(o.sys_backing_)) {
  o.number_ = -1;
}

LoopDevice& LoopDevice::operator=(LoopDevice&& o) noexcept {
  if (this != &o) {
    if (attached()) (void)detach(std::chrono::seconds(2));
    number_ = o.number_;
    path_ = std::move(o.path_);
    file_ = std::move(o.file_);
    file_dev_ = o.file_dev_;
    file_ino_ = o.file_ino_;
    block_size_ = o.block_size_;
    sys_backing_ = std::move(o.sys_backing_);
    o.number_ = -1;
  }
  return *this;
}

Result<LoopDevice> LoopDevice::attach(const std::string& file, LoopOptions options) {
  const std::uint32_t bs = options.block_size;
  if (bs < 512 || bs > 4096 || (bs & (bs - 1)) != 0) {
    return make_error("loop device: block size " + std::to_string(bs) +
                      " is not a power of two in 512..4096");
  }
  Fd file_fd(::open(file.c_str(), (options.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC));
  if (!file_fd.ok()) return make_error(file + ": cannot open for the loop device: " + errno_text(errno));
  struct stat st;
  if (::fstat(file_fd.get(), &st) != 0) return make_error(file + ": fstat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return make_error(file + ": not a regular file");
  if (st.st_size <= 0 || static_cast<std::uint64_t>(st.st_size) % bs != 0) {
    return make_error(file + ": size " + std::to_string(st.st_size) +
                      " is not a positive multiple of the block size " + std::to_string(bs));
  }
  Fd ctl(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!ctl.ok()) return make_error("/dev/loop-control: " + errno_text(errno));

  bool legacy = false;
  for (int attempt = 0; attempt < kAttachAttempts; ++attempt) {
    const int n = ::ioctl(ctl.get(), LOOP_CTL_GET_FREE);
    if (n < 0) return make_error("/dev/loop-control: LOOP_CTL_GET_FREE: " + errno_text(errno));
    const std::string path = "/dev/loop" + std::to_string(n);
    Fd loop_fd(open_loop_node(n, path));
    if (!loop_fd.ok()) return make_error(path + ": " + errno_text(errno));
    int err = 0;
    std::string step = "LOOP_CONFIGURE";
    ConfigureResult r = ConfigureResult::Unsupported;
    if (!legacy) r = configure(loop_fd.get(), file_fd.get(), file, options, err);
    if (r == ConfigureResult::Unsupported) {
      legacy = true;
      r = configure_legacy(loop_fd.get(), file_fd.get(), file, options, err, step);
    }
    if (r == ConfigureResult::Busy) {
      spdlog::debug("loop device: {} was taken by someone else; trying another", path);
      continue;  // another process attached it between GET_FREE and our ioctl
    }
    if (r == ConfigureResult::Failed) {
      return make_error(path + ": " + step + " over " + file + " (block size " +
                        std::to_string(bs) + ", direct I/O): " + errno_text(err));
    }
    LoopDevice dev;
    dev.number_ = n;
    dev.path_ = path;
    dev.file_ = file;
    dev.file_dev_ = st.st_dev;
    dev.file_ino_ = st.st_ino;
    dev.block_size_ = bs;
    dev.sys_backing_ = read_sys(sys_dir(n) + "/loop/backing_file");
    // The kernel may quietly keep buffered I/O; that is not acceptable over FUSE.
    const std::string dio = read_sys(sys_dir(n) + "/loop/dio");
    if (dio != "1") {
      (void)dev.detach();
      return make_error(path + ": the kernel did not enable direct I/O over " + file +
                        " (dio=" + dio + "); a buffered loop over FUSE can deadlock");
    }
    const std::string lbs = read_sys(sys_dir(n) + "/queue/logical_block_size");
    if (lbs != std::to_string(bs)) {
      (void)dev.detach();
      return make_error(path + ": logical block size is " + lbs + ", wanted " +
                        std::to_string(bs));
    }
    spdlog::info("loop device {} attached to {} (block size {}, direct I/O{})", path, file, bs,
                 legacy ? ", legacy ioctls" : "");
    return dev;
  }
  return make_error("loop device: every free loop device was taken by another process (" +
                    std::to_string(kAttachAttempts) + " attempts)");
}

Status LoopDevice::detach(std::chrono::milliseconds timeout) {
  if (!attached()) return Status::Ok();
  {
    Fd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.ok()) {
      if (errno == ENOENT || errno == ENXIO) {
        number_ = -1;
        return Status::Ok();
      }
      return make_error(path_ + ": cannot open to detach: " + errno_text(errno));
    }
    loop_info64 info;
    std::memset(&info, 0, sizeof info);
    if (::ioctl(fd.get(), LOOP_GET_STATUS64, &info) != 0) {
      if (errno == ENXIO) {  // already detached (by us earlier, deferred)
        number_ = -1;
        return Status::Ok();
      }
      return make_error(path_ + ": LOOP_GET_STATUS64: " + errno_text(errno));
    }
    if (info.lo_inode != file_ino_ || info.lo_device != file_dev_) {
      spdlog::warn("loop device {} no longer holds {} (now someone else's); leaving it alone",
                   path_, file_);
      number_ = -1;
      return Status::Ok();
    }
    if (::ioctl(fd.get(), LOOP_CLR_FD, 0) != 0 && errno != ENXIO) {
      return make_error(path_ + ": LOOP_CLR_FD: " + errno_text(errno) +
                        (errno == EBUSY ? " (the device is open elsewhere)" : ""));
    }
  }
  // With other openers the kernel defers the detach until the last close; either way, wait
  // until it has let go of the file.
  const std::string backing = sys_dir(number_) + "/loop/backing_file";
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (exists(backing) && read_sys(backing) == sys_backing_) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return make_error(path_ + " still holds " + file_ + " " + std::to_string(timeout.count()) +
                        " ms after LOOP_CLR_FD: it is open somewhere; the kernel detaches it "
                        "at the last close");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  spdlog::info("loop device {} detached from {}", path_, file_);
  number_ = -1;
  return Status::Ok();
}

bool LoopDevice::in_use() const {
  if (!attached()) return false;
  int fd = ::open(path_.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
  if (fd < 0) return errno == EBUSY;
  ::close(fd);
  return false;
}

}  // namespace hapbx::replica
