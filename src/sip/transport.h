// The SIP transports of one listening address: UDP and TCP on the same address and port
// (RFC 3261 18). This is the I/O edge of the SIP stack: it turns datagrams and byte streams into
// parsed Messages and sends bytes to Endpoints. It owns sockets and nothing else; every protocol
// decision is made above it.
//
// Threading: every method must be called on the io_context's thread, and the handler is invoked
// on that thread. Nothing here blocks: UDP sends that would block are dropped (the transaction
// layer retransmits), TCP writes are queued per connection with a byte cap.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "sip/endpoint.h"
#include "sip/message.h"

namespace asio {
class io_context;
}

namespace hapbx::sip {

struct TransportOptions {
  std::string bind_address = "0.0.0.0";
  uint16_t bind_port = 5060;  // 0 = pick one (UDP first, TCP then takes the same number)
  bool enable_tcp = true;
  size_t max_message_size = 65535;
  size_t max_tcp_connections = 4096;
  size_t max_tcp_queued_bytes = 1 << 20;  // per connection; beyond it the connection is closed
  std::chrono::seconds tcp_idle_timeout{3660};
  // How many datagrams one wake-up of the UDP socket reads before yielding to other work.
  // Reading a burst at once lets the layer above commit registrations in groups.
  int udp_burst = 64;
};

struct TransportCounters {
  uint64_t udp_received = 0;
  uint64_t udp_sent = 0;
  uint64_t udp_send_dropped = 0;
  uint64_t tcp_accepted = 0;
  uint64_t tcp_connected = 0;
  uint64_t tcp_closed = 0;
  uint64_t tcp_received = 0;
  uint64_t tcp_sent = 0;
  uint64_t tcp_framing_errors = 0;
  uint64_t tcp_refused = 0;  // over max_tcp_connections
};

class Transport {
 public:
  // `message` is either a parsed message (possibly with a ParseFault the caller answers) or the
  // reason it could not be parsed at all (the caller drops it and logs, rate-limited).
  using ReceiveHandler = std::function<void(Result<Message> message, const Endpoint& source)>;
  // Called once per burst of received messages has been delivered (see TransportOptions::udp_burst).
  using BurstDoneHandler = std::function<void()>;

  Transport(asio::io_context& io, TransportOptions options, ReceiveHandler on_receive);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Binds and starts receiving. Error names the address and the reason (e.g. address in use).
  Status start();
  void stop();

  void set_burst_done_handler(BurstDoneHandler handler);

  // Sends bytes. For TCP, `to.connection_id` selects an open connection (response reuse,
  // RFC 3261 18.2.2); when it is 0 or closed, a connection to address:port is reused or opened.
  void send(const Endpoint& to, std::string bytes);

  // The address and port actually bound (useful when bind_port was 0).
  uint16_t local_port() const;
  const std::string& local_address() const;
  bool tcp_enabled() const;
  // Whether a TCP connection with this id is still open.
  bool is_connection_open(uint64_t connection_id) const;

  const TransportCounters& counters() const;
  // The longest a UDP datagram waited in the kernel's receive buffer (from its kernel receive
  // time to when it was read) since the last call, and resets it. Near zero when pbxd keeps
  // up; it grows when the messages arrive faster than pbxd handles them.
  std::chrono::nanoseconds take_queue_delay();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hapbx::sip
