// The qualify state machine and the OPTIONS request builder (see qualify.h).
#include "pbx/qualify.h"

#include <algorithm>

#include <fmt/format.h>

#include "sip/message_writer.h"

namespace hapbx::pbx {

std::string_view to_string(QualifyState state) {
  switch (state) {
    case QualifyState::Unmonitored: return "Unmonitored";
    case QualifyState::Unknown: return "UNKNOWN";
    case QualifyState::Reachable: return "OK";
    case QualifyState::Lagged: return "LAGGED";
    case QualifyState::Unreachable: return "UNREACHABLE";
  }
  return "UNKNOWN";
}

std::string status_text(const PeerQualifyStatus& status) {
  if ((status.state == QualifyState::Reachable || status.state == QualifyState::Lagged) &&
      status.latency) {
    return fmt::format("{} ({} ms)", to_string(status.state), status.latency->count());
  }
  return std::string(to_string(status.state));
}

std::optional<QualifyTarget> qualify_target(std::span<const Binding> bindings) {
  const Binding* best = nullptr;
  for (const Binding& b : bindings) {
    if (best == nullptr || b.expires_at > best->expires_at) best = &b;
  }
  if (best == nullptr) return std::nullopt;
  return QualifyTarget{best->source, best->contact};
}

void QualifyMachine::set_peer(const std::string& name, QualifySettings settings,
                              core::TimePoint now) {
  Peer& peer = peers_[name];
  const bool was_on = peer.settings.max.count() > 0;
  const bool on = settings.max.count() > 0;
  peer.settings = settings;
  peer.status.max = settings.max;
  if (!on) {
    peer.status = PeerQualifyStatus{QualifyState::Unmonitored, std::nullopt, settings.max};
    peer.next_probe.reset();
    peer.in_flight = 0;
    return;
  }
  if (!was_on) {
    peer.status.state = QualifyState::Unknown;
    if (peer.target) peer.next_probe = now;
  }
}

void QualifyMachine::remove_peer(const std::string& name) { peers_.erase(name); }

void QualifyMachine::set_target(const std::string& name, std::optional<QualifyTarget> target,
                                core::TimePoint now) {
  auto it = peers_.find(name);
  if (it == peers_.end()) return;
  Peer& peer = it->second;
  if (peer.target == target) return;  // a refresh from the same place: schedule unchanged
  peer.target = std::move(target);
  peer.in_flight = 0;  // a probe to the old address says nothing about the new one
  if (peer.settings.max.count() == 0) return;
  if (!peer.target) {
    peer.status.state = QualifyState::Unknown;
    peer.status.latency.reset();
    peer.next_probe.reset();
    return;
  }
  peer.next_probe = now;
}

std::vector<QualifyProbe> QualifyMachine::poll(core::TimePoint now) {
  std::vector<QualifyProbe> out;
  for (auto& [name, peer] : peers_) {
    if (!peer.next_probe || *peer.next_probe > now || peer.in_flight != 0 || !peer.target) {
      continue;
    }
    peer.in_flight = next_probe_id_++;
    peer.sent_at = now;
    peer.next_probe.reset();  // set again when this probe ends
    out.push_back(QualifyProbe{name, peer.in_flight, *peer.target});
  }
  return out;
}

namespace {
core::TimePoint no_answer_deadline(core::TimePoint sent_at, std::chrono::milliseconds max) {
  return sent_at + 2 * max;
}
}  // namespace

std::optional<core::TimePoint> QualifyMachine::next_wakeup() const {
  std::optional<core::TimePoint> best;
  for (const auto& [name, peer] : peers_) {
    std::optional<core::TimePoint> due;
    if (peer.in_flight != 0) {
      due = no_answer_deadline(peer.sent_at, peer.settings.max);
    } else if (peer.next_probe) {
      due = peer.next_probe;
    }
    if (due && (!best || *due < *best)) best = due;
  }
  return best;
}

std::vector<QualifyEvent> QualifyMachine::check_no_answer(core::TimePoint now) {
  std::vector<QualifyEvent> events;
  for (auto& [name, peer] : peers_) {
    if (peer.in_flight == 0 || no_answer_deadline(peer.sent_at, peer.settings.max) > now) {
      continue;
    }
    for (auto& e : transition(name, peer, QualifyState::Unreachable)) {
      events.push_back(std::move(e));
    }
  }
  return events;
}

QualifyMachine::Peer* QualifyMachine::find(const std::string& name, uint64_t probe_id) {
  auto it = peers_.find(name);
  if (it == peers_.end() || probe_id == 0 || it->second.in_flight != probe_id) return nullptr;
  return &it->second;
}

std::vector<QualifyEvent> QualifyMachine::transition(const std::string& name, Peer& peer,
                                                     QualifyState to) {
  // The next probe, qualifyfreq after this one was sent (at once if that has passed).
  peer.in_flight = 0;
  peer.next_probe = peer.sent_at + peer.settings.frequency;
  const QualifyState from = peer.status.state;
  peer.status.state = to;
  if (from == to) return {};
  std::string text;
  const long long max_ms = peer.settings.max.count();
  if (to == QualifyState::Unreachable) {
    text = fmt::format("Peer '{}' is now UNREACHABLE!  Last qualify: {}", name,
                       peer.status.latency ? peer.status.latency->count() : 0);
  } else {
    text = fmt::format("Peer '{}' is now {} ({}ms / {}ms)", name,
                       to == QualifyState::Reachable ? "Reachable" : "Lagged",
                       peer.status.latency ? peer.status.latency->count() : 0, max_ms);
  }
  return {QualifyEvent{name, from, to, std::move(text)}};
}

std::vector<QualifyEvent> QualifyMachine::on_response(const std::string& name, uint64_t probe_id,
                                                      core::TimePoint now) {
  Peer* peer = find(name, probe_id);
  if (peer == nullptr) return {};
  const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::max(now - peer->sent_at, core::Duration::zero()));
  peer->status.latency = latency;
  return transition(name, *peer,
                    latency <= peer->settings.max ? QualifyState::Reachable : QualifyState::Lagged);
}

std::vector<QualifyEvent> QualifyMachine::on_timeout(const std::string& name, uint64_t probe_id,
                                                     core::TimePoint /*now*/) {
  Peer* peer = find(name, probe_id);
  if (peer == nullptr) return {};
  return transition(name, *peer, QualifyState::Unreachable);
}

PeerQualifyStatus QualifyMachine::status(std::string_view name) const {
  auto it = peers_.find(name);
  if (it == peers_.end()) return {};
  return it->second.status;
}

OptionsRequest build_options_request(const OptionsRequestParams& p) {
  OptionsRequest out;
  out.branch = sip::new_branch();
  out.from_tag = sip::random_token(10);
  const bool v6 = p.local_host.find(':') != std::string::npos;
  const std::string host = v6 ? "[" + p.local_host + "]" : p.local_host;
  const std::string hostport = fmt::format("{}:{}", host, p.local_port);
  out.call_id = sip::random_token(20) + "@" + host;
  const std::string self = fmt::format("sip:{}@{}", p.from_user, hostport);

  auto w = sip::MessageWriter::request(sip::Method::Options, p.request_uri);
  w.header(sip::HeaderId::Via, fmt::format("SIP/2.0/{} {};branch={};rport",
                                           sip::to_string(p.transport), hostport, out.branch));
  w.header(sip::HeaderId::MaxForwards, "70");
  w.header(sip::HeaderId::From, fmt::format("\"{}\" <{}>;tag={}", p.from_user, self, out.from_tag));
  w.header(sip::HeaderId::To, fmt::format("<{}>", p.request_uri));
  w.header(sip::HeaderId::Contact, fmt::format("<{}>", self));
  w.header(sip::HeaderId::CallId, out.call_id);
  w.header(sip::HeaderId::CSeq, fmt::format("{} OPTIONS", p.cseq));
  if (!p.user_agent.empty()) w.header(sip::HeaderId::UserAgent, p.user_agent);
  w.header(sip::HeaderId::Accept, "application/sdp");
  out.bytes = std::move(w).finish();
  return out;
}

}  // namespace hapbx::pbx
