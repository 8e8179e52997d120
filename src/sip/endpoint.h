// Where a SIP message came from or goes to. Pure value type: the protocol cores speak in
// endpoints, the transport drivers turn them into sockets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hapbx::sip {

enum class TransportKind { Udp, Tcp };

std::string_view to_string(TransportKind kind);  // "UDP" / "TCP"

struct Endpoint {
  TransportKind transport = TransportKind::Udp;
  std::string address;  // numeric IPv4 or IPv6 address, without brackets
  uint16_t port = 0;
  // For TCP: the connection a request arrived on, so responses reuse it (RFC 3261 18.2.2).
  // 0 means "no particular connection" (open or pick one).
  uint64_t connection_id = 0;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// "udp:198.18.0.100:5060" for logs.
std::string to_string(const Endpoint& endpoint);

}  // namespace hapbx::sip
