// The RTP port pool: even ports of rtp.conf's rtpstart..rtpend (inclusive) whose odd neighbour
// (the RTCP port) is also in the range. Free ports are handed out oldest-released first, so a
// port just closed is reused last and late packets of the old call are unlikely to reach the
// new one — but any free port is available at once (no quarantine). Not thread-safe: the relay
// guards it with its own mutex.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace hapbx::media {

class PortPool {
 public:
  // port_min is rounded up to even; the last pair is the one whose RTCP port is <= port_max.
  PortPool(uint16_t port_min, uint16_t port_max);

  std::optional<uint16_t> acquire();
  // Returns a port acquired before; ignored for ports not out of the pool (double release).
  void release(uint16_t port);

  std::size_t free() const { return free_.size(); }
  std::size_t capacity() const { return capacity_; }
  uint16_t first() const { return first_; }

 private:
  uint16_t first_ = 0;
  std::size_t capacity_ = 0;
  std::deque<uint16_t> free_;
  std::vector<bool> in_use_;  // by pair index
};

}  // namespace hapbx::media
