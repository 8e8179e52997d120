// Resource agents: what clusterd runs to start, stop and check one resource of a group
// (haresources). Each call blocks until the resource is in the asked state or the agent gives
// up; clusterd runs them off its event loop and feeds the results to the resource manager.
//
// Contracts (as Heartbeat's v1 resource scripts): start and stop are idempotent (starting a
// running resource or stopping a stopped one succeeds); status tells Running, Stopped or Failed
// (running badly); errors name the resource and say why.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/pbx_layout.h"
#include "core/result.h"

namespace hapbx::cluster {

enum class AgentState { Running, Stopped, Failed };
std::string_view to_string(AgentState s);

class ResourceAgent {
 public:
  virtual ~ResourceAgent() = default;
  virtual std::string name() const = 0;  // as haresources writes it: "IPaddr::198.18.0.10/24/eth0"
  virtual Status start() = 0;
  virtual Status stop() = 0;
  virtual Result<AgentState> status() = 0;
  // Whether start() could succeed here now, asked while the group is elsewhere (cheap, no side
  // effect). Most resources always can; the replicated disk cannot while it is a resync target.
  virtual bool ready() { return true; }
};
using ResourceAgentPtr = std::unique_ptr<ResourceAgent>;

// The built-in VIP agent (IPaddr / IPaddr2): add + gratuitous ARP, remove, presence.
struct VipSpec;
ResourceAgentPtr make_vip_agent(const VipSpec& vip, std::string name);

// An LSB-style script (`script start|stop|status`, exit status 0 = ok; for status 0 = running,
// 3 = stopped, anything else = failed), found as given if absolute, else in `script_dirs` in
// order (the resource directory, then /etc/init.d). Each call is bounded by `timeout`: a script
// that overruns is killed with its whole process group.
struct LsbOptions {
  std::vector<std::string> script_dirs = {"/etc/ha.d/resource.d", "/etc/init.d"};
  std::chrono::milliseconds timeout{30000};
};
ResourceAgentPtr make_lsb_agent(std::string script, std::vector<std::string> args, LsbOptions options = {});

// Filesystem::device::mountpoint::fstype[::options]: e2fsck -p first for ext2/3/4 (what a
// crashed Primary needs; "nofsck" in the options skips it), mount(2); stop unmounts, and if the
// filesystem is busy, stops the processes using it (SIGTERM, then SIGKILL, as Heartbeat's
// Filesystem script does with fuser) and unmounts again.
struct FilesystemSpec {
  std::string device;
  std::string mountpoint;
  std::string fstype = "ext4";
  std::string options;  // comma-separated, passed to mount(2) except our own "nofsck"
};
ResourceAgentPtr make_filesystem_agent(FilesystemSpec spec, std::string name);

// drbddisk::r0 — the replicated disk through replicad's control socket. start = `primary`; when
// replicad refuses because it still sees the old Primary (a pulled cable not yet noticed by the
// replication link), clusterd has already declared that node dead (and fenced it, if fencing is
// configured), so the agent disconnects, promotes, and connects again so the link comes back
// (and split brain, if any, is detected there). stop = `secondary` (refused while mounted: the
// Filesystem agent stops first). status = `role`.
struct ReplicaAgentOptions {
  std::string socket = "/run/hapbx/replicad.sock";
  std::chrono::milliseconds timeout{30000};
};
ResourceAgentPtr make_replica_agent(std::string resource, ReplicaAgentOptions options = {});

// pbxd, started as a child of clusterd's agent runner in its own session, its PID kept in
// `pid_file`; running = the process lives and answers `core show version` on its socket.
struct PbxAgentOptions {
  std::string pbxd = "pbxd";                 // the executable
  std::vector<std::string> args;             // e.g. --config-dir /replica/etc/hapbx --state-dir ...
  std::string socket = "/run/hapbx/pbxd.sock";
  std::string pid_file = "/run/hapbx/pbxd.pid";
  std::string log_file = "/dev/null";        // pbxd's stdout/stderr
  std::chrono::milliseconds start_timeout{10000};
  std::chrono::milliseconds stop_timeout{10000};
  // When set, start() first prepares the layout on the replicated disk (pbx_layout.h).
  std::optional<PbxLayout> layout;
};
ResourceAgentPtr make_pbx_agent(PbxAgentOptions options);
// The cluster's pbxd: `bin_dir`/pbxd when it exists there (else pbxd from PATH), its
// configuration, state and log in `layout` on the replicated disk.
PbxAgentOptions replicated_pbx_options(const std::string& bin_dir, PbxLayout layout = {});

// What a program run by an agent did.
struct ProgramResult {
  int exit_status = -1;  // -1: could not run or was killed at the deadline
  bool timed_out = false;
  std::string output;    // stdout+stderr, the last 4 KiB
};
ProgramResult run_program(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

}  // namespace hapbx::cluster
