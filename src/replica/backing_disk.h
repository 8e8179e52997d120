// The backing disk of a resource: the data area (and, for internal metadata, the metadata area
// at its end) as a random-access byte store. One interface with two implementations:
//   FileBackingDisk - an image file or a block device (the edge: pread/pwrite/fdatasync);
//   MemoryDisk      - in memory, with fault injection and power-loss modelling (memory_disk.h),
//                     for the unit tests and the deterministic simulation.
//
// Contracts:
//  - read/write/zero of a range that does not lie inside [0, size()) is an error, never a partial
//    access. Errors name the path, the operation, the offset and the OS error.
//  - write() may be volatile until flush() returns (a power loss may drop or tear any write not
//    followed by a successful flush). flush() makes every completed write durable.
//  - Calls may come from several threads (the file version is pread/pwrite based; MemoryDisk locks).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/result.h"

namespace hapbx::replica {

class BackingDisk {
 public:
  virtual ~BackingDisk() = default;

  // An existing image file or block device, opened read-write (O_CLOEXEC). Its size is the file
  // size or BLKGETSIZE64. The path must exist: images are made by the admin (truncate -s) or
  // `hapbx lab`.
  static Result<std::unique_ptr<BackingDisk>> open(const std::string& path);

  virtual std::uint64_t size() const = 0;
  virtual Status read(std::uint64_t offset, std::span<std::uint8_t> out) = 0;
  virtual Status write(std::uint64_t offset, std::span<const std::uint8_t> data) = 0;
  virtual Status flush() = 0;  // fdatasync
  // Makes the range read as zeroes (discard where the device supports it).
  virtual Status zero(std::uint64_t offset, std::uint64_t length) = 0;
  virtual int fd() const = 0;  // -1 when there is no file descriptor (MemoryDisk)
  virtual const std::string& path() const = 0;  // for messages
};

using BackingDiskPtr = std::unique_ptr<BackingDisk>;

class FileBackingDisk final : public BackingDisk {
 public:
  static Result<std::unique_ptr<FileBackingDisk>> open(const std::string& path);
  ~FileBackingDisk() override;
  FileBackingDisk(const FileBackingDisk&) = delete;
  FileBackingDisk& operator=(const FileBackingDisk&) = delete;

  std::uint64_t size() const override { return size_; }
  Status read(std::uint64_t offset, std::span<std::uint8_t> out) override;
  Status write(std::uint64_t offset, std::span<const std::uint8_t> data) override;
  Status flush() override;
  Status zero(std::uint64_t offset, std::uint64_t length) override;
  int fd() const override { return fd_; }
  const std::string& path() const override { return path_; }
  bool is_block_device() const { return block_device_; }

 private:
  FileBackingDisk(std::string path, int fd, std::uint64_t size, bool block_device)
      : path_(std::move(path)), fd_(fd), size_(size), block_device_(block_device) {}
  Status check_range(const char* op, std::uint64_t offset, std::uint64_t length) const;
  Status write_zeroes(std::uint64_t offset, std::uint64_t length);

  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  bool block_device_ = false;
};

// "read of 4096 bytes at offset 8192 is beyond the end of /x (size 4096)" or "" when inside.
std::string range_error(const std::string& path, const char* op, std::uint64_t offset,
                        std::uint64_t length, std::uint64_t size);

}  // namespace hapbx::replica
