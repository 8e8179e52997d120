// The production CliEnvironment: std::getenv and the blocking control-socket client.
#include "cli/cli_environment.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <cerrno>
#include <cstdio>

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
  env.run = [](const std::string& program, const std::vector<std::string>& args) -> int {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid < 0) return 127;
    if (pid == 0) {
      execvp(program.c_str(), argv.data());
      std::perror(("hapbx: cannot run " + program).c_str());
      _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) return 127;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  };
  env.exe_dir = []() -> std::string {
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : self.parent_path().string();
  };
  return env;
}

}  // namespace hapbx::cli
