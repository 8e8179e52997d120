// SocketAddress helpers.
#include "media/socket_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace hapbx::media {

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(u.v4.sin_port);
  if (family() == AF_INET6) return ntohs(u.v6.sin6_port);
  return 0;
}

std::string SocketAddress::host() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    ::inet_ntop(AF_INET, &u.v4.sin_addr, text, sizeof text);
  } else if (family() == AF_INET6) {
    // A v4-mapped address is shown as the IPv4 address the SDP named.
    if (IN6_IS_ADDR_V4MAPPED(&u.v6.sin6_addr)) {
      ::inet_ntop(AF_INET, reinterpret_cast<const uint8_t*>(&u.v6.sin6_addr) + 12, text,
                  sizeof text);
    } else {
      ::inet_ntop(AF_INET6, &u.v6.sin6_addr, text, sizeof text);
    }
  }
  return text;
}

bool same_endpoint(const SocketAddress& a, const SocketAddress& b) {
  if (a.len == 0 || b.len == 0 || a.u.sa.sa_family != b.u.sa.sa_family) return false;
  if (a.u.sa.sa_family == AF_INET) {
    return a.u.v4.sin_port == b.u.v4.sin_port && a.u.v4.sin_addr.s_addr == b.u.v4.sin_addr.s_addr;
  }
  return a.u.v6.sin6_port == b.u.v6.sin6_port &&
         std::memcmp(&a.u.v6.sin6_addr, &b.u.v6.sin6_addr, sizeof(in6_addr)) == 0;
}

std::optional<int> address_family(std::string_view ip) {
  if (ip.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char text[INET6_ADDRSTRLEN] = {};
  std::memcpy(text, ip.data(), ip.size());
  in6_addr v6;
  in_addr v4;
  if (::inet_pton(AF_INET, text, &v4) == 1) return AF_INET;
  if (::inet_pton(AF_INET6, text, &v6) == 1) return AF_INET6;
  return std::nullopt;
}

std::optional<SocketAddress> make_address(std::string_view ip, uint16_t port, int family) {
  if (ip.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char text[INET6_ADDRSTRLEN] = {};
  std::memcpy(text, ip.data(), ip.size());
  SocketAddress out;
  in_addr v4;
  if (family == AF_INET) {
    if (::inet_pton(AF_INET, text, &v4) != 1) return std::nullopt;
    out.u.v4.sin_family = AF_INET;
    out.u.v4.sin_port = htons(port);
    out.u.v4.sin_addr = v4;
    out.len = sizeof(sockaddr_in);
    return out;
  }
  if (family != AF_INET6) return std::nullopt;
  out.u.v6.sin6_family = AF_INET6;
  out.u.v6.sin6_port = htons(port);
  if (::inet_pton(AF_INET, text, &v4) == 1) {
    uint8_t* b = reinterpret_cast<uint8_t*>(&out.u.v6.sin6_addr);
    b[10] = 0xff;
    b[11] = 0xff;
    std::memcpy(b + 12, &v4, 4);
  } else if (::inet_pton(AF_INET6, text, &out.u.v6.sin6_addr) != 1) {
    return std::nullopt;
  }
  out.len = sizeof(sockaddr_in6);
  return out;
}

}  // namespace hapbx::media
