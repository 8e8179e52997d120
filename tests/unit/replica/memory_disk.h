// Test support for the device edge: a DeviceRequestHandler backed by a std::vector, completing
// requests on its own worker thread (asynchronously, as replicad's engine does), counting what
// it saw, and able to fail reads or to hold requests unanswered. Also the root/FUSE check.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "replica/device_request.h"

namespace hapbx::replica::testing {

// Empty when the device tests can run here, else why not (for GTEST_SKIP).
inline std::string device_tests_unavailable() {
  if (::geteuid() != 0) return "needs root (FUSE mount, loop devices)";
  if (::access("/dev/fuse", R_OK | W_OK) != 0) return "needs /dev/fuse";
  return {};
}

class MemoryDisk : public DeviceRequestHandler {
 public:
  using Completer = std::function<void(std::uint64_t, int, std::span<const std::uint8_t>)>;

  explicit MemoryDisk(std::size_t size) : disk_(size, 0) {
    worker_ = std::thread([this] { run(); });
  }
  ~MemoryDisk() override { stop(); }

  // Where answers go (FuseDevice::complete or DeviceStack::complete); requests wait until set.
  void set_completer(Completer c) {
    {
      std::lock_guard lock(mu_);
      completer_ = std::move(c);
    }
    cv_.notify_all();
  }

  // Stops answering (joins the worker). Call before the device goes away.
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      completer_ = nullptr;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  void on_device_request(DeviceRequest&& r) override {
    {
      std::lock_guard lock(mu_);
      switch (r.kind) {
        case DeviceRequest::Kind::Read: ++reads; break;
        case DeviceRequest::Kind::Write:
          ++writes;
          max_write_length = std::max<std::uint64_t>(max_write_length, r.length);
          break;
        case DeviceRequest::Kind::Flush: ++flushes; break;
        case DeviceRequest::Kind::Zero:
          ++zeros;
          last_zero_offset = r.offset;
          last_zero_length = r.length;
          break;
      }
      if (!hold_) queue_.push_back(std::move(r));
      else held_.push_back(std::move(r));
    }
    cv_.notify_all();
  }

  // Requests arriving from now on are kept unanswered.
  void hold() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }

  std::vector<std::uint8_t> snapshot(std::uint64_t offset, std::uint64_t length) {
    std::lock_guard lock(mu_);
    return {disk_.begin() + static_cast<std::ptrdiff_t>(offset),
            disk_.begin() + static_cast<std::ptrdiff_t>(offset + length)};
  }
  void fill(std::uint8_t byte) {
    std::lock_guard lock(mu_);
    std::fill(disk_.begin(), disk_.end(), byte);
  }

  std::atomic<int> fail_reads_errno{0};   // answer every Read with this errno when non-zero
  std::atomic<int> fail_writes_errno{0};
  std::atomic<std::uint64_t> reads{0}, writes{0}, flushes{0}, zeros{0};
  std::atomic<std::uint64_t> max_write_length{0};
  std::atomic<std::uint64_t> last_zero_offset{0}, last_zero_length{0};

 private:
  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stopping_ || (!queue_.empty() && completer_); });
      if (stopping_) return;
      DeviceRequest r = std::move(queue_.front());
      queue_.pop_front();
      int error = 0;
      std::vector<std::uint8_t> out;
      if (r.offset + r.length > disk_.size()) {
        error = EIO;  // the device must have clipped; a bug if this happens
      } else {
        auto at = disk_.begin() + static_cast<std::ptrdiff_t>(r.offset);
        switch (r.kind) {
          case DeviceRequest::Kind::Read:
            error = fail_reads_errno.load();
            if (error == 0) out.assign(at, at + static_cast<std::ptrdiff_t>(r.length));
            break;
          case DeviceRequest::Kind::Write:
            error = fail_writes_errno.load();
            if (error == 0) std::copy(r.data.begin(), r.data.end(), at);
            break;
          case DeviceRequest::Kind::Zero:
            std::fill(at, at + static_cast<std::ptrdiff_t>(r.length), 0);
            break;
          case DeviceRequest::Kind::Flush:
            break;
        }
      }
      Completer c = completer_;
      lock.unlock();
      if (c) c(r.id, error, out);
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::uint8_t> disk_;
  std::deque<DeviceRequest> queue_;
  std::vector<DeviceRequest> held_;
  bool hold_ = false;
  bool stopping_ = false;
  Completer completer_;
  std::thread worker_;
};

}  // namespace hapbx::replica::testing
