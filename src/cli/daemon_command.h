// `hapbx <daemon> [--socket PATH] [--json] [--timeout S] <command words...>`: one subcommand that
// forwards its words to a daemon's control socket and prints the answer.
//
// Output contract: the daemon's answer goes to stdout, as `asterisk -rx` prints it (ok or not);
// hapbx's own messages (usage, unreachable daemon) go to stderr prefixed with "hapbx: ".
// Exit status: see exit_codes.h.
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli_environment.h"
#include "cli/daemon_target.h"

namespace CLI {
class App;
}

namespace hapbx::cli {

// The socket to use: --socket if given, else the target's environment variable if set and not
// empty, else the target's default.
std::string resolve_socket_path(const std::optional<std::string>& flag, const CliEnvironment& env,
                                const DaemonTarget& target);

class DaemonCommand {
 public:
  // Registers the subcommand on `app`; both must outlive this object's use.
  DaemonCommand(CLI::App& app, DaemonTarget target);

  // True when the parsed command line selected this subcommand.
  bool selected() const;
  // Sends the parsed command and prints the answer; returns the exit status.
  int run(const CliEnvironment& env, std::ostream& out, std::ostream& err) const;

 private:
  CLI::App* app_ = nullptr;
  DaemonTarget target_;
  std::optional<std::string> socket_;
  bool json_ = false;
  double timeout_seconds_ = 10;
  std::vector<std::string> words_;
};

}  // namespace hapbx::cli
