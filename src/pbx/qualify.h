// Qualify: the OPTIONS keepalive that tells whether each peer is reachable, as Asterisk's
// chan_sip does it. A pure state machine with injected time; the daemon sends the OPTIONS it is
// told to (build_options_request) and reports each probe's fate.
//
// Per peer:
//
//       qualify=no                    qualify=yes|<ms>
//   [Unmonitored]            [Unknown] --probe answered <= max--> [Reachable]
//                                |    \--answered > max--------> [Lagged]
//                                \------no answer (timeout)-----> [Unreachable]
//   and between Reachable / Lagged / Unreachable by the same rules on every later probe.
//   Losing the address (last binding gone) returns the peer to Unknown.
//
// Schedule: a peer with qualify on and a target (a binding, or a static host) is probed at once,
// then every qualifyfreq measured from the previous probe's send time; never two probes of one
// peer in flight. A response or timeout for a probe that is no longer the outstanding one (after
// a target change) is ignored.
//
// Events are produced only on a change of state, with the text Asterisk prints:
//   "Peer '201' is now Reachable (12ms / 2000ms)", "... is now Lagged (2500ms / 2000ms)",
//   "Peer '201' is now UNREACHABLE!  Last qualify: 12".
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "pbx/bindings.h"
#include "sip/endpoint.h"

namespace hapbx::pbx {

enum class QualifyState { Unmonitored, Unknown, Reachable, Lagged, Unreachable };
std::string_view to_string(QualifyState state);  // "Unmonitored", "UNKNOWN", "OK", "LAGGED", ...

struct QualifySettings {
  std::chrono::milliseconds max{0};           // 0 = qualify=no; qualify=yes is 2000 ms
  core::Duration frequency = core::seconds(60);  // qualifyfreq
};

// Where to send a peer's OPTIONS: the binding's contact (Request-URI) and the address the
// REGISTER came from (so it crosses the phone's NAT), or the static host.
struct QualifyTarget {
  sip::Endpoint endpoint;
  std::string request_uri;
  friend bool operator==(const QualifyTarget&, const QualifyTarget&) = default;
};

// The target for a peer with bindings: the most recently registered one (latest expiry), sent to
// the address its REGISTER came from. nullopt when there are none.
std::optional<QualifyTarget> qualify_target(std::span<const Binding> bindings);

// Action: send OPTIONS to `target` for `peer`; report the result with `probe_id`.
struct QualifyProbe {
  std::string peer;
  uint64_t probe_id = 0;
  QualifyTarget target;
};

struct QualifyEvent {
  std::string peer;
  QualifyState from = QualifyState::Unknown;
  QualifyState to = QualifyState::Unknown;
  std::string text;  // the log line
};

struct PeerQualifyStatus {
  QualifyState state = QualifyState::Unmonitored;
  std::optional<std::chrono::milliseconds> latency;  // of the last answered probe
  std::chrono::milliseconds max{0};
};

// "OK (12 ms)", "LAGGED (2500 ms)", "UNREACHABLE", "UNKNOWN", "Unmonitored" (sip show peers).
std::string status_text(const PeerQualifyStatus& status);

class QualifyMachine {
 public:
  // Adds or reconfigures a peer (sip reload keeps its state when qualify stays on).
  void set_peer(const std::string& peer, QualifySettings settings, core::TimePoint now);
  void remove_peer(const std::string& peer);

  // The peer's address changed (registered, refreshed from elsewhere, expired: nullopt).
  // A new target is probed at once.
  void set_target(const std::string& peer, std::optional<QualifyTarget> target,
                  core::TimePoint now);

  // Probes due at `now` (marks them in flight), and when to call again.
  std::vector<QualifyProbe> poll(core::TimePoint now);
  std::optional<core::TimePoint> next_wakeup() const;

  // A final response to the probe arrived at `now` (latency = now - send time).
  std::vector<QualifyEvent> on_response(const std::string& peer, uint64_t probe_id,
                                        core::TimePoint now);
  // Probes unanswered for twice the peer's qualify max (chan_sip's no-answer rule: a phone
  // that takes that long is treated as gone) become UNREACHABLE at `now`. next_wakeup()
  // includes these deadlines. A response arriving later is ignored.
  std::vector<QualifyEvent> check_no_answer(core::TimePoint now);
  // The OPTIONS transaction timed out (or could not be sent).
  std::vector<QualifyEvent> on_timeout(const std::string& peer, uint64_t probe_id,
                                       core::TimePoint now);

  PeerQualifyStatus status(std::string_view peer) const;

 private:
  struct Peer {
    QualifySettings settings;
    PeerQualifyStatus status;
    std::optional<QualifyTarget> target;
    std::optional<core::TimePoint> next_probe;  // nullopt: not scheduled
    uint64_t in_flight = 0;                     // probe id, 0 = none
    core::TimePoint sent_at{};
  };

  std::vector<QualifyEvent> transition(const std::string& name, Peer& peer, QualifyState to);
  Peer* find(const std::string& peer, uint64_t probe_id);

  std::map<std::string, Peer, std::less<>> peers_;
  uint64_t next_probe_id_ = 1;
};

// The OPTIONS request a probe sends (RFC 3261 11): Request-URI = the binding's contact, From
// pbxd with a new tag, To = the Request-URI, new Call-ID and branch, Max-Forwards 70.
struct OptionsRequestParams {
  std::string request_uri;
  sip::TransportKind transport = sip::TransportKind::Udp;
  std::string local_host;   // our address as the peer reaches it (Via, From, Contact)
  uint16_t local_port = 5060;
  uint32_t cseq = 102;
  std::string user_agent = "hapbx PBX";
  std::string from_user = "pbxd";
};

struct OptionsRequest {
  std::string bytes;
  std::string call_id;
  std::string branch;
  std::string from_tag;
};

OptionsRequest build_options_request(const OptionsRequestParams& params);

}  // namespace hapbx::pbx
