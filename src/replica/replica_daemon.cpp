// replicad's wiring: config -> resource drivers -> control commands (see replica_daemon.h).
#include "replica/replica_daemon.h"

#include <unistd.h>

#include <asio.hpp>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/control_server.h"
#include "replica/replica_commands.h"
#include "replica/resource_config.h"
#include "replica/resource_driver.h"

namespace hapbx::replica {

struct ReplicaDaemon::Impl {
  Impl(asio::io_context& io_, ReplicaDaemonOptions o) : io(io_), options(std::move(o)) {}

  asio::io_context& io;
  ReplicaDaemonOptions options;
  std::vector<std::unique_ptr<ResourceDriver>> drivers;
  std::unique_ptr<core::ControlServer> control;
  bool stopping = false;

  static std::string hostname() {
    char buf[256] = {};
    if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
    return buf;
  }

  Status start() {
    auto loaded = load_replica_config(options.config_path);
    if (!loaded) return loaded.error();
    for (const auto& w : loaded->warnings) {
      spdlog::warn("{}:{}: {}", w.file, w.line, w.message);
    }
    if (options.node.empty()) options.node = hostname();
    if (loaded->resources.empty()) {
      return make_error(fmt::format("{}: no resource defined", options.config_path));
    }
    std::string missing;
    int minor = 0;
    for (const auto& r : loaded->resources) {
      if (!r.host(options.node)) {
        std::string hosts;
        for (const auto& h : r.hosts) hosts += (hosts.empty() ? "on " : ", on ") + h.name;
        missing += fmt::format("{}node '{}' is not in {} ({})", missing.empty() ? "" : "; ",
                               options.node, r.name, hosts);
        continue;
      }
      DriverOptions d;
      d.node = options.node;
      d.run_dir = options.run_dir;
      d.minor = minor++;
      drivers.push_back(std::make_unique<ResourceDriver>(io, r, d));
    }
    if (drivers.empty()) {
      return make_error(fmt::format("{}: {} (use --node NAME)", options.config_path, missing));
    }
    if (!missing.empty()) spdlog::warn("{}: {}: those resources are not served here", options.config_path, missing);

    core::ControlServerOptions co;
    co.daemon = "replicad";
    co.cli_prefix = "hapbx replica";
    co.client_timeout = std::chrono::minutes(61);  // wait-sync may wait up to an hour
    control = std::make_unique<core::ControlServer>(io, options.socket_path, co);
    if (Status s = add_replica_commands(*control, drivers); !s) return s;
    if (Status s = control->start(); !s) return s;

    for (auto& d : drivers) {
      if (Status s = d->start(); !s) return s;
    }
    spdlog::info("replicad {} on node '{}': {} resource(s), control socket {}", HAPBX_VERSION,
                 options.node, drivers.size(), options.socket_path);
    return {};
  }

  void stop(std::function<void()> done) {
    if (stopping) return;
    stopping = true;
    auto remaining = std::make_shared<std::size_t>(drivers.size());
    auto finished = std::make_shared<std::function<void()>>(std::move(done));
    if (drivers.empty()) return (*finished)();
    for (auto& d : drivers) {
      d->shutdown([remaining, finished] {
        if (--*remaining == 0) (*finished)();
      });
    }
  }
};

ReplicaDaemon::ReplicaDaemon(asio::io_context& io, ReplicaDaemonOptions options)
    : impl_(std::make_unique<Impl>(io, std::move(options))) {}

ReplicaDaemon::~ReplicaDaemon() {
  impl_->control.reset();
  impl_->drivers.clear();
}

Status ReplicaDaemon::start() { return impl_->start(); }

void ReplicaDaemon::stop(std::function<void()> done) { impl_->stop(std::move(done)); }

}  // namespace hapbx::replica
