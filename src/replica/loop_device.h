// A loop device over one file, attached and detached by number: the block device the kernel's
// filesystems see while we are Primary (here: over the FUSE image file of fuse_device.h).
//
// Contracts:
// - Loop devices are global (not per namespace): we only ever touch the number we attached, and
//   before LOOP_CLR_FD we check it still holds our file (inode and device).
// - Direct I/O is required (a buffered loop over FUSE can deadlock in writeback): attach fails
//   if the kernel does not turn it on. No partition scan, no autoclear (detach() is explicit).
// - detach() returns once the kernel has released the backing file (or fails at the deadline),
//   so the FUSE mount under it can then be unmounted.
// - Owner thread only. The destructor detaches (best effort, logged) if still attached.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "core/result.h"

namespace hapbx::replica {

struct LoopOptions {
  std::uint32_t block_size = 4096;  // logical block size of the loop device (512..4096)
  bool read_only = false;
};

class LoopDevice {
 public:
  LoopDevice() = default;  // not attached
  ~LoopDevice();
  LoopDevice(LoopDevice&& other) noexcept;
  LoopDevice& operator=(LoopDevice&& other) noexcept;
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;

  // Attaches `file` to a free loop device (LOOP_CTL_GET_FREE + LOOP_CONFIGURE, or the older
  // LOOP_SET_FD + LOOP_SET_STATUS64 + LOOP_SET_BLOCK_SIZE + LOOP_SET_DIRECT_IO), retrying when
  // another process grabs the same free device first.
  static Result<LoopDevice> attach(const std::string& file, LoopOptions options = {});

  // LOOP_CLR_FD, then waits until /sys/block/loopN/loop/backing_file is gone. Fails (and stays
  // attached, so it may be retried) when the device is held open elsewhere. Idempotent.
  Status detach(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // True while someone holds the device exclusively (a mounted filesystem, mkfs, a holder
  // device): open(O_EXCL) fails with EBUSY.
  bool in_use() const;

  bool attached() const { return number_ >= 0; }
  int number() const { return number_; }          // -1 when not attached
  const std::string& path() const { return path_; }  // "/dev/loopN"
  const std::string& backing_file() const { return file_; }
  std::uint32_t block_size() const { return block_size_; }

 private:
  int number_ = -1;
  std::string path_;
  std::string file_;
  dev_t file_dev_ = 0;
  ino_t file_ino_ = 0;
  std::uint32_t block_size_ = 0;
  std::string sys_backing_;  // /sys/block/loopN/loop/backing_file as the kernel wrote it
};

}  // namespace hapbx::replica
