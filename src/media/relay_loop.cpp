// The relay thread: epoll over every stream's RTP and RTCP socket plus the command eventfd.
// Hot path per readable socket: one recvmmsg of up to kBatch datagrams into buffers owned by
// the loop, a check of each (RTP/RTCP version 2, minimum length, source against the latch), and
// one sendmmsg of the survivors out of the destination socket — the same buffers, no copy, no
// allocation, no lock. Prompt packets are paced by the epoll timeout (20 ms frames).
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "media/g711.h"
#include "media/relay_internal.h"

namespace hapbx::media {
namespace {

constexpr int kBatch = 32;
constexpr std::size_t kBufferSize = 2048;  // above any MTU; longer datagrams are truncated, dropped
constexpr int kMaxEvents = 256;
constexpr int kBusyRound = 64;         // ready sockets in a round that make waiting pointless
constexpr int kMaxBatchesPerWake = 4;  // per socket, so one flood cannot starve the others
constexpr uint32_t kNoSlot = UINT32_MAX;
constexpr uint64_t kEventFdTag = UINT64_MAX;
constexpr int64_t kFrameNs = 20'000'000;  // 20 ms
constexpr std::size_t kRtpHeader = 12;
constexpr std::size_t kRtcpMinimum = 8;  // header + sender SSRC

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool valid_rtp(const uint8_t* p, std::size_t len) {
  return len >= kRtpHeader && (p[0] & 0xC0) == 0x80;
}
bool valid_rtcp(const uint8_t* p, std::size_t len) {
  return len >= kRtcpMinimum && (p[0] & 0xC0) == 0x80;
}

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

struct Playback {
  uint64_t id = 0;
  std::shared_ptr<const Prompt> prompt;
  const std::vector<uint8_t>* codes = nullptr;  // the prompt's ulaw or alaw
  uint8_t silence = kUlawSilence;
  uint8_t payload_type = 0;
  bool loop = false;
  bool first = true;
  std::size_t position = 0;  // next sample
  uint16_t seq = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  int64_t next_ns = 0;  // when the next frame is due
};

enum class Mode { kIdle, kBridge, kEcho };

struct RelayStream {
  StreamId id = 0;  // 0 = free slot
  uint16_t port = 0;
  int rtp_fd = -1;
  int rtcp_fd = -1;
  std::shared_ptr<StreamShared> shared;
  SocketAddress rtp_target;  // where this stream's RTP goes: the SDP address, then the latch
  SocketAddress rtcp_target;
  bool rtp_latched = false;
  bool rtcp_latched = false;
  Mode mode = Mode::kIdle;
  uint32_t peer = kNoSlot;
  std::optional<Playback> playback;
};

}  // namespace

struct RelayLoop::Impl2 {
  explicit Impl2(MediaRelay::Impl& i) : impl(i) {
    for (int k = 0; k < kBatch; ++k) {
      rx_iov[k] = {buffers[k].data(), kBufferSize};
      rx[k].msg_hdr.msg_iov = &rx_iov[k];
      rx[k].msg_hdr.msg_iovlen = 1;
      rx[k].msg_hdr.msg_name = &sources[k].u;
      tx[k].msg_hdr.msg_iov = &tx_iov[k];
      tx[k].msg_hdr.msg_iovlen = 1;
    }
  }

  MediaRelay::Impl& impl;
  int epoll_fd = -1;
  std::vector<RelayStream> slots;
  std::vector<uint32_t> free_slots;
  std::unordered_map<StreamId, uint32_t> index;
  std::vector<uint32_t> playing;  // slots with a playback
  std::vector<Command> commands;
  bool events_added = false;

  std::array<std::array<uint8_t, kBufferSize>, kBatch> buffers{};
  std::array<iovec, kBatch> rx_iov{};
  std::array<iovec, kBatch> tx_iov{};
  std::array<mmsghdr, kBatch> rx{};
  std::array<mmsghdr, kBatch> tx{};
  std::array<SocketAddress, kBatch> sources{};
  std::array<uint8_t, kRtpHeader + kSamplesPerPacket> frame{};
  std::array<epoll_event, kMaxEvents> events{};

  RelayStream* find(StreamId id) {
    auto it = index.find(id);
    return it == index.end() ? nullptr : &slots[it->second];
  }

  // --- events back to the signalling thread ------------------------------------------------
  void emit(StreamId stream, uint64_t playback, bool completed) {
    std::lock_guard lock(impl.events_mutex);
    impl.events.push_back({stream, playback, completed});
    events_added = true;
  }

  void publish_remote(RelayStream& s) {
    std::string host = s.rtp_target.host();
    std::lock_guard lock(s.shared->mutex);
    s.shared->remote_address = std::move(host);
    s.shared->remote_rtp_port = s.rtp_target.port();
    s.shared->latched = s.rtp_latched;
  }

  // --- commands ------------------------------------------------------------------------------
  void detach(RelayStream& s) {
    if (s.mode == Mode::kBridge && s.peer != kNoSlot) {
      RelayStream& p = slots[s.peer];
      p.mode = Mode::kIdle;
      p.peer = kNoSlot;
    }
    s.mode = Mode::kIdle;
    s.peer = kNoSlot;
  }

  void end_playback(uint32_t slot, bool completed) {
    RelayStream& s = slots[slot];
    if (!s.playback) return;
    emit(s.id, s.playback->id, completed);
    s.playback.reset();
    for (std::size_t i = 0; i < playing.size(); ++i) {
      if (playing[i] == slot) {
        playing[i] = playing.back();
        playing.pop_back();
        break;
      }
    }
  }

  void add(Command& c) {
    uint32_t slot;
    if (!free_slots.empty()) {
      slot = free_slots.back();
      free_slots.pop_back();
    } else {
      slot = static_cast<uint32_t>(slots.size());
      slots.emplace_back();
    }
    RelayStream& s = slots[slot];
    s = RelayStream{};
    s.id = c.a;
    s.port = c.port;
    s.rtp_fd = c.rtp_fd;
    s.rtcp_fd = c.rtcp_fd;
    s.shared = std::move(c.shared);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = uint64_t{slot} << 1;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s.rtp_fd, &ev);
    ev.data.u64 = (uint64_t{slot} << 1) | 1;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s.rtcp_fd, &ev);
    index.emplace(s.id, slot);
  }

  void close_slot(uint32_t slot) {
    RelayStream& s = slots[slot];
    end_playback(slot, false);
    detach(s);
    ::close(s.rtp_fd);  // also leaves the epoll set
    ::close(s.rtcp_fd);
    impl.release_port(s.port);
    index.erase(s.id);
    s = RelayStream{};
    free_slots.push_back(slot);
  }

  void apply(Command& c) {
    using Kind = Command::Kind;
    if (c.kind == Kind::kAdd) {
      add(c);
      return;
    }
    auto it = index.find(c.a);
    if (it == index.end()) return;  // closed meanwhile: nothing to do
    const uint32_t slot = it->second;
    RelayStream& s = slots[slot];
    switch (c.kind) {
      case Kind::kAdd:
        break;
      case Kind::kSetRemote:
        s.rtp_target = c.rtp_remote;
        s.rtcp_target = c.rtcp_remote;
        s.rtp_latched = false;
        s.rtcp_latched = false;
        publish_remote(s);
        break;
      case Kind::kBridge: {
        auto other = index.find(c.b);
        if (other == index.end() || other->second == slot) break;
        RelayStream& b = slots[other->second];
        detach(s);
        detach(b);
        s.mode = Mode::kBridge;
        s.peer = other->second;
        b.mode = Mode::kBridge;
        b.peer = slot;
        break;
      }
      case Kind::kUnbridge:
        detach(s);
        break;
      case Kind::kEcho:
        detach(s);
        s.mode = Mode::kEcho;
        break;
      case Kind::kPlay: {
        end_playback(slot, false);
        Playback p;
        p.id = c.playback;
        p.prompt = std::move(c.prompt);
        p.payload_type = c.payload_type;
        p.codes = c.payload_type == 8 ? &p.prompt->alaw() : &p.prompt->ulaw();
        p.silence = c.payload_type == 8 ? kAlawSilence : kUlawSilence;
        p.loop = c.loop;
        p.seq = c.first_seq;
        p.timestamp = c.first_timestamp;
        p.ssrc = c.ssrc;
        p.next_ns = now_ns();
        s.playback = std::move(p);
        playing.push_back(slot);
        break;
      }
      case Kind::kStopPlay:
        end_playback(slot, false);
        break;
      case Kind::kClose:
        close_slot(slot);
        break;
    }
  }

  void drain_commands() {
    uint64_t value;
    [[maybe_unused]] ssize_t n = ::read(impl.event_fd, &value, sizeof value);
    {
      std::lock_guard lock(impl.queue_mutex);
      commands.swap(impl.queue);
    }
    for (Command& c : commands) apply(c);
    bump(impl.counters.commands, commands.size());
    commands.clear();
  }

  // --- the hot path --------------------------------------------------------------------------
  // Sends tx[0..count) out of fd; returns how many went, and their bytes. A full socket buffer
  // drops the rest of the batch; any other error drops the one datagram it names.
  int send_batch(int fd, int count, uint64_t& bytes) {
    int done = 0;
    int sent = 0;
    while (done < count) {
      int r = ::sendmmsg(fd, tx.data() + done, static_cast<unsigned>(count - done), MSG_DONTWAIT);
      if (r > 0) {
        for (int k = done; k < done + r; ++k) bytes += tx_iov[k].iov_len;
        done += r;
        sent += r;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) break;
      bump(impl.counters.send_errors, 1);
      ++done;  // skip the datagram the error belongs to
    }
    return sent;
  }

  void receive(uint32_t slot, bool rtcp) {
    for (int round = 0; round < kMaxBatchesPerWake; ++round) {
      RelayStream& s = slots[slot];
      const int fd = rtcp ? s.rtcp_fd : s.rtp_fd;
      for (int k = 0; k < kBatch; ++k) rx[k].msg_hdr.msg_namelen = sizeof(sources[k].u);
      const int n = ::recvmmsg(fd, rx.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) return;  // drained (EAGAIN) or a socket error, which the read has cleared
      relay_batch(s, rtcp, n);
      if (n < kBatch) return;
    }
  }

  void relay_batch(RelayStream& s, bool rtcp, int n) {
    SocketAddress& own_target = rtcp ? s.rtcp_target : s.rtp_target;
    bool& latched = rtcp ? s.rtcp_latched : s.rtp_latched;

    // Where this batch goes: one destination socket and address for all of it.
    RelayStream* dest = nullptr;
    int out_fd = -1;
    const SocketAddress* to = nullptr;
    if (s.mode == Mode::kBridge) {
      RelayStream& p = slots[s.peer];
      const bool held = !rtcp && p.playback.has_value();  // a prompt owns that direction
      if (!held) {
        dest = &p;
        out_fd = rtcp ? p.rtcp_fd : p.rtp_fd;
        to = rtcp ? &p.rtcp_target : &p.rtp_target;
        if (to->empty()) out_fd = -1;
      }
    } else if (s.mode == Mode::kEcho) {
      dest = &s;
      out_fd = rtcp ? s.rtcp_fd : s.rtp_fd;
      to = &own_target;  // after the latch check below, the sender of every queued packet
    }

    uint64_t in = 0, accepted = 0, bytes_in = 0, dropped = 0;
    bool latched_now = false;
    int count = 0;
    for (int k = 0; k < n; ++k) {
      const uint8_t* data = buffers[k].data();
      const std::size_t len = rx[k].msg_len;
      if ((rx[k].msg_hdr.msg_flags & MSG_TRUNC) ||
          !(rtcp ? valid_rtcp(data, len) : valid_rtp(data, len))) {
        ++dropped;
        continue;
      }
      ++in;
      bytes_in += len;
      SocketAddress& source = sources[k];
      source.len = rx[k].msg_hdr.msg_namelen;
      if (!latched) {
        own_target = source;  // symmetric RTP: answer where the packets come from
        latched = true;
        latched_now = true;
      } else if (!same_endpoint(own_target, source)) {
        ++dropped;  // a stranger after the latch
        continue;
      }
      ++accepted;
      if (out_fd < 0) {
        ++dropped;
        continue;
      }
      tx_iov[count] = {buffers[k].data(), len};
      tx[count].msg_hdr.msg_name = const_cast<sockaddr*>(&to->u.sa);
      tx[count].msg_hdr.msg_namelen = to->len;
      ++count;
    }

    StreamShared& st = *s.shared;
    if (rtcp) {
      bump(st.rtcp_in, in);
    } else {
      bump(st.rtp_in, in);
      if (accepted > 0) st.last_rtp_in_ns.store(now_ns(), std::memory_order_relaxed);
    }
    bump(st.bytes_in, bytes_in);
    if (latched_now && !rtcp) publish_remote(s);

    if (count > 0) {
      uint64_t bytes_out = 0;
      const int sent = send_batch(out_fd, count, bytes_out);
      dropped += static_cast<uint64_t>(count - sent);
      StreamShared& ds = *dest->shared;
      bump(rtcp ? ds.rtcp_out : ds.rtp_out, static_cast<uint64_t>(sent));
      bump(ds.bytes_out, bytes_out);
      bump(rtcp ? impl.counters.rtcp_relayed : impl.counters.rtp_relayed,
           static_cast<uint64_t>(sent));
    }
    if (dropped) {
      bump(st.dropped, dropped);
      bump(impl.counters.dropped, dropped);
    }
  }

  // --- prompts -------------------------------------------------------------------------------
  // Sends one 20 ms frame; true when the prompt has ended (nothing more to send).
  bool send_frame(RelayStream& s, Playback& p) {
    const std::vector<uint8_t>& codes = *p.codes;
    if (codes.empty() || (!p.loop && p.position >= codes.size())) return true;
    uint8_t* f = frame.data();
    f[0] = 0x80;
    f[1] = static_cast<uint8_t>(p.payload_type | (p.first ? 0x80 : 0));
    put16(f + 2, p.seq);
    put32(f + 4, p.timestamp);
    put32(f + 8, p.ssrc);
    uint8_t* payload = f + kRtpHeader;
    for (int k = 0; k < kSamplesPerPacket; ++k) {
      if (p.position >= codes.size()) {
        if (p.loop) {
          p.position = 0;
        } else {
          payload[k] = p.silence;  // the last frame is padded
          continue;
        }
      }
      payload[k] = codes[p.position++];
    }
    p.first = false;
    ++p.seq;
    p.timestamp += kSamplesPerPacket;
    if (!s.rtp_target.empty()) {
      ssize_t r =
          ::sendto(s.rtp_fd, f, frame.size(), MSG_DONTWAIT, &s.rtp_target.u.sa, s.rtp_target.len);
      if (r > 0) {
        bump(s.shared->rtp_out, 1);
        bump(s.shared->bytes_out, static_cast<uint64_t>(r));
        bump(impl.counters.played, 1);
      }
    }
    return !p.loop && p.position >= codes.size();
  }

  void tick_playbacks() {
    const int64_t now = now_ns();
    for (std::size_t i = 0; i < playing.size();) {
      const uint32_t slot = playing[i];
      Playback& p = *slots[slot].playback;
      bool ended = false;
      while (!ended && p.next_ns <= now) {
        // After a stall (a suspended process) resume the pace instead of sending a burst.
        if (now - p.next_ns > 5 * kFrameNs) p.next_ns = now;
        ended = send_frame(slots[slot], p);
        p.next_ns += kFrameNs;
      }
      if (ended) {
        end_playback(slot, true);  // swaps the last playing slot into i
      } else {
        ++i;
      }
    }
  }

  int timeout_ms() const {
    if (playing.empty()) return -1;
    int64_t next = INT64_MAX;
    for (uint32_t slot : playing) next = std::min(next, slots[slot].playback->next_ns);
    const int64_t wait = next - now_ns();
    if (wait <= 0) return 0;
    return static_cast<int>((wait + 999'999) / 1'000'000);  // round up: never early
  }
};

RelayLoop::RelayLoop(MediaRelay::Impl& impl) : d_(std::make_unique<Impl2>(impl)) {}

RelayLoop::~RelayLoop() {
  for (RelayStream& s : d_->slots) {
    if (s.id == 0) continue;
    ::close(s.rtp_fd);
    ::close(s.rtcp_fd);
    d_->impl.release_port(s.port);
  }
  if (d_->epoll_fd >= 0) ::close(d_->epoll_fd);
}

Status RelayLoop::init() {
  d_->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (d_->epoll_fd < 0) return make_error(std::string("epoll_create1: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kEventFdTag;
  if (::epoll_ctl(d_->epoll_fd, EPOLL_CTL_ADD, d_->impl.event_fd, &ev) != 0) {
    return make_error(std::string("epoll_ctl(eventfd): ") + std::strerror(errno));
  }
  return Status::Ok();
}

void RelayLoop::run() {
  Impl2& d = *d_;
  const int64_t coalesce_ns = int64_t{std::max(0, d.impl.options.coalesce_us)} * 1000;
  while (!d.impl.stopping.load(std::memory_order_relaxed)) {
    const int n = ::epoll_wait(d.epoll_fd, d.events.data(), kMaxEvents, d.timeout_ms());
    const int64_t round_start = coalesce_ns > 0 ? now_ns() : 0;
    bool commands = false;
    for (int k = 0; k < n; ++k) {
      const uint64_t tag = d.events[k].data.u64;
      if (tag == kEventFdTag) {
        commands = true;
      } else {
        d.receive(static_cast<uint32_t>(tag >> 1), (tag & 1) != 0);
      }
    }
    // Commands after the sockets: no event of this round can name a slot closed meanwhile.
    if (commands) d.drain_commands();
    if (!d.playing.empty()) d.tick_playbacks();
    if (d.events_added) {
      d.events_added = false;
      if (d.impl.wake) d.impl.wake();
    }
    // A quiet round: let packets gather (see RelayOptions::coalesce_us). Not after a command,
    // so control calls take effect promptly.
    if (coalesce_ns > 0 && n > 0 && n < kBusyRound && !commands) {
      const int64_t until = round_start + coalesce_ns;
      timespec ts{static_cast<time_t>(until / 1'000'000'000),
                  static_cast<long>(until % 1'000'000'000)};
      ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    }
  }
}

}  // namespace hapbx::media
