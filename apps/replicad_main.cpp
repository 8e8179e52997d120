// replicad: the replicated disk daemon (DRBD's role). Runs in the foreground, logs to stderr.
//   replicad --config /etc/hapbx/r0.res [--node asterisk1] [--socket /run/hapbx/replicad.sock]
//            [--run-dir /run/hapbx]
// SIGTERM/SIGINT stop it cleanly: each device is removed unless it is mounted (then it is
// reported and left), the metadata is persisted.
#include <asio.hpp>
#include <cstdio>
#include <malloc.h>
#include <string>

#include <CLI/CLI.hpp>

#include "core/log.h"
#include "replica/replica_daemon.h"

int main(int argc, char** argv) {
  // Block buffers of up to 1 MiB are allocated and freed for every request. Above glibc's mmap
  // threshold each one would be a fresh mmap (page faults, zeroing) and a munmap: keep them in
  // the heap instead, and keep freed heap memory for the next request. What is in flight is
  // bounded by the kernel's FUSE queue and the peer link's send cap.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  hapbx::replica::ReplicaDaemonOptions options;
  std::string log_level = "info";
  CLI::App app{"replicad: the hapbx replicated disk daemon (DRBD 8 resource files)"};
  app.set_version_flag("--version", std::string("replicad ") + HAPBX_VERSION);
  app.add_option("--config", options.config_path, "DRBD-syntax resource file")->required();
  app.add_option("--node", options.node, "this node's `on` name (default: the host name)");
  app.add_option("--socket", options.socket_path, "control socket path")->capture_default_str();
  app.add_option("--run-dir", options.run_dir, "directory for the FUSE mounts of the devices")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warning or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warning", "error"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  hapbx::core::init_logging("replicad", log_level);
  asio::io_context io;
  hapbx::replica::ReplicaDaemon daemon(io, options);
  if (auto status = daemon.start(); !status) {
    spdlog::critical("{}", status.error().message);
    std::fprintf(stderr, "replicad: %s\n", status.error().message.c_str());
    return 1;
  }

  asio::signal_set stop_signals(io, SIGINT, SIGTERM);
  asio::steady_timer deadline(io);
  stop_signals.async_wait([&](const asio::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {} received, stopping", signal);
    daemon.stop([&] { io.stop(); });
    // A second signal, or a stop that does not finish, ends the loop anyway.
    stop_signals.async_wait([&](const asio::error_code& e, int) {
      if (!e) io.stop();
    });
    deadline.expires_after(std::chrono::seconds(20));
    deadline.async_wait([&](const asio::error_code& e) {
      if (e) return;
      spdlog::error("clean stop did not finish in 20 s, exiting");
      io.stop();
    });
  });

  io.run();
  spdlog::info("replicad stopped");
  return 0;
}
