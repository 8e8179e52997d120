// The daemons' unix control socket: the server side of `hapbx pbx ...` (and later
// `hapbx replica ...`, `hapbx cluster ...`).
//
// A daemon registers commands by word sequence and runs the server on its own io_context:
//
//   ControlServer server(io, "/run/hapbx/pbxd.sock", {.daemon = "pbxd", .cli_prefix = "hapbx pbx"});
//   server.add_command({"sip", "show", "peers"}, "List SIP peers",
//                      [&](const std::vector<std::string>& args, bool json) { ... });
//   if (Status s = server.start(); !s) { log(s.error().message); return 1; }
//
// Dispatch picks the registered command whose words are the longest prefix of the request; the
// handler receives the words after that prefix. `help [words...]` lists the commands (with their
// descriptions) that start with the given words. Unknown commands answer an error that names
// them. Handlers run on the io_context thread — the daemon's loop — so they read daemon state
// without locks; a handler exception becomes an error answer, never escapes the loop.
//
// The socket is hostile input (local users may reach it): requests are bounded in size, each
// connection has a deadline covering read, handling and write, the number of simultaneous
// connections is capped, and no client can block the loop or another client.
//
// Thread-safety: every member must be called on the io_context's thread (or before it runs).
// The io_context must outlive the server. Destruction closes the socket and all connections,
// and unlinks the socket file if it is still the one this server created.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/control_protocol.h"
#include "core/result.h"

namespace asio {
class io_context;
}

namespace hapbx::core {

// What a command answers: `ok` picks the CLI's exit status (0 or 1), `text` is printed as is.
struct CommandResult {
  bool ok = true;
  std::string text;

  static CommandResult success(std::string text) { return {true, std::move(text)}; }
  static CommandResult failure(std::string text) { return {false, std::move(text)}; }
};

using CommandHandler =
    std::function<CommandResult(const std::vector<std::string>& args, bool json)>;

// For commands that finish later (e.g. waiting for a peer): call `reply` exactly once, on the
// io_context thread. Calling it after the client has gone or timed out is harmless.
using CommandReply = std::function<void(CommandResult)>;
using AsyncCommandHandler =
    std::function<void(const std::vector<std::string>& args, bool json, CommandReply reply)>;

struct ControlServerOptions {
  // Names used in messages: "another pbxd is already listening on ...".
  std::string daemon = "daemon";
  // How users reach this daemon's commands, for "(see 'hapbx pbx help')".
  std::string cli_prefix = "hapbx";
  // Whole-connection deadline: a client that sends nothing, or never reads, is dropped.
  std::chrono::milliseconds client_timeout{10000};
  // Connections beyond this are answered "busy" and closed at once.
  std::size_t max_connections = 64;
};

class ControlServerImpl;

class ControlServer {
 public:
  ControlServer(asio::io_context& io, std::string socket_path, ControlServerOptions options = {});
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Fails on empty words, a word with a space, or words already registered (including "help").
  Status add_command(std::vector<std::string> words, std::string description,
                     CommandHandler handler);
  Status add_async_command(std::vector<std::string> words, std::string description,
                           AsyncCommandHandler handler);

  // Creates the parent directory if missing (0755), replaces a stale socket file (one nobody
  // listens on), refuses to start when another process is listening on the path, binds, sets
  // mode 0660 and starts accepting. Errors name the path and the fault.
  Status start();

  const std::string& socket_path() const;
  // Connections currently open (for tests and `status` commands).
  std::size_t active_connections() const;

  // The dispatch step alone, without a socket: lets daemons and tests run a command directly.
  // `reply` may be called synchronously.
  void dispatch(const ControlRequest& request, CommandReply reply);

 private:
  std::shared_ptr<ControlServerImpl> impl_;
};

}  // namespace hapbx::core
