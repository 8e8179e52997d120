// pbxd's RTP relay: UDP port pairs (RTP even, RTCP = RTP+1) from rtp.conf's range, bridged in
// pairs for calls, with symmetric-RTP latching for phones behind NAT, echo, and a G.711 prompt
// player. Payloads pass untouched (no transcoding; SSRC and sequence numbers are the sender's).
//
// Threads. Every public method is called from the signalling thread (one thread, or callers
// that serialise themselves); none of them waits for the relay thread. Commands go on a queue
// that the relay thread drains when an eventfd wakes it; stats come from counters the relay
// thread publishes (atomics, and a small per-stream record under a mutex that the relay thread
// takes only when a stream's remote changes). The relay thread's hot path is epoll + one
// recvmmsg per ready socket (up to 32 datagrams) + one sendmmsg per batch toward the
// destination socket: no lock, no allocation, no other syscall per packet.
//
// Latching (symmetric RTP, like Asterisk's nat=comedia or rtpengine's learning): a stream sends
// to the address set_remote gave (from the SDP) until it receives its first valid RTP packet;
// from then on it sends to that packet's source and drops RTP from any other source (counted in
// `dropped`), so a stranger cannot hijack a latched call. RTCP latches the same way, on its
// own. set_remote (a new SDP) clears both latches. A stream that never got set_remote latches
// to its first sender too.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "media/prompt.h"
#include "media/wav.h"

namespace hapbx::media {

using StreamId = uint64_t;  // never reused within one relay; 0 = none

struct RelayOptions {
  std::string bind_address = "0.0.0.0";  // IPv4 or IPv6 literal
  // rtp.conf rtpstart..rtpend, inclusive; RTP on even ports, RTCP = RTP+1.
  uint16_t port_min = 10000;
  uint16_t port_max = 20000;
  // Relay threads. Only 1 is implemented so far; larger values are treated as 1.
  int threads = 1;
  // Wake-up coalescing: after a round in which only a few sockets were ready, the relay thread
  // waits until this long after the round began before it polls again, so that one wake-up
  // serves many packets (at 100 packets/s per call, most wake-ups would otherwise carry one).
  // Adds at most this much delay; 0 polls again at once.
  int coalesce_us = 500;
};

struct RemoteAddress {
  std::string address;  // IP literal from the SDP c= line
  uint16_t rtp_port = 0;
  uint16_t rtcp_port = 0;  // 0 = rtp_port + 1
};

struct StreamInfo {
  StreamId id = 0;
  uint16_t rtp_port = 0;
};

struct StreamStats {
  uint64_t rtp_in = 0;   // valid RTP packets received on this stream's RTP port
  uint64_t rtp_out = 0;  // RTP packets sent from this stream's RTP port (relayed, echoed, played)
  uint64_t rtcp_in = 0;
  uint64_t rtcp_out = 0;
  uint64_t bytes_in = 0;  // RTP + RTCP
  uint64_t bytes_out = 0;
  // Received but not sent on: malformed, from a stranger after latching, no peer (unbridged,
  // no remote yet, the peer is playing a prompt), or the send buffer was full.
  uint64_t dropped = 0;
  std::optional<std::chrono::steady_clock::time_point> last_rtp_in;
  std::string remote_address;  // where RTP goes now (the latched source once latched)
  uint16_t remote_rtp_port = 0;
  bool latched = false;
};

struct PlaybackDone {
  StreamId stream = 0;
  uint64_t playback = 0;   // the id play() returned
  bool completed = false;  // false = stopped, replaced by another play, or stream closed
};

struct RelayCounters {
  uint64_t streams_open = 0;
  uint64_t ports_free = 0;   // RTP/RTCP pairs left in the pool
  uint64_t rtp_relayed = 0;  // RTP packets sent on by bridge or echo
  uint64_t rtcp_relayed = 0;
  uint64_t dropped = 0;          // sum of the streams' drops (closed streams included)
  uint64_t played = 0;           // prompt packets sent
  uint64_t send_errors = 0;      // sendmmsg failures other than a full buffer (counted in dropped)
  uint64_t commands = 0;         // control commands the relay thread has applied
  uint64_t commands_queued = 0;  // control commands queued so far (== commands: all applied)
};

class MediaRelay {
 public:
  // Starts the relay thread. `wake` is called from the relay thread when take_events() has
  // something (the daemon posts to its loop). Errors name the address or the range.
  static Result<std::unique_ptr<MediaRelay>> start(RelayOptions options,
                                                   std::function<void()> wake);
  ~MediaRelay();  // stops the thread, closes every socket (ports free for the OS at once)

  MediaRelay(const MediaRelay&) = delete;
  MediaRelay& operator=(const MediaRelay&) = delete;

  // Binds an even RTP port and RTCP port+1 from the pool (UDP, bind_address). A pair the OS
  // refuses (another program holds it) is skipped. Error when the range is exhausted
  // ("no free RTP port pair in 10000-20000").
  Result<StreamInfo> open_stream();
  // Where this stream sends (from the SDP); clears the latches. An address that is not an IP
  // literal of the bind family leaves the stream with no remote until it latches.
  void set_remote(StreamId stream, RemoteAddress remote);
  // RTP and RTCP received on a go out of b to b's remote, and b -> a. Re-bridging a stream
  // unbridges it from its previous peer first.
  void bridge(StreamId a, StreamId b);
  // Both directions stop (packets are counted, then dropped).
  void unbridge(StreamId a);
  // RTP and RTCP received are sent back to their sender (ends a bridge).
  void echo(StreamId stream);
  // Sends the prompt as 20 ms G.711 packets (payload type 0 PCMU or 8 PCMA) to the stream's
  // remote, paced by the relay thread, with its own SSRC, sequence and timestamp, marker on the
  // first. While it plays, bridged audio *toward* this stream is dropped. Ends with a
  // PlaybackDone (completed unless stopped). A play on a playing stream replaces the old one.
  // Errors: unknown stream, no prompt, payload type not 0/8.
  Result<uint64_t> play(StreamId stream, std::shared_ptr<const Prompt> prompt, int payload_type,
                        bool loop);
  void stop_play(StreamId stream);
  // Sockets closed and the pair back in the pool as soon as the relay thread takes the command
  // (no quarantine). A playing prompt ends with completed=false.
  void close_stream(StreamId stream);

  std::optional<StreamStats> stats(StreamId stream) const;
  RelayCounters counters() const;
  std::vector<PlaybackDone> take_events();

  struct Impl;

 private:
  explicit MediaRelay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hapbx::media
