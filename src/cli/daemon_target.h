// The daemons `hapbx` talks to, one entry each. A daemon subcommand (`hapbx pbx ...`) forwards
// its words to the daemon's control socket; adding `hapbx replica` or `hapbx cluster` is adding
// an entry to daemon_targets().
#pragma once

#include <string>
#include <vector>

namespace hapbx::cli {

struct DaemonTarget {
  std::string subcommand;      // "pbx": `hapbx pbx ...`
  std::string daemon;          // "pbxd": named in messages
  std::string default_socket;  // "/run/hapbx/pbxd.sock"
  std::string socket_env;      // "HAPBX_PBX_SOCKET": overrides the default, not --socket
  std::string summary;         // one line for `hapbx --help`
  std::string example;         // "sip show peers", for the subcommand's help
  // The daemon's commands take options of their own (`primary --force r0`): unknown options go
  // to the daemon after the words instead of being a usage error.
  bool passes_options = false;
};

const std::vector<DaemonTarget>& daemon_targets();

}  // namespace hapbx::cli
