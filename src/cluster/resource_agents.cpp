// The built-in resource agents (resource_agent.h): VIP, LSB script, Filesystem.
#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>

#include "cluster/resource_agent.h"
#include "cluster/vip_agent.h"
#include "core/mount_info.h"

namespace hapbx::cluster {

std::string_view to_string(AgentState s) {
  switch (s) {
    case AgentState::Running: return "running";
    case AgentState::Stopped: return "stopped";
    case AgentState::Failed: return "failed";
  }
  return "?";
}

namespace {

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  const auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

// --- VIP ---------------------------------------------------------------------------------

class VipResourceAgent final : public ResourceAgent {
 public:
  VipResourceAgent(VipSpec vip, std::string name) : vip_(std::move(vip)), name_(std::move(name)) {}
  ~VipResourceAgent() override { finish_announcing(); }
  std::string name() const override { return name_; }
  // The address and the first round of announcements; the remaining rounds (send_arp repeats
  // them for switches that missed one) go out from a thread of the agent's own, so the group's
  // next resource starts at once instead of 0.8 s later.
  Status start() override {
    finish_announcing();
    if (Status s = vip_add(vip_); !s) return s;
    AnnounceOptions first;
    first.repeats = 1;
    if (Status s = vip_announce(vip_, first); !s) return s;
    announcer_ = std::thread([vip = vip_] {
      AnnounceOptions rest;
      std::this_thread::sleep_for(rest.interval);
      rest.repeats -= 1;
      (void)vip_announce(vip, rest);
    });
    return {};
  }
  Status stop() override {
    finish_announcing();
    return vip_remove(vip_);
  }
  Result<AgentState> status() override {
    auto p = vip_present(vip_);
    if (!p) return p.error();
    return *p ? AgentState::Running : AgentState::Stopped;
  }


 private:
  void finish_announcing() {
    if (announcer_.joinable()) announcer_.join();
  }

  VipSpec vip_;
  std::string name_;
  std::thread announcer_;
};

// --- LSB script --------------------------------------------------------------------------

class LsbResourceAgent final : public ResourceAgent {
 public:
  LsbResourceAgent(std::string script, std::vector<std::string> args, LsbOptions o)
      : script_(std::move(script)), args_(std::move(args)), options_(std::move(o)) {}
  std::string name() const override {
    std::string n = script_;
    for (const auto& a : args_) n += "::" + a;
    return n;
  }
  Status start() override { return run_ok("start"); }
  Status stop() override { return run_ok("stop"); }
  Result<AgentState> status() override {
    auto path = find();
    if (!path) return path.error();
    ProgramResult r = run_program(argv(*path, "status"), options_.timeout);
    if (r.timed_out) return make_error(fmt::format("{} status: no answer within {} ms", name(), options_.timeout.count()));
    if (r.exit_status == 0) return AgentState::Running;
    if (r.exit_status == 3) return AgentState::Stopped;
    return AgentState::Failed;
  }

 private:
  Result<std::string> find() const {
    if (!script_.empty() && script_.front() == '/') {
      if (access(script_.c_str(), X_OK) == 0) return script_;
      return make_error(fmt::format("resource script {} is missing or not executable", script_));
    }
    if (script_.find('/') != std::string::npos || script_.empty() || script_ == "." || script_ == "..")
      return make_error(fmt::format("resource script name '{}' must not contain '/'", script_));
    for (const auto& dir : options_.script_dirs) {
      const std::string p = dir + "/" + script_;
      if (access(p.c_str(), X_OK) == 0) return p;
    }
    std::string dirs;
    for (const auto& d : options_.script_dirs) dirs += (dirs.empty() ? "" : ", ") + d;
    return make_error(fmt::format("resource script '{}' not found in {}", script_, dirs));
  }
  std::vector<std::string> argv(const std::string& path, const char* verb) const {
    std::vector<std::string> v{path};
    v.insert(v.end(), args_.begin(), args_.end());  // Heartbeat: script arg1 arg2 start
    v.push_back(verb);
    return v;
  }
  Status run_ok(const char* verb) {
    auto path = find();
    if (!path) return path.error();
    ProgramResult r = run_program(argv(*path, verb), options_.timeout);
    if (r.timed_out)
      return make_error(fmt::format("{} {}: no answer within {} ms (killed)", name(), verb, options_.timeout.count()));
    if (r.exit_status != 0)
      return make_error(fmt::format("{} {}: exit status {}{}{}", name(), verb, r.exit_status,
                                    r.output.empty() ? "" : ": ", last_line(r.output)));
    return {};
  }

  std::string script_;
  std::vector<std::string> args_;
  LsbOptions options_;
};

// --- Filesystem --------------------------------------------------------------------------

// Whether `device` is what is mounted on top at `mount_point` in this mount namespace. Another
// filesystem there (a bind mount, a stale mount of another disk) is not ours: we mount over it
// and never unmount it.
bool device_mounted_at(const std::string& device, const std::string& mount_point) {
  struct stat st {};
  if (stat(device.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return false;
  auto entries = core::read_mount_info();
  if (!entries) return false;
  const core::MountEntry* top = nullptr;
  for (const core::MountEntry& e : *entries)
    if (e.mount_point == mount_point) top = &e;  // later lines are mounted over earlier ones
  return top && top->major == major(st.st_rdev) && top->minor == minor(st.st_rdev);
}

// The generic mount(8) options that are flags of mount(2), not data for the filesystem.
std::optional<unsigned long> mount_flag(const std::string& o) {
  static const std::pair<const char*, unsigned long> flags[] = {
      {"ro", MS_RDONLY},      {"rw", 0},           {"noatime", MS_NOATIME}, {"nodiratime", MS_NODIRATIME},
      {"relatime", MS_RELATIME}, {"nosuid", MS_NOSUID}, {"nodev", MS_NODEV},  {"noexec", MS_NOEXEC},
      {"sync", MS_SYNCHRONOUS}, {"dirsync", MS_DIRSYNC}, {"defaults", 0}};
  for (const auto& [name, flag] : flags)
    if (o == name) return flag;
  return std::nullopt;
}

bool path_under(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

// PIDs whose cwd, root or an open file is under `dir` (what fuser -m finds), never ourselves.
std::vector<pid_t> users_of(const std::string& dir) {
  std::vector<pid_t> pids;
  DIR* proc = opendir("/proc");
  if (!proc) return pids;
  while (dirent* e = readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (!end || *end != '\0' || pid <= 0 || pid == getpid()) continue;
    const std::string base = std::string("/proc/") + e->d_name;
    bool uses = false;
    char buf[4096];
    for (const char* link : {"/cwd", "/root", "/exe"}) {
      const ssize_t n = readlink((base + link).c_str(), buf, sizeof buf - 1);
      if (n > 0 && path_under(std::string(buf, static_cast<std::size_t>(n)), dir)) uses = true;
    }
    if (!uses) {
      if (DIR* fds = opendir((base + "/fd").c_str())) {
        while (dirent* f = readdir(fds)) {
          if (f->d_name[0] == '.') continue;
          const ssize_t n = readlink((base + "/fd/" + f->d_name).c_str(), buf, sizeof buf - 1);
          if (n > 0 && path_under(std::string(buf, static_cast<std::size_t>(n)), dir)) {
            uses = true;
            break;
          }
        }
        closedir(fds);
      }
    }
    if (uses) pids.push_back(static_cast<pid_t>(pid));
  }
  closedir(proc);
  return pids;
}

class FilesystemResourceAgent final : public ResourceAgent {
 public:
  FilesystemResourceAgent(FilesystemSpec spec, std::string name) : spec_(std::move(spec)), name_(std::move(name)) {}
  std::string name() const override { return name_; }

  Status start() override {
    if (device_mounted_at(spec_.device, spec_.mountpoint)) return {};
    struct stat st {};
    if (stat(spec_.mountpoint.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return make_error(fmt::format("{}: mount point {} is not a directory", name_, spec_.mountpoint));
    std::vector<std::string> opts;
    bool fsck = spec_.fstype.rfind("ext", 0) == 0;
    std::string data;
    unsigned long flags = 0;
    for (std::size_t start = 0; start <= spec_.options.size();) {
      const std::size_t comma = spec_.options.find(',', start);
      const std::string o = spec_.options.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (o == "nofsck") fsck = false;
      else if (auto f = mount_flag(o)) flags |= *f;
      else if (!o.empty()) data += (data.empty() ? "" : ",") + o;  // the filesystem's own options
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (fsck) {
      // After a crash the journal needs replaying; -p repairs what is safe without asking.
      ProgramResult r = run_program({"e2fsck", "-p", spec_.device}, std::chrono::minutes(10));
      if (r.timed_out || r.exit_status < 0 || r.exit_status >= 4)
        return make_error(fmt::format("{}: e2fsck -p {} failed (exit {}): {}; repair it by hand (e2fsck -f)", name_,
                                      spec_.device, r.exit_status, last_line(r.output)));
    }
    if (mount(spec_.device.c_str(), spec_.mountpoint.c_str(), spec_.fstype.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0)
      return make_error(fmt::format("{}: mount {} on {} ({}): {}", name_, spec_.device, spec_.mountpoint,
                                    spec_.fstype, std::strerror(errno)));
    return {};
  }

  Status stop() override {
    for (int attempt = 0; attempt < 6; ++attempt) {
      if (!device_mounted_at(spec_.device, spec_.mountpoint)) return {};
      if (umount2(spec_.mountpoint.c_str(), 0) == 0) return {};
      if (errno != EBUSY) return make_error(fmt::format("{}: umount {}: {}", name_, spec_.mountpoint, std::strerror(errno)));
      // Busy: stop whoever uses it, gently first.
      const int sig = attempt < 3 ? SIGTERM : SIGKILL;
      for (pid_t p : users_of(spec_.mountpoint)) kill(p, sig);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return make_error(fmt::format("{}: {} still busy after stopping its users", name_, spec_.mountpoint));
  }

  Result<AgentState> status() override {
    return device_mounted_at(spec_.device, spec_.mountpoint) ? AgentState::Running : AgentState::Stopped;
  }

 private:
  FilesystemSpec spec_;
  std::string name_;
};

}  // namespace

ResourceAgentPtr make_vip_agent(const VipSpec& vip, std::string name) {
  return std::make_unique<VipResourceAgent>(vip, std::move(name));
}

ResourceAgentPtr make_lsb_agent(std::string script, std::vector<std::string> args, LsbOptions options) {
  return std::make_unique<LsbResourceAgent>(std::move(script), std::move(args), std::move(options));
}

ResourceAgentPtr make_filesystem_agent(FilesystemSpec spec, std::string name) {
  return std::make_unique<FilesystemResourceAgent>(std::move(spec), std::move(name));
}

}  // namespace hapbx::cluster
