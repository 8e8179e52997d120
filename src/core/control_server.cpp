// Asio implementation of the control socket server (see control_server.h): socket file
// lifecycle, one Session per connection with a deadline, and word-prefix command dispatch.
#include "core/control_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <asio.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <spdlog/spdlog.h>
#include <unordered_map>

#include "core/json_writer.h"
#include "core/text_table.h"

namespace hapbx::core {
namespace {

using Protocol = asio::local::stream_protocol;

std::string errno_text(int err) { return std::strerror(err); }

bool valid_command_word(const std::string& word) {
  if (word.empty()) return false;
  for (const char ch : word) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

// mkdir -p with mode 0755 for the directories it creates (chmod afterwards, so the umask does
// not decide who can reach the socket's directory).
Status make_parent_directories(const std::filesystem::path& dir) {
  if (dir.empty()) return Status::Ok();
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return make_error(dir.string() + " exists and is not a directory");
    return Status::Ok();
  }
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    if (Status s = make_parent_directories(dir.parent_path()); !s) return s;
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return make_error("cannot create directory " + dir.string() + ": " + errno_text(errno));
  }
  ::chmod(dir.c_str(), 0755);
  return Status::Ok();
}

enum class Probe { kNobody, kListening, kError };

// Is a process accepting on this unix socket? A non-blocking connect answers at once:
// ECONNREFUSED means a stale file, success or EAGAIN (backlog full) means a live listener.
Probe probe_listener(const std::string& path, std::string& detail) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    detail = errno_text(errno);
    return Probe::kError;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int err = rc == 0 ? 0 : errno;
  ::close(fd);
  if (rc == 0 || err == EAGAIN || err == EINPROGRESS) return Probe::kListening;
  if (err == ECONNREFUSED || err == ENOENT) return Probe::kNobody;
  detail = errno_text(err);
  return Probe::kError;
}

}  // namespace

struct Command {
  std::vector<std::string> words;
  std::string description;
  AsyncCommandHandler handler;
};

class Session;

class ControlServerImpl : public std::enable_shared_from_this<ControlServerImpl> {
 public:
  ControlServerImpl(asio::io_context& io, std::string path, ControlServerOptions options)
      : io_(io), path_(std::move(path)), options_(std::move(options)), acceptor_(io),
        retry_timer_(io) {}

  Status add(std::vector<std::string> words, std::string description, AsyncCommandHandler handler);
  Status start();
  void shutdown();
  void dispatch(const ControlRequest& request, CommandReply reply);
  void forget(const Session* session) { sessions_.erase(session); }

  asio::io_context& io_;
  const std::string path_;
  const ControlServerOptions options_;
  std::vector<Command> commands_;
  std::unordered_map<const Session*, std::weak_ptr<Session>> sessions_;

 private:
  void accept_next();
  CommandResult help(const std::vector<std::string>& filter, bool json) const;
  const Command* find(const std::vector<std::string>& words) const;

  Protocol::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  bool listening_ = false;
  dev_t socket_dev_ = 0;
  ino_t socket_ino_ = 0;
};

// One client connection: read one request, answer it, close. The deadline timer closes the
// socket whatever the session is waiting for, which cancels the pending operation.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Protocol::socket socket, std::weak_ptr<ControlServerImpl> server,
          std::chrono::milliseconds timeout)
      : socket_(std::move(socket)), deadline_(socket_.get_executor()), server_(std::move(server)),
        timeout_(timeout) {}

  void start() {
    arm_deadline();
    read_more();
  }

  // Answers at once without reading the request (server busy).
  void reject(std::string message) {
    arm_deadline();
    respond({false, std::move(message)});
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    asio::error_code ignored;
    socket_.shutdown(Protocol::socket::shutdown_both, ignored);
    socket_.close(ignored);
    deadline_.cancel();
    if (auto server = server_.lock()) server->forget(this);
  }

 private:
  void arm_deadline() {
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (!ec) self->close();
    });
  }

  void read_more() {
    socket_.async_read_some(
        asio::buffer(chunk_), [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
          self->on_read(ec, n);
        });
  }

  void on_read(const asio::error_code& ec, std::size_t n) {
    if (closed_) return;
    if (ec) {  // EOF before a whole request, or an error: nothing to answer
      close();
      return;
    }
    buffer_.append(chunk_.data(), n);
    auto decoded = try_decode_control_request(buffer_);
    if (!decoded) {
      respond({false, decoded.error().message});
      return;
    }
    if (!decoded.value()) {
      read_more();
      return;
    }
    auto server = server_.lock();
    if (!server) {
      close();
      return;
    }
    server->dispatch(decoded.value()->message, [self = shared_from_this()](CommandResult result) {
      self->respond({result.ok, std::move(result.text)});
    });
  }

  void respond(const ControlResponse& response) {
    if (closed_ || responded_) return;
    responded_ = true;
    out_ = encode_control_response(response);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](const asio::error_code&, std::size_t) {
                        self->close();
                      });
  }

  Protocol::socket socket_;
  asio::steady_timer deadline_;
  std::weak_ptr<ControlServerImpl> server_;
  std::chrono::milliseconds timeout_;
  std::array<char, 1024> chunk_{};
  std::string buffer_;
  std::string out_;
  bool responded_ = false;
  bool closed_ = false;
};

Status ControlServerImpl::add(std::vector<std::string> words, std::string description,
                                AsyncCommandHandler handler) {
  if (words.empty()) return make_error("control command without words");
  for (const std::string& word : words) {
    if (!valid_command_word(word)) {
      return make_error("control command word '" + word + "' is empty or has spaces");
    }
  }
  if (words[0] == "help") return make_error("'help' is built into the control server");
  if (!handler) return make_error("control command '" + join_control_words(words) + "' has no handler");
  for (const Command& command : commands_) {
    if (command.words == words) {
      return make_error("control command '" + join_control_words(words) + "' registered twice");
    }
  }
  commands_.push_back({std::move(words), std::move(description), std::move(handler)});
  return Status::Ok();
}

Status ControlServerImpl::start() {
  if (listening_) return make_error("control socket " + path_ + " is already started");
  if (path_.empty()) return make_error("control socket path is empty");
  if (path_.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return make_error("control socket path " + path_ + " is too long (at most " +
                      std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes)");
  }
  if (Status s = make_parent_directories(std::filesystem::path(path_).parent_path()); !s) {
    return make_error("control socket " + path_ + ": " + s.error().message);
  }

  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return make_error("control socket " + path_ +
                        " exists and is not a socket (remove it or choose another --socket)");
    }
    std::string detail;
    switch (probe_listener(path_, detail)) {
      case Probe::kListening:
        return make_error("another " + options_.daemon + " is already listening on " + path_ +
                          " (stop it first, or choose another --socket)");
      case Probe::kError:
        return make_error("cannot check the existing control socket " + path_ + ": " + detail);
      case Probe::kNobody:
        if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
          return make_error("cannot remove the stale control socket " + path_ + ": " +
                            errno_text(errno));
        }
        spdlog::info("removed stale control socket {}", path_);
        break;
    }
  }

  asio::error_code ec;
  acceptor_.open(Protocol(), ec);
  if (!ec) acceptor_.bind(Protocol::endpoint(path_), ec);
  if (ec) {
    acceptor_.close(ec);
    return make_error("cannot bind control socket " + path_ + ": " + ec.message());
  }
  // From here on the file is ours: remember which inode, so we never unlink a successor's.
  if (::stat(path_.c_str(), &st) == 0) {
    socket_dev_ = st.st_dev;
    socket_ino_ = st.st_ino;
  }
  listening_ = true;
  if (::chmod(path_.c_str(), 0660) != 0) {
    const int err = errno;
    shutdown();
    return make_error("cannot set mode 0660 on control socket " + path_ + ": " + errno_text(err));
  }
  acceptor_.listen(static_cast<int>(options_.max_connections), ec);
  if (ec) {
    shutdown();
    return make_error("cannot listen on control socket " + path_ + ": " + ec.message());
  }
  accept_next();
  return Status::Ok();
}

void ControlServerImpl::accept_next() {
  acceptor_.async_accept([self = shared_from_this()](const asio::error_code& ec,
                                                      Protocol::socket socket) {
    if (!self->listening_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Typically EMFILE: back off briefly instead of spinning on the failing accept.
      spdlog::warn("control socket {}: accept failed: {}", self->path_, ec.message());
      self->retry_timer_.expires_after(std::chrono::milliseconds(100));
      self->retry_timer_.async_wait([self](const asio::error_code& wait_ec) {
        if (!wait_ec && self->listening_) self->accept_next();
      });
      return;
    }
    auto session = std::make_shared<Session>(std::move(socket), self, self->options_.client_timeout);
    if (self->sessions_.size() >= self->options_.max_connections) {
      session->reject(self->options_.daemon + ": too many control connections (" +
                      std::to_string(self->options_.max_connections) + "), try again");
    } else {
      self->sessions_.emplace(session.get(), session);
      session->start();
    }
    self->accept_next();
  });
}

void ControlServerImpl::shutdown() {
  if (!listening_) return;
  listening_ = false;
  asio::error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
  auto sessions = std::move(sessions_);
  sessions_.clear();
  for (auto& [raw, weak] : sessions) {
    if (auto session = weak.lock()) session->close();
  }
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == socket_dev_ && st.st_ino == socket_ino_) {
    ::unlink(path_.c_str());
  }
}

const Command* ControlServerImpl::find(const std::vector<std::string>& words) const {
  const Command* best = nullptr;
  for (const Command& command : commands_) {
    if (command.words.size() > words.size()) continue;
    if (best && best->words.size() >= command.words.size()) continue;
    if (std::equal(command.words.begin(), command.words.end(), words.begin())) best = &command;
  }
  return best;
}

CommandResult ControlServerImpl::help(const std::vector<std::string>& filter, bool json) const {
  std::vector<const Command*> matches;
  for (const Command& command : commands_) {
    if (command.words.size() < filter.size()) continue;
    if (std::equal(filter.begin(), filter.end(), command.words.begin())) matches.push_back(&command);
  }
  std::sort(matches.begin(), matches.end(),
            [](const Command* a, const Command* b) { return a->words < b->words; });
  if (matches.empty() && !filter.empty()) {
    return CommandResult::failure("No commands start with '" + join_control_words(filter) +
                                  "' (see '" + options_.cli_prefix + " help')");
  }
  if (json) {
    JsonWriter w;
    w.begin_object().field("daemon", options_.daemon).key("commands").begin_array();
    for (const Command* command : matches) {
      w.begin_object()
          .field("command", join_control_words(command->words))
          .field("description", command->description)
          .end_object();
    }
    w.end_array().end_object();
    return CommandResult::success(w.take());
  }
  TextTable table({{"Command"}, {"Description"}}, "  ");
  for (const Command* command : matches) {
    table.add_row({join_control_words(command->words), command->description});
  }
  if (filter.empty()) table.add_row({"help [words...]", "List commands (starting with words)"});
  return CommandResult::success(options_.daemon + " commands (run as '" + options_.cli_prefix +
                                " <command>', add --json for JSON):\n" + table.render());
}

void ControlServerImpl::dispatch(const ControlRequest& request, CommandReply reply) {
  // Exactly one answer, whatever the handler does (reply twice, throw after replying, ...).
  auto answered = std::make_shared<bool>(false);
  CommandReply once = [answered, reply = std::move(reply)](CommandResult result) {
    if (*answered) return;
    *answered = true;
    reply(std::move(result));
  };
  const std::string see_help = " (see '" + options_.cli_prefix + " help')";
  if (request.words.empty()) {
    once(CommandResult::failure("Empty command" + see_help));
    return;
  }
  if (request.words[0] == "help") {
    once(help({request.words.begin() + 1, request.words.end()}, request.json));
    return;
  }
  const Command* command = find(request.words);
  if (!command) {
    once(CommandResult::failure("No such command '" + join_control_words(request.words) + "'" +
                                see_help));
    return;
  }
  const std::vector<std::string> args(request.words.begin() +
                                          static_cast<std::ptrdiff_t>(command->words.size()),
                                      request.words.end());
  const std::string name = join_control_words(command->words);
  // Copy the handler: it may register or replace commands, invalidating `command`.
  const AsyncCommandHandler handler = command->handler;
  try {
    handler(args, request.json, once);
  } catch (const std::exception& e) {
    spdlog::error("control command '{}' failed: {}", name, e.what());
    once(CommandResult::failure("Internal error in '" + name + "': " + e.what()));
  } catch (...) {
    spdlog::error("control command '{}' failed with an unknown exception", name);
    once(CommandResult::failure("Internal error in '" + name + "'"));
  }
}

ControlServer::ControlServer(asio::io_context& io, std::string socket_path,
                             ControlServerOptions options)
    : impl_(std::make_shared<ControlServerImpl>(io, std::move(socket_path), std::move(options))) {}

ControlServer::~ControlServer() { impl_->shutdown(); }

Status ControlServer::add_command(std::vector<std::string> words, std::string description,
                                  CommandHandler handler) {
  if (!handler) return impl_->add(std::move(words), std::move(description), nullptr);
  return impl_->add(std::move(words), std::move(description),
                    [handler = std::move(handler)](const std::vector<std::string>& args, bool json,
                                                   CommandReply reply) { reply(handler(args, json)); });
}

Status ControlServer::add_async_command(std::vector<std::string> words, std::string description,
                                        AsyncCommandHandler handler) {
  return impl_->add(std::move(words), std::move(description), std::move(handler));
}

Status ControlServer::start() { return impl_->start(); }

const std::string& ControlServer::socket_path() const { return impl_->path_; }

std::size_t ControlServer::active_connections() const { return impl_->sessions_.size(); }

void ControlServer::dispatch(const ControlRequest& request, CommandReply reply) {
  impl_->dispatch(request, std::move(reply));
}

}  // namespace hapbx::core
