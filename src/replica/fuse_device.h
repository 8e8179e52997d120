// The replicated disk as one FUSE file: a tiny filesystem (libfuse3 low-level API) with a root
// directory holding one regular file of the device's size, whose reads, writes, fsyncs and
// discards become DeviceRequests for the engine. loop_device.h attaches that file to a loop
// device; device_stack.h does the whole exposure.
//
// Contracts:
// - The file is opened with direct_io (no page cache in FUSE, so every write reaches the engine
//   and the loop device can use direct I/O), writeback cache off, max_write 1 MiB.
// - fsync/fdatasync -> Flush, except before the first Write/Zero (nothing to make durable: the
//   Flush is answered here; this lets LOOP_CONFIGURE, which fsyncs the file, finish before the
//   engine is wired to complete()). fallocate PUNCH_HOLE / ZERO_RANGE -> Zero. FUSE `flush` (close)
//   and fsyncdir are answered here.
// - Like a block device: reads past the end are clipped (EOF at the end), writes past the end
//   are clipped (short write), a write starting at or past the end is ENOSPC.
// - Read/Write/Flush/Zero are answered asynchronously by complete(), callable from any thread.
//   A Read must be completed with exactly `length` bytes (fewer is answered EIO).
// - Threads: one FUSE thread reads the kernel's requests and calls the handler; complete(),
//   fail_all_pending(), pending() are thread-safe; start/stop/destructor from the owner only.
// - A mount directory left behind by a crashed run (ENOTCONN) is lazily unmounted first.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/result.h"
#include "replica/device_request.h"

namespace hapbx::replica {

struct FuseDeviceOptions {
  std::string mount_dir;          // created if missing; must not be mounted already
  std::string file_name = "r0";   // one path component
  std::uint64_t size_bytes = 0;   // > 0, a multiple of 4096
  DeviceRequestHandler* handler = nullptr;  // not owned; must outlive the FuseDevice
};

class FuseDevice {
 public:
  // Mounts the filesystem and waits (bounded) until the kernel finished the FUSE handshake.
  static Result<std::unique_ptr<FuseDevice>> start(FuseDeviceOptions options);

  ~FuseDevice();  // stop()
  FuseDevice(const FuseDevice&) = delete;
  FuseDevice& operator=(const FuseDevice&) = delete;

  // Answers request `id`. error: 0 or a positive errno. read_data: the bytes of a Read. An
  // unknown id (already completed, failed by fail_all_pending, or after stop) is ignored.
  void complete(std::uint64_t id, int error, std::span<const std::uint8_t> read_data = {});

  // Answers every pending request with `error` (positive errno), e.g. EIO on shutdown.
  void fail_all_pending(int error);

  std::size_t pending() const;
  std::string file_path() const;  // mount_dir/file_name
  const std::string& mount_dir() const;
  std::uint64_t size_bytes() const;
  // What the kernel agreed to in the handshake (for logs and tests).
  std::uint32_t negotiated_max_write() const;

  // Unmounts and joins the FUSE thread; pending requests are failed with EIO. If the file is
  // still held open (e.g. by a loop device), the mount is detached lazily and the connection
  // aborted, so whoever holds it gets errors from then on. Idempotent.
  void stop();

  class Impl;

 private:
  explicit FuseDevice(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hapbx::replica
