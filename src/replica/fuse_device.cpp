// The FUSE image file: libfuse3 low-level callbacks, the pending-request map, the session thread
// and mount/unmount. See fuse_device.h for the contracts.
#define FUSE_USE_VERSION 35
#include "replica/fuse_device.h"

#include <fuse_lowlevel.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/log.h"
#include "core/mount_info.h"

namespace hapbx::replica {
namespace {

constexpr fuse_ino_t kRootIno = FUSE_ROOT_ID;  // 1
constexpr fuse_ino_t kFileIno = 2;
constexpr std::uint32_t kMaxWrite = 1u << 20;
constexpr double kAttrTimeout = 60.0;  // nothing about the file ever changes
constexpr auto kInitTimeout = std::chrono::seconds(5);
constexpr auto kUnmountBusyTimeout = std::chrono::seconds(2);

std::string errno_text(int e) { return std::strerror(e); }

// libfuse's own messages go to our log instead of bare stderr.
void fuse_log_to_spdlog(enum fuse_log_level level, const char* fmt, va_list ap) {
  char line[512];
  std::vsnprintf(line, sizeof line, fmt, ap);
  std::size_t n = std::strlen(line);
  while (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
  if (level <= FUSE_LOG_ERR) {
    spdlog::error("libfuse: {}", line);
  } else if (level <= FUSE_LOG_NOTICE) {
    spdlog::warn("libfuse: {}", line);
  } else {
    spdlog::debug("libfuse: {}", line);
  }
}

bool valid_file_name(const std::string& n) {
  return !n.empty() && n.size() <= 255 && n != "." && n != ".." &&
         n.find('/') == std::string::npos && n.find('\0') == std::string::npos;
}

}  // namespace

class FuseDevice::Impl {
 public:
  explicit Impl(FuseDeviceOptions o) : opt(std::move(o)) {}

  FuseDeviceOptions opt;
  std::string mount_dir;  // canonical, absolute
  fuse_session* se = nullptr;
  int wake_fd = -1;
  std::thread thread;
  bool stopped = false;  // owner thread only

  struct Pending {
    fuse_req_t req;
    DeviceRequest::Kind kind;
    std::uint64_t length;
  };
  mutable std::mutex mu;
  std::unordered_map<std::uint64_t, Pending> pending;  // guarded by mu
  std::uint64_t next_id = 1;                           // guarded by mu
  bool closed = false;  // guarded by mu: after stop, nothing may be replied
  bool written = false;  // guarded by mu: a Write or Zero was handed to the handler

  std::mutex init_mu;
  std::condition_variable init_cv;
  bool init_done = false;         // guarded by init_mu
  std::uint32_t max_write = 0;    // written once in init, read after init_done

  // --- requests to the handler ---

  void submit(fuse_req_t req, DeviceRequest&& r) {
    std::uint64_t id = 0;
    {
      std::lock_guard lock(mu);
      if (closed) {
        fuse_reply_err(req, EIO);
        return;
      }
      if (r.kind == DeviceRequest::Kind::Flush && !written) {
        // Nothing was written through us yet, so there is nothing to make durable. This is
        // also what lets LOOP_CONFIGURE (which fsyncs the file) finish while the engine is not
        // yet wired to complete() -- the daemon's loop may be the thread that is attaching.
        fuse_reply_err(req, 0);
        return;
      }
      if (r.kind == DeviceRequest::Kind::Write || r.kind == DeviceRequest::Kind::Zero) {
        written = true;
      }
      id = next_id++;
      pending.emplace(id, Pending{req, r.kind, r.length});
    }
    r.id = id;
    try {
      opt.handler->on_device_request(std::move(r));
    } catch (const std::exception& e) {
      spdlog::error("FUSE device {}: the request handler threw ({}); answering EIO", file_path(),
                    e.what());
      complete(id, EIO, {});
    } catch (...) {
      spdlog::error("FUSE device {}: the request handler threw; answering EIO", file_path());
      complete(id, EIO, {});
    }
  }

  void complete(std::uint64_t id, int error, std::span<const std::uint8_t> data) {
    if (error < 0) error = -error;
    if (error >= 1000) error = EIO;
    std::lock_guard lock(mu);  // held across the reply: stop() must not free the session under us
    auto it = pending.find(id);
    if (it == pending.end()) return;
    Pending p = it->second;
    pending.erase(it);
    if (error != 0) {
      fuse_reply_err(p.req, error);
      return;
    }
    switch (p.kind) {
      case DeviceRequest::Kind::Read:
        if (data.size() < p.length) {
          spdlog::error("FUSE device {}: read request {} completed with {} of {} bytes; EIO",
                        file_path(), id, data.size(), p.length);
          fuse_reply_err(p.req, EIO);
        } else {
          fuse_reply_buf(p.req, reinterpret_cast<const char*>(data.data()), p.length);
        }
        break;
      case DeviceRequest::Kind::Write:
        fuse_reply_write(p.req, p.length);
        break;
      case DeviceRequest::Kind::Flush:
      case DeviceRequest::Kind::Zero:
        fuse_reply_err(p.req, 0);
        break;
    }
  }

  void fail_all(int error) {
    if (error <= 0 || error >= 1000) error = EIO;
    std::lock_guard lock(mu);
    for (auto& [id, p] : pending) fuse_reply_err(p.req, error);
    pending.clear();
  }

  std::string file_path() const { return mount_dir + "/" + opt.file_name; }

  // --- attributes ---

  void fill_attr(fuse_ino_t ino, struct stat& st) const {
    std::memset(&st, 0, sizeof st);
    st.st_ino = ino;
    st.st_uid = 0;
    st.st_gid = 0;
    st.st_blksize = 4096;
    if (ino == kRootIno) {
      st.st_mode = S_IFDIR | 0700;
      st.st_nlink = 2;
    } else {
      st.st_mode = S_IFREG | 0600;
      st.st_nlink = 1;
      st.st_size = static_cast<off_t>(opt.size_bytes);
      st.st_blocks = static_cast<blkcnt_t>(opt.size_bytes / 512);
    }
  }

  // --- the session thread ---

  void run() {
    fuse_buf buf{};
    const int fd = fuse_session_fd(se);
    while (!fuse_session_exited(se)) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
      int r = ::poll(fds, 2, -1);
      if (r < 0) {
        if (errno == EINTR) continue;
        spdlog::error("FUSE device {}: poll: {}", file_path(), errno_text(errno));
        break;
      }
      if (fds[1].revents != 0) break;
      int n = fuse_session_receive_buf(se, &buf);
      if (n == -EINTR || n == -EAGAIN) continue;
      if (n <= 0) {
        if (n < 0) spdlog::error("FUSE device {}: reading /dev/fuse: {}", file_path(), errno_text(-n));
        break;  // 0: unmounted or aborted
      }
      fuse_session_process_buf(se, &buf);
    }
    std::free(buf.mem);
  }
};

// --- libfuse callbacks (C ABI; nothing may throw out of them) ---
namespace {

FuseDevice::Impl* impl_of(fuse_req_t req) {
  return static_cast<FuseDevice::Impl*>(fuse_req_userdata(req));
}

void op_init(void* userdata, fuse_conn_info* conn) {
  auto* d = static_cast<FuseDevice::Impl*>(userdata);
  conn->want &= ~static_cast<unsigned>(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_SPLICE_READ |
                                       FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
  // Several direct-I/O requests of one loop request in flight at once.
  if (conn->capable & FUSE_CAP_ASYNC_DIO) conn->want |= FUSE_CAP_ASYNC_DIO;
  conn->max_write = kMaxWrite;  // libfuse also offers max_pages = max_write / page size
  conn->max_background = 64;    // loop's direct I/O is asynchronous: these are background requests
  conn->congestion_threshold = 48;
  {
    std::lock_guard lock(d->init_mu);
    d->max_write = conn->max_write;
    d->init_done = true;
  }
  d->init_cv.notify_all();
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto* d = impl_of(req);
  if (parent != kRootIno || name == nullptr || d->opt.file_name != name) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_entry_param e{};
  e.ino = kFileIno;
  e.generation = 1;
  e.attr_timeout = kAttrTimeout;
  e.entry_timeout = kAttrTimeout;
  d->fill_attr(kFileIno, e.attr);
  fuse_reply_entry(req, &e);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  if (ino != kRootIno && ino != kFileIno) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  struct stat st;
  impl_of(req)->fill_attr(ino, st);
  fuse_reply_attr(req, &st, kAttrTimeout);
}

// Only timestamps may be "changed" (accepted and forgotten); the size is the disk's.
void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  auto* d = impl_of(req);
  if (ino != kRootIno && ino != kFileIno) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  const int allowed = FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
                      FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME;
  bool same_size = ino == kFileIno && attr != nullptr &&
                   static_cast<std::uint64_t>(attr->st_size) == d->opt.size_bytes;
  if ((to_set & ~allowed & ~FUSE_SET_ATTR_SIZE) != 0 ||
      ((to_set & FUSE_SET_ATTR_SIZE) != 0 && !same_size)) {
    fuse_reply_err(req, EPERM);
    return;
  }
  struct stat st;
  d->fill_attr(ino, st);
  fuse_reply_attr(req, &st, kAttrTimeout);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino == kRootIno) {
    fuse_reply_err(req, EISDIR);
    return;
  }
  if (ino != kFileIno) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fi->direct_io = 1;
  fi->keep_cache = 0;
  // No FUSE_FLUSH on close: it means nothing for a disk, and a close that waits on our thread
  // deadlocks this very process at exit (its fds are closed after the FUSE thread is gone).
  fi->noflush = 1;
  fi->fh = 0;
  fuse_reply_open(req, fi);
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  auto* d = impl_of(req);
  if (ino != kFileIno) {
    fuse_reply_err(req, ino == kRootIno ? EISDIR : EBADF);
    return;
  }
  if (off < 0) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  const auto offset = static_cast<std::uint64_t>(off);
  if (offset >= d->opt.size_bytes || size == 0) {
    fuse_reply_buf(req, nullptr, 0);  // end of the disk
    return;
  }
  DeviceRequest r;
  r.kind = DeviceRequest::Kind::Read;
  r.offset = offset;
  r.length = std::min<std::uint64_t>(size, d->opt.size_bytes - offset);
  d->submit(req, std::move(r));
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
              fuse_file_info*) {
  auto* d = impl_of(req);
  if (ino != kFileIno) {
    fuse_reply_err(req, EBADF);
    return;
  }
  if (off < 0) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  if (size == 0) {
    fuse_reply_write(req, 0);
    return;
  }
  const auto offset = static_cast<std::uint64_t>(off);
  if (offset >= d->opt.size_bytes) {
    fuse_reply_err(req, ENOSPC);
    return;
  }
  DeviceRequest r;
  r.kind = DeviceRequest::Kind::Write;
  r.offset = offset;
  r.length = std::min<std::uint64_t>(size, d->opt.size_bytes - offset);
  r.data.assign(reinterpret_cast<const std::uint8_t*>(buf),
                reinterpret_cast<const std::uint8_t*>(buf) + r.length);
  d->submit(req, std::move(r));
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int /*datasync*/, fuse_file_info*) {
  if (ino != kFileIno) {
    fuse_reply_err(req, 0);
    return;
  }
  DeviceRequest r;
  r.kind = DeviceRequest::Kind::Flush;
  impl_of(req)->submit(req, std::move(r));
}

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
                  fuse_file_info*) {
  auto* d = impl_of(req);
  if (ino != kFileIno) {
    fuse_reply_err(req, ino == kRootIno ? EISDIR : EBADF);
    return;
  }
  if (off < 0 || len <= 0) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  const bool punch = (mode & FALLOC_FL_PUNCH_HOLE) != 0;
  const bool zero = (mode & FALLOC_FL_ZERO_RANGE) != 0;
  const bool keep_size = (mode & FALLOC_FL_KEEP_SIZE) != 0;
  if ((mode & ~(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE)) != 0 ||
      (punch && zero) || (punch && !keep_size)) {
    fuse_reply_err(req, EOPNOTSUPP);
    return;
  }
  const auto offset = static_cast<std::uint64_t>(off);
  const auto length = static_cast<std::uint64_t>(len);
  const std::uint64_t size = d->opt.size_bytes;
  const bool past_end = offset >= size || length > size - offset;
  if (!punch && !zero) {
    // Plain preallocation: every byte of the disk is always "allocated".
    fuse_reply_err(req, past_end && !keep_size ? EOPNOTSUPP : 0);
    return;
  }
  if (offset >= size || (past_end && !keep_size)) {
    fuse_reply_err(req, EINVAL);  // like fallocate on a block device
    return;
  }
  DeviceRequest r;
  r.kind = DeviceRequest::Kind::Zero;
  r.offset = offset;
  r.length = std::min(length, size - offset);
  d->submit(req, std::move(r));
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }
void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino != kRootIno) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  fuse_reply_open(req, fi);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  auto* d = impl_of(req);
  if (ino != kRootIno) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  struct Entry {
    const char* name;
    fuse_ino_t ino;
    mode_t mode;
  };
  const Entry entries[] = {{".", kRootIno, S_IFDIR},
                           {"..", kRootIno, S_IFDIR},
                           {d->opt.file_name.c_str(), kFileIno, S_IFREG}};
  std::vector<char> out(std::min<size_t>(size, 64 * 1024));
  size_t used = 0;
  for (off_t i = std::max<off_t>(off, 0); i < 3; ++i) {
    struct stat st {};
    st.st_ino = entries[i].ino;
    st.st_mode = entries[i].mode;
    size_t need = fuse_add_direntry(req, out.data() + used, out.size() - used, entries[i].name,
                                    &st, i + 1);
    if (need > out.size() - used) break;
    used += need;
  }
  fuse_reply_buf(req, out.data(), used);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }
void op_fsyncdir(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) { fuse_reply_err(req, 0); }

void op_statfs(fuse_req_t req, fuse_ino_t) {
  auto* d = impl_of(req);
  struct statvfs s {};
  s.f_bsize = 4096;
  s.f_frsize = 4096;
  s.f_blocks = d->opt.size_bytes / 4096;
  s.f_files = 2;
  s.f_namemax = 255;
  fuse_reply_statfs(req, &s);
}

fuse_lowlevel_ops make_ops() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.open = op_open;
  ops.read = op_read;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.release = op_release;
  ops.fsync = op_fsync;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.releasedir = op_releasedir;
  ops.fsyncdir = op_fsyncdir;
  ops.statfs = op_statfs;
  ops.fallocate = op_fallocate;
  return ops;
}

// A FUSE mount whose server died answers ENOTCONN: detach it so we can mount again.
Status clear_stale_mount(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0 || errno != ENOTCONN) return Status::Ok();
  spdlog::warn("FUSE device: {} is a stale FUSE mount left by a crashed run (ENOTCONN); "
               "unmounting it lazily",
               dir);
  if (::umount2(dir.c_str(), MNT_DETACH) != 0) {
    return make_error(dir + ": stale FUSE mount (ENOTCONN) and lazy unmount failed: " +
                      errno_text(errno));
  }
  return Status::Ok();
}

}  // namespace

// --- FuseDevice ---

FuseDevice::FuseDevice(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FuseDevice::~FuseDevice() { stop(); }

Result<std::unique_ptr<FuseDevice>> FuseDevice::start(FuseDeviceOptions options) {
  if (options.handler == nullptr) return make_error("FUSE device: no request handler");
  if (options.mount_dir.empty()) return make_error("FUSE device: empty mount directory");
  if (!valid_file_name(options.file_name)) {
    return make_error("FUSE device: bad file name '" + options.file_name +
                      "' (one path component expected)");
  }
  if (options.size_bytes == 0 || options.size_bytes % 4096 != 0) {
    return make_error("FUSE device: size " + std::to_string(options.size_bytes) +
                      " bytes is not a positive multiple of 4096");
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string dir = fs::absolute(options.mount_dir, ec).lexically_normal().string();
  if (ec) return make_error(options.mount_dir + ": " + ec.message());
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (Status st = clear_stale_mount(dir); !st) return st.error();
  fs::create_directories(dir, ec);
  if (ec) return make_error(dir + ": cannot create the FUSE mount directory: " + ec.message());
  dir = fs::canonical(dir, ec).string();
  if (ec) return make_error(options.mount_dir + ": " + ec.message());
  if (auto mounts = core::read_mount_info(); mounts.ok()) {
    for (const auto& m : *mounts) {
      if (m.mount_point == dir) {
        return make_error(dir + ": already has a " + m.fstype + " mount (" + m.source +
                          "); is another replicad running? unmount it first");
      }
    }
  }

  static std::once_flag log_once;
  std::call_once(log_once, [] { fuse_set_log_func(fuse_log_to_spdlog); });

  auto impl = std::make_unique<Impl>(std::move(options));
  impl->mount_dir = dir;
  const std::string fsname = "fsname=hapbx-" + impl->opt.file_name +
                             ",subtype=hapbx,default_permissions";
  char arg0[] = "replicad";
  char arg1[] = "-o";
  std::string arg2 = fsname;
  char* argv[] = {arg0, arg1, arg2.data(), nullptr};
  fuse_args args = FUSE_ARGS_INIT(3, argv);
  const fuse_lowlevel_ops ops = make_ops();
  impl->se = fuse_session_new(&args, &ops, sizeof ops, impl.get());
  fuse_opt_free_args(&args);
  if (impl->se == nullptr) return make_error(dir + ": cannot create the FUSE session");
  if (fuse_session_mount(impl->se, dir.c_str()) != 0) {
    fuse_session_destroy(impl->se);
    impl->se = nullptr;
    return make_error(dir + ": FUSE mount failed (is /dev/fuse there and are we root?)");
  }
  const int fd = fuse_session_fd(impl->se);
  ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  impl->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  auto device = std::unique_ptr<FuseDevice>(new FuseDevice(std::move(impl)));
  Impl* d = device->impl_.get();
  if (d->wake_fd < 0) {
    return make_error(dir + ": eventfd: " + errno_text(errno));  // ~FuseDevice unmounts
  }
  d->thread = std::thread([d] { d->run(); });
  {
    std::unique_lock lock(d->init_mu);
    if (!d->init_cv.wait_for(lock, kInitTimeout, [d] { return d->init_done; })) {
      lock.unlock();
      return make_error(dir + ": the kernel did not complete the FUSE handshake in 5 s");
    }
  }
  spdlog::info("FUSE device {} up: {} bytes, direct I/O, max write {} bytes", d->file_path(),
               d->opt.size_bytes, d->max_write);
  return device;
}

void FuseDevice::complete(std::uint64_t id, int error, std::span<const std::uint8_t> read_data) {
  impl_->complete(id, error, read_data);
}

void FuseDevice::fail_all_pending(int error) { impl_->fail_all(error); }

std::size_t FuseDevice::pending() const {
  std::lock_guard lock(impl_->mu);
  return impl_->pending.size();
}

std::string FuseDevice::file_path() const { return impl_->file_path(); }
const std::string& FuseDevice::mount_dir() const { return impl_->mount_dir; }
std::uint64_t FuseDevice::size_bytes() const { return impl_->opt.size_bytes; }

std::uint32_t FuseDevice::negotiated_max_write() const {
  std::lock_guard lock(impl_->init_mu);
  return impl_->max_write;
}

void FuseDevice::stop() {
  Impl* d = impl_.get();
  if (d == nullptr || d->stopped) return;
  d->stopped = true;
  if (d->thread.joinable()) {
    // A clean unmount while the thread still serves: the kernel then ends the connection and
    // the thread sees ENODEV. EBUSY means the file is still open (a loop device not yet
    // released): retry a little, then detach lazily; closing /dev/fuse below aborts the rest.
    const auto deadline = std::chrono::steady_clock::now() + kUnmountBusyTimeout;
    bool clean = false;
    int err = 0;
    for (;;) {
      if (::umount2(d->mount_dir.c_str(), 0) == 0) {
        clean = true;
        break;
      }
      err = errno;
      if (err != EBUSY || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!clean) {
      spdlog::warn("FUSE device {}: still in use at stop ({}); detaching the mount and aborting "
                   "the connection: whoever holds the file gets I/O errors",
                   d->file_path(), errno_text(err));
      ::umount2(d->mount_dir.c_str(), MNT_DETACH);
    }
    std::uint64_t one = 1;
    if (::write(d->wake_fd, &one, sizeof one) < 0) {
      spdlog::error("FUSE device {}: waking the FUSE thread: {}", d->file_path(),
                    errno_text(errno));
    }
    d->thread.join();
  }
  d->fail_all(EIO);
  {
    std::lock_guard lock(d->mu);
    d->closed = true;
  }
  if (d->se != nullptr) {
    fuse_session_unmount(d->se);  // closes /dev/fuse: the connection ends for good
    fuse_session_destroy(d->se);
    d->se = nullptr;
  }
  if (d->wake_fd >= 0) ::close(d->wake_fd);
  d->wake_fd = -1;
  spdlog::info("FUSE device {} stopped", d->file_path());
}

}  // namespace hapbx::replica
