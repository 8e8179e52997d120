// Blocking client of a daemon's control socket, used by the `hapbx` command (one request, one
// answer, with an overall deadline). Plain POSIX sockets: the CLI needs no event loop.
//
// Failures are error values whose messages tell the operator what is wrong and what to do:
// the daemon is not running, the socket is stale, permission is denied, the daemon is busy or
// did not answer in time.
#pragma once

#include <chrono>
#include <string>

#include "core/control_protocol.h"
#include "core/result.h"

namespace hapbx::core {

struct ControlCallOptions {
  std::string daemon = "daemon";  // named in messages: "pbxd is not running ..."
  std::chrono::milliseconds timeout{10000};
};

// Connects to `socket_path`, sends `request` and waits for the whole answer. An answer with
// ok=false (e.g. unknown command) is a successful call: the error value is for failures to
// talk to the daemon at all.
Result<ControlResponse> call_control_socket(const std::string& socket_path,
                                            const ControlRequest& request,
                                            const ControlCallOptions& options = {});

// The message for a failed connect(2) to a control socket, by errno. Separate (and pure) so the
// wording of every case is tested even where the filesystem cannot produce it (tests run as root,
// who is never denied).
std::string describe_control_connect_error(int err, const std::string& socket_path,
                                           const std::string& daemon);

}  // namespace hapbx::core
