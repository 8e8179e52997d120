// The `hapbx` command line run in-process with a fake environment: argument parsing (--socket,
// --json anywhere, the environment variable), output routing and exit statuses; and once end to
// end against a real ControlServer.
#include "cli/hapbx_cli.h"

#include <gtest/gtest.h>

#include <asio.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "cli/daemon_command.h"
#include "cli/exit_codes.h"
#include "core/control_server.h"

namespace hapbx::cli {
namespace {

struct Call {
  std::string socket;
  core::ControlRequest request;
  core::ControlCallOptions options;
};

// Records what the command would send, and answers with a canned result.
class FakeWorld {
 public:
  FakeWorld() {
    env.getenv = [this](const std::string& name) -> std::optional<std::string> {
      auto it = variables.find(name);
      if (it == variables.end()) return std::nullopt;
      return it->second;
    };
    env.call = [this](const std::string& socket, const core::ControlRequest& request,
                      const core::ControlCallOptions& options) -> Result<core::ControlResponse> {
      calls.push_back({socket, request, options});
      return answer;
    };
    env.run = [this](const std::string& program, const std::vector<std::string>& args) {
      runs.push_back({program, args});
      return run_status;
    };
  }

  int run(std::vector<std::string> args) {
    out.str("");
    err.str("");
    return run_hapbx(args, env, out, err);
  }

  std::map<std::string, std::string> variables;
  Result<core::ControlResponse> answer = core::ControlResponse{true, "fine"};
  std::vector<Call> calls;
  std::vector<std::pair<std::string, std::vector<std::string>>> runs;
  int run_status = 0;
  CliEnvironment env;
  std::ostringstream out;
  std::ostringstream err;
};

using Words = std::vector<std::string>;

TEST(HapbxCli, PbxCommandUsesTheDefaultSocket) {
  FakeWorld world;
  EXPECT_EQ(world.run({"pbx", "sip", "show", "peers"}), kExitOk);
  ASSERT_EQ(world.calls.size(), 1u);
  EXPECT_EQ(world.calls[0].socket, "/run/hapbx/pbxd.sock");
  EXPECT_EQ(world.calls[0].request.words, (Words{"sip", "show", "peers"}));
  EXPECT_FALSE(world.calls[0].request.json);
  EXPECT_EQ(world.calls[0].options.daemon, "pbxd");
  EXPECT_EQ(world.calls[0].options.timeout, std::chrono::seconds(10));
  EXPECT_EQ(world.out.str(), "fine\n");
  EXPECT_EQ(world.err.str(), "");
}

TEST(HapbxCli, JsonFlagMayAppearAnywhereAfterPbx) {
  for (const Words& args : {Words{"pbx", "--json", "sip", "show", "peer", "201"},
                            Words{"pbx", "sip", "show", "--json", "peer", "201"},
                            Words{"pbx", "sip", "show", "peer", "201", "--json"}}) {
    FakeWorld world;
    EXPECT_EQ(world.run(args), kExitOk);
    ASSERT_EQ(world.calls.size(), 1u);
    EXPECT_TRUE(world.calls[0].request.json);
    EXPECT_EQ(world.calls[0].request.words, (Words{"sip", "show", "peer", "201"}));
  }
}

TEST(HapbxCli, SocketFlagBeatsEnvironmentBeatsDefault) {
  FakeWorld world;
  world.variables["HAPBX_PBX_SOCKET"] = "/tmp/env.sock";
  EXPECT_EQ(world.run({"pbx", "core", "show", "version"}), kExitOk);
  EXPECT_EQ(world.calls.back().socket, "/tmp/env.sock");
  EXPECT_EQ(world.run({"pbx", "--socket", "/tmp/flag.sock", "core", "show", "version"}), kExitOk);
  EXPECT_EQ(world.calls.back().socket, "/tmp/flag.sock");
  EXPECT_EQ(world.run({"pbx", "core", "show", "version", "--socket=/tmp/late.sock"}), kExitOk);
  EXPECT_EQ(world.calls.back().socket, "/tmp/late.sock");
  world.variables["HAPBX_PBX_SOCKET"] = "";  // set but empty: ignored
  EXPECT_EQ(world.run({"pbx", "core", "show", "version"}), kExitOk);
  EXPECT_EQ(world.calls.back().socket, "/run/hapbx/pbxd.sock");
}

TEST(HapbxCli, ResolveSocketPath) {
  FakeWorld world;
  const DaemonTarget& pbx = daemon_targets().at(0);
  EXPECT_EQ(resolve_socket_path(std::nullopt, world.env, pbx), "/run/hapbx/pbxd.sock");
  world.variables["HAPBX_PBX_SOCKET"] = "/e";
  EXPECT_EQ(resolve_socket_path(std::nullopt, world.env, pbx), "/e");
  EXPECT_EQ(resolve_socket_path(std::string("/f"), world.env, pbx), "/f");
}

TEST(HapbxCli, DoubleDashPassesWordsThatLookLikeOptions) {
  FakeWorld world;
  EXPECT_EQ(world.run({"pbx", "--", "dialplan", "show", "--json"}), kExitOk);
  ASSERT_EQ(world.calls.size(), 1u);
  EXPECT_EQ(world.calls[0].request.words, (Words{"dialplan", "show", "--json"}));
  EXPECT_FALSE(world.calls[0].request.json);
  EXPECT_EQ(world.run({"pbx", "core", "set", "debug", "-1"}), kExitOk);
  EXPECT_EQ(world.calls.back().request.words, (Words{"core", "set", "debug", "-1"}));
}

TEST(HapbxCli, ReplicaCommandOptionsGoToTheDaemon) {
  FakeWorld world;
  EXPECT_EQ(world.run({"replica", "primary", "--force", "r0"}), kExitOk);
  ASSERT_EQ(world.calls.size(), 1u);
  EXPECT_EQ(world.calls[0].request.words, (Words{"primary", "r0", "--force"}));
  EXPECT_EQ(world.run({"replica", "connect", "--discard-my-data", "r0", "--json"}), kExitOk);
  EXPECT_EQ(world.calls.back().request.words, (Words{"connect", "r0", "--discard-my-data"}));
  EXPECT_TRUE(world.calls.back().request.json);
  // A wait is as long as the command says, unless --timeout says otherwise.
  EXPECT_EQ(world.run({"replica", "wait-sync", "r0", "600"}), kExitOk);
  EXPECT_GE(world.calls.back().options.timeout, std::chrono::minutes(10));
  EXPECT_EQ(world.run({"replica", "--timeout", "3", "wait-sync", "r0"}), kExitOk);
  EXPECT_EQ(world.calls.back().options.timeout, std::chrono::milliseconds(3000));
  // pbx keeps refusing options it does not know.
  EXPECT_EQ(world.run({"pbx", "--force", "help"}), kExitUsage);
}

TEST(HapbxCli, LabRunsTheLabScriptWithItsWords) {
  FakeWorld world;
  world.variables["HAPBX_LAB_SCRIPT"] = "/x/lab.sh";
  EXPECT_EQ(world.run({"lab", "fault", "power-off", "asterisk1"}), kExitOk);
  ASSERT_EQ(world.runs.size(), 1u);
  EXPECT_EQ(world.runs[0].first, "bash");
  EXPECT_EQ(world.runs[0].second, (Words{"/x/lab.sh", "fault", "power-off", "asterisk1"}));
  EXPECT_EQ(world.run({"lab", "exec", "phones", "--", "ping", "-c", "1", "198.18.0.10"}), kExitOk);
  EXPECT_EQ(world.runs.back().second,
            (Words{"/x/lab.sh", "exec", "phones", "--", "ping", "-c", "1", "198.18.0.10"}));
  world.run_status = 1;
  EXPECT_EQ(world.run({"lab", "up"}), 1);  // the script's status is the command's
  EXPECT_TRUE(world.calls.empty());
}

TEST(HapbxCli, LabIsToldWhereTheDaemonsAre) {
  FakeWorld world;
  world.variables["HAPBX_LAB_SCRIPT"] = "/x/lab.sh";
  world.env.exe_dir = [] { return std::string("/build/bin"); };
  EXPECT_EQ(world.run({"lab", "up"}), kExitOk);
  ASSERT_EQ(world.runs.size(), 1u);
  EXPECT_EQ(world.runs[0].first, "env");
  EXPECT_EQ(world.runs[0].second, (Words{"HAPBX_BIN_DIR=/build/bin", "bash", "/x/lab.sh", "up"}));
  world.variables["HAPBX_BIN_DIR"] = "/elsewhere";  // the caller's choice wins
  EXPECT_EQ(world.run({"lab", "down"}), kExitOk);
  EXPECT_EQ(world.runs.back().first, "bash");
  EXPECT_EQ(world.runs.back().second, (Words{"/x/lab.sh", "down"}));
}

TEST(HapbxCli, TimeoutOption) {
  FakeWorld world;
  EXPECT_EQ(world.run({"pbx", "--timeout", "2.5", "help"}), kExitOk);
  EXPECT_EQ(world.calls.back().options.timeout, std::chrono::milliseconds(2500));
  for (const char* bad : {"0", "-1", "nan", "99999"}) {
    EXPECT_EQ(world.run({"pbx", "--timeout", bad, "help"}), kExitUsage) << bad;
  }
  EXPECT_EQ(world.run({"pbx", "--timeout", "soon", "help"}), kExitUsage);
  EXPECT_EQ(world.calls.size(), 1u);
}

TEST(HapbxCli, DaemonErrorIsPrintedAndExitsOne) {
  FakeWorld world;
  world.answer = core::ControlResponse{false, "No such command 'sip show peerz' (see 'hapbx pbx help')"};
  EXPECT_EQ(world.run({"pbx", "sip", "show", "peerz"}), kExitCommandFailed);
  EXPECT_EQ(world.out.str(), "No such command 'sip show peerz' (see 'hapbx pbx help')\n");
}

TEST(HapbxCli, UnreachableDaemonExitsThreeWithTheClientMessage) {
  FakeWorld world;
  world.answer = make_error("pbxd is not running (no control socket at /run/hapbx/pbxd.sock)");
  EXPECT_EQ(world.run({"pbx", "sip", "show", "peers"}), kExitUnreachable);
  EXPECT_EQ(world.out.str(), "");
  EXPECT_EQ(world.err.str(), "hapbx: pbxd is not running (no control socket at /run/hapbx/pbxd.sock)\n");
}

TEST(HapbxCli, AnswerTextIsPrintedAsIs) {
  FakeWorld world;
  world.answer = core::ControlResponse{true, "line1\nline2\n"};
  EXPECT_EQ(world.run({"pbx", "sip", "show", "peers"}), kExitOk);
  EXPECT_EQ(world.out.str(), "line1\nline2\n");
  world.answer = core::ControlResponse{true, ""};
  EXPECT_EQ(world.run({"pbx", "sip", "reload"}), kExitOk);
  EXPECT_EQ(world.out.str(), "");
}

TEST(HapbxCli, UsageErrorsExitTwoWithoutCallingTheDaemon) {
  FakeWorld world;
  EXPECT_EQ(world.run({}), kExitUsage);
  EXPECT_NE(world.err.str().find("subcommand is required"), std::string::npos) << world.err.str();
  EXPECT_EQ(world.run({"pbx"}), kExitUsage);
  EXPECT_EQ(world.err.str(), "hapbx pbx: missing command (try 'hapbx pbx help')\n");
  EXPECT_EQ(world.run({"pbx", "--json"}), kExitUsage);
  EXPECT_EQ(world.run({"pbx", "--socket"}), kExitUsage);
  EXPECT_EQ(world.run({"pbx", "--bogus", "sip"}), kExitUsage);
  EXPECT_EQ(world.run({"frobnicate"}), kExitUsage);
  EXPECT_EQ(world.run({"pbx", "sip", ""}), kExitUsage);
  EXPECT_NE(world.err.str().find("empty"), std::string::npos);
  EXPECT_EQ(world.run({"pbx", std::string(9000, 'x')}), kExitUsage);
  EXPECT_NE(world.err.str().find("too long"), std::string::npos);
  EXPECT_TRUE(world.calls.empty());
}

TEST(HapbxCli, HelpAndVersion) {
  FakeWorld world;
  EXPECT_EQ(world.run({"--help"}), kExitOk);
  EXPECT_NE(world.out.str().find("pbx"), std::string::npos);
  EXPECT_NE(world.out.str().find("Exit status"), std::string::npos);
  EXPECT_EQ(world.run({"pbx", "--help"}), kExitOk);
  EXPECT_NE(world.out.str().find("--socket"), std::string::npos);
  EXPECT_NE(world.out.str().find("HAPBX_PBX_SOCKET"), std::string::npos);
  EXPECT_EQ(world.run({"--version"}), kExitOk);
  EXPECT_EQ(world.out.str(), std::string("hapbx ") + HAPBX_VERSION + "\n");
  EXPECT_TRUE(world.calls.empty());
}

TEST(HapbxCli, ReplicaTargetGoesToReplicad) {
  FakeWorld world;
  EXPECT_EQ(world.run({"--help"}), kExitOk);
  EXPECT_NE(world.out.str().find("replica"), std::string::npos);
  EXPECT_EQ(world.run({"replica", "--help"}), kExitOk);
  EXPECT_NE(world.out.str().find("HAPBX_REPLICA_SOCKET"), std::string::npos);
  EXPECT_TRUE(world.calls.empty());

  EXPECT_EQ(world.run({"replica", "status", "r0"}), kExitOk);
  ASSERT_EQ(world.calls.size(), 1u);
  EXPECT_EQ(world.calls.back().socket, "/run/hapbx/replicad.sock");
  world.variables["HAPBX_REPLICA_SOCKET"] = "/tmp/r.sock";
  world.variables["HAPBX_PBX_SOCKET"] = "/tmp/p.sock";  // the other daemon's: not used
  EXPECT_EQ(world.run({"replica", "--json", "status", "r0"}), kExitOk);
  EXPECT_EQ(world.calls.back().socket, "/tmp/r.sock");
  EXPECT_EQ(world.run({"pbx", "sip", "show", "peers"}), kExitOk);
  EXPECT_EQ(world.calls.back().socket, "/tmp/p.sock");
}

// The real client against a real server: the whole path a script takes.
TEST(HapbxCliEndToEnd, TalksToARealControlServer) {
  char pattern[] = "/tmp/hapbx-cli-test-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr) << std::strerror(errno);
  const std::string dir = pattern;
  const std::string socket = dir + "/pbxd.sock";

  asio::io_context io;
  auto server = std::make_unique<core::ControlServer>(
      io, socket, core::ControlServerOptions{"pbxd", "hapbx pbx", std::chrono::seconds(10), 8});
  ASSERT_TRUE(server->add_command({"core", "show", "version"}, "Show the version",
                                  [](const std::vector<std::string>&, bool json) {
                                    return core::CommandResult::success(
                                        json ? "{\"version\":\"0.1.0\"}" : "hapbx 0.1.0");
                                  }).ok());
  ASSERT_TRUE(server->start().ok());
  auto guard = asio::make_work_guard(io);
  std::thread loop([&io] { io.run(); });

  CliEnvironment env = CliEnvironment::real();
  env.getenv = [](const std::string&) { return std::optional<std::string>(); };
  std::ostringstream out, err;
  EXPECT_EQ(run_hapbx({"pbx", "--socket", socket, "core", "show", "version", "--json"}, env, out, err),
            kExitOk);
  EXPECT_EQ(out.str(), "{\"version\":\"0.1.0\"}\n");
  out.str("");
  EXPECT_EQ(run_hapbx({"pbx", "--socket", socket, "sip", "show", "peerz"}, env, out, err),
            kExitCommandFailed);
  EXPECT_EQ(out.str(), "No such command 'sip show peerz' (see 'hapbx pbx help')\n");

  asio::post(io, [&] { server.reset(); });
  guard.reset();
  loop.join();  // returns once the server is gone and no work is left
  std::ostringstream err2;
  EXPECT_EQ(run_hapbx({"pbx", "--socket", socket, "help"}, env, out, err2), kExitUnreachable);
  EXPECT_EQ(err2.str(), "hapbx: pbxd is not running (no control socket at " + socket + ")\n");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hapbx::cli
