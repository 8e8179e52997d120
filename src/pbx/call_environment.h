// What the call engine (call_engine.h) asks of the world: SIP sends through the transaction
// layer, the RTP relay, prompts, and the CDR writer. The daemon implements it with the real
// transaction layer, media::MediaRelay and the CDR writer thread; the unit tests with fakes that
// record every call, so whole calls run in one thread with a manual clock.
//
// Contract: every method returns at once (nothing blocks), may be called only from the thread
// that owns the engine, and never calls back into the engine synchronously. Results that come
// later (responses, playback done, timeouts) arrive as engine events.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "pbx/cdr.h"
#include "pbx/sip_dialog.h"
#include "sip/endpoint.h"
#include "sip/transaction_layer.h"

namespace hapbx::pbx {

using MediaStreamId = uint64_t;  // 0 = none

struct MediaStream {
  MediaStreamId id = 0;
  std::string address;  // the relay's address as the peer reaches it (for SDP c=)
  uint16_t rtp_port = 0;
};

struct MediaStreamCounters {
  uint64_t rtp_in = 0;
  uint64_t rtp_out = 0;
  uint64_t rtcp_in = 0;
  uint64_t rtcp_out = 0;
  std::optional<core::TimePoint> last_rtp_in;
  std::string remote;  // "ip:port" the stream sends to (after latching)
  bool latched = false;
};

class CallEnvironment {
 public:
  virtual ~CallEnvironment() = default;

  // --- SIP ---
  virtual Result<sip::TransactionId> send_request(std::string bytes, const sip::Endpoint& to) = 0;
  virtual void send_response(sip::TransactionId transaction, std::string bytes, int status) = 0;
  virtual void send_stateless(const sip::Endpoint& to, std::string bytes) = 0;
  // Our address as seen from `peer` (Via, Contact, SDP), over the peer's transport.
  virtual LocalAddress local_address_for(const sip::Endpoint& peer) = 0;

  // --- media ---
  // A new RTP/RTCP port pair facing `peer`. Error: no free port pair.
  virtual Result<MediaStream> open_stream(const sip::Endpoint& peer) = 0;
  virtual void set_stream_remote(MediaStreamId stream, const std::string& address,
                                 uint16_t rtp_port, uint16_t rtcp_port) = 0;
  virtual void bridge_streams(MediaStreamId a, MediaStreamId b) = 0;
  virtual void unbridge_stream(MediaStreamId stream) = 0;
  virtual void echo_stream(MediaStreamId stream) = 0;
  // Plays one prompt (Playback's data for one file: "beep", "tone/ring", a WAV path) to the
  // stream's remote as G.711 `payload_type`. The id comes back in on_playback_done(). Error:
  // unknown prompt or unreadable file (the message names it).
  virtual Result<uint64_t> play(MediaStreamId stream, std::string_view prompt,
                                int payload_type) = 0;
  virtual void stop_playback(MediaStreamId stream) = 0;
  // Closes the stream; its ports are free again at once.
  virtual void close_stream(MediaStreamId stream) = 0;
  virtual std::optional<MediaStreamCounters> stream_counters(MediaStreamId stream) const = 0;

  // --- records ---
  virtual void write_cdr(CdrRecord&& record) = 0;
};

}  // namespace hapbx::pbx
