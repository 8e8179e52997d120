// The agents that drive hapbx's own daemons (resource_agent.h): replicad through its control
// socket, pbxd as a supervised process.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <thread>

#include "cluster/resource_agent.h"
#include "core/control_client.h"

namespace hapbx::cluster {
namespace {

using core::ControlRequest;

class ReplicaResourceAgent final : public ResourceAgent {
 public:
  ReplicaResourceAgent(std::string resource, ReplicaAgentOptions o) : resource_(std::move(resource)), o_(std::move(o)) {}
  std::string name() const override { return "drbddisk::" + resource_; }

  Status start() override {
    auto r = call({"primary", resource_});
    if (!r) return r.error();
    if (r->ok) return {};
    if (r->text.find("is Primary") == std::string::npos) return fail("primary", r->text);
    // The old Primary is dead for the cluster: drop the stale link, promote, reconnect.
    auto d = call({"disconnect", resource_});
    if (!d) return d.error();
    auto p = call({"primary", resource_});
    if (!p) return p.error();
    if (!p->ok) return fail("primary (after disconnect)", p->text);
    (void)call({"connect", resource_});
    return {};
  }

  Status stop() override {
    auto r = call({"secondary", resource_});
    if (!r) return r.error();
    if (!r->ok) return fail("secondary", r->text);
    return {};
  }

  // Promotable: our disk is UpToDate and connected to the peer (a disconnected disk may be
  // stale; the resource manager ignores readiness while the peer is dead).
  bool ready() override {
    auto d = call({"dstate", resource_});
    if (!d || !d->ok || d->text.rfind("UpToDate/", 0) != 0) return false;
    auto c = call({"cstate", resource_});
    return c && c->ok && c->text.rfind("Connected", 0) == 0;
  }

  Result<AgentState> status() override {
    auto r = call({"role", resource_});
    if (!r) return r.error();
    if (!r->ok) return AgentState::Failed;
    if (r->text.rfind("Primary", 0) == 0) return AgentState::Running;
    return AgentState::Stopped;
  }

 private:
  Result<core::ControlResponse> call(std::vector<std::string> words) {
    core::ControlCallOptions co;
    co.daemon = "replicad";
    co.timeout = o_.timeout;
    return core::call_control_socket(o_.socket, ControlRequest{std::move(words), false}, co);
  }
  Error fail(const char* verb, std::string text) const {
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return make_error(fmt::format("{}: replicad refused '{}': {}", name(), verb, text));
  }

  std::string resource_;
  ReplicaAgentOptions o_;
};

class PbxResourceAgent final : public ResourceAgent {
 public:
  explicit PbxResourceAgent(PbxAgentOptions o) : o_(std::move(o)) {}
  std::string name() const override { return "pbxd"; }

  Status start() override {
    if (answers()) return {};
    if (o_.layout) {
      auto report = prepare_pbx_layout(*o_.layout);
      if (!report) return report.error();
      for (const std::string& d : report->created) spdlog::info("pbxd: created {}", d);
      for (const std::string& f : report->seeded) spdlog::info("pbxd: first start, configuration seeded: {}", f);
    }
    if (const pid_t old = pid(); old > 0 && alive(old)) {
      // Alive but silent: wait a little for it, else restart it.
      if (wait_answer(std::chrono::milliseconds(500))) return {};
      (void)stop();
    }
    std::vector<std::string> argv{o_.pbxd};
    argv.insert(argv.end(), o_.args.begin(), o_.args.end());
    argv.insert(argv.end(), {"--socket", o_.socket});
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const pid_t child = fork();
    if (child < 0) return make_error("pbxd: fork failed");
    if (child == 0) {
      setsid();
      const int log = open(o_.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
      if (log >= 0) {
        dup2(log, 1);
        dup2(log, 2);
      }
      const int in = open("/dev/null", O_RDONLY);
      if (in >= 0) dup2(in, 0);
      execvp(args[0], args.data());
      _exit(127);
    }
    std::ofstream(o_.pid_file) << child << "\n";
    child_ = child;
    if (!wait_answer(o_.start_timeout)) {
      const bool died = !alive(child);
      (void)stop();
      return make_error(fmt::format("pbxd {} within {} ms (see {})", died ? "exited" : "did not answer on " + o_.socket,
                                    o_.start_timeout.count(), o_.log_file));
    }
    return {};
  }

  Status stop() override {
    const pid_t p = pid();
    if (p <= 0 || !alive(p)) {
      unlink(o_.pid_file.c_str());
      return {};
    }
    kill(p, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + o_.stop_timeout;
    while (alive(p) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (alive(p)) {
      kill(p, SIGKILL);
      for (int i = 0; i < 200 && alive(p); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (alive(p)) return make_error(fmt::format("pbxd (pid {}) survived SIGKILL", p));
    unlink(o_.pid_file.c_str());
    return {};
  }

  Result<AgentState> status() override {
    const pid_t p = pid();
    if (p <= 0 || !alive(p)) return AgentState::Stopped;
    return answers() ? AgentState::Running : AgentState::Failed;
  }

 private:
  pid_t pid() const {
    pid_t p = 0;
    std::ifstream(o_.pid_file) >> p;
    return p;
  }
  // Alive, not a zombie; reaps our own child when it has exited.
  bool alive(pid_t p) {
    if (p == child_) {
      int status = 0;
      if (waitpid(p, &status, WNOHANG) == p) {
        child_ = -1;
        return false;
      }
    }
    std::ifstream stat("/proc/" + std::to_string(p) + "/stat");
    std::string f1, comm, state;
    if (!(stat >> f1 >> comm >> state)) return false;
    return state != "Z";
  }
  bool answers() const {
    core::ControlCallOptions co;
    co.daemon = "pbxd";
    co.timeout = std::chrono::milliseconds(1000);
    auto r = core::call_control_socket(o_.socket, ControlRequest{{"core", "show", "version"}, false}, co);
    return r.ok() && r->ok;
  }
  bool wait_answer(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (answers()) return true;
      if (child_ > 0 && !alive(child_)) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  PbxAgentOptions o_;
  pid_t child_ = -1;
};

}  // namespace

ResourceAgentPtr make_replica_agent(std::string resource, ReplicaAgentOptions options) {
  return std::make_unique<ReplicaResourceAgent>(std::move(resource), std::move(options));
}

PbxAgentOptions replicated_pbx_options(const std::string& bin_dir, PbxLayout layout) {
  PbxAgentOptions o;
  const std::string local = bin_dir + "/pbxd";
  if (!bin_dir.empty() && access(local.c_str(), X_OK) == 0) o.pbxd = local;
  o.args = {"--config-dir", layout.config_dir(), "--state-dir", layout.state_dir()};
  o.log_file = layout.log_file();
  o.layout = std::move(layout);
  return o;
}

ResourceAgentPtr make_pbx_agent(PbxAgentOptions options) {
  return std::make_unique<PbxResourceAgent>(std::move(options));
}

}  // namespace hapbx::cluster
