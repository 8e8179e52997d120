// The whole device exposure of one resource, as replicad brings it up on promote and down on
// demote:  engine <- FuseDevice (runtime_dir/fuse/<resource>/<resource>) <- /dev/loopN <-
// device_path symlink (e.g. /dev/hapbx/r0).
//
// Contracts:
// - up(): FUSE mount, loop attach, symlink; on any failure what was built is torn down again.
//   An existing device_path is replaced only if it is a symlink to a /dev/loop* (a leftover of
//   ours); anything else there is refused.
// - down(): refused, naming the mount point, while the loop device is in use (mounted): the
//   caller (clusterd's filesystem agent) unmounts first. Otherwise symlink, loop (waiting until
//   the kernel released the FUSE file), FUSE, in that order. Idempotent.
// - down() blocks until the kernel drained the loop device, so the handler must keep
//   completing requests meanwhile (do not call it from the thread that completes them while I/O
//   may be in flight).
// - The destructor does a best-effort down() that never throws; if the device is still mounted
//   it tears down anyway (the filesystem above then sees I/O errors, as on a crash).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/result.h"
#include "replica/device_request.h"
#include "replica/fuse_device.h"
#include "replica/loop_device.h"

namespace hapbx::replica {

struct DeviceStackOptions {
  std::string runtime_dir;   // e.g. /run/hapbx; the FUSE mount goes to runtime_dir/fuse/<resource>
  std::string resource;      // "r0": the FUSE file's name too
  std::uint64_t size_bytes = 0;
  DeviceRequestHandler* handler = nullptr;  // not owned
  std::string device_path;   // e.g. /dev/hapbx/r0
  std::uint32_t block_size = 4096;
  std::chrono::milliseconds release_timeout = std::chrono::seconds(5);
};

class DeviceStack {
 public:
  static Result<std::unique_ptr<DeviceStack>> up(DeviceStackOptions options);

  ~DeviceStack();
  DeviceStack(const DeviceStack&) = delete;
  DeviceStack& operator=(const DeviceStack&) = delete;

  Status down();
  bool is_up() const { return up_; }

  // Answers a DeviceRequest (forwards to FuseDevice::complete); thread-safe, also while down()
  // runs; ignored after down.
  void complete(std::uint64_t id, int error, std::span<const std::uint8_t> read_data = {});
  void fail_all_pending(int error);
  std::size_t pending() const;

  const std::string& device_path() const { return options_.device_path; }
  const std::string& loop_path() const { return loop_.path(); }  // empty after down
  int loop_number() const { return loop_.number(); }           // -1 after down
  std::string fuse_file_path() const;
  std::string fuse_mount_dir() const;

 private:
  explicit DeviceStack(DeviceStackOptions options);
  void force_down();

  DeviceStackOptions options_;
  std::unique_ptr<FuseDevice> fuse_;  // set in up(), kept (stopped) until the destructor
  bool up_ = false;
  LoopDevice loop_;
  bool symlink_made_ = false;
  std::string symlink_target_;
};

}  // namespace hapbx::replica
