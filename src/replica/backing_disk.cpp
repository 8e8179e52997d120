#include "replica/backing_disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace hapbx::replica {

namespace {

std::string os_error(const std::string& path, const std::string& what, int err) {
  return path + ": " + what + ": " + std::strerror(err);
}

std::string at(std::uint64_t length, std::uint64_t offset) {
  return std::to_string(length) + " bytes at offset " + std::to_string(offset);
}

}  // namespace

std::string range_error(const std::string& path, const char* op, std::uint64_t offset,
                        std::uint64_t length, std::uint64_t size) {
  if (offset <= size && length <= size - offset) return {};
  return path + ": " + op + " of " + at(length, offset) + " is beyond the end (size " +
         std::to_string(size) + ")";
}

Result<std::unique_ptr<BackingDisk>> BackingDisk::open(const std::string& path) {
  auto disk = FileBackingDisk::open(path);
  if (!disk.ok()) return disk.error();
  return std::unique_ptr<BackingDisk>(std::move(disk).value());
}

Result<std::unique_ptr<FileBackingDisk>> FileBackingDisk::open(const std::string& path) {
  if (path.empty()) return make_error("backing disk: empty path");
  int fd = -1;
  do {
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return make_error(os_error(path, "cannot open the disk read-write", errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error(os_error(path, "fstat", err));
  }
  std::uint64_t size = 0;
  bool block = false;
  if (S_ISREG(st.st_mode)) {
    size = static_cast<std::uint64_t>(st.st_size);
  } else if (S_ISBLK(st.st_mode)) {
    block = true;
    if (::ioctl(fd, BLKGETSIZE64, &size) != 0) {
      const int err = errno;
      ::close(fd);
      return make_error(os_error(path, "BLKGETSIZE64", err));
    }
  } else {
    ::close(fd);
    return make_error(path + ": not a regular file or a block device");
  }
  return std::unique_ptr<FileBackingDisk>(new FileBackingDisk(path, fd, size, block));
}

FileBackingDisk::~FileBackingDisk() {
  if (fd_ >= 0) ::close(fd_);
}

Status FileBackingDisk::check_range(const char* op, std::uint64_t offset,
                                    std::uint64_t length) const {
  std::string e = range_error(path_, op, offset, length, size_);
  if (!e.empty()) return make_error(std::move(e));
  return Status::Ok();
}

Status FileBackingDisk::read(std::uint64_t offset, std::span<std::uint8_t> out) {
  if (Status s = check_range("read", offset, out.size()); !s.ok()) return s;
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done,
                              static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(os_error(path_, "read of " + at(out.size(), offset), errno));
    }
    if (n == 0) {
      return make_error(path_ + ": read of " + at(out.size(), offset) +
                        ": unexpected end of file at offset " + std::to_string(offset + done) +
                        " (did the file shrink?)");
    }
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

Status FileBackingDisk::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (Status s = check_range("write", offset, data.size()); !s.ok()) return s;
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done,
                               static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(os_error(path_, "write of " + at(data.size(), offset), errno));
    }
    if (n == 0) {
      return make_error(path_ + ": write of " + at(data.size(), offset) +
                        ": no progress at offset " + std::to_string(offset + done));
    }
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

Status FileBackingDisk::flush() {
  int rc = 0;
  do {
    rc = ::fdatasync(fd_);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return make_error(os_error(path_, "fdatasync", errno));
  return Status::Ok();
}

Status FileBackingDisk::write_zeroes(std::uint64_t offset, std::uint64_t length) {
  static const std::vector<std::uint8_t> zeroes(1u << 20, 0);
  while (length > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(length, zeroes.size()));
    if (Status s = write(offset, {zeroes.data(), n}); !s.ok()) return s;
    offset += n;
    length -= n;
  }
  return Status::Ok();
}

Status FileBackingDisk::zero(std::uint64_t offset, std::uint64_t length) {
  if (Status s = check_range("zero", offset, length); !s.ok()) return s;
  if (length == 0) return Status::Ok();
  if (block_device_) {
    // BLKZEROOUT wants 512-byte aligned ranges; anything else (or a device without it) is
    // written out.
    if (offset % 512 == 0 && length % 512 == 0) {
      std::uint64_t range[2] = {offset, length};
      if (::ioctl(fd_, BLKZEROOUT, range) == 0) return Status::Ok();
    }
    return write_zeroes(offset, length);
  }
  int rc = 0;
  do {
    rc = ::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                     static_cast<off_t>(length));
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return Status::Ok();
  if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL) {
    return write_zeroes(offset, length);
  }
  return make_error(os_error(path_, "zero of " + at(length, offset) + " (fallocate)", errno));
}

}  // namespace hapbx::replica
