// Test helpers for O_DIRECT I/O on the device tests: a 4096-aligned buffer and an owned fd.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>

namespace hapbx::replica::testing {

struct AlignedBuf {
  explicit AlignedBuf(std::size_t n) : size(n) {
    void* p = nullptr;
    if (::posix_memalign(&p, 4096, n) == 0) data = static_cast<std::uint8_t*>(p);
  }
  ~AlignedBuf() { std::free(data); }
  AlignedBuf(const AlignedBuf&) = delete;
  AlignedBuf& operator=(const AlignedBuf&) = delete;
  std::uint8_t* data = nullptr;
  std::size_t size;
};

struct Fd {
  explicit Fd(int f = -1) : fd(f) {}
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int fd;
};

}  // namespace hapbx::replica::testing
