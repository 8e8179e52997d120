// The drbddisk agent against a stand-in replicad (a control server of the test's own): promote,
// the disconnect-promote-connect path when the stale link still shows the old Primary, demote,
// role, and a refusal that names the resource.
#include <asio.hpp>
#include <gtest/gtest.h>

#include <mutex>
#include <optional>
#include <thread>

#include "cluster/resource_agent.h"
#include "core/control_server.h"
#include "support/temp_dir.h"

namespace hapbx::cluster {
namespace {

using core::CommandResult;

class FakeReplicad {
 public:
  FakeReplicad() : socket_(dir_.str() + "/replicad.sock") {
    server_ = std::make_unique<core::ControlServer>(io_, socket_, core::ControlServerOptions{"replicad", "hapbx replica"});
    for (const char* verb : {"primary", "secondary", "disconnect", "connect", "role"}) {
      const std::string v = verb;
      EXPECT_TRUE(server_->add_command({v}, v, [this, v](const std::vector<std::string>& args, bool) {
        std::lock_guard lock(mutex_);
        calls_.push_back(v + " " + (args.empty() ? "" : args[0]));
        return handle(v);
      }));
    }
    EXPECT_TRUE(server_->start());
    guard_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeReplicad() {
    asio::post(io_, [this] { server_.reset(); });
    guard_.reset();
    thread_.join();
  }

  CommandResult handle(const std::string& v) {
    if (v == "primary") {
      if (peer_primary_ && connected_) return CommandResult::failure("r0: the peer asterisk2 is Primary; two Primaries are not supported");
      if (refuse_primary_) return CommandResult::failure("r0: the disk is Inconsistent; only an UpToDate disk can become Primary");
      primary_ = true;
      return CommandResult::success("r0 is Primary\n");
    }
    if (v == "secondary") {
      if (mounted_) return CommandResult::failure("r0 is in use: mounted on /replica");
      primary_ = false;
      return CommandResult::success("r0 is Secondary\n");
    }
    if (v == "disconnect") connected_ = false;
    if (v == "connect") connected_ = true;
    if (v == "role") return CommandResult::success(primary_ ? "Primary/Unknown\n" : "Secondary/Primary\n");
    return CommandResult::success("ok\n");
  }

  std::vector<std::string> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

  hapbx::testing::TempDir dir_{"fake-replicad"};
  std::string socket_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::unique_ptr<core::ControlServer> server_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> calls_;
  bool primary_ = false, peer_primary_ = false, connected_ = true, refuse_primary_ = false, mounted_ = false;
};

TEST(ReplicaAgent, PromotesDemotesAndReportsTheRole) {
  FakeReplicad fake;
  auto agent = make_replica_agent("r0", {fake.socket_, std::chrono::seconds(5)});
  EXPECT_EQ(agent->name(), "drbddisk::r0");
  EXPECT_EQ(*agent->status(), AgentState::Stopped);
  ASSERT_TRUE(agent->start());
  EXPECT_EQ(*agent->status(), AgentState::Running);
  ASSERT_TRUE(agent->stop());
  EXPECT_EQ(*agent->status(), AgentState::Stopped);
  EXPECT_EQ(fake.calls(), (std::vector<std::string>{"role r0", "primary r0", "role r0", "secondary r0", "role r0"}));
}

TEST(ReplicaAgent, StaleLinkToTheDeadPrimaryIsDroppedBeforePromoting) {
  FakeReplicad fake;
  fake.peer_primary_ = true;  // the replication link has not noticed the pulled cable yet
  auto agent = make_replica_agent("r0", {fake.socket_, std::chrono::seconds(5)});
  ASSERT_TRUE(agent->start());
  EXPECT_EQ(fake.calls(), (std::vector<std::string>{"primary r0", "disconnect r0", "primary r0", "connect r0"}));
}

TEST(ReplicaAgent, RefusalsNameTheResourceAndTheReason) {
  FakeReplicad fake;
  fake.refuse_primary_ = true;
  fake.mounted_ = true;
  auto agent = make_replica_agent("r0", {fake.socket_, std::chrono::seconds(5)});
  Status s = agent->start();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("Inconsistent"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("drbddisk::r0"), std::string::npos) << s.error().message;
  s = agent->stop();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("mounted on /replica"), std::string::npos) << s.error().message;
  auto gone = make_replica_agent("r0", {fake.dir_.str() + "/nobody.sock", std::chrono::seconds(1)});
  EXPECT_FALSE(gone->status().ok());
}

}  // namespace
}  // namespace hapbx::cluster
