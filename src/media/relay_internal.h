// The insides of MediaRelay, shared by the control side (media_relay.cpp, signalling thread) and
// the relay thread (relay_loop.cpp). Who touches what:
//   - Impl's control_mutex fields: signalling thread (and stats()/counters() callers).
//   - pool (pool_mutex): the signalling thread acquires, the relay thread releases on close.
//   - queue (queue_mutex) + eventfd: signalling thread pushes, relay thread drains.
//   - events (events_mutex): relay thread pushes, signalling thread takes.
//   - RelayStream, slots, rx/tx buffers: the relay thread alone.
//   - StreamShared: the relay thread writes (single writer: relaxed load+store, no lock prefix),
//     anyone reads; its mutex guards only the remote text, changed on set_remote and latching.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "media/media_relay.h"
#include "media/port_pool.h"
#include "media/socket_address.h"

namespace hapbx::media {

// Adds n to a counter that only the relay thread writes.
inline void bump(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

struct StreamShared {
  std::atomic<uint64_t> rtp_in{0}, rtp_out{0}, rtcp_in{0}, rtcp_out{0};
  std::atomic<uint64_t> bytes_in{0}, bytes_out{0}, dropped{0};
  std::atomic<int64_t> last_rtp_in_ns{0};  // steady clock, ns since its epoch; 0 = never

  mutable std::mutex mutex;
  std::string remote_address;  // guarded by mutex
  uint16_t remote_rtp_port = 0;
  bool latched = false;
};

struct Command {
  enum class Kind { kAdd, kSetRemote, kBridge, kUnbridge, kEcho, kPlay, kStopPlay, kClose };
  Kind kind = Kind::kAdd;
  StreamId a = 0;
  StreamId b = 0;
  // kAdd
  int rtp_fd = -1;
  int rtcp_fd = -1;
  uint16_t port = 0;
  std::shared_ptr<StreamShared> shared;
  // kSetRemote (empty addresses: the SDP address was unusable)
  SocketAddress rtp_remote;
  SocketAddress rtcp_remote;
  // kPlay
  std::shared_ptr<const Prompt> prompt;
  uint8_t payload_type = 0;
  bool loop = false;
  uint64_t playback = 0;
  uint32_t ssrc = 0;
  uint16_t first_seq = 0;
  uint32_t first_timestamp = 0;
};

// Relay-wide counters, written by the relay thread.
struct SharedCounters {
  std::atomic<uint64_t> rtp_relayed{0}, rtcp_relayed{0}, dropped{0};
  std::atomic<uint64_t> played{0}, send_errors{0}, commands{0};
};

class RelayLoop;

struct MediaRelay::Impl {
  RelayOptions options;
  int family = AF_INET;
  SocketAddress bind_address;  // port 0
  std::function<void()> wake;

  mutable std::mutex control_mutex;
  std::unordered_map<StreamId, std::shared_ptr<StreamShared>> streams;  // open streams
  StreamId next_id = 1;
  uint64_t next_playback = 1;
  std::mt19937_64 random;

  mutable std::mutex pool_mutex;
  PortPool pool;

  std::mutex queue_mutex;
  std::vector<Command> queue;
  std::atomic<uint64_t> queued{0};  // commands pushed, ever
  int event_fd = -1;

  std::mutex events_mutex;
  std::vector<PlaybackDone> events;

  SharedCounters counters;
  std::atomic<bool> stopping{false};
  std::unique_ptr<RelayLoop> loop;
  std::thread thread;

  Impl(RelayOptions opts, std::function<void()> wake_fn)
      : options(std::move(opts)),
        wake(std::move(wake_fn)),
        pool(options.port_min, options.port_max) {}

  void push(Command&& command);
  void release_port(uint16_t port) {
    std::lock_guard lock(pool_mutex);
    pool.release(port);
  }
};

// The relay thread's body; defined in relay_loop.cpp.
class RelayLoop {
 public:
  explicit RelayLoop(MediaRelay::Impl& impl);
  ~RelayLoop();  // closes every socket still open and returns the ports
  RelayLoop(const RelayLoop&) = delete;
  RelayLoop& operator=(const RelayLoop&) = delete;

  // Created on the control thread before the thread starts; errors name the syscall.
  Status init();
  void run();  // until impl.stopping

 private:
  struct Impl2;
  std::unique_ptr<Impl2> d_;
};

}  // namespace hapbx::media
