// ControlServer + call_control_socket over a real unix socket in a temporary directory: dispatch,
// help, json, concurrency, hostile and silent clients, socket file lifecycle, client errors.
#include "core/control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

#include <asio.hpp>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <thread>

#include "core/control_client.h"

namespace hapbx::core {
namespace {

using namespace std::chrono_literals;

using testing::TempDir;

// A plain socket fd, closed at scope exit.
struct RawSocket {
  int fd = -1;
  explicit RawSocket(int f) : fd(f) {}
  ~RawSocket() {
    if (fd >= 0) ::close(fd);
  }
};

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), std::min(path.size(), sizeof addr.sun_path - 1));
  return addr;
}

// Connects a blocking raw client (for hostile and silent clients).
int raw_connect(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_un addr = unix_address(path);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads until EOF or the deadline; nullopt on timeout.
std::optional<std::string> read_to_eof(int fd, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::string in;
  char chunk[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) return in;
    in.append(chunk, static_cast<std::size_t>(n));
  }
}

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty()) << std::strerror(errno);
    socket_path_ = dir_.str() + "/run/hapbx/pbxd.sock";
  }

  void TearDown() override { stop(); }

  // Creates the server with the standard pbx-like commands; does not start it.
  void make_server(ControlServerOptions options = default_options()) {
    server_ = std::make_unique<ControlServer>(io_, socket_path_, options);
    ASSERT_TRUE(server_->add_command({"sip", "show", "peers"}, "List SIP peers",
                                     [this](const std::vector<std::string>& args, bool json) {
                                       ++peers_calls_;
                                       std::string text = json ? "[\"201\"]" : "201 OK";
                                       for (const auto& a : args) text += " arg=" + a;
                                       return CommandResult::success(text);
                                     }).ok());
    ASSERT_TRUE(server_->add_command({"sip", "show", "peer"}, "Show one SIP peer",
                                     [](const std::vector<std::string>& args, bool json) {
                                       if (args.size() != 1) {
                                         return CommandResult::failure("Usage: sip show peer <name>");
                                       }
                                       return CommandResult::success(
                                           std::string(json ? "json " : "text ") + "peer " + args[0]);
                                     }).ok());
    ASSERT_TRUE(server_->add_command({"core", "throw"}, "Throws",
                                     [](const std::vector<std::string>&, bool) -> CommandResult {
                                       throw std::runtime_error("boom");
                                     }).ok());
  }

  static ControlServerOptions default_options() {
    ControlServerOptions options;
    options.daemon = "pbxd";
    options.cli_prefix = "hapbx pbx";
    options.client_timeout = 30s;
    return options;
  }

  void start_loop() {
    guard_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }

  void start() {
    ASSERT_TRUE(server_);
    const Status status = server_->start();
    ASSERT_TRUE(status.ok()) << status.error().message;
    start_loop();
  }

  // Runs `fn` on the loop thread and returns its result (server members are loop-only).
  template <typename Fn>
  auto on_loop(Fn fn) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto future = task.get_future();
    asio::post(io_, [&task] { task(); });
    return future.get();
  }

  void stop() {
    if (thread_.joinable()) {
      // Destroy the server on its own thread, then let the loop drain and finish.
      on_loop([this] {
        server_.reset();
        return 0;
      });
      guard_.reset();
      io_.stop();
      thread_.join();
    }
    server_.reset();
  }

  Result<ControlResponse> call(std::vector<std::string> words, bool json = false,
                               std::chrono::milliseconds timeout = 10s) {
    return call_control_socket(socket_path_, {std::move(words), json}, {"pbxd", timeout});
  }

  TempDir dir_{"control"};
  std::string socket_path_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  std::unique_ptr<ControlServer> server_;
  std::atomic<int> peers_calls_{0};
};

TEST_F(ControlServerTest, CommandFoundWithArgsAndJsonFlag) {
  make_server();
  start();
  auto text = call({"sip", "show", "peers"});
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_TRUE(text->ok);
  EXPECT_EQ(text->text, "201 OK");

  auto json = call({"sip", "show", "peers", "like", "2*"}, true);
  ASSERT_TRUE(json.ok()) << json.error().message;
  EXPECT_EQ(json->text, "[\"201\"] arg=like arg=2*");
  EXPECT_EQ(peers_calls_.load(), 2);
}

TEST_F(ControlServerTest, LongestPrefixWins) {
  make_server();
  start();
  auto peer = call({"sip", "show", "peer", "201"});
  ASSERT_TRUE(peer.ok());
  EXPECT_EQ(peer->text, "text peer 201");
  auto peers = call({"sip", "show", "peers"});
  ASSERT_TRUE(peers.ok());
  EXPECT_EQ(peers->text, "201 OK");
  auto usage = call({"sip", "show", "peer"});
  ASSERT_TRUE(usage.ok());
  EXPECT_FALSE(usage->ok);
  EXPECT_EQ(usage->text, "Usage: sip show peer <name>");
}

TEST_F(ControlServerTest, UnknownCommandIsAnErrorNamingIt) {
  make_server();
  start();
  auto answer = call({"sip", "show", "peerz"});
  ASSERT_TRUE(answer.ok());
  EXPECT_FALSE(answer->ok);
  EXPECT_EQ(answer->text, "No such command 'sip show peerz' (see 'hapbx pbx help')");
  auto prefix_only = call({"sip"});
  ASSERT_TRUE(prefix_only.ok());
  EXPECT_FALSE(prefix_only->ok);
  EXPECT_EQ(peers_calls_.load(), 0);
}

TEST_F(ControlServerTest, HelpListsCommandsWithDescriptions) {
  make_server();
  start();
  auto help = call({"help"});
  ASSERT_TRUE(help.ok());
  EXPECT_TRUE(help->ok);
  EXPECT_NE(help->text.find("hapbx pbx <command>"), std::string::npos);
  EXPECT_NE(help->text.find("\nsip show peers   List SIP peers\n"), std::string::npos) << help->text;
  EXPECT_NE(help->text.find("Show one SIP peer"), std::string::npos);
  EXPECT_NE(help->text.find("core throw"), std::string::npos);

  auto filtered = call({"help", "sip"});
  ASSERT_TRUE(filtered.ok());
  EXPECT_NE(filtered->text.find("sip show peer"), std::string::npos);
  EXPECT_EQ(filtered->text.find("core throw"), std::string::npos);

  auto none = call({"help", "voicemail"});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->ok);

  auto json = call({"help"}, true);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(json->text.rfind("{\"daemon\":\"pbxd\",\"commands\":[", 0), 0u) << json->text;
  EXPECT_NE(json->text.find("{\"command\":\"sip show peers\",\"description\":\"List SIP peers\"}"),
            std::string::npos);
}

TEST_F(ControlServerTest, HandlerExceptionBecomesAnErrorAnswer) {
  make_server();
  start();
  auto answer = call({"core", "throw"});
  ASSERT_TRUE(answer.ok());
  EXPECT_FALSE(answer->ok);
  EXPECT_EQ(answer->text, "Internal error in 'core throw': boom");
  // The loop survived.
  EXPECT_TRUE(call({"sip", "show", "peers"}).ok());
}

TEST_F(ControlServerTest, AsyncCommandRepliesLaterExactlyOnce) {
  make_server();
  ASSERT_TRUE(server_->add_async_command({"core", "later"}, "Answers from a posted task",
                                         [this](const std::vector<std::string>&, bool,
                                                CommandReply reply) {
                                           asio::post(io_, [reply] {
                                             reply(CommandResult::success("first"));
                                             reply(CommandResult::success("second"));
                                           });
                                         }).ok());
  start();
  auto answer = call({"core", "later"});
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->text, "first");
}

TEST_F(ControlServerTest, CommandThatNeverRepliesIsCutAtTheDeadline) {
  ControlServerOptions options = default_options();
  options.client_timeout = 100ms;
  make_server(options);
  CommandReply kept;  // held past the deadline and the server, then called: must be harmless
  ASSERT_TRUE(server_->add_async_command({"core", "hang"}, "Never answers",
                                         [&kept](const std::vector<std::string>&, bool,
                                                 CommandReply reply) { kept = std::move(reply); })
                  .ok());
  start();
  auto answer = call({"core", "hang"}, false, 10s);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().message,
            "pbxd closed the connection on " + socket_path_ + " without a complete answer");
  stop();
  ASSERT_TRUE(kept);
  kept(CommandResult::success("too late"));
}

TEST_F(ControlServerTest, DestroyingTheServerClosesWaitingClients) {
  make_server();
  std::promise<void> entered;
  ASSERT_TRUE(server_->add_async_command({"core", "wait"}, "Waits",
                                         [&entered](const std::vector<std::string>&, bool,
                                                    const CommandReply&) { entered.set_value(); })
                  .ok());
  start();
  auto pending = std::async(std::launch::async, [this] { return call({"core", "wait"}); });
  entered.get_future().wait();
  on_loop([this] {
    server_.reset();
    return 0;
  });
  auto answer = pending.get();
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.error().message.find("without a complete answer"), std::string::npos);
  struct stat st {};
  EXPECT_NE(::stat(socket_path_.c_str(), &st), 0);
}

TEST_F(ControlServerTest, RegistrationErrors) {
  make_server();
  auto noop = [](const std::vector<std::string>&, bool) { return CommandResult::success(""); };
  EXPECT_FALSE(server_->add_command({"sip", "show", "peers"}, "again", noop).ok());
  EXPECT_FALSE(server_->add_command({}, "empty", noop).ok());
  EXPECT_FALSE(server_->add_command({"sip", ""}, "empty word", noop).ok());
  EXPECT_FALSE(server_->add_command({"sip show"}, "space", noop).ok());
  EXPECT_FALSE(server_->add_command({"help", "me"}, "builtin", noop).ok());
  EXPECT_FALSE(server_->add_command({"x"}, "no handler", nullptr).ok());
  EXPECT_TRUE(server_->add_command({"sip", "show"}, "shorter prefix is fine", noop).ok());
}

TEST_F(ControlServerTest, DispatchWithoutSocket) {
  make_server();
  std::optional<CommandResult> got;
  server_->dispatch({{"sip", "show", "peer", "7"}, true}, [&](CommandResult r) { got = r; });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->text, "json peer 7");
  server_->dispatch({{}, false}, [&](CommandResult r) { got = r; });
  EXPECT_FALSE(got->ok);
  EXPECT_EQ(got->text, "Empty command (see 'hapbx pbx help')");
}

TEST_F(ControlServerTest, ManyConcurrentClients) {
  make_server();
  start();
  constexpr int kThreads = 8;
  constexpr int kCallsEach = 25;
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < kCallsEach; ++i) {
        auto answer = call({"sip", "show", "peer", std::to_string(t * 1000 + i)});
        if (answer.ok() && answer->ok && answer->text == "text peer " + std::to_string(t * 1000 + i)) {
          ++good;
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(good.load(), kThreads * kCallsEach);
}

TEST_F(ControlServerTest, SilentClientDoesNotBlockOthers) {
  make_server();  // 30 s client timeout: the silent client stays connected throughout
  start();
  RawSocket silent(raw_connect(socket_path_));
  ASSERT_GE(silent.fd, 0);
  RawSocket half(raw_connect(socket_path_));
  ASSERT_GE(half.fd, 0);
  ASSERT_EQ(::write(half.fd, "hapbx-control/1 text sip", 24), 24);  // no end of line
  auto answer = call({"sip", "show", "peers"}, false, 3s);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->text, "201 OK");
}

TEST_F(ControlServerTest, SilentClientIsDroppedAtTheDeadline) {
  ControlServerOptions options = default_options();
  options.client_timeout = 100ms;
  make_server(options);
  start();
  RawSocket silent(raw_connect(socket_path_));
  ASSERT_GE(silent.fd, 0);
  const auto result = read_to_eof(silent.fd, 10s);
  ASSERT_TRUE(result.has_value()) << "the server never closed the silent connection";
  EXPECT_EQ(*result, "");
  EXPECT_EQ(on_loop([this] { return server_->active_connections(); }), 0u);
}

TEST_F(ControlServerTest, OversizeRequestIsRejected) {
  make_server();
  start();
  RawSocket client(raw_connect(socket_path_));
  ASSERT_GE(client.fd, 0);
  const std::string huge = "hapbx-control/1 text " + std::string(kMaxControlRequestBytes, 'a');
  ASSERT_EQ(::send(client.fd, huge.data(), huge.size(), MSG_NOSIGNAL), static_cast<ssize_t>(huge.size()));
  const auto answer = read_to_eof(client.fd, 10s);
  ASSERT_TRUE(answer.has_value());
  auto decoded = try_decode_control_response(*answer);
  ASSERT_TRUE(decoded.ok() && decoded.value().has_value()) << *answer;
  EXPECT_FALSE(decoded.value()->message.ok);
  EXPECT_NE(decoded.value()->message.text.find("too large"), std::string::npos);
}

TEST_F(ControlServerTest, GarbageRequestGetsAnErrorAnswer) {
  make_server();
  start();
  RawSocket client(raw_connect(socket_path_));
  ASSERT_GE(client.fd, 0);
  const std::string garbage = "GET / HTTP/1.0\r\n\r\n";
  ASSERT_EQ(::write(client.fd, garbage.data(), garbage.size()), static_cast<ssize_t>(garbage.size()));
  const auto answer = read_to_eof(client.fd, 10s);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->rfind("hapbx-control/1 error ", 0), 0u) << *answer;
  EXPECT_NE(answer->find("protocol mismatch"), std::string::npos);
}

TEST_F(ControlServerTest, TooManyConnectionsAreAnsweredBusy) {
  ControlServerOptions options = default_options();
  options.max_connections = 2;
  make_server(options);
  start();
  RawSocket a(raw_connect(socket_path_));
  RawSocket b(raw_connect(socket_path_));
  ASSERT_GE(a.fd, 0);
  ASSERT_GE(b.fd, 0);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (on_loop([this] { return server_->active_connections(); }) < 2) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "server never saw both connections";
    std::this_thread::yield();
  }
  auto busy = call({"sip", "show", "peers"});
  ASSERT_TRUE(busy.ok()) << busy.error().message;
  EXPECT_FALSE(busy->ok);
  EXPECT_NE(busy->text.find("too many control connections"), std::string::npos);
  ::close(a.fd);
  a.fd = -1;
  // Once a slot is free again, commands work.
  while (on_loop([this] { return server_->active_connections(); }) >= 2) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "closed connection never freed";
    std::this_thread::yield();
  }
  auto ok = call({"sip", "show", "peers"});
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->ok);
}

TEST_F(ControlServerTest, SocketFileLifecycle) {
  make_server();
  start();
  struct stat st {};
  ASSERT_EQ(::stat(socket_path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  const std::string parent = dir_.str() + "/run/hapbx";
  ASSERT_EQ(::stat(parent.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  stop();
  EXPECT_NE(::stat(socket_path_.c_str(), &st), 0) << "socket file left behind";
}

TEST_F(ControlServerTest, StaleSocketIsReplaced) {
  std::filesystem::create_directories(dir_.str() + "/run/hapbx");
  {
    RawSocket stale(::socket(AF_UNIX, SOCK_STREAM, 0));
    const sockaddr_un addr = unix_address(socket_path_);
    ASSERT_EQ(::bind(stale.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  }  // closed without unlinking: a crashed daemon's leftover
  auto refused = call({"help"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "connection refused on " + socket_path_ +
                                         ": pbxd is not running (stale socket)");
  make_server();
  start();
  auto answer = call({"sip", "show", "peers"});
  ASSERT_TRUE(answer.ok()) << answer.error().message;
}

TEST_F(ControlServerTest, RefusesToStartOverALiveDaemon) {
  make_server();
  start();
  ControlServer second(io_, socket_path_, default_options());
  const Status status = on_loop([&] { return second.start(); });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "another pbxd is already listening on " + socket_path_ +
                                        " (stop it first, or choose another --socket)");
  // The live daemon's socket is untouched and still answers.
  auto answer = call({"sip", "show", "peers"});
  ASSERT_TRUE(answer.ok()) << answer.error().message;
}

TEST_F(ControlServerTest, RefusesAPathThatIsNotASocket) {
  std::filesystem::create_directories(dir_.str() + "/run/hapbx");
  std::ofstream(socket_path_) << "not a socket";
  make_server();
  const Status status = server_->start();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("is not a socket"), std::string::npos);
  auto answer = call({"help"});
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.error().message.find("is not a socket"), std::string::npos);
}

TEST_F(ControlServerTest, RefusesAPathTooLongForUnixSockets) {
  socket_path_ = dir_.str() + "/" + std::string(120, 'x');
  make_server();
  const Status status = server_->start();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("too long"), std::string::npos);
}

TEST_F(ControlServerTest, ClientReportsMissingDaemon) {
  auto answer = call({"help"});
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().message,
            "pbxd is not running (no control socket at " + socket_path_ + ")");
}

TEST_F(ControlServerTest, ClientTimesOutWhenNobodyAnswers) {
  // A listener that never accepts: connect succeeds (backlog), no answer ever comes.
  RawSocket listener(::socket(AF_UNIX, SOCK_STREAM, 0));
  std::filesystem::create_directories(dir_.str() + "/run/hapbx");
  const sockaddr_un addr = unix_address(socket_path_);
  ASSERT_EQ(::bind(listener.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.fd, 4), 0);
  const auto before = std::chrono::steady_clock::now();
  auto answer = call({"help"}, false, 200ms);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().message, "pbxd did not answer within 200 ms on " + socket_path_);
  EXPECT_GE(std::chrono::steady_clock::now() - before, 200ms);
}

TEST_F(ControlServerTest, ClientRejectsUnsendableRequests) {
  auto empty_word = call({"sip", ""});
  ASSERT_FALSE(empty_word.ok());
  EXPECT_NE(empty_word.error().message.find("empty"), std::string::npos);
  auto bad_path = call_control_socket(std::string(200, 'p'), {{"help"}, false});
  ASSERT_FALSE(bad_path.ok());
  EXPECT_NE(bad_path.error().message.find("invalid control socket path"), std::string::npos);
}

TEST(ControlConnectError, MessagesNameTheDaemonThePathAndTheFix) {
  const std::string path = "/run/hapbx/pbxd.sock";
  EXPECT_EQ(describe_control_connect_error(ENOENT, path, "pbxd"),
            "pbxd is not running (no control socket at /run/hapbx/pbxd.sock)");
  EXPECT_EQ(describe_control_connect_error(ECONNREFUSED, path, "pbxd"),
            "connection refused on /run/hapbx/pbxd.sock: pbxd is not running (stale socket)");
  EXPECT_EQ(describe_control_connect_error(EACCES, path, "pbxd"),
            "permission denied on /run/hapbx/pbxd.sock (run as root or as a member of the "
            "socket's group)");
  EXPECT_EQ(describe_control_connect_error(EPERM, path, "pbxd"),
            describe_control_connect_error(EACCES, path, "pbxd"));
  EXPECT_NE(describe_control_connect_error(EAGAIN, path, "pbxd").find("busy"), std::string::npos);
  EXPECT_NE(describe_control_connect_error(EIO, path, "pbxd").find(std::strerror(EIO)),
            std::string::npos);
}

}  // namespace
}  // namespace hapbx::core
