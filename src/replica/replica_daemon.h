// replicad as an object: loads the DRBD-syntax configuration, builds one ResourceDriver per
// resource whose `on` section names this node, serves `hapbx replica ...` on the control socket.
// Everything runs on the caller's io_context (the daemon loop, one thread); apps/replicad_main.cpp
// parses the command line, handles signals and runs the loop.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/result.h"

namespace asio {
class io_context;
}

namespace hapbx::replica {

struct ReplicaDaemonOptions {
  std::string config_path = "/etc/hapbx/r0.res";
  std::string node;                        // empty: the host name
  std::string socket_path = "/run/hapbx/replicad.sock";
  std::string run_dir = "/run/hapbx";      // FUSE mounts of the devices go below it
};

class ReplicaDaemon {
 public:
  ReplicaDaemon(asio::io_context& io, ReplicaDaemonOptions options);
  ~ReplicaDaemon();
  ReplicaDaemon(const ReplicaDaemon&) = delete;
  ReplicaDaemon& operator=(const ReplicaDaemon&) = delete;

  // Errors name the file:line, the unknown node, the address or the socket at fault.
  Status start();
  // Clean stop of every resource (see ResourceDriver::shutdown); `done` runs on the loop.
  void stop(std::function<void()> done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hapbx::replica
