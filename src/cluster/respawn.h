// ha.cf `respawn USER /path/to/program [args]`: programs clusterd runs for the node's whole
// life, as Heartbeat does (ipfail, a monitoring agent...).
//
// Contract:
//  - At clusterd's start each program is started as USER (its uid, primary gid and
//    supplementary groups; working directory /; stdin /dev/null; stdout and stderr clusterd's,
//    so its lines land in clusterd's log; a session of its own; no descriptor of clusterd's
//    inherited). A user that does not exist is an error at start naming ha.cf:LINE.
//  - When it exits it is started again, logged with its exit status and how long it ran. Exit
//    status 100 means "do not restart me" (Heartbeat's convention): logged, not restarted.
//  - Rate limit (RespawnBackoff, pure): a program that ran at least `stable_after` is restarted
//    at once; the n-th consecutive quicker exit waits first_delay * 2^(n-1), at most
//    `max_delay`, so a program that cannot run costs one log line and one fork per max_delay,
//    never a spin.
//  - stop(): SIGTERM to each program's process group, SIGKILL after `stop_grace`; `done` runs
//    when every program is gone (also when none was started).
//  - clusterd killed: its resource guard stops the programs the same way (resource_guard.h), so
//    the restarted clusterd's programs never run next to the old ones.
// Children are watched with waitpid(pid, WNOHANG) on their own pids only (never waitpid(-1): the
// agents reap their own children).
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <asio.hpp>

#include "cluster/ha_config.h"
#include "core/clock.h"
#include "core/result.h"

namespace hapbx::cluster {

struct RespawnPolicy {
  core::Duration stable_after = std::chrono::seconds(10);
  core::Duration first_delay = std::chrono::seconds(1);
  core::Duration max_delay = std::chrono::seconds(60);
  int no_restart_status = 100;
  core::Duration stop_grace = std::chrono::seconds(5);
};

// How long to wait before the next start, from how long the program ran. Pure.
class RespawnBackoff {
 public:
  explicit RespawnBackoff(RespawnPolicy p = {}) : p_(p) {}
  core::Duration after_exit(core::Duration ran);
  int quick_exits() const { return quick_; }

 private:
  RespawnPolicy p_;
  int quick_ = 0;
};

class Respawner {
 public:
  Respawner(asio::io_context& io, std::vector<RespawnSpec> programs, RespawnPolicy policy = {});
  ~Respawner();
  Status start();
  void stop(std::function<void()> done);

  struct ProgramStatus {
    std::string command;  // "/usr/lib/heartbeat/ipfail" (argv joined)
    std::string user;
    pid_t pid = -1;       // -1: not running now
    int starts = 0;
    std::optional<int> last_exit;  // exit status, or 128 + signal
  };
  std::vector<ProgramStatus> status() const;
  // Told each program's pid when it starts and when it is reaped (the resource guard keeps them,
  // so that a killed clusterd's programs do not run twice once it restarts).
  std::function<void(pid_t)> on_started, on_reaped;

 private:
  struct Program {
    RespawnSpec spec;
    std::string path;  // argv[0] resolved on PATH
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
    pid_t pid = -1;
    core::TimePoint started{};
    std::optional<core::TimePoint> restart_at;
    RespawnBackoff backoff;
    int starts = 0;
    std::optional<int> last_exit;
    bool given_up = false;
  };
  void launch(Program& p);
  void tick();
  void arm();

  asio::io_context& io_;
  asio::steady_timer timer_;
  std::vector<Program> programs_;
  RespawnPolicy policy_;
  bool stopping_ = false;
  core::TimePoint kill_at_{};
  std::function<void()> done_;
};

}  // namespace hapbx::cluster
