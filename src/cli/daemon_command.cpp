// Argument definitions and execution of the daemon subcommands (see daemon_command.h).
#include "cli/daemon_command.h"

#include <CLI/CLI.hpp>
#include <cmath>
#include <ostream>

#include "cli/exit_codes.h"

namespace hapbx::cli {

std::string resolve_socket_path(const std::optional<std::string>& flag, const CliEnvironment& env,
                                const DaemonTarget& target) {
  if (flag) return *flag;
  if (env.getenv) {
    if (std::optional<std::string> value = env.getenv(target.socket_env); value && !value->empty()) {
      return *value;
    }
  }
  return target.default_socket;
}

DaemonCommand::DaemonCommand(CLI::App& app, DaemonTarget target) : target_(std::move(target)) {
  app_ = app.add_subcommand(target_.subcommand, target_.summary);
  app_->add_option("--socket", socket_,
                   "Control socket of " + target_.daemon + " (default " + target_.default_socket +
                       ", or $" + target_.socket_env + ")");
  app_->add_flag("--json", json_, "Ask for JSON output (show commands)");
  app_->add_option("command", words_,
                   "Command words, e.g. '" + target_.example + "' ('help' lists them)");
  // Options of the daemon's own commands (`primary --force r0`, `connect --discard-my-data r0`)
  // are not ours: they go to the daemon after the words, which accepts them anywhere.
  if (target_.passes_options) app_->allow_extras();
  app_->add_option("--timeout", timeout_seconds_, "Seconds to wait for the answer (default 10; "
                   "for wait-* commands, as long as the command itself waits)")
      ->type_name("SECONDS");
  app_->footer("Examples:\n  hapbx " + target_.subcommand + " help\n  hapbx " +
               target_.subcommand + " " + target_.example + "\n  hapbx " + target_.subcommand +
               " --json " + target_.example +
               "\nOptions may appear anywhere; put '--' before words that start with '-'.");
}

bool DaemonCommand::selected() const { return app_ && app_->parsed(); }

int DaemonCommand::run(const CliEnvironment& env, std::ostream& out, std::ostream& err) const {
  const std::string name = "hapbx " + target_.subcommand;
  if (words_.empty()) {
    err << name << ": missing command (try '" << name << " help')\n";
    return kExitUsage;
  }
  // Checked here rather than by a CLI11 validator, for a message that says what is expected.
  if (!(timeout_seconds_ >= 0.001 && timeout_seconds_ <= 3600)) {
    err << name << ": --timeout must be between 0.001 and 3600 seconds\n";
    return kExitUsage;
  }
  std::vector<std::string> words = words_;
  if (target_.passes_options)
    for (const std::string& extra : app_->remaining())
      if (extra != "--") words.push_back(extra);
  const core::ControlRequest request{words, json_};
  if (Result<std::string> encoded = core::encode_control_request(request); !encoded) {
    err << name << ": " << encoded.error().message << "\n";
    return kExitUsage;
  }
  core::ControlCallOptions options;
  options.daemon = target_.daemon;
  options.timeout = std::chrono::milliseconds(std::llround(timeout_seconds_ * 1000));
  // A wait-* command bounds its own wait (and answers when it ends): don't cut it short.
  if (app_->count("--timeout") == 0 && words.front().rfind("wait-", 0) == 0)
    options.timeout = std::chrono::hours(1);
  const std::string socket = resolve_socket_path(socket_, env, target_);

  Result<core::ControlResponse> answer = env.call(socket, request, options);
  if (!answer) {
    err << "hapbx: " << answer.error().message << "\n";
    return kExitUnreachable;
  }
  out << answer->text;
  if (!answer->text.empty() && answer->text.back() != '\n') out << '\n';
  return answer->ok ? kExitOk : kExitCommandFailed;
}

}  // namespace hapbx::cli
