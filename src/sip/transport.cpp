// UDP and TCP SIP transports on asio. See transport.h for the contract.
#include "sip/transport.h"

#include <sys/socket.h>
#include <time.h>

#include <array>
#include <cstring>
#include <asio.hpp>
#include <deque>
#include <unordered_map>

#include <fmt/format.h>

namespace hapbx::sip {
namespace {

using asio::ip::tcp;
using asio::ip::udp;

Endpoint endpoint_of(TransportKind kind, const asio::ip::address& address, uint16_t port,
                     uint64_t connection_id = 0) {
  Endpoint e;
  e.transport = kind;
  e.address = address.is_v6() && address.to_v6().is_v4_mapped()
                  ? asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string()
                  : address.to_string();
  e.port = port;
  e.connection_id = connection_id;
  return e;
}

std::string peer_key(const std::string& address, uint16_t port) {
  return fmt::format("{}|{}", address, port);
}

}  // namespace

struct Transport::Impl {
  // One TCP connection: framing on read, a bounded write queue.
  struct Connection : std::enable_shared_from_this<Connection> {
    Connection(tcp::socket s, uint64_t id_)
        : socket(std::move(s)), idle_timer(socket.get_executor()), id(id_) {}
    tcp::socket socket;
    asio::steady_timer idle_timer;
    uint64_t id;
    Endpoint remote;
    std::string key;        // peer_key of the remote address (for reuse)
    std::string inbox;      // bytes received, not yet framed
    std::deque<std::string> outbox;
    size_t queued_bytes = 0;
    bool connected = false;  // false while an outgoing connect is pending
    bool writing = false;
    bool closed = false;
    std::array<char, 16384> read_buffer{};
  };
  using ConnectionPtr = std::shared_ptr<Connection>;

  Impl(asio::io_context& io_, TransportOptions options_, ReceiveHandler handler)
      : io(io_), options(std::move(options_)), on_receive(std::move(handler)), udp_socket(io),
        acceptor(io) {}

  asio::io_context& io;
  TransportOptions options;
  ReceiveHandler on_receive;
  BurstDoneHandler on_burst_done;
  udp::socket udp_socket;
  tcp::acceptor acceptor;
  std::vector<char> datagram = std::vector<char>(65536);
  int64_t max_queue_delay_ns = 0;  // the longest wait in the socket buffer since the last take
  std::unordered_map<uint64_t, ConnectionPtr> connections;
  std::unordered_map<std::string, uint64_t> connection_by_peer;
  uint64_t next_connection_id = 1;
  uint16_t bound_port = 0;
  std::string bound_address;
  TransportCounters counters;
  bool running = false;

  Status start() {
    asio::error_code ec;
    const auto address = asio::ip::make_address(options.bind_address, ec);
    if (ec) {
      return make_error(fmt::format("bindaddr '{}' is not an IP address", options.bind_address));
    }
    udp::endpoint udp_local(address, options.bind_port);
    udp_socket.open(udp_local.protocol(), ec);
    if (!ec) udp_socket.bind(udp_local, ec);
    if (ec) {
      return make_error(fmt::format("cannot bind SIP UDP to {}:{}: {}", options.bind_address,
                                    options.bind_port, ec.message()));
    }
    udp_socket.non_blocking(true, ec);
    // A large receive buffer absorbs registration storms (every phone re-registering after a
    // failover) instead of dropping them in the kernel.
    udp_socket.set_option(udp::socket::receive_buffer_size(4 << 20), ec);
    // Kernel receive times on every datagram: how long a datagram waited in that buffer is how
    // far behind pbxd is (queue_delay()), which the overload guard acts on.
    const int on = 1;
    ::setsockopt(udp_socket.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    bound_port = udp_socket.local_endpoint().port();
    bound_address = address.to_string();

    if (options.enable_tcp) {
      tcp::endpoint tcp_local(address, bound_port);
      acceptor.open(tcp_local.protocol(), ec);
      if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) acceptor.bind(tcp_local, ec);
      if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        udp_socket.close();
        return make_error(fmt::format("cannot bind SIP TCP to {}:{}: {}", options.bind_address,
                                      bound_port, ec.message()));
      }
      accept_next();
    }
    running = true;
    wait_udp();
    return {};
  }

  void stop() {
    running = false;
    asio::error_code ec;
    udp_socket.close(ec);
    acceptor.close(ec);
    for (auto& [id, c] : connections) {
      c->closed = true;
      c->socket.close(ec);
      c->idle_timer.cancel();
    }
    connections.clear();
    connection_by_peer.clear();
  }

  // ---- UDP ----
  void wait_udp() {
    udp_socket.async_wait(udp::socket::wait_read, [this](const asio::error_code& ec) {
      if (ec || !running) return;
      read_udp_burst();
      wait_udp();
    });
  }

  void read_udp_burst() {
    int delivered = 0;
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);  // the clock SO_TIMESTAMPNS stamps with
    for (int i = 0; i < options.udp_burst; ++i) {
      udp::endpoint from;
      iovec iov{datagram.data(), datagram.size()};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
      msghdr msg{};
      msg.msg_name = from.data();
      msg.msg_namelen = static_cast<socklen_t>(from.capacity());
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      const ssize_t got = ::recvmsg(udp_socket.native_handle(), &msg, MSG_DONTWAIT);
      // would_block, or a transient ICMP error: try again on the next wake-up
      if (got < 0) break;
      const size_t n = static_cast<size_t>(got);
      from.resize(msg.msg_namelen);
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
        timespec stamp{};
        std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
        const int64_t waited_ns = (int64_t{now.tv_sec} - stamp.tv_sec) * 1000000000 +
                                  (int64_t{now.tv_nsec} - stamp.tv_nsec);
        if (waited_ns > max_queue_delay_ns) max_queue_delay_ns = waited_ns;
      }
      ++counters.udp_received;
      if (n == 0) continue;
      ParseOptions parse_options;
      parse_options.max_message_size = options.max_message_size;
      // Keep-alive CRLFs (RFC 5626 4.4.1) are not messages.
      if (n <= 4 && std::string_view(datagram.data(), n).find_first_not_of("\r\n") ==
                        std::string_view::npos) {
        continue;
      }
      const auto source = endpoint_of(TransportKind::Udp, from.address(), from.port());
      auto message = parse_message(std::string(datagram.data(), n), parse_options);
      if (message) message->set_source(source);
      on_receive(std::move(message), source);
      ++delivered;
    }
    if (delivered > 0 && on_burst_done) on_burst_done();
  }

  void send_udp(const Endpoint& to, const std::string& bytes) {
    asio::error_code ec;
    const auto address = asio::ip::make_address(to.address, ec);
    if (ec) {
      ++counters.udp_send_dropped;
      return;
    }
    udp::endpoint destination(address, to.port);
    if (udp_socket.local_endpoint(ec).address().is_v4() && address.is_v6()) {
      ++counters.udp_send_dropped;
      return;
    }
    udp_socket.send_to(asio::buffer(bytes), destination, 0, ec);
    if (ec) {
      ++counters.udp_send_dropped;
    } else {
      ++counters.udp_sent;
    }
  }

  // ---- TCP ----
  void accept_next() {
    acceptor.async_accept([this](const asio::error_code& ec, tcp::socket socket) {
      if (!running) return;
      if (!ec) {
        if (connections.size() >= options.max_tcp_connections) {
          ++counters.tcp_refused;
          asio::error_code ignored;
          socket.close(ignored);
        } else {
          asio::error_code rec;
          const auto remote = socket.remote_endpoint(rec);
          if (!rec) {
            auto c = std::make_shared<Connection>(std::move(socket), next_connection_id++);
            c->remote = endpoint_of(TransportKind::Tcp, remote.address(), remote.port(), c->id);
            c->key = peer_key(c->remote.address, c->remote.port);
            c->connected = true;
            register_connection(c);
            ++counters.tcp_accepted;
            read_tcp(c);
          }
        }
      }
      if (acceptor.is_open()) accept_next();
    });
  }

  void register_connection(const ConnectionPtr& c) {
    connections[c->id] = c;
    connection_by_peer[c->key] = c->id;
    arm_idle(c);
  }

  void arm_idle(const ConnectionPtr& c) {
    c->idle_timer.expires_after(options.tcp_idle_timeout);
    std::weak_ptr<Connection> weak = c;
    c->idle_timer.async_wait([this, weak](const asio::error_code& ec) {
      if (ec) return;
      if (auto conn = weak.lock()) close(conn);
    });
  }

  void close(const ConnectionPtr& c) {
    if (c->closed) return;
    c->closed = true;
    asio::error_code ec;
    c->socket.close(ec);
    c->idle_timer.cancel();
    ++counters.tcp_closed;
    auto it = connection_by_peer.find(c->key);
    if (it != connection_by_peer.end() && it->second == c->id) connection_by_peer.erase(it);
    connections.erase(c->id);
  }

  void read_tcp(const ConnectionPtr& c) {
    c->socket.async_read_some(
        asio::buffer(c->read_buffer), [this, c](const asio::error_code& ec, size_t n) {
          if (c->closed) return;
          if (ec) {
            close(c);
            return;
          }
          arm_idle(c);
          c->inbox.append(c->read_buffer.data(), n);
          if (!deliver_frames(c)) {
            ++counters.tcp_framing_errors;
            close(c);
            return;
          }
          read_tcp(c);
        });
  }

  // Cuts complete messages off the front of the connection's inbox. False = garbage on the
  // stream; the connection cannot be resynchronised and must be closed (RFC 3261 18.3).
  bool deliver_frames(const ConnectionPtr& c) {
    bool delivered = false;
    while (!c->inbox.empty()) {
      auto frame = frame_stream(c->inbox, options.max_message_size);
      if (!frame.ok()) return false;
      if (frame->skip > 0) c->inbox.erase(0, frame->skip);
      if (frame->length == 0) break;
      std::string bytes = c->inbox.substr(0, frame->length);
      c->inbox.erase(0, frame->length);
      ++counters.tcp_received;
      ParseOptions parse_options;
      parse_options.max_message_size = options.max_message_size;
      parse_options.stream = true;
      auto message = parse_message(std::move(bytes), parse_options);
      if (message) message->set_source(c->remote);
      on_receive(std::move(message), c->remote);
      delivered = true;
      if (c->closed) return true;
    }
    if (c->inbox.size() > options.max_message_size) return false;
    if (delivered && on_burst_done) on_burst_done();
    return true;
  }

  void send_tcp(const Endpoint& to, std::string bytes) {
    ConnectionPtr c;
    if (to.connection_id != 0) {
      auto it = connections.find(to.connection_id);
      if (it != connections.end()) c = it->second;
    }
    if (!c) {
      auto it = connection_by_peer.find(peer_key(to.address, to.port));
      if (it != connection_by_peer.end()) c = connections[it->second];
    }
    if (!c) c = connect(to);
    if (!c) return;
    if (c->queued_bytes + bytes.size() > options.max_tcp_queued_bytes) {
      close(c);  // a peer that does not read must not make us buffer without bound
      return;
    }
    c->queued_bytes += bytes.size();
    c->outbox.push_back(std::move(bytes));
    if (c->connected) write_next(c);
  }

  ConnectionPtr connect(const Endpoint& to) {
    if (!acceptor.is_open() || connections.size() >= options.max_tcp_connections) return nullptr;
    asio::error_code ec;
    const auto address = asio::ip::make_address(to.address, ec);
    if (ec) return nullptr;
    auto c = std::make_shared<Connection>(tcp::socket(io), next_connection_id++);
    c->remote = to;
    c->remote.connection_id = c->id;
    c->key = peer_key(to.address, to.port);
    register_connection(c);
    ++counters.tcp_connected;
    c->socket.async_connect(tcp::endpoint(address, to.port), [this, c](const asio::error_code& e) {
      if (c->closed) return;
      if (e) {
        close(c);
        return;
      }
      c->connected = true;
      read_tcp(c);
      write_next(c);
    });
    return c;
  }

  void write_next(const ConnectionPtr& c) {
    if (c->writing || c->outbox.empty() || c->closed) return;
    c->writing = true;
    asio::async_write(c->socket, asio::buffer(c->outbox.front()),
                      [this, c](const asio::error_code& ec, size_t) {
                        c->writing = false;
                        if (c->closed) return;
                        if (ec) {
                          close(c);
                          return;
                        }
                        c->queued_bytes -= c->outbox.front().size();
                        c->outbox.pop_front();
                        ++counters.tcp_sent;
                        write_next(c);
                      });
  }
};

Transport::Transport(asio::io_context& io, TransportOptions options, ReceiveHandler on_receive)
    : impl_(std::make_unique<Impl>(io, std::move(options), std::move(on_receive))) {}

Transport::~Transport() { impl_->stop(); }

Status Transport::start() { return impl_->start(); }
void Transport::stop() { impl_->stop(); }

void Transport::set_burst_done_handler(BurstDoneHandler handler) {
  impl_->on_burst_done = std::move(handler);
}

void Transport::send(const Endpoint& to, std::string bytes) {
  if (to.transport == TransportKind::Udp) {
    impl_->send_udp(to, bytes);
  } else {
    impl_->send_tcp(to, std::move(bytes));
  }
}

uint16_t Transport::local_port() const { return impl_->bound_port; }
const std::string& Transport::local_address() const { return impl_->bound_address; }
bool Transport::tcp_enabled() const { return impl_->acceptor.is_open(); }
bool Transport::is_connection_open(uint64_t connection_id) const {
  return impl_->connections.count(connection_id) > 0;
}
const TransportCounters& Transport::counters() const { return impl_->counters; }

std::chrono::nanoseconds Transport::take_queue_delay() {
  const int64_t ns = impl_->max_queue_delay_ns;
  impl_->max_queue_delay_ns = 0;
  return std::chrono::nanoseconds(ns > 0 ? ns : 0);
}

}  // namespace hapbx::sip
