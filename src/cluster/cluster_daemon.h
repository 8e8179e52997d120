// clusterd: the driver around the pure membership and resource manager. It owns the heartbeat
// sockets (one per ha.cf medium this node uses), the agent runner thread (agents block: mount,
// fsck, scripts), the timer and the control socket (`hapbx cluster ...`). Everything but the
// agent runner runs on one asio loop.
//
// Supported so far: two nodes, one resource group (the first haresources line), bcast, ucast and
// mcast media, IPv4 ping nodes, respawn (respawn.h). Not yet: IPv6 ping nodes, agent timeouts (an
// agent that hangs holds its group).
//
// A killed clusterd never leaves its resources here: before anything starts, clusterd spawns its
// resource guard (resource_guard.h), which stops what clusterd had started (the VIP first) the
// moment clusterd dies without a clean exit. A VIP start probes the LAN first and does not add an
// address another host still answers for (vip_agent.h, make_probing_vip_agent).
#pragma once

#include <memory>
#include <string>

#include "core/result.h"

namespace hapbx::cluster {

struct ClusterDaemonOptions {
  std::string config_dir = "/etc/ha.d";       // ha.cf, authkeys, haresources
  std::string node;                           // "" = the hostname
  std::string socket = "/run/hapbx/clusterd.sock";
  std::string resource_dir;                   // LSB scripts; "" = <config_dir>/resource.d
  std::string bin_dir;                        // where pbxd is; "" = PATH (clusterd_main: its own directory)
  std::string guard_file;                     // the guard lock; "" = the socket path's .sock -> .guard
  bool vip_probe = true;                      // ARP probe before adding a VIP (vip_agent.h); --no-vip-probe
};

// The guard lock file these options name (/run/hapbx/clusterd.sock -> /run/hapbx/clusterd.guard).
std::string guard_file(const ClusterDaemonOptions& options);

// Loads the configuration and runs until SIGTERM/SIGINT (graceful: the group is handed to the
// peer if it can take it, else stopped; then the peer is told we leave). Returns the exit code.
int run_cluster_daemon(const ClusterDaemonOptions& options);

}  // namespace hapbx::cluster
