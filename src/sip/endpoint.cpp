// Printing of endpoints for logs and status output.
#include "sip/endpoint.h"

#include <fmt/format.h>

namespace hapbx::sip {

std::string_view to_string(TransportKind kind) { return kind == TransportKind::Udp ? "UDP" : "TCP"; }

std::string to_string(const Endpoint& endpoint) {
  const bool v6 = endpoint.address.find(':') != std::string::npos;
  return fmt::format("{}:{}{}{}:{}", endpoint.transport == TransportKind::Udp ? "udp" : "tcp",
                     v6 ? "[" : "", endpoint.address, v6 ? "]" : "", endpoint.port);
}

}  // namespace hapbx::sip
