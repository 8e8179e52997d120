// What the exposed block device asks of replicad's engine. The device edge (fuse_device.h) turns
// each kernel request on the FUSE image file into one DeviceRequest and hands it to a
// DeviceRequestHandler; the engine answers later, from any thread, with FuseDevice::complete(id,
// ...). Offsets and lengths are in bytes and already clipped to the device size; with the loop
// device at block size 4096 they are 4096-aligned, but the handler must not crash on anything
// else (a process may use the FUSE file directly).
#pragma once

#include <cstdint>
#include <vector>

namespace hapbx::replica {

struct DeviceRequest {
  enum class Kind {
    Read,   // return `length` bytes from `offset`
    Write,  // store `data` (data.size() == length) at `offset`
    Flush,  // make every write completed before this request durable (fsync); offset/length 0
    Zero,   // the range reads back as zeros afterwards (discard / write-zeroes / punch hole)
  };
  Kind kind = Kind::Read;
  std::uint64_t id = 0;  // pass back to complete(); unique while the request is pending
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::vector<std::uint8_t> data;  // Write only
};

// Called on the FUSE thread, one request at a time. Must not block long (the kernel waits on this
// thread for every other request): the daemon posts the request to its loop and returns. Every
// request must be completed exactly once, possibly from another thread, possibly before
// on_device_request returns.
class DeviceRequestHandler {
 public:
  virtual ~DeviceRequestHandler() = default;
  virtual void on_device_request(DeviceRequest&& r) = 0;
};

}  // namespace hapbx::replica
