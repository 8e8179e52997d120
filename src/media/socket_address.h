// A UDP peer address (IPv4 or IPv6) in the form the socket calls take, compared and printed
// without allocation on the relay's hot path (printing allocates, and happens only on changes).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hapbx::media {

struct SocketAddress {
  union {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } u{};
  socklen_t len = 0;  // 0 = no address

  bool empty() const { return len == 0; }
  int family() const { return len == 0 ? AF_UNSPEC : u.sa.sa_family; }
  uint16_t port() const;
  std::string host() const;  // "127.0.0.1", "2001:db8::1"
};

// Same family, address and port. Cheap enough to run per packet.
bool same_endpoint(const SocketAddress& a, const SocketAddress& b);

// Parses an IP literal for a socket of `family` (AF_INET or AF_INET6). An IPv4 literal for an
// IPv6 socket becomes its v4-mapped form (the socket is dual-stack); anything else is nullopt.
std::optional<SocketAddress> make_address(std::string_view ip, uint16_t port, int family);

// The family of an IP literal (AF_INET, AF_INET6), or nullopt if it is not one.
std::optional<int> address_family(std::string_view ip);

}  // namespace hapbx::media
