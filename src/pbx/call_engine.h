// The B2BUA: every call of pbxd, from the caller's INVITE to the CDR. Each call is two (or, while
// Dial rings several targets, more) SIP dialogs joined by a bridge: the inbound leg where pbxd is
// the UAS and outbound legs where it is the UAC, each with its own Call-ID, tags and CSeqs. The
// dialplan (dialplan_run.h) decides what happens; this engine carries out the applications that
// touch the call (Answer, Dial, Playback, Echo, Busy, ...), relays provisional and final
// responses, BYE, CANCEL, re-INVITE (hold/resume), UPDATE and INFO between the legs, rewrites
// SDP so media flows through the relay (canreinvite=no) or passes it through (canreinvite=yes),
// retransmits 2xx until ACKed, watches RTP for rtptimeout, and writes one CDR per call.
//
// Pure core: no socket, no clock, no thread. The daemon feeds it what the transaction layer
// hands up (requests, responses, ACKs, failures) with `now`, arms one timer for next_deadline(),
// and implements CallEnvironment; the unit tests do the same with fakes and a manual clock.
//
// Call flow of a Dial (the common case):
//   caller INVITE -> [407 challenge, INVITE again] -> 100 (transaction layer) -> dialplan ->
//   Dial: INVITE to each target -> 180 relayed -> first 2xx wins: ACK it, CANCEL the others,
//   200 to the caller -> ACK from the caller -> bridged -> BYE from either side: 200 there,
//   BYE to the other side -> `h` extension -> CDR.
//
// Threading: not thread-safe; owned by the daemon's event loop.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "pbx/auth_throttle.h"
#include "pbx/bindings.h"
#include "pbx/call.h"
#include "pbx/call_environment.h"
#include "pbx/dialplan.h"
#include "pbx/sip_config.h"
#include "sip/digest_verifier.h"
#include "sip/message.h"
#include "sip/transaction_layer.h"

namespace hapbx::pbx {

struct CallSettings {
  core::Duration t1 = std::chrono::milliseconds(500);
  core::Duration t2 = std::chrono::seconds(4);
  size_t max_calls = 10000;  // beyond it: 503 with Retry-After (overload, not collapse)
};

struct CallCounters {
  uint64_t calls_processed = 0;  // calls that ended
  uint64_t calls_rejected = 0;   // refused before the dialplan (auth, 404, 488, limits)
  uint64_t media_timeouts = 0;
  uint64_t overload_rejections = 0;  // max_calls reached or the event loop behind
};

// One line of `core show channels` / `sip show channels`.
struct ChannelView {
  std::string channel;
  std::string uniqueid;
  std::string peer;
  ChannelState state = ChannelState::Down;
  std::string context, exten;
  int priority = 0;
  std::string application, data;
  std::string caller_number, caller_name;
  std::string bridged_to;
  std::string call_id;
  std::string address;  // the peer's signalling address
  std::string format;
  std::string last_message;
  int64_t duration_seconds = 0;
  std::optional<MediaStreamCounters> rtp;
  uint16_t rtp_local_port = 0;
  bool inbound = true;
};

class CallEngine {
 public:
  // `config`, `plan`, `bindings`, `verifier` and `throttle` (may be null) must outlive the
  // engine or be replaced with reconfigure().
  CallEngine(CallEnvironment& env, const SipConfig& config, std::shared_ptr<const Dialplan> plan,
             const BindingTable& bindings, sip::DigestVerifier& verifier, AuthThrottle* throttle,
             CallSettings settings = {});
  ~CallEngine();
  CallEngine(const CallEngine&) = delete;
  CallEngine& operator=(const CallEngine&) = delete;

  // sip reload / dialplan reload: new calls use the new files; running calls keep theirs.
  void reconfigure(const SipConfig& config);
  void set_dialplan(std::shared_ptr<const Dialplan> plan);

  // --- events from the transaction layer ---
  // A request the engine handles: INVITE (new or in a dialog), BYE, UPDATE, INFO, and OPTIONS,
  // NOTIFY... inside a dialog. Returns false when it is not for the call layer at all (the
  // daemon answers it: an out-of-dialog OPTIONS, say).
  bool on_request(sip::TransactionId transaction, sip::Message&& request,
                  const sip::Endpoint& source, core::TimePoint now, WallClock::time_point wall);
  // A CANCEL whose INVITE server transaction is `invite` (transaction layer lookup, 9.2); the
  // engine answers the CANCEL. Returns false when `invite` is no call's (the daemon: 481).
  bool on_cancel(sip::TransactionId cancel, const sip::Message& request,
                 sip::TransactionId invite, core::TimePoint now, WallClock::time_point wall);
  void on_ack(const sip::Message& ack, core::TimePoint now);
  // Responses to our client transactions; false when the transaction is not the engine's.
  bool on_response(sip::TransactionId transaction, sip::Message&& response, core::TimePoint now,
                   WallClock::time_point wall);
  // A 2xx retransmission whose INVITE client transaction is gone (13.2.2.4: ACK it again).
  void on_stray_2xx(const sip::Message& response, core::TimePoint now);
  bool on_client_failure(sip::TransactionId transaction, core::TimePoint now,
                         WallClock::time_point wall);
  void on_playback_done(MediaStreamId stream, uint64_t playback, bool completed,
                        core::TimePoint now, WallClock::time_point wall);

  // --- timers ---
  std::optional<core::TimePoint> next_deadline() const;
  void on_timer(core::TimePoint now, WallClock::time_point wall);

  // Load shedding (overload_guard.h): while set, new INVITEs get 503 with Retry-After at once.
  void set_overloaded(bool overloaded) { overloaded_ = overloaded; }
  bool overloaded() const { return overloaded_; }

  // --- admin ---
  // "all" or a channel name (either leg's). Returns how many calls were hung up.
  size_t request_hangup(std::string_view channel, core::TimePoint now, WallClock::time_point wall);
  std::vector<ChannelView> channels(core::TimePoint now) const;
  size_t active_calls() const { return calls_.size(); }
  const CallCounters& counters() const { return counters_; }
  // Calls in which the sip.conf peer takes part (call-limit).
  int calls_of_peer(std::string_view peer) const;
  // Hangs every call up (daemon shutdown): BYE/CANCEL/final responses go out, CDRs written.
  void hangup_all(core::TimePoint now, WallClock::time_point wall);

 private:
  enum class TimerKind { Wait, DialTimeout, Retransmit2xx, MediaCheck };
  using Deadline = std::tuple<core::TimePoint, CallId, LegId, TimerKind>;

  enum class ClientPurpose { Invite, Cancel, Bye, Relay, Other };
  struct ClientEntry {
    CallId call = 0;
    LegId leg = 0;
    ClientPurpose purpose = ClientPurpose::Other;
  };
  struct DialogRef {
    CallId call = 0;
    LegId leg = 0;
  };

  // call_engine.cpp: lifecycle
  void on_new_invite(sip::TransactionId transaction, sip::Message&& request,
                     const sip::Endpoint& source, core::TimePoint now, WallClock::time_point wall);
  void reject(sip::TransactionId transaction, const sip::Message& request, int status,
              std::vector<std::pair<std::string, std::string>> headers = {});
  void hangup(Call& call, HangupCause cause, core::TimePoint now, WallClock::time_point wall);
  void finish(Call& call, WallClock::time_point wall);
  void write_cdr(Call& call, WallClock::time_point wall);
  Call* find_call(CallId id);
  void erase_call(CallId id);
  void arm(core::TimePoint when, CallId call, LegId leg, TimerKind kind);
  std::string next_channel_name(std::string_view peer);
  LegPeer leg_peer(const SipPeer* peer) const;

  // call_engine_apps.cpp: the dialplan and the applications that touch the call
  void run_dialplan(Call& call, core::TimePoint now, WallClock::time_point wall);
  // Carries out one application; the call may end (and be erased) or start waiting.
  void execute(Call& call, const AppRequest& app, core::TimePoint now, WallClock::time_point wall);
  // Returns false when the call could not be answered and was hung up (it may be erased).
  bool answer(Call& call, core::TimePoint now, WallClock::time_point wall);
  // Opens the relay stream facing `leg` if it has none, pointed at the leg's last SDP. False:
  // no free port pair (logged).
  bool ensure_relay(Call& call, Leg& leg);
  // with_sdp: early media; the SDP is the answer to the caller's offer, from `basis` (the
  // callee's early SDP) when given.
  void send_provisional(Call& call, int status, bool with_sdp,
                        const sip::SessionDescription* basis = nullptr);
  void send_final_to_caller(Call& call, int status);
  void start_playback(Call& call, const AppRequest& app, core::TimePoint now,
                      WallClock::time_point wall);
  void play_next(Call& call, core::TimePoint now, WallClock::time_point wall);
  void resume(Call& call, core::TimePoint now, WallClock::time_point wall);
  RequestBody our_sdp(Leg& leg, const sip::SessionDescription& basis);

  // call_engine_dial.cpp: outbound legs
  void start_dial(Call& call, const AppRequest& app, core::TimePoint now,
                  WallClock::time_point wall);
  std::optional<DialStatus> start_leg(Call& call, std::string_view target, uint32_t max_forwards,
                                      core::TimePoint now);
  void on_leg_response(Call& call, Leg& leg, sip::Message&& response, core::TimePoint now,
                       WallClock::time_point wall);
  void on_leg_answered(Call& call, Leg& leg, const sip::Message& response, core::TimePoint now,
                       WallClock::time_point wall);
  void on_leg_failed(Call& call, Leg& leg, int status, core::TimePoint now,
                     WallClock::time_point wall);
  void cancel_leg(Call& call, Leg& leg);
  void end_dial(Call& call, DialStatus status, core::TimePoint now, WallClock::time_point wall);
  void close_leg_media(Leg& leg);
  void send_bye(Call& call, Leg& leg);

  // call_engine_dialog.cpp: requests inside the dialogs
  void on_in_dialog_request(sip::TransactionId transaction, sip::Message&& request,
                            const sip::Endpoint& source, core::TimePoint now,
                            WallClock::time_point wall);
  void on_bye(Call& call, Leg& leg, sip::TransactionId transaction, const sip::Message& request,
              core::TimePoint now, WallClock::time_point wall);
  void on_reinvite(Call& call, Leg& leg, sip::TransactionId transaction, sip::Message&& request,
                   core::TimePoint now);
  void relay_request(Call& call, Leg& from, Leg& to, sip::TransactionId transaction,
                     sip::Message&& request, core::TimePoint now);
  void on_relay_response(const ClientEntry& entry, sip::TransactionId transaction,
                         sip::Message&& response, core::TimePoint now);
  void send_2xx(Call& call, Leg& leg, sip::TransactionId transaction, std::string bytes,
                uint32_t cseq, core::TimePoint now);
  void on_retransmit_2xx(Call& call, Leg& leg, core::TimePoint now, WallClock::time_point wall);
  void on_media_check(Call& call, core::TimePoint now, WallClock::time_point wall);
  // Takes the peer's SDP (offer or answer) for `leg`: stores it, points the relay at it.
  Status take_remote_sdp(Leg& leg, std::string_view body);
  Leg* other_leg(Call& call, Leg& leg);
  // The direction we answer an offer with (RFC 3264 6.1): sendonly <-> recvonly.
  static sip::SessionDescription as_answer(const sip::SessionDescription& offer);

  CallEnvironment& env_;
  const SipConfig* config_;
  std::shared_ptr<const Dialplan> plan_;
  // Set(GLOBAL(x)=...) is shared by every call, as in Asterisk; a dialplan reload applies the
  // new [globals] (clearglobalvars decides what stays).
  std::shared_ptr<DialplanGlobals> globals_;
  const BindingTable& bindings_;
  sip::DigestVerifier& verifier_;
  AuthThrottle* throttle_;
  CallSettings settings_;
  CallCounters counters_;
  bool overloaded_ = false;

  CallId next_call_ = 1;
  LegId next_leg_ = 1;
  uint32_t channel_counter_ = 0;
  std::map<CallId, std::unique_ptr<Call>> calls_;
  std::unordered_map<sip::TransactionId, CallId> by_invite_;        // caller INVITE server txn
  std::unordered_map<sip::TransactionId, ClientEntry> by_client_;   // our client txns
  std::unordered_map<sip::TransactionId, std::unique_ptr<RelayedRequest>> relayed_;
  std::unordered_map<std::string, DialogRef> by_dialog_;            // Dialog::key()
  std::unordered_map<MediaStreamId, DialogRef> by_stream_;
  // Outbound legs of ended calls whose INVITE had no final response yet, by INVITE client
  // transaction: a 200 that crosses our CANCEL still gets its ACK and a BYE, a CANCEL that had
  // to wait for a provisional still goes out. Dropped on their final response or Timer B.
  std::unordered_map<sip::TransactionId, std::unique_ptr<Leg>> orphans_;
  static constexpr size_t kMaxOrphans = 10000;
  void on_orphan_response(sip::TransactionId transaction, const sip::Message& response);
  std::set<Deadline> deadlines_;
};

}  // namespace hapbx::pbx
