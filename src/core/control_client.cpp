// POSIX implementation of the blocking control-socket client (see control_client.h).
#include "core/control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace hapbx::core {
namespace {

using Clock = std::chrono::steady_clock;

// Closes the descriptor on every path out of call_control_socket.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Waits until `fd` is ready for `events` or the deadline passes. Returns false on timeout.
bool wait_ready(int fd, short events, Clock::time_point deadline) {
  while (true) {
    const Clock::time_point now = Clock::now();
    if (now >= deadline) return false;
    // Round up, so a wait never ends before the deadline and then spins.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    pollfd pfd{fd, events, 0};
    const int rc = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left.count(), 60000)));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return true;  // let the following read/write report the error
  }
}

std::string seconds_text(std::chrono::milliseconds timeout) {
  const auto ms = timeout.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

}  // namespace

std::string describe_control_connect_error(int err, const std::string& socket_path,
                                           const std::string& daemon) {
  switch (err) {
    case ENOENT:
      return daemon + " is not running (no control socket at " + socket_path + ")";
    case ECONNREFUSED:
      return "connection refused on " + socket_path + ": " + daemon +
             " is not running (stale socket)";
    case EACCES:
    case EPERM:
      return "permission denied on " + socket_path +
             " (run as root or as a member of the socket's group)";
    case EAGAIN:
      return daemon + " is busy (control socket " + socket_path +
             " is not accepting connections), try again";
    case ENOTDIR:
      return daemon + " is not running (" + socket_path + " is not a valid socket path)";
    default:
      return "cannot connect to " + daemon + " on " + socket_path + ": " + std::strerror(err);
  }
}

Result<ControlResponse> call_control_socket(const std::string& socket_path,
                                            const ControlRequest& request,
                                            const ControlCallOptions& options) {
  Result<std::string> encoded = encode_control_request(request);
  if (!encoded) return encoded.error();
  const std::string& out = encoded.value();

  sockaddr_un addr{};
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path) {
    return make_error("invalid control socket path '" + socket_path + "' (1 to " +
                      std::to_string(sizeof addr.sun_path - 1) + " bytes)");
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());

  const Clock::time_point deadline = Clock::now() + options.timeout;
  const FileDescriptor fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return make_error(std::string("cannot create a socket: ") + std::strerror(errno));

  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    struct stat st {};
    if (err == ECONNREFUSED && ::stat(socket_path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
      return make_error(socket_path + " is not a socket (is the socket path right?)");
    }
    return make_error(describe_control_connect_error(err, socket_path, options.daemon));
  }

  const std::string no_answer = options.daemon + " did not answer within " +
                                seconds_text(options.timeout) + " on " + socket_path;
  // Send the request. A daemon may answer and close before reading it all (e.g. "busy"), so a
  // broken pipe is not fatal: the answer may still be waiting to be read.
  std::size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_ready(fd.get(), POLLOUT, deadline)) return make_error(no_answer);
      continue;
    }
    break;  // EPIPE, ECONNRESET: go and read whatever answer there is
  }

  std::string in;
  std::array<char, 16384> chunk{};
  while (true) {
    const ssize_t n = ::recv(fd.get(), chunk.data(), chunk.size(), 0);
    if (n > 0) {
      in.append(chunk.data(), static_cast<std::size_t>(n));
      auto decoded = try_decode_control_response(in);
      if (!decoded) {
        return make_error("invalid answer from " + socket_path + ": " + decoded.error().message);
      }
      if (decoded.value()) return std::move(decoded.value()->message);
      continue;
    }
    if (n == 0) {
      return make_error(options.daemon + " closed the connection on " + socket_path +
                        " without a complete answer");
    }
    if (errno == EAGAIN || errno == EINTR) {
      if (!wait_ready(fd.get(), POLLIN, deadline)) return make_error(no_answer);
      continue;
    }
    return make_error("reading the answer from " + socket_path + ": " + std::strerror(errno));
  }
}

}  // namespace hapbx::core
