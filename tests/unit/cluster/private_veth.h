// For the VIP tests (root only): moves the calling test process into a network namespace of its
// own with one veth pair, both ends and lo up, so that addresses, ARP and neighbour
// advertisements never touch the machine's interfaces.
#pragma once

#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hapbx::cluster::test_net {

inline bool link_up(const char* name) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
  bool ok = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
  ifr.ifr_flags |= IFF_UP;
  ok = ok && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

// The namespace and the pair `a` <-> `b`; the failure says which step went wrong.
inline ::testing::AssertionResult enter_namespace_with_veth(const char* a, const char* b) {
  if (unshare(CLONE_NEWNET) != 0) return ::testing::AssertionFailure() << "unshare: " << std::strerror(errno);
  nl_sock* sk = nl_socket_alloc();
  if (!sk) return ::testing::AssertionFailure() << "nl_socket_alloc";
  const bool made = nl_connect(sk, NETLINK_ROUTE) == 0 && rtnl_link_veth_add(sk, a, b, getpid()) == 0;
  nl_socket_free(sk);
  if (!made) return ::testing::AssertionFailure() << "veth " << a << " <-> " << b << " not made";
  for (const char* name : {a, b, "lo"})
    if (!link_up(name)) return ::testing::AssertionFailure() << name << " not up";
  return ::testing::AssertionSuccess();
}

}  // namespace hapbx::cluster::test_net
