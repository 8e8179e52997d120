// The built-in resource agents with real programs: run_program's deadline, an LSB script's
// start/stop/status codes, and the Filesystem agent on a loop device with ext4 in the test's own
// mount namespace (root), including a busy filesystem whose user must be stopped.
#include "cluster/resource_agent.h"

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"

namespace hapbx::cluster {
namespace {

// Alive and not a zombie waiting for a parent that is gone.
bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  if (!(stat >> pid_field >> comm >> state)) return false;
  return state != "Z";
}

void write_script(const std::string& path, const std::string& body) {
  std::ofstream(path) << "#!/bin/sh\n" << body;
  chmod(path.c_str(), 0755);
}

TEST(RunProgram, ExitStatusOutputAndDeadline) {
  ProgramResult r = run_program({"sh", "-c", "echo hello; exit 3"}, std::chrono::seconds(5));
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_EQ(r.output, "hello\n");
  EXPECT_FALSE(r.timed_out);
  // Overrunning: killed with its children at the deadline.
  hapbx::testing::TempDir dir("runprog");
  const std::string pidfile = dir.str() + "/child";
  const auto t0 = std::chrono::steady_clock::now();
  r = run_program({"sh", "-c", "sleep 30 & echo $! > " + pidfile + "; wait"}, std::chrono::milliseconds(300));
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  pid_t child = 0;
  std::ifstream(pidfile) >> child;
  ASSERT_GT(child, 0);
  for (int i = 0; i < 100 && alive(child); ++i) usleep(10000);
  EXPECT_FALSE(alive(child)) << "the script's child survived the deadline";
  EXPECT_EQ(run_program({"/nonexistent/program"}, std::chrono::seconds(1)).exit_status, 127);
}

TEST(LsbAgent, StartStopStatusFromExitCodes) {
  hapbx::testing::TempDir dir("lsb");
  const std::string state = dir.str() + "/state";
  write_script(dir.str() + "/pbx-like", "case \"$2\" in\n"
               "  start) echo \"$1\" > " + state + " ;;\n"
               "  stop) rm -f " + state + " ;;\n"
               "  status) [ -f " + state + " ] && exit 0; exit 3 ;;\n"
               "esac\n");
  auto agent = make_lsb_agent("pbx-like", {"arg1"}, LsbOptions{{dir.str()}, std::chrono::seconds(5)});
  EXPECT_EQ(agent->name(), "pbx-like::arg1");
  EXPECT_EQ(*agent->status(), AgentState::Stopped);
  ASSERT_TRUE(agent->start());
  EXPECT_EQ(*agent->status(), AgentState::Running);
  std::string arg;
  std::ifstream(state) >> arg;
  EXPECT_EQ(arg, "arg1") << "Heartbeat passes the arguments before the verb";
  ASSERT_TRUE(agent->stop());
  EXPECT_EQ(*agent->status(), AgentState::Stopped);
}

TEST(LsbAgent, FailuresSayWhy) {
  hapbx::testing::TempDir dir("lsb");
  write_script(dir.str() + "/broken", "echo 'cannot bind port 5060' >&2; exit 1\n");
  write_script(dir.str() + "/slow", "sleep 30\n");
  auto broken = make_lsb_agent("broken", {}, LsbOptions{{dir.str()}, std::chrono::seconds(5)});
  Status s = broken->start();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("cannot bind port 5060"), std::string::npos) << s.error().message;
  EXPECT_EQ(*broken->status(), AgentState::Failed);
  auto slow = make_lsb_agent("slow", {}, LsbOptions{{dir.str()}, std::chrono::milliseconds(200)});
  s = slow->start();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("no answer"), std::string::npos) << s.error().message;
  auto missing = make_lsb_agent("nosuch", {}, LsbOptions{{dir.str()}, std::chrono::seconds(1)});
  EXPECT_FALSE(missing->start());
  EXPECT_FALSE(make_lsb_agent("../etc/passwd", {}, {})->start());
}

class FilesystemAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (loop device, mounts)";
    // Our own mount namespace: nothing we mount is seen elsewhere, and it all goes with us.
    ASSERT_EQ(unshare(CLONE_NEWNS), 0);
    ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
    ASSERT_FALSE(dir_.path().empty());
    image_ = dir_.str() + "/fs.img";
    mnt_ = dir_.str() + "/mnt";
    mkdir(mnt_.c_str(), 0755);
    ASSERT_EQ(run_program({"truncate", "-s", "64M", image_}, std::chrono::seconds(10)).exit_status, 0);
    ProgramResult l = run_program({"losetup", "-f", "--show", image_}, std::chrono::seconds(10));
    ASSERT_EQ(l.exit_status, 0) << l.output;
    loop_ = l.output.substr(0, l.output.find('\n'));
    ASSERT_EQ(run_program({"mkfs.ext4", "-q", "-F", loop_}, std::chrono::seconds(60)).exit_status, 0);
  }
  void TearDown() override {
    if (!mnt_.empty()) umount2(mnt_.c_str(), MNT_DETACH);
    if (!loop_.empty()) run_program({"losetup", "-d", loop_}, std::chrono::seconds(10));
  }

  hapbx::testing::TempDir dir_{"fsagent"};
  std::string image_, mnt_, loop_;
};

TEST_F(FilesystemAgentTest, MountsChecksAndUnmountsEvenWhenBusy) {
  auto agent = make_filesystem_agent({loop_, mnt_, "ext4", "noatime"}, "Filesystem::" + loop_ + "::" + mnt_ + "::ext4");
  EXPECT_EQ(*agent->status(), AgentState::Stopped);
  Status started = agent->start();
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_EQ(*agent->status(), AgentState::Running);
  EXPECT_TRUE(agent->start()) << "starting a mounted filesystem is fine";
  // A process keeps it busy (its working directory is on it).
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t user = fork();
  if (user == 0) {
    close(ready[0]);
    if (chdir(mnt_.c_str()) != 0) _exit(1);
    (void)!write(ready[1], "x", 1);  // in the filesystem now
    pause();
    _exit(0);
  }
  close(ready[1]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1) << "the filesystem's user did not start";
  close(ready[0]);
  ASSERT_TRUE(agent->stop());
  EXPECT_EQ(*agent->status(), AgentState::Stopped);
  int status = 0;
  EXPECT_EQ(waitpid(user, &status, 0), user);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the filesystem's user was stopped";
  EXPECT_TRUE(agent->stop()) << "stopping it twice is fine";
}

// The lab (and an administrator's bind mount) may have another filesystem on the mount point:
// that is not our disk being mounted, and stopping must not unmount it.
TEST_F(FilesystemAgentTest, AnotherFilesystemOnTheMountPointIsNotOurs) {
  const std::string other = dir_.str() + "/other";
  mkdir(other.c_str(), 0755);
  { std::ofstream(other + "/marker") << "the bind mount's own file\n"; }
  ASSERT_EQ(mount(other.c_str(), mnt_.c_str(), nullptr, MS_BIND, nullptr), 0);
  auto agent = make_filesystem_agent({loop_, mnt_, "ext4", "nofsck"}, "fs");
  EXPECT_EQ(*agent->status(), AgentState::Stopped) << "a bind mount there is not our device";
  Status started = agent->start();
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_EQ(*agent->status(), AgentState::Running);
  EXPECT_NE(access((mnt_ + "/lost+found").c_str(), F_OK), -1) << "our ext4 is on top";
  ASSERT_TRUE(agent->stop());
  EXPECT_EQ(*agent->status(), AgentState::Stopped);
  EXPECT_EQ(access((mnt_ + "/marker").c_str(), F_OK), 0) << "the bind mount is still there";
  EXPECT_TRUE(agent->stop()) << "and stopping again leaves it alone";
  EXPECT_EQ(access((mnt_ + "/marker").c_str(), F_OK), 0);
}

TEST_F(FilesystemAgentTest, BadDeviceOrMountPointIsAnError) {
  auto agent = make_filesystem_agent({loop_, dir_.str() + "/nosuchdir", "ext4", "nofsck"}, "fs");
  Status s = agent->start();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("nosuchdir"), std::string::npos);
  auto not_fs = make_filesystem_agent({image_ + ".missing", mnt_, "ext4", ""}, "fs2");
  EXPECT_FALSE(not_fs->start());
}

}  // namespace
}  // namespace hapbx::cluster
