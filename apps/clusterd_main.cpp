// clusterd: the hapbx cluster manager (Heartbeat's role): membership by signed heartbeats,
// the resource group started in order and stopped in reverse, VIP takeover. Foreground.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>
#include <system_error>

#include "cluster/cluster_daemon.h"
#include "cluster/resource_guard.h"
#include "core/log.h"

int main(int argc, char** argv) {
  hapbx::cluster::ClusterDaemonOptions options;
  std::string log_level = "info";
  CLI::App app{"clusterd: the hapbx cluster manager (Heartbeat ha.cf, authkeys, haresources)"};
  app.set_version_flag("--version", std::string("clusterd ") + HAPBX_VERSION);
  app.add_option("--config-dir", options.config_dir, "Directory with ha.cf, authkeys, haresources (default /etc/ha.d)");
  app.add_option("--node", options.node, "This node's name (default: the hostname)");
  app.add_option("--socket", options.socket, "Control socket (default /run/hapbx/clusterd.sock)");
  app.add_option("--resource-dir", options.resource_dir, "LSB resource scripts (default <config-dir>/resource.d)");
  app.add_option("--guard-file", options.guard_file, "The node's guard lock (default: the socket's path, .sock -> .guard)");
  bool no_vip_probe = false;
  app.add_flag("--no-vip-probe", no_vip_probe,
               "Add a VIP at takeover even while another host answers ARP for it (the old Heartbeat rule: deadtime alone decides)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  app.add_option("--bin-dir", options.bin_dir, "Where pbxd is (default: clusterd's own directory, else PATH)");
  // clusterd's own resource guard (resource_guard.h): re-executed by clusterd, never by hand.
  int guard_fd = -1, guard_lock_fd = -1;
  app.add_option("--guard", guard_fd)->group("");
  app.add_option("--guard-lock-fd", guard_lock_fd)->group("");
  CLI11_PARSE(app, argc, argv);
  if (options.bin_dir.empty()) {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) options.bin_dir = self.parent_path().string();
  }
  if (guard_fd >= 0 || guard_lock_fd >= 0) {
    hapbx::core::init_logging("clusterd-guard", log_level);
    hapbx::cluster::GroupAgentOptions agents;
    if (!options.resource_dir.empty()) agents.resource_dir = options.resource_dir;
    agents.bin_dir = options.bin_dir;
    return hapbx::cluster::run_resource_guard(guard_fd, guard_lock_fd, agents);
  }
  options.vip_probe = !no_vip_probe;
  hapbx::core::init_logging("clusterd", log_level);
  return hapbx::cluster::run_cluster_daemon(options);
}
