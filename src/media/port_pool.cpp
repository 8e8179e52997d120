// Port pool bookkeeping.
#include "media/port_pool.h"

namespace hapbx::media {

PortPool::PortPool(uint16_t port_min, uint16_t port_max) {
  uint32_t first = port_min + (port_min & 1u);
  first_ = static_cast<uint16_t>(first);
  for (uint32_t p = first; p + 1 <= port_max && p + 1 <= 65535; p += 2) {
    free_.push_back(static_cast<uint16_t>(p));
  }
  capacity_ = free_.size();
  in_use_.assign(capacity_, false);
}

std::optional<uint16_t> PortPool::acquire() {
  if (free_.empty()) return std::nullopt;
  uint16_t port = free_.front();
  free_.pop_front();
  in_use_[(port - first_) / 2] = true;
  return port;
}

void PortPool::release(uint16_t port) {
  if (port < first_ || (port - first_) % 2 != 0) return;
  std::size_t index = (port - first_) / 2u;
  if (index >= capacity_ || !in_use_[index]) return;
  in_use_[index] = false;
  free_.push_back(port);
}

}  // namespace hapbx::media
