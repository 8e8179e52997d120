// The resource guard: a SIGKILLed (or crashed) clusterd never leaves its resources — above all
// the VIP — active on this node while the peer takes them over.
//
// Heartbeat 3 and keepalived both have the flaw: kill -9 the daemon on the active node and its
// VIP stays configured there; the peer declares it dead after deadtime and adds the VIP too, so
// two hosts answer ARP for it. clusterd closes that hole with a companion process:
//
//   - At start, clusterd takes the node's guard lock (flock on `guard_file`, by default
//     /run/hapbx/clusterd.guard next to the control socket), then spawns the guard: a re-exec of
//     its own executable (/proc/self/exe) in the hidden `--guard FD --guard-lock-fd FD` mode. The
//     guard inherits one end of a socketpair and the locked file (so the lock is held while
//     either process lives), closes every other descriptor, ignores SIGTERM/SIGINT/SIGHUP (a
//     `systemctl stop` or a Ctrl-C signals the whole group: clusterd's graceful stop is what
//     must decide), answers "ready" (clusterd refuses to run without a working guard) and then
//     only reads. A re-exec, not a bare fork: clusterd has threads, and the guard should own a
//     clean process (its name is clusterd-guard in ps).
//   - clusterd tells it, one line each (GuardLedger below): `group PREFERRED WORD...` (the
//     haresources group, as words; the guard parses it with the same parser and builds the same
//     agents), `start I` BEFORE resource I's agent starts (a start cut short still counts as
//     started: stop is idempotent), `stop I` AFTER resource I stopped successfully, `child PID`
//     and `reaped PID` for the programs of ha.cf `respawn` (respawn.h), and `exit` when clusterd
//     ends cleanly (resources handed over or stopped, or deliberately left).
//   - The other end is close-on-exec in clusterd (as every descriptor of clusterd, see
//     cluster_daemon.cpp), so no agent child (pbxd, scripts) holds a copy: when clusterd dies for
//     any reason the kernel closes it and the guard sees end-of-file within microseconds
//     (measured in the lab: the VIP is gone 0.3 ms after the death). Without a preceding `exit`, it stops what is still started
//     (guard_stop_plan), with the same agents, then the respawned programs still running
//     (SIGTERM to their process groups, SIGKILL after 5 s), logs each step with its duration,
//     and exits.
//
// The stop order (DECISION). Heartbeat stops a group in reverse; the thesis group
// `IPaddr drbddisk Filesystem pbxd` would then remove the VIP last, after pbxd's stop, the
// unmount and the demotion: seconds, while the peer takes over after deadtime (0.5 s in the lab).
// The guard therefore removes every VIP FIRST (milliseconds after the death), then stops the
// rest in reverse order (pbxd, unmount, demote). Nothing in a group needs its VIP while it
// stops: the VIP is only where clients reach it, and the clients must stop reaching this node
// at once. The disk keeps its order: the peer cannot promote its replica while this node is still
// Primary, so during the first second(s) of a takeover the peer's replica agent meets a refusal
// ("the peer is Primary"); it waits (bounded) for the demotion instead of disconnecting
// (make_patient_replica_agent below).
//
// A restarted clusterd and a guard left running (acquire_guard_lock): the lock file says
// `clusterd PID guard PID watching|stopping`. Lock free: proceed. Held and the clusterd named
// there alive (and the guard still watching): another clusterd runs on this node — refuse.
// Otherwise an old guard is still stopping the resources of a dead clusterd: wait for it (up to
// a bound), because starting now could race with its stops (it would remove the VIP we add).
// A guard is never adopted: its job ends with its clusterd, and it is short.
//
// If the guard dies while clusterd runs (killed by hand), clusterd logs it and spawns a new one
// (after 0 s, then 1, 2, 4... s up to 60 s if it keeps dying young), telling it what is started.
//
// Not covered: a clusterd that hangs (SIGSTOP, a livelock) keeps its channel open, so its guard
// does nothing while the peer takes over after deadtime; that is what fencing (stonith_command)
// and the peer's ARP probe (vip_agent.h) are for. Nor a guard killed together with clusterd
// (power loss takes the addresses with it; `kill -9` of both is caught by the peer's probe).
//
// Pure parts (GuardLedger, guard_stop_plan, the lock-file text) are unit-tested; the rest is an
// edge (processes, descriptors, locks).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/haresources.h"
#include "cluster/resource_agent.h"
#include "core/result.h"

namespace hapbx::cluster {

// --- pure ------------------------------------------------------------------------------------

// The message clusterd sends first: "group asterisk1 IPaddr::198.18.0.10/24/eth0 ...\n".
std::string guard_group_message(const ResourceGroup& group);

// What the guard has heard: fed the bytes as they come (any split), line by line.
class GuardLedger {
 public:
  // Errors name the line and why; the ledger stays usable (a bad line is ignored).
  Status feed(std::string_view bytes);
  bool has_group() const { return group_.has_value(); }
  const ResourceGroup& group() const { return *group_; }
  bool clean_exit() const { return clean_exit_; }
  const std::vector<bool>& started() const { return started_; }
  std::size_t started_count() const;
  const std::vector<pid_t>& children() const { return children_; }  // respawned programs running

 private:
  Status line(std::string_view l);
  std::string partial_;
  std::optional<ResourceGroup> group_;
  std::vector<bool> started_;
  std::vector<pid_t> children_;
  bool clean_exit_ = false;
  bool discarding_ = false;
  int lines_ = 0;
};

// The order the guard stops the started resources in: every VIP first (reverse group order
// among them), then the others in reverse group order. `started` and `kinds` are per resource.
std::vector<std::size_t> guard_stop_plan(const std::vector<ResourceKind>& kinds, const std::vector<bool>& started);

// The guard lock file's content.
struct GuardFileState {
  pid_t clusterd = 0;
  pid_t guard = 0;
  bool stopping = false;  // the guard saw its clusterd die and is stopping resources
  bool operator==(const GuardFileState&) const = default;
};
std::string format_guard_file(const GuardFileState& s);  // "clusterd 12 guard 13 watching\n"
std::optional<GuardFileState> parse_guard_file(std::string_view text);

// What a restarted clusterd does when it finds the lock held.
enum class LockVerdict { AnotherClusterd, WaitForGuard };
LockVerdict judge_held_lock(const std::optional<GuardFileState>& s, const std::function<bool(pid_t)>& alive);

// --- the agents (shared by clusterd and its guard, so both build the same ones) ---------------

// takeover_checks (clusterd; the guard only stops, so it has no use for them):
//  - a VIP start probes the LAN first (make_probing_vip_agent, vip_agent.h);
//  - a replica start waits while replicad says the peer is still Primary
//    (make_patient_replica_agent).
struct GroupAgentOptions {
  std::string resource_dir = "/etc/ha.d/resource.d";  // LSB scripts (bare names), then /etc/init.d
  std::string bin_dir;  // where pbxd is (ClusterDaemonOptions::bin_dir)
  bool takeover_checks = false;
  bool vip_probe = true;  // with takeover_checks: the VIP's probe (clusterd --no-vip-probe turns it off)
  std::chrono::milliseconds replica_patience{5000};
  std::function<bool()> peer_fenced;  // for the VIP probe (VipTakeoverOptions)
};
ResourceAgentPtr make_resource_agent(const ResourceSpec& r, const GroupAgentOptions& options);

// The replica start after a peer's death, when the peer's replicad is in fact alive (its
// clusterd was killed, its guard is stopping pbxd, unmounting, and will demote it within about a
// second): replicad refuses `primary` with "the peer is Primary" while the link is up. The
// wrapped agent would then disconnect and promote, i.e. make two Primaries of a live pair (split
// brain). This wrapper first asks replicad for `primary` again every 100 ms for up to `patience`:
// the peer's demotion (its guard), or replicad noticing a dead link (ping-timeout, 0.5 s by
// default: a pulled cable), ends the wait early. Only a peer still Primary after that goes on to
// the wrapped agent's disconnect-and-promote (a hung peer: the old behaviour, as the last resort).
// Stop and status are the wrapped agent's.
ResourceAgentPtr make_patient_replica_agent(ResourceAgentPtr replica_agent, std::string resource,
                                            ReplicaAgentOptions options, std::chrono::milliseconds patience);

// --- edges -----------------------------------------------------------------------------------

// Takes the node's guard lock (the file is created mode 0600). When it is held: refuses if
// another clusterd runs, else waits up to `wait` for the old guard to finish, logging once.
// Returns the locked descriptor (close-on-exec).
Result<int> acquire_guard_lock(const std::string& path, std::chrono::milliseconds wait);

// clusterd's side: the guard process and the channel to it. Not thread-safe: the loop's.
class ResourceGuard {
 public:
  ResourceGuard(std::string guard_file, int lock_fd, ResourceGroup group, GroupAgentOptions agents);
  ~ResourceGuard();
  ResourceGuard(const ResourceGuard&) = delete;
  ResourceGuard& operator=(const ResourceGuard&) = delete;

  // Spawns the guard and sends the group and every resource already marked started.
  Status spawn();
  void started(std::size_t i);  // before resource i's start
  void stopped(std::size_t i);  // after resource i stopped successfully
  void child(pid_t pid);        // a respawned program started
  void reaped(pid_t pid);       // ... and ended
  // Clean exit: the guard ends without touching anything. Nothing is sent after.
  void clean_exit();
  pid_t pid() const { return pid_; }
  int channel() const { return fd_; }  // readable = the guard ended (it never writes)
  // The guard ended while we run (channel readable): reap it, log, spawn a new one.
  void respawn_after_death();

 private:
  void send(const std::string& line);
  void write_file();
  std::string guard_file_;
  int lock_fd_ = -1;
  ResourceGroup group_;
  GroupAgentOptions agents_;
  std::vector<bool> started_;
  std::vector<pid_t> children_;
  pid_t pid_ = -1;
  int fd_ = -1;
  bool done_ = false;
};

// The guard process's main (clusterd --guard FD --guard-lock-fd FD). Returns the exit code.
int run_resource_guard(int channel_fd, int lock_fd, const GroupAgentOptions& agents);

}  // namespace hapbx::cluster
