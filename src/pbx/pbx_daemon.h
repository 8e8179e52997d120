// pbxd as an object: loads the configuration, opens the state directory, binds the SIP
// transports and the control socket, and wires the SIP stack to the registrar and qualify.
// Everything runs on the caller's io_context (one thread); apps/pbxd_main.cpp only parses the
// command line, handles signals and runs the loop.
#pragma once

#include <filesystem>
#include <memory>

#include "core/result.h"

namespace asio {
class io_context;
}

namespace hapbx::pbx {

struct PbxOptions {
  std::filesystem::path config_dir = "/etc/hapbx";
  std::filesystem::path state_dir = "/var/lib/hapbx";
  std::filesystem::path socket_path = "/run/hapbx/pbxd.sock";
};

class PbxDaemon {
 public:
  PbxDaemon(asio::io_context& io, PbxOptions options);
  ~PbxDaemon();
  PbxDaemon(const PbxDaemon&) = delete;
  PbxDaemon& operator=(const PbxDaemon&) = delete;

  // Error = a message for the operator naming the file or address at fault.
  Status start();
  // Re-reads extensions.conf, sip.conf and rtp.conf (SIGHUP, core reload); registrations and
  // running calls are kept. A bad new file is refused and the running one stays (the error says
  // why).
  Status reload();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hapbx::pbx
