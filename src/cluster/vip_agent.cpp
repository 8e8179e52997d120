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

#include <poll.h>
#include <spdlog/spdlog.h>

namespace hapbx::cluster {
namespace {

struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

// A packet socket's close waits for an RCU grace period (the kernel's packet_release calls
// synchronize_net): 10-20 ms measured in the lab, on the takeover's critical path. The socket
// is closed from a thread of its own instead; nothing waits for it.
struct PacketSocket {
  int fd = -1;
  ~PacketSocket() {
    if (fd < 0) return;
    const int f = fd;
    try {
      std::thread([f] { ::close(f); }).detach();
    } catch (...) {
      ::close(f);
    }
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
  PacketSocket s{::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)};  // send only: no receive hook
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

Result<std::optional<std::string>> vip_probe_holder(const VipSpec& vip, const ProbeOptions& o) {
  if (vip.ipv6()) return std::optional<std::string>();
  in_addr ip{};
  if (inet_pton(AF_INET, vip.address.c_str(), &ip) != 1) return fail(vip, "not an IPv4 address");
  const unsigned index = if_nametoindex(vip.interface.c_str());
  if (index == 0) return fail(vip, fmt::format("no interface '{}' here", vip.interface));
  // Protocol 0 at creation, ETH_P_ARP at bind: a socket created with a protocol is hooked at
  // once, and rebinding it unhooks it first, which waits for an RCU grace period (tens of ms).
  PacketSocket s{::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) return fail(vip, fmt::format("raw packet socket: {}", std::strerror(errno)));
  sockaddr_ll bind_to{};
  bind_to.sll_family = AF_PACKET;
  bind_to.sll_protocol = htons(ETH_P_ARP);
  bind_to.sll_ifindex = static_cast<int>(index);
  if (::bind(s.fd, reinterpret_cast<const sockaddr*>(&bind_to), sizeof bind_to) < 0)
    return fail(vip, fmt::format("binding the ARP probe socket to {}: {}", vip.interface, std::strerror(errno)));
  auto mac = interface_mac(vip, s.fd);
  if (!mac) return mac.error();
  // The probe: a request "who has VIP", sender MAC ours, sender address 0.0.0.0.
  auto frame = arp_frame(*mac, ip, 1);
  std::memset(frame.data() + 14 + 14, 0, 4);   // sender protocol address
  std::memset(frame.data() + 14 + 18, 0, 6);   // target hardware address: unknown
  sockaddr_ll to = bind_to;
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xFF, 6);
  const auto t0 = std::chrono::steady_clock::now();
  const auto deadline = t0 + o.window;
  const int probes = std::max(1, o.probes);
  const auto spacing = o.window / (2 * probes);
  int sent = 0;
  std::array<std::uint8_t, 1600> buf{};
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    if (sent < probes && now >= t0 + spacing * sent) {
      if (::sendto(s.fd, frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0)
        return fail(vip, fmt::format("sending the ARP probe on {}: {}", vip.interface, std::strerror(errno)));
      ++sent;
      continue;
    }
    if (now >= deadline) return std::optional<std::string>();
    auto until = deadline;
    if (sent < probes) until = std::min(until, t0 + spacing * sent);
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(until - now).count();
    pollfd p{s.fd, POLLIN, 0};
    timespec ts{static_cast<time_t>(left / 1000000), static_cast<long>(left % 1000000) * 1000};
    const int n = ppoll(&p, 1, &ts, nullptr);
    if (n < 0 && errno != EINTR) return fail(vip, fmt::format("waiting for ARP answers: {}", std::strerror(errno)));
    if (n <= 0) continue;
    sockaddr_ll from{};
    socklen_t from_len = sizeof from;
    const ssize_t got = ::recvfrom(s.fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (got < 14 + 28 || from.sll_pkttype == PACKET_OUTGOING) continue;
    const std::uint8_t* a = buf.data() + 14;
    if (a[0] != 0 || a[1] != 1 || a[2] != 0x08 || a[3] != 0x00 || a[4] != 6 || a[5] != 4) continue;
    if (std::memcmp(a + 14, &ip, 4) != 0) continue;          // the sender is not the VIP
    if (std::memcmp(a + 8, mac->data(), 6) == 0) continue;  // ourselves
    return std::optional<std::string>(fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", a[8], a[9], a[10], a[11], a[12], a[13]));
  }
}

namespace {

class ProbingVipAgent final : public ResourceAgent {
 public:
  ProbingVipAgent(ResourceAgentPtr inner, VipSpec vip, VipTakeoverOptions o) : inner_(std::move(inner)), vip_(std::move(vip)), o_(o) {}
  std::string name() const override { return inner_->name(); }
  Status start() override {
    auto here = vip_present(vip_);
    if (here && *here) return inner_->start();  // ours already (a restart in place)
    const auto t0 = std::chrono::steady_clock::now();
    bool told = false;
    while (true) {
      const auto p0 = std::chrono::steady_clock::now();
      auto holder = vip_probe_holder(vip_, o_.probe);
      const double probe_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - p0).count();
      if (!holder) return holder.error();
      if (!*holder) {
        if (told)
          spdlog::warn("VIP {}: no longer answering elsewhere after {} ms: adding it", vip_.text(),
                       std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
        else
          spdlog::info("VIP {}: nobody answers for it on the LAN (ARP probe, {:.1f} ms): adding it", vip_.text(), probe_ms);
        return inner_->start();
      }
      if (o_.peer_fenced && o_.peer_fenced()) {
        spdlog::warn("VIP {}: another host ({}) answers for it although the peer was fenced: adding it anyway (an address "
                     "conflict on the LAN?)", vip_.text(), **holder);
        return inner_->start();
      }
      if (std::chrono::steady_clock::now() - t0 >= o_.give_up)
        return fail(vip_, fmt::format("another host ({}) still answers for it after {} ms: not adding it (two holders is worse "
                                      "than none)", **holder, o_.give_up.count()));
      if (!told) {
        told = true;
        spdlog::warn("VIP {}: another host ({}) answers for it on the LAN (ARP probe answered in {:.2f} ms): waiting (at most {} ms) "
                     "before adding it", vip_.text(), **holder, probe_ms, o_.give_up.count());
      }
      std::this_thread::sleep_for(o_.retry);
    }
  }
  Status stop() override { return inner_->stop(); }
  Result<AgentState> status() override { return inner_->status(); }
  bool ready() override { return inner_->ready(); }

 private:
  ResourceAgentPtr inner_;
  VipSpec vip_;
  VipTakeoverOptions o_;
};

}  // namespace

ResourceAgentPtr make_probing_vip_agent(ResourceAgentPtr vip_agent, VipSpec vip, VipTakeoverOptions options) {
  return std::make_unique<ProbingVipAgent>(std::move(vip_agent), std::move(vip), options);
}

}  // namespace hapbx::cluster
