// ha.cf respawn (see respawn.h): the back-off, and the supervisor on clusterd's loop.
#include "cluster/respawn.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace hapbx::cluster {

core::Duration RespawnBackoff::after_exit(core::Duration ran) {
  if (ran >= p_.stable_after) {
    quick_ = 0;
    return core::Duration::zero();
  }
  ++quick_;
  core::Duration d = p_.first_delay;
  for (int i = 1; i < quick_ && d < p_.max_delay; ++i) d *= 2;
  return std::min(d, p_.max_delay);
}

namespace {

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

std::int64_t ms(core::Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

// argv[0] as execvp would find it, resolved before fork (the child may only make async-signal-safe calls).
std::string resolve(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string dir = end > start ? dirs.substr(start, end - start) : ".";
    const std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return name;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return fmt::format("exit status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("signal {}", WTERMSIG(status));
  return "ended";
}

}  // namespace

Respawner::Respawner(asio::io_context& io, std::vector<RespawnSpec> programs, RespawnPolicy policy)
    : io_(io), timer_(io), policy_(policy) {
  for (auto& s : programs) {
    Program p;
    p.spec = std::move(s);
    p.backoff = RespawnBackoff(policy_);
    programs_.push_back(std::move(p));
  }
}

Respawner::~Respawner() {
  // clusterd stops them with stop(); if it did not (an error path), do not leave them behind.
  for (auto& p : programs_)
    if (p.pid > 0) {
      kill(-p.pid, SIGKILL);
      waitpid(p.pid, nullptr, 0);
    }
}

Status Respawner::start() {
  std::string errors;
  for (auto& p : programs_) {
    if (p.spec.command.empty()) {
      errors += fmt::format("ha.cf:{}: respawn: no program\n", p.spec.line);
      continue;
    }
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (getpwnam_r(p.spec.user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) {
      errors += fmt::format("ha.cf:{}: respawn: no user '{}' on this node (create it or name another)\n", p.spec.line, p.spec.user);
      continue;
    }
    p.uid = pw.pw_uid;
    p.gid = pw.pw_gid;
    int n = 64;
    p.groups.assign(static_cast<std::size_t>(n), 0);
    if (getgrouplist(pw.pw_name, pw.pw_gid, p.groups.data(), &n) < 0) {
      p.groups.assign(static_cast<std::size_t>(n), 0);
      if (getgrouplist(pw.pw_name, pw.pw_gid, p.groups.data(), &n) < 0) n = 0;
    }
    p.groups.resize(static_cast<std::size_t>(std::max(n, 0)));
    p.path = resolve(p.spec.command.front());
    if (access(p.path.c_str(), X_OK) != 0)
      errors += fmt::format("ha.cf:{}: respawn: {} is not an executable program here\n", p.spec.line, p.spec.command.front());
  }
  if (!errors.empty()) {
    errors.pop_back();
    return make_error(errors);
  }
  for (auto& p : programs_) launch(p);
  arm();
  return {};
}

void Respawner::launch(Program& p) {
  std::vector<char*> args;
  std::vector<std::string> argv = p.spec.command;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const bool as_self = p.uid == geteuid();
  const pid_t child = fork();
  if (child < 0) {
    spdlog::error("respawn {}: fork failed: {}; trying again later", joined(p.spec.command), std::strerror(errno));
    p.restart_at = core::SteadyClock().now() + p.backoff.after_exit(core::Duration::zero());
    return;
  }
  if (child == 0) {
    // Async-signal-safe calls only: clusterd has threads.
    setsid();
    const int in = ::open("/dev/null", O_RDONLY);
    if (in >= 0 && in != 0) {
      dup2(in, 0);
      ::close(in);
    }
    syscall(SYS_close_range, 3U, ~0U, 0U);
    if (!as_self || getuid() != p.uid) {
      if (setgroups(p.groups.size(), p.groups.data()) != 0 && geteuid() == 0) _exit(126);
      if (setgid(p.gid) != 0 || setuid(p.uid) != 0) _exit(126);
    }
    if (chdir("/") != 0) _exit(126);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    execv(p.path.c_str(), args.data());
    _exit(127);
  }
  p.pid = child;
  p.started = core::SteadyClock().now();
  p.restart_at.reset();
  ++p.starts;
  spdlog::info("respawn: started {} as {} (pid {})", joined(p.spec.command), p.spec.user, child);
  if (on_started) on_started(child);
}

void Respawner::arm() {
  bool any = false;
  for (const auto& p : programs_) any = any || p.pid > 0 || p.restart_at;
  if (!any) {
    if (stopping_ && done_) {
      auto done = std::move(done_);
      done_ = nullptr;
      done();
    }
    return;
  }
  timer_.expires_after(std::chrono::milliseconds(50));
  timer_.async_wait([this](const std::error_code& ec) {
    if (!ec) tick();
  });
}

void Respawner::tick() {
  const core::TimePoint now = core::SteadyClock().now();
  for (auto& p : programs_) {
    if (p.pid > 0) {
      int status = 0;
      const pid_t w = waitpid(p.pid, &status, WNOHANG);
      if (w == p.pid || (w < 0 && errno == ECHILD)) {
        const core::Duration ran = now - p.started;
        const std::string cmd = joined(p.spec.command);
        const pid_t was = p.pid;
        p.pid = -1;
        if (on_reaped) on_reaped(was);
        p.last_exit = -1;
        if (w != was) status = 0;
        if (WIFEXITED(status)) p.last_exit = WEXITSTATUS(status);
        else if (WIFSIGNALED(status)) p.last_exit = 128 + WTERMSIG(status);
        if (stopping_) {
          spdlog::info("respawn: {} stopped ({})", cmd, describe(status));
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == policy_.no_restart_status) {
          p.given_up = true;
          spdlog::warn("respawn: {} exited with status {} after {} ms: not restarting it (it asked so)", cmd,
                       policy_.no_restart_status, ms(ran));
        } else {
          const core::Duration delay = p.backoff.after_exit(ran);
          p.restart_at = now + delay;
          spdlog::warn("respawn: {} (pid {}) ended with {} after {} ms; restarting it {}", cmd, was, describe(status), ms(ran),
                       delay == core::Duration::zero() ? std::string("now")
                                                       : fmt::format("in {} ms ({} quick exits in a row)", ms(delay), p.backoff.quick_exits()));
          if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            spdlog::warn("respawn: exit status 127: {} could not be run", p.path);
          if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
            spdlog::warn("respawn: exit status 126: could not become user {} (clusterd must run as root to change user)", p.spec.user);
        }
      }
    }
    if (p.pid < 0 && p.restart_at && !stopping_ && now >= *p.restart_at) launch(p);
  }
  if (stopping_ && now >= kill_at_) {
    for (auto& p : programs_)
      if (p.pid > 0) {
        spdlog::warn("respawn: {} (pid {}) still runs {} ms after SIGTERM: SIGKILL", joined(p.spec.command), p.pid,
                     ms(policy_.stop_grace));
        kill(-p.pid, SIGKILL);
        kill(p.pid, SIGKILL);
      }
    kill_at_ = now + std::chrono::hours(24);
  }
  arm();
}

void Respawner::stop(std::function<void()> done) {
  stopping_ = true;
  done_ = std::move(done);
  kill_at_ = core::SteadyClock().now() + policy_.stop_grace;
  for (auto& p : programs_) {
    p.restart_at.reset();
    if (p.pid > 0) {
      kill(-p.pid, SIGTERM);
      kill(p.pid, SIGTERM);
    }
  }
  timer_.cancel();
  arm();
}

std::vector<Respawner::ProgramStatus> Respawner::status() const {
  std::vector<ProgramStatus> out;
  for (const auto& p : programs_) out.push_back({joined(p.spec.command), p.spec.user, p.pid, p.starts, p.last_exit});
  return out;
}

}  // namespace hapbx::cluster
