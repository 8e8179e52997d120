// Bringing the FUSE file, the loop device and the device symlink up and down in order. See
// device_stack.h.
#include "replica/device_stack.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "core/mount_info.h"

namespace hapbx::replica {
namespace {

namespace fs = std::filesystem;

std::string errno_text(int e) { return std::strerror(e); }

bool is_loop_target(const std::string& target) {
  const std::string prefix = "/dev/loop";
  if (target.rfind(prefix, 0) != 0 || target.size() == prefix.size()) return false;
  return target.find_first_not_of("0123456789", prefix.size()) == std::string::npos;
}

// Points `link` at `target`, replacing a leftover symlink of ours atomically (rename).
Status make_symlink(const std::string& link, const std::string& target) {
  std::error_code ec;
  const fs::path p(link);
  fs::create_directories(p.parent_path(), ec);
  if (ec) return make_error(p.parent_path().string() + ": cannot create: " + ec.message());
  struct stat st;
  if (::lstat(link.c_str(), &st) == 0) {
    if (!S_ISLNK(st.st_mode)) {
      return make_error(link + " exists and is not a symlink; refusing to replace it (remove it "
                        "or change `device` in the resource file)");
    }
    std::string old = fs::read_symlink(p, ec).string();
    if (!ec && !is_loop_target(old)) {
      return make_error(link + " is a symlink to " + old +
                        ", not to a loop device of ours; refusing to replace it");
    }
    spdlog::warn("device {}: replacing the stale symlink to {}", link, old);
  }
  const std::string tmp = link + ".tmp-" + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  if (::symlink(target.c_str(), tmp.c_str()) != 0) {
    return make_error(tmp + ": symlink: " + errno_text(errno));
  }
  if (::rename(tmp.c_str(), link.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return make_error(link + ": rename: " + errno_text(err));
  }
  return Status::Ok();
}

// Removes `link` only while it still points at what we made.
void remove_symlink(const std::string& link, const std::string& target) {
  std::error_code ec;
  std::string now = fs::read_symlink(link, ec).string();
  if (ec) return;  // gone already
  if (now != target) {
    spdlog::warn("device {}: now points at {}, not our {}; leaving it", link, now, target);
    return;
  }
  if (::unlink(link.c_str()) != 0) {
    spdlog::warn("device {}: unlink: {}", link, errno_text(errno));
  }
}

}  // namespace

DeviceStack::DeviceStack(DeviceStackOptions options) : options_(std::move(options)) {}

DeviceStack::~DeviceStack() {
  if (!is_up()) return;
  if (Status st = down(); !st) {
    spdlog::error("device {}: {}; tearing down anyway", options_.device_path,
                  st.error().message);
    force_down();
  }
}

std::unique_ptr<DeviceStack> DeviceStack::prepare(DeviceStackOptions options) {
  return std::unique_ptr<DeviceStack>(new DeviceStack(std::move(options)));
}

Result<std::unique_ptr<DeviceStack>> DeviceStack::up(DeviceStackOptions options) {
  auto stack = prepare(std::move(options));
  if (Status s = stack->bring_up(); !s) return s.error();
  return stack;
}

Status DeviceStack::bring_up() {
  DeviceStackOptions& o = options_;
  if (o.device_path.empty() || o.device_path.front() != '/') {
    return make_error("device path '" + o.device_path + "' is not an absolute path");
  }
  if (o.runtime_dir.empty()) return make_error("device: empty runtime directory");
  FuseDeviceOptions fo;
  fo.mount_dir = (fs::path(o.runtime_dir) / "fuse" / o.resource).string();
  fo.file_name = o.resource;
  fo.size_bytes = o.size_bytes;
  fo.handler = o.handler;
  auto fuse = FuseDevice::start(std::move(fo));
  if (!fuse.ok()) return Error{"device " + o.device_path + ": " + fuse.error().message};
  {
    std::lock_guard lock(fuse_mutex_);
    fuse_ = std::move(fuse).value();
  }
  LoopOptions lo;
  lo.block_size = o.block_size;
  auto loop = LoopDevice::attach(fuse_->file_path(), lo);
  if (!loop.ok()) {
    fuse_->stop();
    return Error{"device " + o.device_path + ": " + loop.error().message};
  }
  loop_ = std::move(loop).value();
  if (Status st = make_symlink(o.device_path, loop_.path()); !st) {
    (void)loop_.detach(o.release_timeout);
    fuse_->stop();
    return Error{"device " + o.device_path + ": " + st.error().message};
  }
  symlink_made_ = true;
  up_ = true;
  symlink_target_ = loop_.path();
  spdlog::info("device {} -> {} -> {} up ({} bytes)", o.device_path, loop_.path(),
               fuse_->file_path(), o.size_bytes);
  return Status::Ok();
}

Status DeviceStack::down() {
  if (!is_up()) return Status::Ok();
  if (loop_.attached() && loop_.in_use()) {
    std::string where;
    for (const auto& m : core::find_mounts_of_device(7, static_cast<unsigned>(loop_.number()))) {
      where += (where.empty() ? "" : ", ") + m;
    }
    return make_error("device " + options_.device_path + " (" + loop_.path() + ") is in use: " +
                      (where.empty() ? "held open exclusively by some process"
                                     : "mounted on " + where) +
                      "; unmount it before demoting");
  }
  if (symlink_made_) {
    remove_symlink(options_.device_path, symlink_target_);
    symlink_made_ = false;
  }
  if (Status st = loop_.detach(options_.release_timeout); !st) {
    return make_error("device " + options_.device_path + ": " + st.error().message);
  }
  fuse_->stop();  // the object stays until the destructor: late complete() calls are ignored
  up_ = false;
  ::rmdir(fuse_->mount_dir().c_str());  // best effort: ours, empty once unmounted
  spdlog::info("device {} down", options_.device_path);
  return Status::Ok();
}

void DeviceStack::force_down() {
  if (symlink_made_) {
    remove_symlink(options_.device_path, symlink_target_);
    symlink_made_ = false;
  }
  // LOOP_CLR_FD on a mounted device is deferred by the kernel to the last close; the FUSE stop
  // aborts the connection so the filesystem above fails instead of hanging.
  if (loop_.attached()) (void)loop_.detach(std::chrono::milliseconds(100));
  if (fuse_) {
    fuse_->fail_all_pending(EIO);
    fuse_->stop();
  }
  up_ = false;
}

void DeviceStack::complete(std::uint64_t id, int error, std::span<const std::uint8_t> data) {
  std::lock_guard lock(fuse_mutex_);
  if (fuse_) fuse_->complete(id, error, data);
}

void DeviceStack::fail_all_pending(int error) {
  std::lock_guard lock(fuse_mutex_);
  if (fuse_) fuse_->fail_all_pending(error);
}

std::size_t DeviceStack::pending() const {
  std::lock_guard lock(fuse_mutex_);
  return fuse_ ? fuse_->pending() : 0;
}

std::string DeviceStack::fuse_file_path() const { return up_ ? fuse_->file_path() : ""; }
std::string DeviceStack::fuse_mount_dir() const { return up_ ? fuse_->mount_dir() : ""; }

}  // namespace hapbx::replica
