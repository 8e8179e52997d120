// The peer link's sockets (see peer_link.h).
#include "replica/peer_link.h"

#include <array>
#include <asio.hpp>
#include <deque>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/log.h"

namespace hapbx::replica {

using asio::ip::tcp;

namespace {

Result<tcp::endpoint> resolve_endpoint(asio::io_context& io, const std::string& address,
                                       std::uint16_t port) {
  std::error_code ec;
  asio::ip::address a = asio::ip::make_address(address, ec);
  if (!ec) return tcp::endpoint(a, port);
  tcp::resolver resolver(io);
  auto results = resolver.resolve(address, std::to_string(port), ec);
  if (ec || results.empty()) {
    return make_error(fmt::format("cannot resolve address '{}': {}", address,
                                  ec ? ec.message() : "no result"));
  }
  return results.begin()->endpoint();
}

void tune(tcp::socket& s) {
  std::error_code ec;
  s.set_option(tcp::no_delay(true), ec);
  s.set_option(asio::socket_base::keep_alive(true), ec);
}

}  // namespace

class PeerLink::Impl : public std::enable_shared_from_this<PeerLink::Impl> {
 public:
  struct Connection {
    explicit Connection(asio::io_context& io) : socket(io) {}
    tcp::socket socket;
    MessageDecoder decoder;
    std::deque<EncodedFrame> queue;      // frames not yet handed to async_write
    std::size_t queued_bytes = 0;
    std::vector<EncodedFrame> writing;   // frames of the async_write in progress (their blocks
                                         // are shared with the local write, not copied)
    bool closed = false;
    std::array<std::uint8_t, 256 * 1024> buffer{};  // fewer reads for 1 MiB blocks
  };

  Impl(asio::io_context& io_, PeerLinkOptions o, PeerLinkCallbacks c)
      : io(io_), options(std::move(o)), callbacks(std::move(c)), acceptor(io_), retry_timer(io_),
        connect_timer(io_) {
    connector = connects_first(fmt::format("{}:{}", options.local_address, options.local_port),
                               fmt::format("{}:{}", options.peer_address, options.peer_port));
  }

  asio::io_context& io;
  PeerLinkOptions options;
  PeerLinkCallbacks callbacks;
  tcp::acceptor acceptor;
  asio::steady_timer retry_timer;
  asio::steady_timer connect_timer;
  bool connector = false;
  bool connecting = false;
  bool retry_pending = false;
  bool stopped = false;
  std::shared_ptr<Connection> conn;  // the connection in use
  std::shared_ptr<tcp::socket> attempt;
  PeerLinkCounters counters;
  core::LogRateLimiter refused_log{5, std::chrono::seconds(10)};
  core::LogRateLimiter link_log{20, std::chrono::seconds(10)};

  Status listen() {
    auto ep = resolve_endpoint(io, options.local_address, options.local_port);
    if (!ep) return make_error(fmt::format("{}: {}", options.resource, ep.error().message));
    std::error_code ec;
    acceptor.open(ep->protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(*ep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return make_error(fmt::format("{}: cannot listen on {}:{}: {}", options.resource,
                                    options.local_address, options.local_port, ec.message()));
    }
    accept_next();
    return {};
  }

  void accept_next() {
    auto self = shared_from_this();
    acceptor.async_accept([self](const std::error_code& ec, tcp::socket s) {
      if (self->stopped) return;
      if (ec) {
        if (ec == asio::error::operation_aborted) return;
        spdlog::warn("{}: accept failed: {}", self->options.resource, ec.message());
        // EMFILE and the like: try again a little later rather than spinning.
        auto t = std::make_shared<asio::steady_timer>(self->io, std::chrono::milliseconds(200));
        t->async_wait([self, t](const std::error_code&) {
          if (!self->stopped) self->accept_next();
        });
        return;
      }
      self->counters.accepted++;
      self->adopt(std::move(s), "accepted");
      self->accept_next();
    });
  }

  // A new TCP connection (accepted or connected): used if none is, else closed.
  void adopt(tcp::socket s, const char* how) {
    std::error_code ec;
    auto remote = s.remote_endpoint(ec);
    const std::string who = ec ? std::string("?") : fmt::format("{}:{}", remote.address().to_string(), remote.port());
    if (conn || !callbacks.wants_connection()) {
      counters.refused_extra++;
      std::uint64_t suppressed = 0;
      if (refused_log.allow(std::chrono::steady_clock::now(), suppressed)) {
        spdlog::info("{}: {} connection from {} closed: {}{}", options.resource, how, who,
                     conn ? "a connection is already up" : "not connecting now",
                     suppressed ? fmt::format(" ({} similar lines suppressed)", suppressed) : "");
      }
      s.close(ec);
      return;
    }
    tune(s);
    log_limited(spdlog::level::info, fmt::format("link to {} up ({})", who, how));
    conn = std::make_shared<Connection>(io);
    conn->socket = std::move(s);
    read_next(conn);
    callbacks.on_up();
  }

  void poll() {
    if (stopped || !connector || conn || connecting || retry_pending) return;
    if (!callbacks.wants_connection()) return;
    start_connect();
  }

  void start_connect() {
    auto ep = resolve_endpoint(io, options.peer_address, options.peer_port);
    if (!ep) {
      spdlog::warn("{}: {}", options.resource, ep.error().message);
      schedule_retry();
      return;
    }
    connecting = true;
    attempt = std::make_shared<tcp::socket>(io);
    auto self = shared_from_this();
    auto sock = attempt;
    connect_timer.expires_after(std::max<core::Duration>(options.connect_interval,
                                                         std::chrono::milliseconds(100)));
    connect_timer.async_wait([sock](const std::error_code& ec) {
      if (!ec) {
        std::error_code ignored;
        sock->close(ignored);
      }
    });
    sock->async_connect(*ep, [self, sock](const std::error_code& ec) {
      self->connect_timer.cancel();
      if (self->stopped) return;
      self->connecting = false;
      self->attempt.reset();
      if (ec) {
        self->counters.connect_failures++;
        spdlog::debug("{}: connect to {}:{} failed: {}", self->options.resource,
                      self->options.peer_address, self->options.peer_port, ec.message());
        self->schedule_retry();
        return;
      }
      self->counters.connected++;
      self->adopt(std::move(*sock), "connected");
    });
  }

  void retry_now() {
    if (retry_pending) {
      retry_pending = false;
      retry_timer.cancel();  // its handler sees operation_aborted and does nothing
    }
    poll();
  }

  void schedule_retry() {
    retry_pending = true;
    retry_timer.expires_after(options.connect_interval);
    auto self = shared_from_this();
    retry_timer.async_wait([self](const std::error_code& ec) {
      if (ec || self->stopped) return;
      self->retry_pending = false;
      self->poll();
    });
  }

  void read_next(const std::shared_ptr<Connection>& c) {
    auto self = shared_from_this();
    c->socket.async_read_some(
        asio::buffer(c->buffer), [self, c](const std::error_code& ec, std::size_t n) {
          if (self->stopped || c->closed || self->conn != c) return;
          if (ec) {
            self->lose(c, ec == asio::error::eof ? std::string("connection closed by peer")
                                                 : "read error: " + ec.message());
            return;
          }
          self->counters.bytes_in += n;
          c->decoder.feed(std::span<const std::uint8_t>(c->buffer.data(), n));
          while (true) {
            auto next = c->decoder.next();
            if (!next) break;
            if (!next->ok()) {
              self->lose(c, "protocol error: " + next->error().message);
              return;
            }
            self->callbacks.on_message(std::move(next->value()));
            // The owner may have closed or replaced the connection meanwhile.
            if (self->stopped || c->closed || self->conn != c) return;
          }
          self->read_next(c);
        });
  }

  void send(const PeerMessage& m) {
    if (!conn || conn->closed) return;
    EncodedFrame frame;
    encode_message(m, frame);
    conn->queued_bytes += frame.size();
    conn->queue.push_back(std::move(frame));
    if (conn->queued_bytes > kMaxSendQueueBytes) {
      auto c = conn;
      // Posted: the owner is inside an action batch and must not be re-entered.
      asio::post(io, [self = shared_from_this(), c] {
        if (self->conn == c && !c->closed) self->lose(c, "send queue full (peer too slow)");
      });
      return;
    }
    if (conn->writing.empty()) write_next(conn);
  }

  void write_next(const std::shared_ptr<Connection>& c) {
    if (c->queue.empty() || c->closed) return;
    std::size_t total = 0;
    while (!c->queue.empty() && c->writing.size() < 64 && total < (4u << 20)) {
      total += c->queue.front().size();
      c->writing.push_back(std::move(c->queue.front()));
      c->queue.pop_front();
    }
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(c->writing.size() * 3);
    for (const auto& f : c->writing) {
      buffers.emplace_back(asio::buffer(f.head));
      if (f.payload && !f.payload->empty()) buffers.emplace_back(asio::buffer(*f.payload));
      if (!f.tail.empty()) buffers.emplace_back(asio::buffer(f.tail));
    }
    auto self = shared_from_this();
    asio::async_write(c->socket, buffers, [self, c, total](const std::error_code& ec, std::size_t) {
      c->queued_bytes -= std::min(c->queued_bytes, total);
      c->writing.clear();
      if (self->stopped || c->closed || self->conn != c) return;
      if (ec) {
        self->lose(c, "write error: " + ec.message());
        return;
      }
      self->counters.bytes_out += total;
      self->write_next(c);
    });
  }

  void close_connection(const std::shared_ptr<Connection>& c) {
    if (!c || c->closed) return;
    c->closed = true;
    std::error_code ec;
    c->socket.shutdown(tcp::socket::shutdown_both, ec);
    c->socket.close(ec);
    c->queue.clear();
    if (conn == c) {
      conn.reset();
      // The next attempt waits connect-int: a peer that refuses us is not hammered.
      if (connector && !stopped && !retry_pending) schedule_retry();
    }
  }

  // Lines a remote host can cause at will (a connection, garbage) are rate limited.
  void log_limited(spdlog::level::level_enum level, const std::string& text) {
    std::uint64_t suppressed = 0;
    if (!link_log.allow(std::chrono::steady_clock::now(), suppressed)) return;
    spdlog::log(level, "{}: {}{}", options.resource, text,
                suppressed ? fmt::format(" ({} similar lines suppressed)", suppressed) : "");
  }

  void lose(const std::shared_ptr<Connection>& c, std::string reason) {
    log_limited(spdlog::level::info, "link lost: " + reason);
    close_connection(c);
    callbacks.on_lost(std::move(reason));
  }

  void shutdown() {
    stopped = true;
    std::error_code ec;
    acceptor.close(ec);
    retry_timer.cancel();
    connect_timer.cancel();
    if (attempt) attempt->close(ec);
    close_connection(conn);
  }
};

PeerLink::PeerLink(asio::io_context& io, PeerLinkOptions options, PeerLinkCallbacks callbacks)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(callbacks))) {}

PeerLink::~PeerLink() { impl_->shutdown(); }

bool PeerLink::connects_first(const std::string& mine, const std::string& theirs) {
  return mine < theirs;
}

void PeerLink::retry_now() { impl_->retry_now(); }

Status PeerLink::listen() { return impl_->listen(); }
void PeerLink::poll() { impl_->poll(); }
bool PeerLink::up() const { return impl_->conn != nullptr; }
void PeerLink::send(const PeerMessage& m) { impl_->send(m); }
void PeerLink::close(const std::string& why) {
  if (impl_->conn) spdlog::info("{}: closing the link: {}", impl_->options.resource, why);
  impl_->close_connection(impl_->conn);
}
void PeerLink::shutdown() { impl_->shutdown(); }
const PeerLinkCounters& PeerLink::counters() const { return impl_->counters; }
std::size_t PeerLink::send_queue_bytes() const {
  return impl_->conn ? impl_->conn->queued_bytes : 0;
}

}  // namespace hapbx::replica
