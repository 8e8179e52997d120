// Top level of the `hapbx` command: the subcommand table, --help/--version, and the mapping of
// parse errors to the usage exit status.
#include "cli/hapbx_cli.h"

#include <CLI/CLI.hpp>
#include <memory>
#include <ostream>

#include "cli/daemon_command.h"
#include "cli/exit_codes.h"
#include "cli/lab_command.h"

namespace hapbx::cli {

int run_hapbx(const std::vector<std::string>& args, const CliEnvironment& env, std::ostream& out,
              std::ostream& err) {
  CLI::App app("hapbx: the admin command of the hapbx high-availability PBX", "hapbx");
  app.set_version_flag("--version", std::string("hapbx ") + HAPBX_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit status: 0 success, 1 the daemon answered with an error, 2 usage error,\n"
      "3 the daemon could not be reached.");

  std::vector<std::unique_ptr<DaemonCommand>> daemons;
  for (const DaemonTarget& target : daemon_targets()) {
    daemons.push_back(std::make_unique<DaemonCommand>(app, target));
  }

  LabCommand lab(app);

  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 pops from the back
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return code == 0 ? kExitOk : kExitUsage;
  }

  for (const auto& daemon : daemons) {
    if (daemon->selected()) return daemon->run(env, out, err);
  }
  if (lab.selected()) return lab.run(env, err);
  err << "hapbx: no command given (see 'hapbx --help')\n";
  return kExitUsage;
}

}  // namespace hapbx::cli
