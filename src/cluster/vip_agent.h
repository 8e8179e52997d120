// The VIP agent: the virtual IP of a resource group (haresources `IPaddr::198.18.0.10/24/eth0`,
// `IPaddr2::...`), added and removed through rtnetlink (libnl, not by running `ip`) and announced
// the way Heartbeat's send_arp does: gratuitous ARP requests and replies, repeated, from a raw
// packet socket, so switches and phones move their ARP entries to this node at once. IPv6 VIPs
// are announced with unsolicited neighbour advertisements (override flag) to all-nodes.
//
// This is an edge: every call is a system call in the caller's network namespace. Errors name
// the address, the interface and the cause.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hapbx::cluster {

struct VipSpec {
  std::string address;    // "198.18.0.10" or "2001:db8::10"
  int prefix_length = 24;
  std::string interface;  // "eth0"
  std::string label;      // optional IPv4 label ("eth0:0"); empty = none
  bool ipv6() const { return address.find(':') != std::string::npos; }
  std::string text() const;  // "198.18.0.10/24 on eth0"
};

struct AnnounceOptions {
  int repeats = 5;                                      // send_arp's default
  std::chrono::milliseconds interval{200};              // between rounds
};

// Adds the address (already there: success). The address is not yet announced.
Status vip_add(const VipSpec& vip);
// Removes it (not there: success).
Status vip_remove(const VipSpec& vip);
// Whether the interface carries the address now.
Result<bool> vip_present(const VipSpec& vip);
// Gratuitous ARP (request + reply per round) or unsolicited NA, `repeats` rounds. Blocks for
// (repeats - 1) * interval; the first round goes out at once.
Status vip_announce(const VipSpec& vip, const AnnounceOptions& options = {});

}  // namespace hapbx::cluster
