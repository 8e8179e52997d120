// pbxd: the PBX daemon. Runs in the foreground (like `asterisk -f`), logs to stderr.
//   pbxd --config-dir /etc/hapbx --state-dir /var/lib/hapbx --socket /run/hapbx/pbxd.sock
// SIGTERM/SIGINT stop it cleanly; SIGHUP re-reads the configuration.
#include <asio.hpp>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "core/log.h"
#include "pbx/pbx_daemon.h"

int main(int argc, char** argv) {
  hapbx::pbx::PbxOptions options;
  std::string log_level = "info";
  CLI::App app{"pbxd: the hapbx PBX daemon (SIP registrar, dialplan, calls)"};
  app.set_version_flag("--version", std::string("pbxd ") + HAPBX_VERSION);
  app.add_option("--config-dir", options.config_dir, "directory with sip.conf and rtp.conf")
      ->capture_default_str();
  app.add_option("--state-dir", options.state_dir, "directory for registrations and CDRs")
      ->capture_default_str();
  app.add_option("--socket", options.socket_path, "control socket path")->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warning or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warning", "error"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  hapbx::core::init_logging("pbxd", log_level);
  asio::io_context io;
  hapbx::pbx::PbxDaemon daemon(io, options);
  if (auto status = daemon.start(); !status) {
    spdlog::critical("{}", status.error().message);
    std::fprintf(stderr, "pbxd: %s\n", status.error().message.c_str());
    return 1;
  }

  asio::signal_set stop_signals(io, SIGINT, SIGTERM);
  stop_signals.async_wait([&](const asio::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {} received, stopping", signal);
    daemon.stop();
    io.stop();
  });
  asio::signal_set reload_signal(io, SIGHUP);
  std::function<void()> wait_reload = [&] {
    reload_signal.async_wait([&](const asio::error_code& ec, int) {
      if (ec) return;
      if (auto status = daemon.reload(); !status) {
        spdlog::error("reload refused: {}", status.error().message);
      }
      wait_reload();
    });
  };
  wait_reload();

  io.run();
  return 0;
}
