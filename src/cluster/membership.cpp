// Heartbeat membership (rules and state diagram in membership.h).
#include "cluster/membership.h"

#include <algorithm>
#include <chrono>

namespace hapbx::cluster {
namespace {

using Level = membership_action::Log::Level;

std::int64_t to_ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::string ms_text(Duration d) { return std::to_string(to_ms(d)) + " ms"; }

bool printable_name(std::string_view s) {
  return !s.empty() && s.size() <= kMaxName &&
         std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

std::string_view to_string(NodeState s) {
  switch (s) {
    case NodeState::Init: return "init";
    case NodeState::Up: return "up";
    case NodeState::Dead: return "dead";
  }
  return "?";
}

std::string_view to_string(DeadReason r) {
  switch (r) {
    case DeadReason::None: return "none";
    case DeadReason::Silent: return "no heartbeat for deadtime";
    case DeadReason::NeverHeard: return "not heard within initdead";
    case DeadReason::Left: return "left the cluster";
  }
  return "?";
}

Status validate(const MembershipConfig& c) {
  auto bad = [](std::string why) { return Status(make_error("membership: " + std::move(why))); };
  if (!printable_name(c.node)) return bad("node name '" + c.node + "' is empty, too long or not printable");
  if (!c.cluster.empty() && (c.cluster.size() > kMaxName || !printable_name(c.cluster))) {
    return bad("cluster id '" + c.cluster + "' is too long or not printable");
  }
  for (std::size_t i = 0; i < c.peers.size(); ++i) {
    if (!printable_name(c.peers[i])) {
      return bad("node name '" + c.peers[i] + "' is empty, too long or not printable");
    }
    if (std::find(c.peers.begin(), c.peers.begin() + static_cast<std::ptrdiff_t>(i), c.peers[i]) !=
        c.peers.begin() + static_cast<std::ptrdiff_t>(i)) {
      return bad("node '" + c.peers[i] + "' is listed twice");
    }
  }
  if (c.keepalive < std::chrono::milliseconds(1)) return bad("keepalive must be at least 1 ms");
  if (c.deadtime <= c.keepalive) {
    return bad("deadtime (" + ms_text(c.deadtime) + ") must be longer than keepalive (" +
               ms_text(c.keepalive) + ")");
  }
  if (c.warntime < Duration::zero() || c.warntime >= c.deadtime) {
    return bad("warntime (" + ms_text(c.warntime) + ") must be shorter than deadtime (" +
               ms_text(c.deadtime) + "), or 0 for none");
  }
  if (c.initdead < c.deadtime) {
    return bad("initdead (" + ms_text(c.initdead) + ") must be at least deadtime (" +
               ms_text(c.deadtime) + ")");
  }
  if (c.media < 1 || c.media > kMaxMedia) {
    return bad(std::to_string(c.media) + " media (1.." + std::to_string(kMaxMedia) + ")");
  }
  return Status::Ok();
}

Membership::Membership(MembershipConfig config, std::uint64_t generation, TimePoint now)
    : config_(std::move(config)), generation_(generation), started_(now) {
  if (Status st = validate(config_); !st.ok()) {
    log(Level::Warning, st.error().message + "; using safe values");
  }
  config_.keepalive = std::max<Duration>(config_.keepalive, std::chrono::milliseconds(1));
  if (config_.deadtime <= config_.keepalive) config_.deadtime = 2 * config_.keepalive;
  if (config_.warntime < Duration::zero() || config_.warntime >= config_.deadtime) {
    config_.warntime = Duration::zero();
  }
  config_.initdead = std::max(config_.initdead, config_.deadtime);
  config_.media = std::clamp<std::size_t>(config_.media, 1, kMaxMedia);
  for (const std::string& name : config_.peers) {
    if (name == config_.node || find(name) != nullptr || !printable_name(name)) continue;
    Peer p;
    p.name = name;
    p.since = now;
    p.media.resize(config_.media);
    peers_.push_back(std::move(p));
  }
  send_round(now);
  next_send_ = now + config_.keepalive;
}

void Membership::log(Level level, std::string text) {
  emit(membership_action::Log{level, std::move(text)});
}

Membership::Peer* Membership::find(std::string_view node) {
  for (Peer& p : peers_) {
    if (p.name == node) return &p;
  }
  return nullptr;
}

const Membership::Peer* Membership::find(std::string_view node) const {
  for (const Peer& p : peers_) {
    if (p.name == node) return &p;
  }
  return nullptr;
}

void Membership::send_round(TimePoint) {
  HeartbeatMessage m;
  m.cluster = config_.cluster;
  m.node = config_.node;
  m.generation = generation_;
  for (const Peer& p : peers_) {
    if (p.known && m.hears.size() < kMaxHeard) {
      m.hears.push_back(HeardNode{p.name, p.generation, p.state == NodeState::Up});
    }
  }
  m.resources = resources_;
  m.ping = ping_;
  m.claim = claim_;
  m.leaving = leaving_;
  for (std::size_t medium = 0; medium < config_.media; ++medium) {
    m.sequence = ++sequence_;
    ++counters_.sent;
    emit(membership_action::SendHeartbeat{medium, m});
  }
}

void Membership::set_state(Peer& p, NodeState s, DeadReason why, TimePoint now) {
  if (p.state == s) return;
  p.state = s;
  p.why = s == NodeState::Dead ? why : DeadReason::None;
  p.since = now;
  if (s == NodeState::Up) {
    log(Level::Info, "node " + p.name + " is up");
    emit(membership_action::NodeUp{p.name});
  } else if (s == NodeState::Dead) {
    log(Level::Warning, "node " + p.name + " is dead (" + std::string(to_string(why)) + ")");
    emit(membership_action::NodeDead{p.name, why});
  }
}

void Membership::refresh_medium(Peer& p, std::size_t medium, TimePoint now) {
  Medium& m = p.media[medium];
  m.last_heard = now;
  if (!m.up) {
    m.up = true;
    log(Level::Info, "link " + p.name + " medium " + std::to_string(medium) + " up");
  }
}

Membership::SeqVerdict Membership::check_sequence(Peer& p, std::uint64_t s) {
  if (s > p.sequence) {
    const std::uint64_t d = s - p.sequence;
    if (d > kReorderWindow) {
      p.seen_window = 0;
    } else if (d == kReorderWindow) {
      p.seen_window = std::uint64_t{1} << 63;
    } else {
      p.seen_window = (p.seen_window << d) | (std::uint64_t{1} << (d - 1));
    }
    p.sequence = s;
    return SeqVerdict::Newest;
  }
  if (s == p.sequence) return SeqVerdict::Replayed;
  const std::uint64_t i = p.sequence - 1 - s;
  if (i >= kReorderWindow) return SeqVerdict::TooOld;
  const std::uint64_t bit = std::uint64_t{1} << i;
  if ((p.seen_window & bit) != 0) return SeqVerdict::Replayed;
  p.seen_window |= bit;
  return SeqVerdict::Reordered;
}

void Membership::on_heartbeat(const HeartbeatMessage& msg, std::size_t medium, TimePoint now) {
  tick(now);  // deadlines that passed before this arrived count first
  if (medium >= config_.media) {
    ++counters_.bad_medium;
    return;
  }
  if (msg.node == config_.node) {
    ++counters_.from_self;
    return;
  }
  if (!config_.cluster.empty() && msg.cluster != config_.cluster) {
    ++counters_.foreign_cluster;
    return;
  }
  Peer* p = find(msg.node);
  if (p == nullptr) {
    ++counters_.unknown_node;
    return;
  }
  bool learnt = false;  // a generation of this peer we did not know: echo it at once
  if (!p->known || msg.generation > p->generation) {
    learnt = true;
    if (p->confirmed) {
      ++counters_.restarts;
      log(Level::Warning, p->name + " restarted (generation " + std::to_string(p->generation) +
                              " -> " + std::to_string(msg.generation) + ")");
      emit(membership_action::NodeRestarted{p->name});
    }
    p->known = true;
    p->confirmed = false;
    p->generation = msg.generation;
    p->sequence = msg.sequence;
    p->seen_window = 0;
  } else if (msg.generation < p->generation) {
    ++counters_.stale_generation;
    return;
  } else {
    switch (check_sequence(*p, msg.sequence)) {
      case SeqVerdict::Newest: break;
      case SeqVerdict::Reordered:
        ++counters_.out_of_order;
        refresh_medium(*p, medium, now);  // the medium works; the news is older than we have
        return;
      case SeqVerdict::TooOld: ++counters_.out_of_order; return;
      case SeqVerdict::Replayed: ++counters_.replayed; return;
    }
  }
  const bool echoes_us = std::any_of(msg.hears.begin(), msg.hears.end(), [this](const HeardNode& h) {
    return h.node == config_.node && h.generation == generation_;
  });
  if (!echoes_us) {
    ++counters_.unconfirmed;
    if (learnt) {
      send_round(now);  // the peer learns our generation without waiting a keepalive
    }
    return;
  }
  p->confirmed = true;

  ++counters_.accepted;
  if (p->state == NodeState::Up && p->last_valid && config_.warntime > Duration::zero() &&
      now - *p->last_valid >= config_.warntime) {
    ++counters_.late;
    const std::int64_t ms = to_ms(now - *p->last_valid);
    log(Level::Warning, "late heartbeat: node " + p->name + ": interval " + std::to_string(ms) + " ms");
    emit(membership_action::LateHeartbeat{p->name, ms});
  }
  p->last_valid = now;
  p->warned = false;
  p->last = msg;
  refresh_medium(*p, medium, now);
  if (msg.leaving) {
    set_state(*p, NodeState::Dead, DeadReason::Left, now);
  } else {
    set_state(*p, NodeState::Up, DeadReason::None, now);
  }
  if (learnt) send_round(now);  // it echoed us before we knew it: let it confirm us too
}

void Membership::tick(TimePoint now) {
  if (now >= next_send_) {
    send_round(now);
    next_send_ += config_.keepalive;
    if (next_send_ <= now) next_send_ = now + config_.keepalive;  // late: no burst to catch up
  }
  for (Peer& p : peers_) {
    for (std::size_t i = 0; i < p.media.size(); ++i) {
      Medium& m = p.media[i];
      if (m.up && now >= *m.last_heard + config_.deadtime) {
        m.up = false;
        log(Level::Warning, "link " + p.name + " medium " + std::to_string(i) + " dead");
      }
    }
    switch (p.state) {
      case NodeState::Init:
        if (now >= started_ + config_.initdead) {
          set_state(p, NodeState::Dead, DeadReason::NeverHeard, now);
        }
        break;
      case NodeState::Up:
        if (now >= *p.last_valid + config_.deadtime) {
          set_state(p, NodeState::Dead, DeadReason::Silent, now);
        } else if (config_.warntime > Duration::zero() && !p.warned &&
                   now >= *p.last_valid + config_.warntime) {
          p.warned = true;
          log(Level::Warning, "no heartbeat from " + p.name + " for " +
                                  ms_text(now - *p.last_valid) + " (deadtime " +
                                  ms_text(config_.deadtime) + ")");
        }
        break;
      case NodeState::Dead: break;
    }
  }
}

std::optional<TimePoint> Membership::next_timer() const {
  TimePoint t = next_send_;
  for (const Peer& p : peers_) {
    for (const Medium& m : p.media) {
      if (m.up) t = std::min(t, *m.last_heard + config_.deadtime);
    }
    if (p.state == NodeState::Init) t = std::min(t, started_ + config_.initdead);
    if (p.state == NodeState::Up) {
      t = std::min(t, *p.last_valid + config_.deadtime);
      if (config_.warntime > Duration::zero() && !p.warned) {
        t = std::min(t, *p.last_valid + config_.warntime);
      }
    }
  }
  return t;
}

void Membership::set_resources(std::optional<ResourceReport> report) { resources_ = std::move(report); }
void Membership::set_ping(std::optional<PingReport> report) { ping_ = report; }
void Membership::set_claim(std::optional<ClaimReport> report) { claim_ = report; }

void Membership::leave(TimePoint now) {
  if (leaving_) return;
  leaving_ = true;
  log(Level::Info, "leaving the cluster: telling the peers");
  send_round(now);
  next_send_ = now + config_.keepalive;
}

std::vector<MembershipAction> Membership::take_actions() {
  std::vector<MembershipAction> out;
  out.swap(actions_);
  return out;
}

std::optional<NodeState> Membership::state(std::string_view node) const {
  const Peer* p = find(node);
  if (p == nullptr) return std::nullopt;
  return p->state;
}

std::vector<NodeStatus> Membership::status(TimePoint now) const {
  std::vector<NodeStatus> out;
  for (const Peer& p : peers_) {
    NodeStatus s;
    s.name = p.name;
    s.state = p.state;
    s.why = p.why;
    s.since = p.since;
    if (p.last_valid) s.last_heard_age = now - *p.last_valid;
    s.generation = p.generation;
    s.sequence = p.sequence;
    for (const Medium& m : p.media) {
      MediumStatus ms;
      if (m.last_heard) ms.last_heard_age = now - *m.last_heard;
      ms.up = m.up;
      s.media.push_back(ms);
    }
    s.last = p.last;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace hapbx::cluster
