// What the `hapbx` command needs from the outside world, injected so tests can run the whole
// command line without a process environment or a daemon.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/control_client.h"
#include "core/control_protocol.h"
#include "core/result.h"

namespace hapbx::cli {

struct CliEnvironment {
  // Reads an environment variable; nullopt when unset.
  std::function<std::optional<std::string>(const std::string& name)> getenv;
  // Sends one request to a daemon's control socket (core::call_control_socket in production).
  std::function<Result<core::ControlResponse>(const std::string& socket_path,
                                              const core::ControlRequest& request,
                                              const core::ControlCallOptions& options)>
      call;
  // Runs a program with arguments, inheriting stdin/stdout/stderr, and returns its exit status
  // (127 when it cannot be started). `hapbx lab` runs lab/lab.sh this way.
  std::function<int(const std::string& program, const std::vector<std::string>& args)> run;
  // The directory this program was started from (where clusterd, replicad and pbxd were built
  // next to it); empty when unknown. `hapbx lab` hands it to the lab as HAPBX_BIN_DIR.
  std::function<std::string()> exe_dir;

  // The process environment and real sockets.
  static CliEnvironment real();
};

}  // namespace hapbx::cli
