// The table of daemons reachable through `hapbx <subcommand>`.
#include "cli/daemon_target.h"

namespace hapbx::cli {

const std::vector<DaemonTarget>& daemon_targets() {
  static const std::vector<DaemonTarget> targets = {
      {"pbx", "pbxd", "/run/hapbx/pbxd.sock", "HAPBX_PBX_SOCKET",
       "Run a PBX command (Asterisk CLI syntax) in pbxd", "sip show peers"},
      {"replica", "replicad", "/run/hapbx/replicad.sock", "HAPBX_REPLICA_SOCKET",
       "Run a replicated-disk command (drbdadm style) in replicad", "status r0", true},
      {"cluster", "clusterd", "/run/hapbx/clusterd.sock", "HAPBX_CLUSTER_SOCKET",
       "Run a cluster command (status, resources, standby, takeover) in clusterd", "status"},
  };
  return targets;
}

}  // namespace hapbx::cli
