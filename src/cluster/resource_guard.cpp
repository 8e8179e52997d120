// The resource guard (see resource_guard.h): the ledger and the stop plan (pure), the lock, the
// spawn over a socketpair, and the guard process's main.
#include "cluster/resource_guard.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cluster/vip_agent.h"
#include "core/control_client.h"

namespace hapbx::cluster {

// --- pure ------------------------------------------------------------------------------------

std::string guard_group_message(const ResourceGroup& group) {
  std::string out = "group " + group.preferred_node;
  for (const auto& r : group.resources) out += " " + r.text;
  return out + "\n";
}

namespace {
std::optional<std::size_t> parse_index(std::string_view s) {
  std::size_t v = 0;
  if (s.empty() || s.size() > 6) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}
constexpr std::size_t kMaxLine = 64 * 1024;
}  // namespace

Status GuardLedger::feed(std::string_view bytes) {
  std::string errors;
  for (char c : bytes) {
    if (c != '\n') {
      if (partial_.size() < kMaxLine) partial_.push_back(c);
      else if (!discarding_) {
        discarding_ = true;
        errors += fmt::format("guard channel line {}: longer than {} bytes: ignored\n", lines_ + 1, kMaxLine);
      }
      continue;
    }
    ++lines_;
    if (!discarding_)
      if (Status s = line(partial_); !s) errors += s.error().message + "\n";
    partial_.clear();
    discarding_ = false;
  }
  if (!errors.empty()) {
    errors.pop_back();
    return make_error(errors);
  }
  return {};
}

Status GuardLedger::line(std::string_view l) {
  const std::string where = fmt::format("guard channel line {}", lines_);
  if (clean_exit_) return make_error(where + ": after 'exit': ignored");
  if (l.rfind("group ", 0) == 0) {
    if (group_) return make_error(where + ": a second 'group': ignored");
    auto res = parse_haresources(l.substr(6), "guard channel");
    if (!res) return make_error(where + ": " + res.error().message);
    if (res->groups.size() != 1) return make_error(where + ": 'group' must carry exactly one group");
    group_ = std::move(res->groups.front());
    started_.assign(group_->resources.size(), false);
    return {};
  }
  if (l == "exit") {
    clean_exit_ = true;
    return {};
  }
  const bool child = l.rfind("child ", 0) == 0, reaped = l.rfind("reaped ", 0) == 0;
  if (child || reaped) {
    auto p = parse_index(l.substr(child ? 6 : 7));
    if (!p || *p < 2 || *p > (1u << 22)) return make_error(fmt::format("{}: '{}': not a process id", where, l.substr(0, 80)));
    const pid_t pid = static_cast<pid_t>(*p);
    std::erase(children_, pid);
    if (child) children_.push_back(pid);
    return {};
  }
  const bool start = l.rfind("start ", 0) == 0, stop = l.rfind("stop ", 0) == 0;
  if (start || stop) {
    if (!group_) return make_error(where + ": '" + std::string(l) + "' before 'group': ignored");
    auto i = parse_index(l.substr(start ? 6 : 5));
    if (!i || *i >= started_.size())
      return make_error(fmt::format("{}: '{}': not a resource index (0..{})", where, l, started_.size() - 1));
    started_[*i] = start;
    return {};
  }
  return make_error(fmt::format("{}: unknown message '{}'", where, l.substr(0, 80)));
}

std::size_t GuardLedger::started_count() const {
  std::size_t n = 0;
  for (bool b : started_) n += b;
  return n;
}

std::vector<std::size_t> guard_stop_plan(const std::vector<ResourceKind>& kinds, const std::vector<bool>& started) {
  std::vector<std::size_t> plan;
  const std::size_t n = std::min(kinds.size(), started.size());
  for (std::size_t i = n; i-- > 0;)
    if (started[i] && kinds[i] == ResourceKind::Vip) plan.push_back(i);
  for (std::size_t i = n; i-- > 0;)
    if (started[i] && kinds[i] != ResourceKind::Vip) plan.push_back(i);
  return plan;
}

std::string format_guard_file(const GuardFileState& s) {
  return fmt::format("clusterd {} guard {} {}\n", s.clusterd, s.guard, s.stopping ? "stopping" : "watching");
}

std::optional<GuardFileState> parse_guard_file(std::string_view text) {
  std::istringstream in{std::string(text.substr(0, 256))};
  std::string w1, w2, state;
  long long c = -1, g = -1;
  if (!(in >> w1 >> c >> w2 >> g >> state)) return std::nullopt;
  if (w1 != "clusterd" || w2 != "guard" || c <= 0 || g < 0 || c > 1 << 30 || g > 1 << 30) return std::nullopt;
  if (state != "watching" && state != "stopping") return std::nullopt;
  return GuardFileState{static_cast<pid_t>(c), static_cast<pid_t>(g), state == "stopping"};
}

LockVerdict judge_held_lock(const std::optional<GuardFileState>& s, const std::function<bool(pid_t)>& alive) {
  if (s && !s->stopping && alive(s->clusterd)) return LockVerdict::AnotherClusterd;
  return LockVerdict::WaitForGuard;
}

// --- agents ----------------------------------------------------------------------------------

ResourceAgentPtr make_resource_agent(const ResourceSpec& r, const GroupAgentOptions& options) {
  switch (r.kind()) {
    case ResourceKind::Vip: {
      auto agent = make_vip_agent(std::get<VipSpec>(r.spec), r.text);
      if (options.takeover_checks && options.vip_probe) {
        VipTakeoverOptions o;
        o.peer_fenced = options.peer_fenced;
        return make_probing_vip_agent(std::move(agent), std::get<VipSpec>(r.spec), o);
      }
      return agent;
    }
    case ResourceKind::Replica: {
      const std::string& res = std::get<ReplicaSpec>(r.spec).resource;
      auto agent = make_replica_agent(res);
      if (options.takeover_checks) return make_patient_replica_agent(std::move(agent), res, {}, options.replica_patience);
      return agent;
    }
    case ResourceKind::Filesystem: return make_filesystem_agent(std::get<FilesystemSpec>(r.spec), r.text);
    case ResourceKind::Pbx: return make_pbx_agent(replicated_pbx_options(options.bin_dir));
    case ResourceKind::Lsb: {
      LsbOptions o;
      o.script_dirs = {options.resource_dir, "/etc/init.d"};
      return make_lsb_agent(std::get<LsbSpec>(r.spec).script, r.args, o);
    }
  }
  return nullptr;
}

namespace {

class PatientReplicaAgent final : public ResourceAgent {
 public:
  PatientReplicaAgent(ResourceAgentPtr inner, std::string resource, ReplicaAgentOptions o, std::chrono::milliseconds patience)
      : inner_(std::move(inner)), resource_(std::move(resource)), o_(std::move(o)), patience_(patience) {}
  std::string name() const override { return inner_->name(); }
  Status start() override {
    const auto t0 = std::chrono::steady_clock::now();
    bool told = false;
    while (true) {
      core::ControlCallOptions co;
      co.daemon = "replicad";
      co.timeout = o_.timeout;
      auto r = core::call_control_socket(o_.socket, core::ControlRequest{{"primary", resource_}, false}, co);
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
      if (r && r->ok) {
        if (told) spdlog::warn("{}: the peer is no longer Primary after {} ms: promoted", name(), waited.count());
        return {};
      }
      // Not the peer's Primary role (replicad down, a bad disk...), or out of patience: the
      // wrapped agent does what it does (and names the error).
      if (!r || r->text.find("is Primary") == std::string::npos || waited >= patience_) {
        if (told) spdlog::warn("{}: the peer is still Primary after {} ms: going on without it", name(), waited.count());
        return inner_->start();
      }
      if (!told) {
        told = true;
        spdlog::warn("{}: the peer is still Primary (its clusterd died and its guard is demoting it?): waiting for that, at most {} ms",
                     name(), patience_.count());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  Status stop() override { return inner_->stop(); }
  Result<AgentState> status() override { return inner_->status(); }
  bool ready() override { return inner_->ready(); }

 private:
  ResourceAgentPtr inner_;
  std::string resource_;
  ReplicaAgentOptions o_;
  std::chrono::milliseconds patience_;
};

}  // namespace

ResourceAgentPtr make_patient_replica_agent(ResourceAgentPtr replica_agent, std::string resource, ReplicaAgentOptions options,
                                            std::chrono::milliseconds patience) {
  return std::make_unique<PatientReplicaAgent>(std::move(replica_agent), std::move(resource), std::move(options), patience);
}

// --- edges -----------------------------------------------------------------------------------

namespace {

bool process_alive(pid_t p) {
  if (p <= 0) return false;
  if (kill(p, 0) != 0 && errno != EPERM) return false;
  std::ifstream stat("/proc/" + std::to_string(p) + "/stat");
  std::string f1, comm, state;
  if (!(stat >> f1 >> comm >> state)) return true;  // no /proc: kill(0) said it lives
  return state != "Z";
}

std::string read_fd_text(int fd) {
  char buf[257] = {};
  const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

void write_fd_text(int fd, const std::string& text) {
  if (pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()))
    (void)!ftruncate(fd, static_cast<off_t>(text.size()));
}

}  // namespace

Result<int> acquire_guard_lock(const std::string& path, std::chrono::milliseconds wait) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code dir_ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, dir_ec);  // as the control socket's
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(fmt::format("guard file {}: cannot open it: {}", path, std::strerror(errno)));
  const auto t0 = std::chrono::steady_clock::now();
  bool told = false;
  while (true) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      if (told)
        spdlog::info("the previous guard finished after {} ms: starting",
                     std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
      write_fd_text(fd, format_guard_file(GuardFileState{getpid(), 0, false}));
      return fd;
    }
    if (errno != EWOULDBLOCK && errno != EINTR) {
      const int e = errno;
      ::close(fd);
      return make_error(fmt::format("guard file {}: cannot lock it: {}", path, std::strerror(e)));
    }
    const auto state = parse_guard_file(read_fd_text(fd));
    if (judge_held_lock(state, process_alive) == LockVerdict::AnotherClusterd) {
      ::close(fd);
      return make_error(fmt::format("another clusterd (pid {}) runs on this node (it holds {}): stop it first", state->clusterd, path));
    }
    if (!told) {
      told = true;
      if (state)
        spdlog::warn("the guard (pid {}) of a clusterd that ended (pid {}) is still stopping its resources: waiting for it "
                     "(at most {} ms) before starting", state->guard, state->clusterd, wait.count());
      else
        spdlog::warn("{} is locked by another process: waiting for it (at most {} ms)", path, wait.count());
    }
    if (std::chrono::steady_clock::now() - t0 >= wait) {
      ::close(fd);
      return make_error(fmt::format("guard file {}: still locked after {} ms{}: not starting, since resources may still be "
                                    "active or being stopped here (see that guard's log lines, or end it)", path, wait.count(),
                                    state ? fmt::format(" by the guard (pid {}) of clusterd pid {}", state->guard, state->clusterd) : ""));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ResourceGuard::ResourceGuard(std::string guard_file, int lock_fd, ResourceGroup group, GroupAgentOptions agents)
    : guard_file_(std::move(guard_file)), lock_fd_(lock_fd), group_(std::move(group)), agents_(std::move(agents)),
      started_(group_.resources.size(), false) {}

ResourceGuard::~ResourceGuard() {
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status ResourceGuard::spawn() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return make_error(fmt::format("resource guard: socketpair: {}", std::strerror(errno)));
  std::vector<std::string> argv{"clusterd", "--guard", std::to_string(sv[1]), "--guard-lock-fd", std::to_string(lock_fd_),
                                "--resource-dir", agents_.resource_dir};
  if (!agents_.bin_dir.empty()) argv.insert(argv.end(), {"--bin-dir", agents_.bin_dir});
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t child = fork();
  if (child < 0) {
    const int e = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    return make_error(fmt::format("resource guard: fork: {}", std::strerror(e)));
  }
  if (child == 0) {
    // Only async-signal-safe calls here: the parent has threads.
    fcntl(sv[1], F_SETFD, 0);
    fcntl(lock_fd_, F_SETFD, 0);
    execv("/proc/self/exe", args.data());
    _exit(127);
  }
  ::close(sv[1]);
  if (fd_ >= 0) ::close(fd_);
  fd_ = sv[0];
  pid_ = child;
  // The guard says "ready" once it has set itself up; without that, it is not guarding.
  pollfd p{fd_, POLLIN, 0};
  char buf[16] = {};
  ssize_t got = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (got < 6) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) break;
    const ssize_t n = ::read(fd_, buf + got, static_cast<std::size_t>(6 - got));
    if (n <= 0) break;
    got += n;
  }
  if (got != 6 || std::memcmp(buf, "ready\n", 6) != 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    ::close(fd_);
    fd_ = -1;
    pid_ = -1;
    return make_error("resource guard: the guard process did not start (re-exec of /proc/self/exe --guard): without it a "
                      "killed clusterd would leave its resources here");
  }
  write_file();
  send(guard_group_message(group_));
  for (std::size_t i = 0; i < started_.size(); ++i)
    if (started_[i]) send(fmt::format("start {}\n", i));
  for (pid_t c : children_) send(fmt::format("child {}\n", c));
  return {};
}

void ResourceGuard::child(pid_t pid) {
  children_.push_back(pid);
  send(fmt::format("child {}\n", pid));
}

void ResourceGuard::reaped(pid_t pid) {
  std::erase(children_, pid);
  send(fmt::format("reaped {}\n", pid));
}

void ResourceGuard::write_file() { write_fd_text(lock_fd_, format_guard_file(GuardFileState{getpid(), pid_, false})); }

void ResourceGuard::send(const std::string& line) {
  if (fd_ < 0 || done_) return;
  std::size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = ::send(fd_, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      spdlog::error("resource guard (pid {}): cannot tell it '{}': {}", pid_, line.substr(0, line.size() - 1), std::strerror(errno));
      return;
    }
    off += static_cast<std::size_t>(n);
  }
}

void ResourceGuard::started(std::size_t i) {
  if (i >= started_.size()) return;
  started_[i] = true;
  send(fmt::format("start {}\n", i));
}

void ResourceGuard::stopped(std::size_t i) {
  if (i >= started_.size()) return;
  started_[i] = false;
  send(fmt::format("stop {}\n", i));
}

void ResourceGuard::clean_exit() {
  send("exit\n");
  done_ = true;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void ResourceGuard::respawn_after_death() {
  int status = 0;
  if (pid_ > 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
    spdlog::error("resource guard (pid {}) ended ({}): spawning a new one", pid_,
                  WIFSIGNALED(status) ? fmt::format("signal {}", WTERMSIG(status)) : fmt::format("exit {}", WEXITSTATUS(status)));
  } else {
    spdlog::error("resource guard (pid {}) closed its channel: spawning a new one", pid_);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  pid_ = -1;
  if (Status s = spawn(); !s) spdlog::error("{}", s.error().message);
}

// --- the guard process -----------------------------------------------------------------------

namespace {

void close_other_fds(int keep1, int keep2) {
  std::vector<int> fds;
  if (DIR* d = opendir("/proc/self/fd")) {
    const int own = dirfd(d);
    while (dirent* e = readdir(d)) {
      int fd = -1;
      auto [p, ec] = std::from_chars(e->d_name, e->d_name + std::strlen(e->d_name), fd);
      if (ec == std::errc() && fd > 2 && fd != keep1 && fd != keep2 && fd != own) fds.push_back(fd);
    }
    closedir(d);
  }
  for (int fd : fds) ::close(fd);
}

std::string ms_since(std::chrono::steady_clock::time_point t0) {
  return fmt::format("{:.1f}", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
}

}  // namespace

namespace {
int stop_resources(const GuardLedger& ledger, pid_t clusterd, const GroupAgentOptions& agents,
                   std::chrono::steady_clock::time_point t0);
int stop_children(const std::vector<pid_t>& children, std::chrono::steady_clock::time_point t0);
}  // namespace

int run_resource_guard(int channel_fd, int lock_fd, const GroupAgentOptions& agents) {
  prctl(PR_SET_NAME, "clusterd-guard", 0, 0, 0);
  // A stop of the service or a Ctrl-C signals the whole process group; clusterd's graceful
  // stop decides what happens to the resources, and tells us with `exit`.
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  if (fcntl(channel_fd, F_GETFD) < 0 || fcntl(lock_fd, F_GETFD) < 0) {
    spdlog::error("guard: descriptors {} and {} are not open (this mode is clusterd's own: do not run it by hand)", channel_fd, lock_fd);
    return 2;
  }
  fcntl(channel_fd, F_SETFD, FD_CLOEXEC);
  fcntl(lock_fd, F_SETFD, FD_CLOEXEC);
  close_other_fds(channel_fd, lock_fd);
  const pid_t clusterd = getppid();
  if (::send(channel_fd, "ready\n", 6, MSG_NOSIGNAL) != 6) return 2;
  GuardLedger ledger;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(channel_fd, buf, sizeof buf);
    if (n > 0) {
      if (Status s = ledger.feed(std::string_view(buf, static_cast<std::size_t>(n))); !s) spdlog::error("guard: {}", s.error().message);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // end of file (clusterd closed it or died) or an error: the same for us
  }
  const auto t0 = std::chrono::steady_clock::now();
  if (ledger.clean_exit()) return 0;
  write_fd_text(lock_fd, format_guard_file(GuardFileState{clusterd, getpid(), true}));
  int failed = stop_resources(ledger, clusterd, agents, t0);
  failed += stop_children(ledger.children(), t0);
  return failed ? 1 : 0;
}

namespace {

int stop_resources(const GuardLedger& ledger, pid_t clusterd, const GroupAgentOptions& agents,
                   std::chrono::steady_clock::time_point t0) {
  if (!ledger.has_group() || ledger.started_count() == 0) {
    spdlog::warn("guard: clusterd (pid {}) ended without a clean exit; it had started no resource", clusterd);
    return 0;
  }
  const ResourceGroup& g = ledger.group();
  std::vector<ResourceKind> kinds;
  for (const auto& r : g.resources) kinds.push_back(r.kind());
  const auto plan = guard_stop_plan(kinds, ledger.started());
  std::string names;
  for (std::size_t i : plan) names += (names.empty() ? "" : ", ") + g.resources[i].text;
  spdlog::warn("guard: clusterd (pid {}) died without a clean exit: stopping the {} resource(s) it had started, VIPs first: {}",
               clusterd, plan.size(), names);
  GroupAgentOptions o = agents;
  o.takeover_checks = false;
  int failed = 0;
  for (std::size_t i : plan) {
    auto agent = make_resource_agent(g.resources[i], o);
    Status s;
    for (int attempt = 1; attempt <= 3; ++attempt) {
      s = agent->stop();
      if (s) break;
      spdlog::error("guard: stopping {} failed (attempt {} of 3): {}", g.resources[i].text, attempt, s.error().message);
      if (attempt < 3) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    if (s) spdlog::warn("guard: stopped {} ({} ms after clusterd's death)", g.resources[i].text, ms_since(t0));
    else ++failed;
  }
  if (failed) spdlog::error("guard: {} resource(s) could not be stopped; done after {} ms", failed, ms_since(t0));
  else spdlog::warn("guard: every resource stopped, {} ms after clusterd's death", ms_since(t0));
  return failed;
}

// The respawned programs: SIGTERM to each one's process group (each runs in a session of its
// own), SIGKILL after 5 s.
int stop_children(const std::vector<pid_t>& children, std::chrono::steady_clock::time_point t0) {
  std::vector<pid_t> left;
  for (pid_t c : children)
    if (kill(-c, SIGTERM) == 0) left.push_back(c);
  if (left.empty()) return 0;
  auto gone = [](pid_t c) { return !process_alive(c); };  // the group's leader (a zombie counts as gone)
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline && !std::all_of(left.begin(), left.end(), gone))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  int stuck = 0;
  for (pid_t c : left)
    if (!gone(c)) {
      spdlog::warn("guard: respawned program (pid {}) still runs 5 s after SIGTERM: SIGKILL", c);
      kill(-c, SIGKILL);
      ++stuck;
    }
  spdlog::warn("guard: stopped {} respawned program(s), {} ms after clusterd's death{}", left.size(), ms_since(t0),
               stuck ? fmt::format(" ({} killed)", stuck) : "");
  return 0;
}

}  // namespace

}  // namespace hapbx::cluster
