// hapbx: the admin command. Everything lives in src/cli; this only binds it to the process.
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli_environment.h"
#include "cli/hapbx_cli.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  return hapbx::cli::run_hapbx(args, hapbx::cli::CliEnvironment::real(), std::cout, std::cerr);
}
