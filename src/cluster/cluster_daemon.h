// clusterd: the driver around the pure membership and resource manager. It owns the heartbeat
// sockets (one per ha.cf medium this node uses), the agent runner thread (agents block: mount,
// fsck, scripts), the timer and the control socket (`hapbx cluster ...`). Everything but the
// agent runner runs on one asio loop.
//
// Supported so far: two nodes, one resource group (the first haresources line), bcast and ucast
// media, IPv4 ping nodes. Not yet: mcast, IPv6 ping nodes, agent timeouts (an agent that hangs
// holds its group), respawn.
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
};

// Loads the configuration and runs until SIGTERM/SIGINT (graceful: the group is handed to the
// peer if it can take it, else stopped; then the peer is told we leave). Returns the exit code.
int run_cluster_daemon(const ClusterDaemonOptions& options);

}  // namespace hapbx::cluster
