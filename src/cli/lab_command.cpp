// `hapbx lab ...` (see lab_command.h).
#include "cli/lab_command.h"

#include <CLI/CLI.hpp>
#include <optional>
#include <ostream>

#include "cli/exit_codes.h"

#ifndef HAPBX_LAB_SCRIPT
#define HAPBX_LAB_SCRIPT "lab/lab.sh"
#endif

namespace hapbx::cli {

LabCommand::LabCommand(CLI::App& app) {
  app_ = app.add_subcommand("lab", "The two-node lab in network namespaces (up, down, status, exec, fault)");
  app_->prefix_command();  // everything after `lab` belongs to the script
  app_->footer(
      "Commands:\n"
      "  hapbx lab up [--example vip|thesis|none]\n"
      "                                build the lab (asterisk1, asterisk2, phones, gw) and boot\n"
      "                                the nodes with that example installed (default vip)\n"
      "  hapbx lab down                remove it and everything it runs\n"
      "  hapbx lab status [--json]     hosts, links, power\n"
      "  hapbx lab exec HOST -- CMD    run CMD inside HOST\n"
      "  hapbx lab fault VERB NODE     cable-pull|cable-plug [lan|repl|all], shutdown, power-off,\n"
      "                                power-on, loss PERCENT; NODE 'both' = both nodes");
}

bool LabCommand::selected() const { return app_ && app_->parsed(); }

std::string lab_script_path(const CliEnvironment& env) {
  if (env.getenv) {
    if (auto v = env.getenv("HAPBX_LAB_SCRIPT"); v && !v->empty()) return *v;
  }
  return HAPBX_LAB_SCRIPT;
}

int LabCommand::run(const CliEnvironment& env, std::ostream& err) const {
  std::vector<std::string> args{lab_script_path(env)};
  for (const std::string& a : app_->remaining()) args.push_back(a);
  if (args.size() == 1) args.push_back("help");
  if (!env.run) {
    err << "hapbx lab: cannot run programs here\n";
    return kExitUsage;
  }
  // The lab starts the daemons built next to this hapbx unless told otherwise.
  const auto bin = env.getenv ? env.getenv("HAPBX_BIN_DIR") : std::nullopt;
  const std::string here = env.exe_dir ? env.exe_dir() : std::string();
  if ((!bin || bin->empty()) && !here.empty()) {
    args.insert(args.begin(), {"HAPBX_BIN_DIR=" + here, "bash"});
    return env.run("env", args);
  }
  return env.run("bash", args);
}

}  // namespace hapbx::cli
