// The resource guard (resource_guard.h): the ledger of what clusterd started (any split of the
// bytes, hostile lines), the stop plan (VIPs first, then reverse order), the lock file's text and
// the verdict on a held lock; then the guard's main for real in a child process, with LSB
// scripts that record their calls: a death without `exit` stops the started resources in the
// plan's order, a clean exit stops nothing, and the lock is held until the guard is done.
#include "cluster/resource_guard.h"

#include "cluster/cluster_daemon.h"
#include "core/control_server.h"
#include "support/temp_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>
#include <fstream>
#include <sstream>

namespace hapbx::cluster {
namespace {

const char* kGroup = "group asterisk1 IPaddr::198.18.0.10/24/eth0 drbddisk::r0 Filesystem::/dev/hapbx/r0::/replica::ext4 pbxd\n";

TEST(GuardLedger, TracksStartsAndStopsInAnySplit) {
  const std::string all = std::string(kGroup) + "start 0\nstart 1\nstart 2\nstop 2\nstart 3\n";
  for (std::size_t chunk = 1; chunk <= all.size(); chunk += 7) {
    GuardLedger l;
    for (std::size_t i = 0; i < all.size(); i += chunk) ASSERT_TRUE(l.feed(std::string_view(all).substr(i, chunk)));
    ASSERT_TRUE(l.has_group());
    EXPECT_EQ(l.group().preferred_node, "asterisk1");
    ASSERT_EQ(l.group().resources.size(), 4u);
    EXPECT_EQ(l.started(), (std::vector<bool>{true, true, false, true}));
    EXPECT_EQ(l.started_count(), 3u);
    EXPECT_FALSE(l.clean_exit());
  }
}

TEST(GuardLedger, CleanExitAndAPartialLastLine) {
  GuardLedger l;
  ASSERT_TRUE(l.feed(std::string(kGroup) + "start 0\nexit\n"));
  EXPECT_TRUE(l.clean_exit());
  GuardLedger cut;
  ASSERT_TRUE(cut.feed(std::string(kGroup) + "start 0\nexi"));  // died while writing "exit"
  EXPECT_FALSE(cut.clean_exit());
  EXPECT_EQ(cut.started_count(), 1u);
}

TEST(GuardLedger, RejectsHostileLinesAndStaysUsable) {
  GuardLedger l;
  auto s = l.feed("start 0\n");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("before 'group'"), std::string::npos) << s.error().message;
  ASSERT_TRUE(l.feed(kGroup));
  for (const char* bad : {"start 4\n", "start -1\n", "start 99999999999\n", "start x\n", "stop\n", "bogus\n",
                          "group asterisk1 pbxd\n", "group \n"}) {
    auto r = l.feed(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().message.find("guard channel line"), std::string::npos) << r.error().message;
    }
  }
  EXPECT_FALSE(l.feed(std::string(100000, 'a') + "\n"));  // an endless line: bounded, ignored
  ASSERT_TRUE(l.feed("start 3\n"));
  EXPECT_EQ(l.started(), (std::vector<bool>{false, false, false, true}));
  ASSERT_TRUE(l.feed("exit\n"));
  EXPECT_FALSE(l.feed("start 1\n"));  // nothing counts after exit
  EXPECT_EQ(l.started_count(), 1u);
}

TEST(GuardLedger, TracksTheRespawnedPrograms) {
  GuardLedger l;
  ASSERT_TRUE(l.feed(std::string(kGroup) + "child 100\nchild 200\nreaped 100\nchild 300\nchild 300\n"));
  EXPECT_EQ(l.children(), (std::vector<pid_t>{200, 300}));
  for (const char* bad : {"child 0\n", "child 1\n", "child -4\n", "child abc\n", "reaped 99999999\n"}) EXPECT_FALSE(l.feed(bad)) << bad;
  EXPECT_EQ(l.children(), (std::vector<pid_t>{200, 300}));
}

TEST(GuardLedger, GroupThatDoesNotParseIsAnError) {
  GuardLedger l;
  auto s = l.feed("group asterisk1 IPaddr::198.18.0.10/33/eth0\n");
  ASSERT_FALSE(s);
  EXPECT_FALSE(l.has_group());
}

TEST(GuardGroupMessage, RoundTripsThroughTheLedger) {
  auto res = parse_haresources("asterisk2 IPaddr::198.18.0.10/24/eth0 MailTo::root \\\n  pbxd\n", "haresources");
  ASSERT_TRUE(res) << res.error().message;
  const std::string msg = guard_group_message(res->groups.front());
  EXPECT_EQ(msg, "group asterisk2 IPaddr::198.18.0.10/24/eth0 MailTo::root pbxd\n");
  GuardLedger l;
  ASSERT_TRUE(l.feed(msg));
  ASSERT_EQ(l.group().resources.size(), 3u);
  EXPECT_EQ(l.group().resources[1].text, "MailTo::root");
}

TEST(GuardStopPlan, VipsFirstThenReverseOrder) {
  using K = ResourceKind;
  // The thesis group: IPaddr drbddisk Filesystem pbxd, all started.
  EXPECT_EQ(guard_stop_plan({K::Vip, K::Replica, K::Filesystem, K::Pbx}, {true, true, true, true}),
            (std::vector<std::size_t>{0, 3, 2, 1}));
  // Two VIPs, partly started (a start cut short counts as started).
  EXPECT_EQ(guard_stop_plan({K::Replica, K::Vip, K::Lsb, K::Vip}, {true, true, true, false}),
            (std::vector<std::size_t>{1, 2, 0}));
  EXPECT_TRUE(guard_stop_plan({K::Vip, K::Pbx}, {false, false}).empty());
  EXPECT_EQ(guard_stop_plan({K::Vip, K::Pbx}, {true}), (std::vector<std::size_t>{0}));  // mismatched sizes: the common part
}

TEST(GuardFile, FormatParseAndVerdict) {
  const GuardFileState s{1234, 1240, false};
  EXPECT_EQ(format_guard_file(s), "clusterd 1234 guard 1240 watching\n");
  EXPECT_EQ(parse_guard_file(format_guard_file(s)), s);
  const GuardFileState t{1234, 1240, true};
  EXPECT_EQ(parse_guard_file(format_guard_file(t)), t);
  for (const char* bad : {"", "clusterd", "clusterd x guard 1 watching", "clusterd 0 guard 1 watching",
                          "clusterd 1 guard 2 sleeping", "guard 1 clusterd 2 watching", "clusterd -5 guard 1 stopping"})
    EXPECT_FALSE(parse_guard_file(bad)) << bad;
  auto alive = [](pid_t p) { return p == 1234; };
  EXPECT_EQ(judge_held_lock(s, alive), LockVerdict::AnotherClusterd);
  EXPECT_EQ(judge_held_lock(t, alive), LockVerdict::WaitForGuard);          // its clusterd died
  EXPECT_EQ(judge_held_lock(GuardFileState{99, 100, false}, alive), LockVerdict::WaitForGuard);  // died, guard not yet told
  EXPECT_EQ(judge_held_lock(std::nullopt, alive), LockVerdict::WaitForGuard);
}

// --- the guard process for real ----------------------------------------------------------------

class GuardProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hapbx-guard-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // An LSB script that records "NAME VERB" and sleeps a little on stop, so the lock is seen held.
    const std::string script = dir_ + "/marker";
    std::ofstream(script) << "#!/bin/sh\necho \"$1 $2\" >> " << dir_ << "/calls\n[ \"$2\" = stop ] && sleep 0.2\nexit 0\n";
    chmod(script.c_str(), 0755);
    lock_path_ = dir_ + "/clusterd.guard";
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  std::string calls() {
    std::ifstream in(dir_ + "/calls");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Forks the guard's main with a socketpair and the locked file; returns its pid and our end.
  std::pair<pid_t, int> spawn(int lock_fd) {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    GroupAgentOptions o;
    o.resource_dir = dir_;
    const pid_t child = fork();
    if (child == 0) {
      ::close(sv[0]);
      _exit(run_resource_guard(sv[1], lock_fd, o));
    }
    ::close(sv[1]);
    char ready[6];
    EXPECT_EQ(::read(sv[0], ready, 6), 6);
    return {child, sv[0]};
  }
  void send(int fd, const std::string& s) { ASSERT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size())); }
  int wait_exit(pid_t p) {
    int status = 0;
    waitpid(p, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string dir_, lock_path_;
};

TEST_F(GuardProcess, DeathWithoutExitStopsTheStartedInPlanOrder) {
  auto lock = acquire_guard_lock(lock_path_, std::chrono::milliseconds(100));
  ASSERT_TRUE(lock) << lock.error().message;
  auto [pid, fd] = spawn(*lock);
  send(fd, "group n1 marker::a IPaddr::198.18.0.10/24/nosuchif0 marker::b marker::c\nstart 0\nstart 2\nstart 3\nstop 3\n");
  ::close(*lock);  // "clusterd" dies: its lock descriptor and its end of the channel go
  ::close(fd);
  // The guard marks the file "stopping" at once (we, the "dead clusterd", still live, so without
  // that mark a new clusterd would take us for a running one).
  std::string text;
  for (int i = 0; i < 200 && text.find("stopping") == std::string::npos; ++i) {
    std::ifstream in(lock_path_);
    std::getline(in, text);
    if (text.find("stopping") == std::string::npos) usleep(10000);
  }
  EXPECT_EQ(text, "clusterd " + std::to_string(getpid()) + " guard " + std::to_string(pid) + " stopping");
  // The lock is still held by the guard while it stops: a new clusterd would wait, then time out.
  auto second = acquire_guard_lock(lock_path_, std::chrono::milliseconds(50));
  EXPECT_FALSE(second);
  if (!second) {
    EXPECT_NE(second.error().message.find("still locked"), std::string::npos) << second.error().message;
  }
  EXPECT_EQ(wait_exit(pid), 0);
  EXPECT_EQ(calls(), "b stop\na stop\n");
  auto after = acquire_guard_lock(lock_path_, std::chrono::milliseconds(100));
  ASSERT_TRUE(after) << after.error().message;  // done: free again
  std::ifstream in(lock_path_);
  std::string word;
  in >> word;
  EXPECT_EQ(word, "clusterd");
  ::close(*after);
}

TEST_F(GuardProcess, DeathStopsTheRespawnedProgramsToo) {
  auto lock = acquire_guard_lock(lock_path_, std::chrono::milliseconds(100));
  ASSERT_TRUE(lock);
  // A "respawned program": a session of its own.
  const pid_t prog = fork();
  if (prog == 0) {
    setsid();
    execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until it is in its own session (the guard signals the process group).
  for (int i = 0; i < 200 && getpgid(prog) != prog; ++i) usleep(5000);
  ASSERT_EQ(getpgid(prog), prog);
  auto [pid, fd] = spawn(*lock);
  send(fd, "group n1 marker::a\nstart 0\nchild " + std::to_string(prog) + "\n");
  ::close(*lock);
  ::close(fd);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(wait_exit(pid), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4)) << "the guard waited for the SIGKILL deadline";
  EXPECT_EQ(calls(), "a stop\n");
  int status = 0;
  ASSERT_EQ(waitpid(prog, &status, 0), prog);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

TEST_F(GuardProcess, CleanExitStopsNothing) {
  auto lock = acquire_guard_lock(lock_path_, std::chrono::milliseconds(100));
  ASSERT_TRUE(lock);
  auto [pid, fd] = spawn(*lock);
  send(fd, "group n1 marker::a marker::b\nstart 0\nstart 1\nexit\n");
  ::close(fd);
  ::close(*lock);
  EXPECT_EQ(wait_exit(pid), 0);
  EXPECT_EQ(calls(), "");
}

TEST_F(GuardProcess, AnotherLiveClusterdIsRefused) {
  auto lock = acquire_guard_lock(lock_path_, std::chrono::milliseconds(100));
  ASSERT_TRUE(lock);
  // The file names this (live) process as clusterd and the guard as watching: a second clusterd is refused at once.
  const pid_t holder = fork();
  if (holder == 0) {
    pause();
    _exit(0);
  }
  ::close(*lock);
  auto second = acquire_guard_lock(lock_path_, std::chrono::milliseconds(2000));
  // The forked holder shares the lock; the file names our pid (alive, watching).
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("another clusterd"), std::string::npos) << second.error().message;
  kill(holder, SIGKILL);
  waitpid(holder, nullptr, 0);
}

TEST(GuardFileDefault, NextToTheSocket) {
  ClusterDaemonOptions o;
  EXPECT_EQ(guard_file(o), "/run/hapbx/clusterd.guard");
  o.socket = "/tmp/x/ctl";
  EXPECT_EQ(guard_file(o), "/tmp/x/ctl.guard");
  o.guard_file = "/var/run/g";
  EXPECT_EQ(guard_file(o), "/var/run/g");
}

}  // namespace
}  // namespace hapbx::cluster

// --- the patient replica start ------------------------------------------------------------------

namespace hapbx::cluster {
namespace {

// A stand-in replicad whose peer is Primary until `peer_demotes_at` (or forever).
class PeerPrimaryReplicad {
 public:
  PeerPrimaryReplicad() : socket_(dir_.str() + "/replicad.sock") {
    server_ = std::make_unique<core::ControlServer>(io_, socket_, core::ControlServerOptions{"replicad", "hapbx replica"});
    for (const char* verb : {"primary", "secondary", "disconnect", "connect", "role"}) {
      const std::string v = verb;
      EXPECT_TRUE(server_->add_command({v}, v, [this, v](const std::vector<std::string>&, bool) {
        std::lock_guard lock(mutex_);
        calls_.push_back(v);
        if (v == "disconnect") connected_ = false;
        if (v == "connect") connected_ = true;
        if (v == "primary") {
          if (connected_ && (!demotes_at_ || std::chrono::steady_clock::now() < *demotes_at_))
            return core::CommandResult::failure("r0: the peer asterisk1 is Primary; two Primaries are not supported");
          return core::CommandResult::success("r0 is Primary\n");
        }
        return core::CommandResult::success("ok\n");
      }));
    }
    EXPECT_TRUE(server_->start());
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  ~PeerPrimaryReplicad() {
    asio::post(io_, [this] { server_.reset(); });
    work_.reset();
    thread_.join();
  }
  std::vector<std::string> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  hapbx::testing::TempDir dir_{"patient-replica"};
  std::string socket_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::unique_ptr<core::ControlServer> server_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> calls_;
  std::optional<std::chrono::steady_clock::time_point> demotes_at_;
  bool connected_ = true;
};

TEST(PatientReplicaAgent, WaitsForTheLivePeerToDemoteInsteadOfSplittingTheBrain) {
  PeerPrimaryReplicad fake;
  fake.demotes_at_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(400);
  ReplicaAgentOptions o{fake.socket_, std::chrono::seconds(5)};
  auto agent = make_patient_replica_agent(make_replica_agent("r0", o), "r0", o, std::chrono::seconds(5));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(agent->start());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(400));
  for (const auto& c : fake.calls()) EXPECT_NE(c, "disconnect");  // never two Primaries
}

TEST(PatientReplicaAgent, APeerStillPrimaryAfterThePatienceGoesToTheOldPath) {
  PeerPrimaryReplicad fake;  // never demotes: a hung peer
  ReplicaAgentOptions o{fake.socket_, std::chrono::seconds(5)};
  auto agent = make_patient_replica_agent(make_replica_agent("r0", o), "r0", o, std::chrono::milliseconds(300));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(agent->start());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(300));
  auto calls = fake.calls();
  EXPECT_NE(std::find(calls.begin(), calls.end(), "disconnect"), calls.end());
}

}  // namespace
}  // namespace hapbx::cluster
