// `hapbx lab up|down|status|exec|fault ...`: the network-namespace lab (lab/lab.sh). The words
// after `lab` go to the script unchanged; its exit status is the command's.
#pragma once

#include <string>
#include <vector>

#include "cli/cli_environment.h"

namespace CLI {
class App;
}

namespace hapbx::cli {

class LabCommand {
 public:
  explicit LabCommand(CLI::App& app);
  bool selected() const;
  int run(const CliEnvironment& env, std::ostream& err) const;

 private:
  CLI::App* app_ = nullptr;
};

// The script: $HAPBX_LAB_SCRIPT, else the one in the source tree this hapbx was built from.
std::string lab_script_path(const CliEnvironment& env);

}  // namespace hapbx::cli
