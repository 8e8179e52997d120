// replicad's TCP link to the peer of one resource: the listening socket, the outgoing connection
// attempts, and the one connection in use, with framed writes and incremental decoding.
//
// Who connects: both nodes listen on their own `address:port`; the node whose "address:port"
// string sorts lower also connects to the other (retrying every connect-int while the owner
// wants a connection); the other only accepts. At most one connection is in use: a second one
// (accepted or connected) while one is up is closed at once.
//
// Contracts:
//  - Everything runs on the owner's io_context thread; callbacks are called on it, never from
//    inside a call the owner made (no re-entrance): connected/message/lost are posted or come
//    from asio completions.
//  - on_up(): a connection is in use. on_message(m): one decoded message of it, in order.
//    on_lost(reason): the connection in use failed (socket error, EOF, decode error, send queue
//    overflow); it is closed already and no message of it arrives afterwards.
//  - close(): the owner drops the connection; on_lost is NOT called for it.
//  - send(): frames are written in order, one async_write at a time (gathered). The queue is
//    bounded (kMaxSendQueueBytes): overflowing it loses the connection ("send queue full").
//  - Input is hostile: lengths are checked by MessageDecoder before anything is allocated, a
//    decode error loses the connection with "protocol error: ...".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "replica/peer_message.h"

namespace asio {
class io_context;
}

namespace hapbx::replica {

struct PeerLinkOptions {
  std::string resource;          // for log lines
  std::string local_address;     // this node's address (listen)
  std::uint16_t local_port = 0;
  std::string peer_address;      // the peer's address (connect)
  std::uint16_t peer_port = 0;
  core::Duration connect_interval = std::chrono::seconds(10);
};

struct PeerLinkCallbacks {
  std::function<bool()> wants_connection;     // the engine wants a link now
  std::function<void()> on_up;
  std::function<void(PeerMessage&&)> on_message;
  std::function<void(std::string reason)> on_lost;
};

struct PeerLinkCounters {
  std::uint64_t accepted = 0, connected = 0, refused_extra = 0, connect_failures = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
};

class PeerLink {
 public:
  static constexpr std::size_t kMaxSendQueueBytes = 512u << 20;

  PeerLink(asio::io_context& io, PeerLinkOptions options, PeerLinkCallbacks callbacks);
  ~PeerLink();
  PeerLink(const PeerLink&) = delete;
  PeerLink& operator=(const PeerLink&) = delete;

  // True when this node is the one that connects (its "address:port" sorts lower).
  static bool connects_first(const std::string& mine, const std::string& theirs);

  // Binds and listens (SO_REUSEADDR). Errors name the address.
  Status listen();
  // The owner calls this after every batch of events: starts a connection attempt when the
  // owner wants a link, none is up or being made, and the retry time has come.
  void poll();
  // An admin `connect`: try at once instead of waiting out the connect-int pause.
  void retry_now();

  bool up() const;
  void send(const PeerMessage& m);
  void close(const std::string& why);
  void shutdown();  // closes everything (listener too); no callbacks afterwards

  const PeerLinkCounters& counters() const;
  std::size_t send_queue_bytes() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace hapbx::replica
