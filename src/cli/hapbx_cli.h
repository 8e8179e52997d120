// The `hapbx` admin command as a function of its arguments, so tests run it in-process.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "cli/cli_environment.h"

namespace hapbx::cli {

// `args` excludes the program name. Returns the exit status (see exit_codes.h).
int run_hapbx(const std::vector<std::string>& args, const CliEnvironment& env, std::ostream& out,
              std::ostream& err);

}  // namespace hapbx::cli
