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
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "cluster/resource_agent.h"
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

// The takeover safety net: whether another host answers for the VIP on the interface's LAN
// right now. Sends `probes` ARP probes (RFC 5227: sender address 0.0.0.0, so no ARP cache learns
// our MAC for an address we do not hold yet), spread over the first half of `window`, and
// listens for `window` for any ARP frame from another MAC whose sender address is the VIP (the
// reply of a holder, or its own announcement). Returns that MAC ("52:54:00:12:34:56") or nullopt.
// IPv4 only: for an IPv6 VIP it returns nullopt without sending anything.
// Cost: `window` on every takeover when nobody answers (a holder's kernel answers an ARP request
// within a fraction of a millisecond on a LAN; see the figures in cluster_sigkill.sh's report).
struct ProbeOptions {
  std::chrono::milliseconds window{6};
  int probes = 2;
};
Result<std::optional<std::string>> vip_probe_holder(const VipSpec& vip, const ProbeOptions& options = {});

// Wraps a VIP agent: start() first checks the address is not answering elsewhere
// (vip_probe_holder; skipped when the VIP is already on this node). While it answers, the start
// waits and probes again every `retry` (the old holder may be removing it: its guard, a
// graceful stop; in the lab a "powered-off" node's namespace answers until the lab takes its
// links down, 0.5-3 s later); after `give_up` it fails without adding the address ("two holders
// is worse than none"): the resource manager rolls the group back and retries later. Unless
// `peer_fenced` says the peer was fenced (powered off by the stonith command) for this takeover:
// then an answer comes from a third host or a fence that lied; it is logged and the VIP added.
// stop() and status() are the wrapped agent's.
struct VipTakeoverOptions {
  ProbeOptions probe;
  std::chrono::milliseconds retry{100};
  std::chrono::milliseconds give_up{10000};
  std::function<bool()> peer_fenced;  // called on the agent's thread; empty = never fenced
};
ResourceAgentPtr make_probing_vip_agent(ResourceAgentPtr vip_agent, VipSpec vip, VipTakeoverOptions options = {});

}  // namespace hapbx::cluster
