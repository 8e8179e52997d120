// The VIP agent (see vip_agent.h): rtnetlink through libnl-route for the address, getifaddrs for
// its presence, a raw packet socket for gratuitous ARP and a raw ICMPv6 socket for unsolicited
// neighbour advertisements.
#include "cluster/vip_agent.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

namespace hapbx::cluster {
namespace {

struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

Error fail(const VipSpec& vip, const std::string& what) {
  return make_error(fmt::format("VIP {}: {}", vip.text(), what));
}

struct NlSocket {
  nl_sock* sock = nullptr;
  ~NlSocket() {
    if (sock) nl_socket_free(sock);
  }
};

// The rtnl_addr for `vip`, or an error.
Result<std::shared_ptr<rtnl_addr>> make_addr(const VipSpec& vip) {
  const unsigned index = if_nametoindex(vip.interface.c_str());
  if (index == 0) return fail(vip, fmt::format("no interface '{}' here", vip.interface));
  const int family = vip.ipv6() ? AF_INET6 : AF_INET;
  nl_addr* local = nullptr;
  const std::string text = fmt::format("{}/{}", vip.address, vip.prefix_length);
  if (nl_addr_parse(text.c_str(), family, &local) < 0 || !local)
    return fail(vip, fmt::format("'{}' is not an {} address", text, vip.ipv6() ? "IPv6" : "IPv4"));
  std::shared_ptr<rtnl_addr> addr(rtnl_addr_alloc(), [](rtnl_addr* a) { rtnl_addr_put(a); });
  rtnl_addr_set_ifindex(addr.get(), static_cast<int>(index));
  rtnl_addr_set_family(addr.get(), family);
  const int rc = rtnl_addr_set_local(addr.get(), local);
  nl_addr_put(local);
  if (rc < 0) return fail(vip, std::string("libnl: ") + nl_geterror(rc));
  rtnl_addr_set_prefixlen(addr.get(), vip.prefix_length);
  if (vip.ipv6()) rtnl_addr_set_flags(addr.get(), IFA_F_NODAD);  // usable at once: no DAD wait
  if (!vip.label.empty() && !vip.ipv6()) rtnl_addr_set_label(addr.get(), vip.label.c_str());
  return addr;
}

Result<std::unique_ptr<NlSocket>> connect_route() {
  auto s = std::make_unique<NlSocket>();
  s->sock = nl_socket_alloc();
  if (!s->sock) return make_error("netlink: out of memory");
  if (int rc = nl_connect(s->sock, NETLINK_ROUTE); rc < 0)
    return make_error(std::string("netlink: cannot connect: ") + nl_geterror(rc));
  return s;
}

Result<std::array<std::uint8_t, 6>> interface_mac(const VipSpec& vip, int fd) {
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", vip.interface.c_str());
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
    return fail(vip, fmt::format("cannot read the MAC address of {}: {}", vip.interface, std::strerror(errno)));
  std::array<std::uint8_t, 6> mac{};
  std::memcpy(mac.data(), ifr.ifr_hwaddr.sa_data, mac.size());
  return mac;
}

// One gratuitous ARP frame: op 1 (request) or 2 (reply), sender = target = the VIP.
std::array<std::uint8_t, 60> arp_frame(const std::array<std::uint8_t, 6>& mac, in_addr ip, std::uint16_t op) {
  std::array<std::uint8_t, 60> f{};  // padded to the Ethernet minimum
  std::memset(f.data(), 0xFF, 6);    // to everyone
  std::memcpy(f.data() + 6, mac.data(), 6);
  f[12] = 0x08, f[13] = 0x06;        // ARP
  std::uint8_t* a = f.data() + 14;
  a[0] = 0, a[1] = 1;                // Ethernet
  a[2] = 0x08, a[3] = 0x00;          // IPv4
  a[4] = 6, a[5] = 4;
  a[6] = 0, a[7] = static_cast<std::uint8_t>(op);
  std::memcpy(a + 8, mac.data(), 6);
  std::memcpy(a + 14, &ip, 4);
  if (op == 2) std::memset(a + 18, 0xFF, 6);  // as send_arp: a reply to the broadcast address
  std::memcpy(a + 24, &ip, 4);
  return f;
}

Status announce_ipv4(const VipSpec& vip, const AnnounceOptions& o) {
  in_addr ip{};
  if (inet_pton(AF_INET, vip.address.c_str(), &ip) != 1) return fail(vip, "not an IPv4 address");
  FdCloser s{::socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ARP))};
  if (s.fd < 0) return fail(vip, fmt::format("raw packet socket: {}", std::strerror(errno)));
  auto mac = interface_mac(vip, s.fd);
  if (!mac) return mac.error();
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = static_cast<int>(if_nametoindex(vip.interface.c_str()));
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xFF, 6);
  for (int round = 0; round < o.repeats; ++round) {
    if (round > 0) std::this_thread::sleep_for(o.interval);
    for (std::uint16_t op : {std::uint16_t{1}, std::uint16_t{2}}) {
      const auto frame = arp_frame(*mac, ip, op);
      if (::sendto(s.fd, frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0)
        return fail(vip, fmt::format("sending gratuitous ARP on {}: {}", vip.interface, std::strerror(errno)));
    }
  }
  return {};
}

Status announce_ipv6(const VipSpec& vip, const AnnounceOptions& o) {
  in6_addr ip{};
  if (inet_pton(AF_INET6, vip.address.c_str(), &ip) != 1) return fail(vip, "not an IPv6 address");
  const unsigned index = if_nametoindex(vip.interface.c_str());
  if (index == 0) return fail(vip, fmt::format("no interface '{}' here", vip.interface));
  FdCloser s{::socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)};
  if (s.fd < 0) return fail(vip, fmt::format("raw ICMPv6 socket: {}", std::strerror(errno)));
  FdCloser probe{::socket(AF_INET, SOCK_DGRAM, 0)};
  auto mac = interface_mac(vip, probe.fd);
  if (!mac) return mac.error();
  int hops = 255;  // RFC 4861 7.1.2: a neighbour advertisement must carry hop limit 255
  setsockopt(s.fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops);
  setsockopt(s.fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops);
  setsockopt(s.fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof index);
  sockaddr_in6 from{};
  from.sin6_family = AF_INET6;
  from.sin6_addr = ip;
  from.sin6_scope_id = index;
  if (::bind(s.fd, reinterpret_cast<const sockaddr*>(&from), sizeof from) < 0)
    return fail(vip, fmt::format("binding to the VIP for the advertisement: {}", std::strerror(errno)));
  // RFC 4861 4.4: type 136, flags (override; not router, not solicited), target, then the
  // target link-layer address option. The kernel fills in the checksum of raw ICMPv6.
  std::array<std::uint8_t, 32> na{};
  na[0] = ND_NEIGHBOR_ADVERT;
  na[4] = 0x20;  // O
  std::memcpy(na.data() + 8, &ip, 16);
  na[24] = ND_OPT_TARGET_LINKADDR;
  na[25] = 1;  // in units of 8 bytes
  std::memcpy(na.data() + 26, mac->data(), 6);
  sockaddr_in6 to{};
  to.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
  to.sin6_scope_id = index;
  for (int round = 0; round < o.repeats; ++round) {
    if (round > 0) std::this_thread::sleep_for(o.interval);
    if (::sendto(s.fd, na.data(), na.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0)
      return fail(vip, fmt::format("sending the neighbour advertisement on {}: {}", vip.interface, std::strerror(errno)));
  }
  return {};
}

}  // namespace

std::string VipSpec::text() const { return fmt::format("{}/{} on {}", address, prefix_length, interface); }

Status vip_add(const VipSpec& vip) {
  auto addr = make_addr(vip);
  if (!addr) return addr.error();
  auto sock = connect_route();
  if (!sock) return sock.error();
  const int rc = rtnl_addr_add((*sock)->sock, addr->get(), 0);
  if (rc < 0 && rc != -NLE_EXIST) return fail(vip, std::string("cannot add it: ") + nl_geterror(rc));
  return {};
}

Status vip_remove(const VipSpec& vip) {
  auto addr = make_addr(vip);
  if (!addr) return addr.error();
  auto sock = connect_route();
  if (!sock) return sock.error();
  const int rc = rtnl_addr_delete((*sock)->sock, addr->get(), 0);
  if (rc < 0 && rc != -NLE_NOADDR && rc != -NLE_OBJ_NOTFOUND && rc != -NLE_NODEV)
    return fail(vip, std::string("cannot remove it: ") + nl_geterror(rc));
  return {};
}

Result<bool> vip_present(const VipSpec& vip) {
  if (if_nametoindex(vip.interface.c_str()) == 0) return fail(vip, fmt::format("no interface '{}' here", vip.interface));
  in6_addr want6{};
  in_addr want4{};
  const bool v6 = vip.ipv6();
  if (v6 ? inet_pton(AF_INET6, vip.address.c_str(), &want6) != 1 : inet_pton(AF_INET, vip.address.c_str(), &want4) != 1)
    return fail(vip, "not a valid address");
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) < 0) return fail(vip, fmt::format("getifaddrs: {}", std::strerror(errno)));
  bool found = false;
  for (ifaddrs* i = list; i && !found; i = i->ifa_next) {
    if (!i->ifa_addr || !i->ifa_name) continue;
    // A labelled IPv4 address ("eth0:0") is listed under its label.
    const bool on_interface = vip.interface == i->ifa_name || (!vip.label.empty() && vip.label == i->ifa_name);
    if (!on_interface) continue;
    if (v6 && i->ifa_addr->sa_family == AF_INET6) {
      found = std::memcmp(&reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, &want6, sizeof want6) == 0;
    } else if (!v6 && i->ifa_addr->sa_family == AF_INET) {
      found = reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr == want4.s_addr;
    }
  }
  freeifaddrs(list);
  return found;
}

Status vip_announce(const VipSpec& vip, const AnnounceOptions& options) {
  return vip.ipv6() ? announce_ipv6(vip, options) : announce_ipv4(vip, options);
}

}  // namespace hapbx::cluster
