// ha.cf respawn (respawn.h): the back-off (pure), then the supervisor with real programs on a
// loop of the test's own: restarts with the back-off (no spin), exit status 100 is final, stop()
// sends SIGTERM then SIGKILL after the grace, programs run as their user, a missing user or
// program is an error naming ha.cf:LINE.
#include "cluster/respawn.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace hapbx::cluster {
namespace {

using namespace std::chrono_literals;

TEST(RespawnBackoff, DoublesOnQuickExitsAndResetsAfterAStableRun) {
  RespawnPolicy p;
  p.stable_after = 10s;
  p.first_delay = 1s;
  p.max_delay = 60s;
  RespawnBackoff b(p);
  EXPECT_EQ(b.after_exit(20s), 0s);  // ran long: at once
  EXPECT_EQ(b.after_exit(1s), 1s);
  EXPECT_EQ(b.after_exit(0s), 2s);
  EXPECT_EQ(b.after_exit(2s), 4s);
  EXPECT_EQ(b.quick_exits(), 3);
  for (int i = 0; i < 40; ++i) (void)b.after_exit(0s);
  EXPECT_EQ(b.after_exit(0s), 60s);  // capped, also after many (no overflow)
  EXPECT_EQ(b.after_exit(10s), 0s);  // stable again
  EXPECT_EQ(b.quick_exits(), 0);
  EXPECT_EQ(b.after_exit(0s), 1s);
}

class RespawnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hapbx-respawn-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    chmod(dir_.c_str(), 0777);  // the program may run as another user
    passwd* pw = getpwuid(geteuid());
    ASSERT_NE(pw, nullptr);
    me_ = pw->pw_name;
  }
  void TearDown() override { ASSERT_EQ(std::system(("rm -rf '" + dir_ + "'").c_str()), 0); }
  RespawnSpec sh(const std::string& script, std::string user = "") {
    return RespawnSpec{user.empty() ? me_ : user, {"/bin/sh", "-c", script}, 7};
  }
  int lines(const std::string& file) {
    std::ifstream in(dir_ + "/" + file);
    int n = 0;
    std::string l;
    while (std::getline(in, l)) ++n;
    return n;
  }
  // Runs the loop until `cond` holds or `limit` passes; true if it held.
  bool run_until(asio::io_context& io, const std::function<bool()>& cond, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!cond()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io.restart();
      io.run_for(10ms);
    }
    return true;
  }
  std::string dir_, me_;
};

TEST_F(RespawnerTest, RestartsWithBackoffNeverSpins) {
  asio::io_context io;
  RespawnPolicy p;
  p.first_delay = 100ms;
  p.max_delay = 400ms;
  Respawner r(io, {sh("echo x >> " + dir_ + "/runs; exit 3")}, p);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(r.start());
  ASSERT_TRUE(run_until(io, [&] { return lines("runs") >= 4; }, 5000ms));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 100ms + 200ms + 400ms - 20ms);  // the delays between the 4 starts
  EXPECT_LT(lines("runs"), 6);
  auto st = r.status();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_GE(st[0].starts, 4);
  bool stopped = false;
  r.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }, 2000ms));
}

TEST_F(RespawnerTest, ExitStatus100IsFinal) {
  asio::io_context io;
  RespawnPolicy p;
  p.first_delay = 20ms;
  Respawner r(io, {sh("echo x >> " + dir_ + "/runs; exit 100")}, p);
  ASSERT_TRUE(r.start());
  ASSERT_TRUE(run_until(io, [&] { return r.status()[0].last_exit == 100; }, 3000ms));
  // Long enough for several restarts had it been restarted (20 ms, 40 ms, 80 ms...).
  io.restart();
  io.run_for(300ms);
  EXPECT_EQ(lines("runs"), 1);
  EXPECT_EQ(r.status()[0].starts, 1);
  EXPECT_EQ(r.status()[0].pid, -1);
}

TEST_F(RespawnerTest, StopTermsThenKillsAfterTheGrace) {
  asio::io_context io;
  RespawnPolicy p;
  p.stop_grace = 300ms;
  Respawner r(io, {sh("echo $$ > " + dir_ + "/polite; exec sleep 30"),
                   sh("trap '' TERM; echo $$ > " + dir_ + "/stubborn; while :; do sleep 0.05; done")}, p);
  ASSERT_TRUE(r.start());
  ASSERT_TRUE(run_until(io, [&] { return lines("polite") == 1 && lines("stubborn") == 1; }, 3000ms));
  pid_t polite = 0, stubborn = 0;
  std::ifstream(dir_ + "/polite") >> polite;
  std::ifstream(dir_ + "/stubborn") >> stubborn;
  bool stopped = false;
  const auto t0 = std::chrono::steady_clock::now();
  r.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }, 3000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  EXPECT_NE(kill(polite, 0), 0);
  EXPECT_NE(kill(stubborn, 0), 0);
  auto st = r.status();
  EXPECT_EQ(st[0].last_exit, 128 + SIGTERM);
  EXPECT_EQ(st[1].last_exit, 128 + SIGKILL);
  EXPECT_EQ(st[0].starts, 1);  // nothing is restarted while stopping
}

TEST_F(RespawnerTest, RunsAsItsUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to change user";
  passwd* nobody = getpwnam("nobody");
  if (!nobody) GTEST_SKIP() << "no user nobody";
  asio::io_context io;
  Respawner r(io, {sh("id -u > " + dir_ + "/uid; id -g >> " + dir_ + "/uid; exec sleep 30", "nobody")});
  ASSERT_TRUE(r.start());
  ASSERT_TRUE(run_until(io, [&] { return lines("uid") == 2; }, 3000ms));
  std::ifstream in(dir_ + "/uid");
  uid_t uid = 0;
  gid_t gid = 0;
  in >> uid >> gid;
  EXPECT_EQ(uid, nobody->pw_uid);
  EXPECT_EQ(gid, nobody->pw_gid);
  bool stopped = false;
  r.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }, 3000ms));
}

TEST_F(RespawnerTest, MissingUserOrProgramIsAnErrorNamingTheLine) {
  asio::io_context io;
  Respawner r(io, {RespawnSpec{"no-such-user-hapbx", {"/bin/true"}, 12}, RespawnSpec{me_, {"/no/such/program"}, 13}});
  auto s = r.start();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("ha.cf:12: respawn: no user 'no-such-user-hapbx'"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("ha.cf:13: respawn: /no/such/program"), std::string::npos) << s.error().message;
}

TEST_F(RespawnerTest, StopWithNothingRunningIsImmediate) {
  asio::io_context io;
  Respawner r(io, {});
  ASSERT_TRUE(r.start());
  bool stopped = false;
  r.stop([&] { stopped = true; });
  EXPECT_TRUE(stopped);
}

}  // namespace
}  // namespace hapbx::cluster
