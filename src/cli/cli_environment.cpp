// The production CliEnvironment: std::getenv and the blocking control-socket client.
#include "cli/cli_environment.h"

#include <cstdlib>

namespace hapbx::cli {

CliEnvironment CliEnvironment::real() {
  CliEnvironment env;
  env.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  };
  env.call = [](const std::string& socket_path, const core::ControlRequest& request,
                const core::ControlCallOptions& options) {
    return core::call_control_socket(socket_path, request, options);
  };
  return env;
}

}  // namespace hapbx::cli
