// The pbxd agent with the real pbxd (the thesis config on loopback, a free port): start waits
// until pbxd answers on its socket, status tells running / failed (stopped with SIGSTOP) /
// stopped, stop ends it; a broken config is a start failure that says where to look.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "cluster/resource_agent.h"
#include "support/temp_dir.h"

namespace hapbx::cluster {
namespace {

namespace fs = std::filesystem;

int free_udp_port() {
  int s = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

class PbxAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path conf = dir_.path() / "conf";
    fs::copy(fs::path(HAPBX_TEST_DATA_DIR) / ".." / "examples" / "thesis", conf, fs::copy_options::recursive);
    std::ifstream in(conf / "sip.conf");
    std::stringstream text;
    text << in.rdbuf();
    // The thesis binds to the VIP; here, loopback.
    std::string sip = std::regex_replace(text.str(), std::regex("bindaddr=[0-9.]+"), "bindaddr=127.0.0.1");
    sip = std::regex_replace(sip, std::regex("bindport=5060"), "bindport=" + std::to_string(free_udp_port()));
    std::ofstream(conf / "sip.conf") << sip;
    fs::create_directories(dir_.path() / "state");
    options_.pbxd = std::string(HAPBX_BIN_DIR) + "/pbxd";
    options_.args = {"--config-dir", conf.string(), "--state-dir", (dir_.path() / "state").string()};
    options_.socket = (dir_.path() / "pbxd.sock").string();
    options_.pid_file = (dir_.path() / "pbxd.pid").string();
    options_.log_file = (dir_.path() / "pbxd.log").string();
  }
  std::string log() const {
    std::ifstream in(options_.log_file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  hapbx::testing::TempDir dir_{"pbx-agent"};
  PbxAgentOptions options_;
};

TEST_F(PbxAgentTest, StartStatusStop) {
  auto agent = make_pbx_agent(options_);
  EXPECT_EQ(*agent->status(), AgentState::Stopped);
  Status s = agent->start();
  ASSERT_TRUE(s) << s.error().message << "\n" << log();
  EXPECT_EQ(*agent->status(), AgentState::Running);
  EXPECT_TRUE(agent->start()) << "starting a running pbxd is fine";
  pid_t pid = 0;
  std::ifstream(options_.pid_file) >> pid;
  ASSERT_GT(pid, 0);
  // Alive but not answering: failed.
  kill(pid, SIGSTOP);
  EXPECT_EQ(*agent->status(), AgentState::Failed);
  kill(pid, SIGCONT);
  ASSERT_TRUE(agent->stop());
  EXPECT_EQ(*agent->status(), AgentState::Stopped);
  EXPECT_NE(kill(pid, 0), 0) << "pbxd still runs after stop";
  EXPECT_TRUE(agent->stop()) << "stopping it twice is fine";
}

TEST_F(PbxAgentTest, BrokenConfigIsAStartFailure) {
  std::ofstream(dir_.path() / "conf" / "sip.conf", std::ios::app) << "\n[201]\ntype=frend\n";
  auto agent = make_pbx_agent(options_);
  Status s = agent->start();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("pbxd.log"), std::string::npos) << s.error().message;
  EXPECT_EQ(*agent->status(), AgentState::Stopped);
}

}  // namespace
}  // namespace hapbx::cluster
