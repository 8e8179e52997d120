// MediaRelay's control side: runs on the signalling thread, binds sockets, and hands work to the
// relay thread as commands. Nothing here waits for the relay thread.
#include "media/media_relay.h"

#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "media/relay_internal.h"

namespace hapbx::media {
namespace {

// DSCP EF (46) for voice, as Asterisk's tos_audio=ef does; failure to set it is harmless.
constexpr int kTosExpeditedForwarding = 0xB8;

// A non-blocking UDP socket bound to bind_address:port, or -errno.
int bind_udp(const MediaRelay::Impl& impl, uint16_t port) {
  int fd = ::socket(impl.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  SocketAddress address = impl.bind_address;
  if (impl.family == AF_INET) {
    address.u.v4.sin_port = htons(port);
    ::setsockopt(fd, IPPROTO_IP, IP_TOS, &kTosExpeditedForwarding, sizeof kTosExpeditedForwarding);
  } else {
    address.u.v6.sin6_port = htons(port);
    int off = 0;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &kTosExpeditedForwarding,
                 sizeof kTosExpeditedForwarding);
  }
  if (::bind(fd, &address.u.sa, address.len) != 0) {
    int err = errno;
    ::close(fd);
    return -err;
  }
  return fd;
}

}  // namespace

void MediaRelay::Impl::push(Command&& command) {
  bool was_empty = false;
  {
    std::lock_guard lock(queue_mutex);
    was_empty = queue.empty();
    queue.push_back(std::move(command));
  }
  queued.fetch_add(1, std::memory_order_relaxed);
  // One wake-up per batch of commands: the relay thread reads the eventfd before it takes the
  // whole queue, so a command pushed onto a non-empty queue is taken with the ones before it,
  // and one pushed after the take finds the queue empty and wakes it again. (A call makes
  // several commands in one turn of the signalling loop: open, set_remote, bridge, close.)
  if (!was_empty) return;
  uint64_t one = 1;
  // The eventfd counter only saturates after 2^64-2 writes; a failed write cannot lose the
  // command, which is already queued and is seen on the next wake-up.
  [[maybe_unused]] ssize_t n = ::write(event_fd, &one, sizeof one);
}

MediaRelay::MediaRelay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<MediaRelay>> MediaRelay::start(RelayOptions options,
                                                      std::function<void()> wake) {
  auto family = address_family(options.bind_address);
  if (!family) {
    return make_error(
        fmt::format("RTP bind address '{}' is not an IPv4 or IPv6 address", options.bind_address));
  }
  if (options.port_min == 0 || options.port_min > options.port_max) {
    return make_error(fmt::format(
        "RTP port range {}-{} is empty or starts at 0 (rtpstart must be >= 1 and <= rtpend)",
        options.port_min, options.port_max));
  }
  auto impl = std::make_unique<Impl>(options, std::move(wake));
  if (impl->pool.capacity() == 0) {
    return make_error(fmt::format("RTP port range {}-{} holds no even/odd port pair",
                                  options.port_min, options.port_max));
  }
  impl->family = *family;
  impl->bind_address = *make_address(options.bind_address, 0, *family);
  impl->random.seed(std::random_device{}());

  // Fail early, with the address in the message, if the address is not ours: bind port 0 once.
  int probe = bind_udp(*impl, 0);
  if (probe < 0) {
    return make_error(fmt::format("cannot bind RTP sockets on {}: {}", options.bind_address,
                                  std::strerror(-probe)));
  }
  ::close(probe);

  impl->event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl->event_fd < 0) return make_error(fmt::format("eventfd: {}", std::strerror(errno)));
  impl->loop = std::make_unique<RelayLoop>(*impl);
  if (Status s = impl->loop->init(); !s) {
    ::close(impl->event_fd);
    return s.error();
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->loop->run(); });
  return std::unique_ptr<MediaRelay>(new MediaRelay(std::move(impl)));
}

MediaRelay::~MediaRelay() {
  impl_->stopping.store(true);
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(impl_->event_fd, &one, sizeof one);
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->loop.reset();  // closes the sockets of every stream the loop had
  // Streams whose kAdd the loop never took: their sockets are still only in the queue.
  for (Command& c : impl_->queue) {
    if (c.kind == Command::Kind::kAdd) {
      ::close(c.rtp_fd);
      ::close(c.rtcp_fd);
      impl_->release_port(c.port);
    }
  }
  ::close(impl_->event_fd);
}

Result<StreamInfo> MediaRelay::open_stream() {
  Impl& d = *impl_;
  Command add;
  {
    std::lock_guard lock(d.pool_mutex);
    int last_error = 0;
    uint16_t refused = 0;
    for (std::size_t tries = d.pool.free(); tries > 0; --tries) {
      auto port = d.pool.acquire();
      if (!port) break;
      int rtp = bind_udp(d, *port);
      int rtcp = rtp >= 0 ? bind_udp(d, static_cast<uint16_t>(*port + 1)) : -1;
      if (rtp >= 0 && rtcp >= 0) {
        add.rtp_fd = rtp;
        add.rtcp_fd = rtcp;
        add.port = *port;
        break;
      }
      // Another program holds one of the pair: leave it for later and try the next pair.
      last_error = rtp < 0 ? -rtp : -rtcp;
      if (rtp >= 0) ::close(rtp);
      refused = *port;
      d.pool.release(*port);
    }
    if (add.port == 0) {
      if (refused != 0 && last_error != EADDRINUSE) {
        return make_error(fmt::format("cannot bind RTP port {} on {}: {}", refused,
                                      d.options.bind_address, std::strerror(last_error)));
      }
      return make_error(
          fmt::format("no free RTP port pair in {}-{}", d.options.port_min, d.options.port_max));
    }
  }
  add.kind = Command::Kind::kAdd;
  add.shared = std::make_shared<StreamShared>();
  StreamInfo info;
  {
    std::lock_guard lock(d.control_mutex);
    info.id = d.next_id++;
    d.streams.emplace(info.id, add.shared);
  }
  info.rtp_port = add.port;
  add.a = info.id;
  d.push(std::move(add));
  return info;
}

void MediaRelay::set_remote(StreamId stream, RemoteAddress remote) {
  Command c;
  c.kind = Command::Kind::kSetRemote;
  c.a = stream;
  if (auto rtp = make_address(remote.address, remote.rtp_port, impl_->family);
      rtp && remote.rtp_port != 0) {
    c.rtp_remote = *rtp;
    uint16_t rtcp_port =
        remote.rtcp_port != 0 ? remote.rtcp_port : static_cast<uint16_t>(remote.rtp_port + 1);
    c.rtcp_remote = *make_address(remote.address, rtcp_port, impl_->family);
  }
  impl_->push(std::move(c));
}

void MediaRelay::bridge(StreamId a, StreamId b) {
  Command c;
  c.kind = Command::Kind::kBridge;
  c.a = a;
  c.b = b;
  impl_->push(std::move(c));
}

void MediaRelay::unbridge(StreamId a) {
  Command c;
  c.kind = Command::Kind::kUnbridge;
  c.a = a;
  impl_->push(std::move(c));
}

void MediaRelay::echo(StreamId stream) {
  Command c;
  c.kind = Command::Kind::kEcho;
  c.a = stream;
  impl_->push(std::move(c));
}

Result<uint64_t> MediaRelay::play(StreamId stream, std::shared_ptr<const Prompt> prompt,
                                  int payload_type, bool loop) {
  if (!prompt) return make_error("play: no prompt");
  if (payload_type != 0 && payload_type != 8) {
    return make_error(
        fmt::format("play: payload type {} is not PCMU (0) or PCMA (8)", payload_type));
  }
  Command c;
  c.kind = Command::Kind::kPlay;
  c.a = stream;
  c.prompt = std::move(prompt);
  c.payload_type = static_cast<uint8_t>(payload_type);
  c.loop = loop;
  {
    std::lock_guard lock(impl_->control_mutex);
    if (!impl_->streams.contains(stream)) {
      return make_error(fmt::format("play: no open stream {}", stream));
    }
    c.playback = impl_->next_playback++;
    // RFC 3550 5.1: random SSRC, initial sequence number and timestamp.
    uint64_t r = impl_->random();
    c.ssrc = static_cast<uint32_t>(r);
    c.first_seq = static_cast<uint16_t>(r >> 32);
    c.first_timestamp = static_cast<uint32_t>(impl_->random());
  }
  uint64_t id = c.playback;
  impl_->push(std::move(c));
  return id;
}

void MediaRelay::stop_play(StreamId stream) {
  Command c;
  c.kind = Command::Kind::kStopPlay;
  c.a = stream;
  impl_->push(std::move(c));
}

void MediaRelay::close_stream(StreamId stream) {
  {
    std::lock_guard lock(impl_->control_mutex);
    if (impl_->streams.erase(stream) == 0) return;
  }
  Command c;
  c.kind = Command::Kind::kClose;
  c.a = stream;
  impl_->push(std::move(c));
}

std::optional<StreamStats> MediaRelay::stats(StreamId stream) const {
  std::shared_ptr<StreamShared> s;
  {
    std::lock_guard lock(impl_->control_mutex);
    auto it = impl_->streams.find(stream);
    if (it == impl_->streams.end()) return std::nullopt;
    s = it->second;
  }
  constexpr auto relaxed = std::memory_order_relaxed;
  StreamStats out;
  out.rtp_in = s->rtp_in.load(relaxed);
  out.rtp_out = s->rtp_out.load(relaxed);
  out.rtcp_in = s->rtcp_in.load(relaxed);
  out.rtcp_out = s->rtcp_out.load(relaxed);
  out.bytes_in = s->bytes_in.load(relaxed);
  out.bytes_out = s->bytes_out.load(relaxed);
  out.dropped = s->dropped.load(relaxed);
  if (int64_t ns = s->last_rtp_in_ns.load(relaxed); ns != 0) {
    out.last_rtp_in = std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::nanoseconds(ns)));
  }
  std::lock_guard lock(s->mutex);
  out.remote_address = s->remote_address;
  out.remote_rtp_port = s->remote_rtp_port;
  out.latched = s->latched;
  return out;
}

RelayCounters MediaRelay::counters() const {
  constexpr auto relaxed = std::memory_order_relaxed;
  const SharedCounters& c = impl_->counters;
  RelayCounters out;
  {
    std::lock_guard lock(impl_->control_mutex);
    out.streams_open = impl_->streams.size();
  }
  {
    std::lock_guard lock(impl_->pool_mutex);
    out.ports_free = impl_->pool.free();
  }
  out.rtp_relayed = c.rtp_relayed.load(relaxed);
  out.rtcp_relayed = c.rtcp_relayed.load(relaxed);
  out.dropped = c.dropped.load(relaxed);
  out.played = c.played.load(relaxed);
  out.send_errors = c.send_errors.load(relaxed);
  out.commands = c.commands.load(relaxed);
  out.commands_queued = impl_->queued.load(relaxed);
  return out;
}

std::vector<PlaybackDone> MediaRelay::take_events() {
  std::vector<PlaybackDone> out;
  std::lock_guard lock(impl_->events_mutex);
  out.swap(impl_->events);
  return out;
}

}  // namespace hapbx::media
