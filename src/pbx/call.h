// The state of one call in the B2BUA: the inbound leg (the caller's dialog, where we are the
// UAS), the outbound legs of the running Dial (where we are the UAC; several while `&` rings
// in parallel, one once a callee answered), the dialplan run that drives it, and what the CDR
// will say. Plain data owned by the CallEngine (call_engine.h); every rule lives there.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "pbx/call_environment.h"
#include "pbx/dialplan_run.h"
#include "pbx/hangup_cause.h"
#include "pbx/sdp_negotiation.h"
#include "pbx/sip_config.h"
#include "pbx/sip_dialog.h"
#include "sip/message.h"
#include "sip/sdp.h"
#include "sip/transaction_layer.h"

namespace hapbx::pbx {

using CallId = uint64_t;
using LegId = uint64_t;
using WallClock = std::chrono::system_clock;

// Asterisk's channel states, as `core show channels` prints them.
enum class ChannelState { Down, Ring, Ringing, Up };
std::string_view to_string(ChannelState state);

// A 2xx to an INVITE we sent as UAS, retransmitted until its ACK comes (RFC 3261 13.3.1.4).
struct Unacked2xx {
  sip::TransactionId transaction = 0;
  std::string bytes;
  uint32_t cseq = 0;
  core::Duration interval{};
  core::TimePoint next{};
  core::TimePoint give_up{};
};

// What a peer brings to a call, copied at call setup so a `sip reload` mid-call changes nothing.
struct LegPeer {
  std::string name;                 // sip.conf section; "" for a guest
  std::vector<std::string> codecs;  // allow/disallow result, preference order
  bool direct_media = false;        // canreinvite/directmedia = yes
  std::string caller_number;        // callerid=
  std::string caller_name;
  std::string account_code;
  std::string ama_flags;
  int call_limit = 0;
};

struct Leg {
  LegId id = 0;
  std::string channel;   // "SIP/202-0000000b"
  std::string uniqueid;  // "<epoch seconds>.<n>", one per channel as Asterisk's
  LegPeer peer;
  Dialog dialog;
  ChannelState state = ChannelState::Down;
  MediaStream stream;     // the relay stream facing this leg; id 0 = none (direct media)
  std::optional<sip::SessionDescription> remote_sdp;  // the last SDP the peer sent
  SdpOriginState origin;  // our o= line toward this peer (RFC 3264 8)
  int payload_type = 0;   // first negotiated codec (for prompts)
  std::string format;     // its Asterisk name, for `sip show channels`
  bool on_hold = false;   // the peer's last offer put the other side on hold
  // Our last 2xx to this peer carried an offer (late offer, offerless re-INVITE): its answer
  // comes in the ACK.
  bool answer_in_ack = false;
  std::optional<Unacked2xx> unacked_2xx;
  bool bye_sent = false;
  std::string last_message;  // "Rx: INVITE", "Tx: BYE", for `sip show channels`

  // Outbound legs only.
  sip::TransactionId invite_transaction = 0;
  BuiltRequest invite;        // kept for CANCEL
  std::optional<sip::SessionDescription> offer_sent;  // before relay rewriting: checks the answer
  bool provisional_seen = false;
  bool cancel_wanted = false;  // CANCEL once a provisional arrives (9.1)
  bool cancelled = false;
  bool answered = false;
  bool abandoned = false;      // Dial gave up on it (timeout, another leg won, caller left)
  int final_status = 0;
  std::string ack_bytes;       // the ACK for its 2xx, re-sent on 2xx retransmissions
  std::string target;          // "SIP/202" as Dial named it

  // An INVITE transaction of either direction is running on this leg (glare, RFC 3261 14.2).
  bool invite_in_progress = false;
};

// A request we relayed from one leg to the other; its responses travel back.
struct RelayedRequest {
  CallId call = 0;
  LegId from = 0;                     // the leg that sent it to us
  sip::TransactionId server_transaction = 0;
  sip::Message request;               // to build the responses
};

enum class AppWait { None, Dial, Wait, Playback, Echo, Bridged };

struct DialState {
  std::vector<LegId> legs;          // every outbound leg of this Dial
  std::optional<core::TimePoint> deadline;  // ring timeout
  bool timed_out = false;
  bool ringing_sent = false;
  LegId early_media = 0;            // the leg whose 183 SDP is bridged to the caller
  std::vector<DialStatus> failures;  // one per finished leg
  std::string options;
  core::TimePoint started{};
};

struct PlaybackState {
  std::vector<std::string> files;
  size_t next = 0;
  uint64_t current = 0;  // id from CallEnvironment::play, 0 = none
  bool any_failed = false;
};

struct Call {
  CallId id = 0;
  std::string uniqueid;
  Leg in;                                  // the caller
  std::vector<std::unique_ptr<Leg>> out;   // outbound legs, Dial order
  LegId bridged_to = 0;                    // the outbound leg that answered

  sip::TransactionId invite_transaction = 0;  // the caller's INVITE server transaction
  std::optional<sip::Message> invite;         // the caller's INVITE (responses are built from it)
  bool final_sent = false;                    // the caller got a final response
  // Late offer (RFC 3261 13.2.1): the caller's INVITE had no SDP. Our own offer (the caller's
  // allowed codecs) stands in for it towards callees; the caller gets an offer in our 200 and
  // answers in its ACK.
  bool late_offer = false;
  std::optional<sip::SessionDescription> own_offer;
  bool answered = false;                      // ... and it was a 2xx

  std::unique_ptr<DialplanRun> run;
  std::string context;
  std::string exten;
  AppWait wait = AppWait::None;
  bool in_dialplan = false;  // run_dialplan() is on the stack for this call
  DialState dial;
  PlaybackState playback;
  bool ended = false;

  // Timers of this call (nullopt = not armed). The engine's queue may hold stale entries; a
  // firing counts only if it equals what is stored here.
  std::optional<core::TimePoint> wait_until;
  std::optional<core::TimePoint> media_check;

  // CDR.
  WallClock::time_point start_wall{};
  std::optional<WallClock::time_point> answer_wall;
  core::TimePoint start{};
  core::TimePoint last_media_activity{};  // bridge start, for rtptimeout
  std::string dst_channel;
  std::string last_app;
  std::string last_data;
  std::optional<DialStatus> dial_status;
  HangupCause cause = HangupCause::NormalClearing;

  Leg* leg(LegId wanted) {
    if (in.id == wanted) return &in;
    for (auto& l : out) {
      if (l->id == wanted) return l.get();
    }
    return nullptr;
  }
  const Leg* leg(LegId wanted) const {
    if (in.id == wanted) return &in;
    for (const auto& l : out) {
      if (l->id == wanted) return l.get();
    }
    return nullptr;
  }
  Leg* bridged_leg() { return bridged_to ? leg(bridged_to) : nullptr; }
  const Leg* bridged_leg() const { return bridged_to ? leg(bridged_to) : nullptr; }
};

}  // namespace hapbx::pbx
