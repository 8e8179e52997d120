// The resource manager's events, its state transaction and the agent sequencing (start in order,
// stop in reverse, retries). The rules deciding when to take or give the group are in
// resource_manager_rules.cpp.
#include "cluster/resource_manager.h"

#include <algorithm>
#include <utility>

namespace hapbx::cluster {

using Level = rm_action::Log::Level;
namespace st = rm_state;

namespace {

std::string seconds_text(Duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return std::to_string(ms / 1000) + "." + std::to_string((ms % 1000) / 100) + "s";
}

}  // namespace

ResourceManager::ResourceManager(ResourceManagerConfig config, TimePoint now)
    : config_(std::move(config)), state_since_(now), holder_since_(now) {
  slots_.resize(config_.group.resources.size());
  for (auto& s : slots_) s.since = now;
  if (config_.stop_attempts < 1) config_.stop_attempts = 1;
  if (config_.max_failures < 1) config_.max_failures = 1;
  announce_if_changed();
}

void ResourceManager::log(Level level, std::string text) {
  emit(rm_action::Log{level, std::move(text)});
}

std::vector<RmAction> ResourceManager::take_actions() { return std::exchange(actions_, {}); }

// --- the transaction ---

bool ResourceManager::allowed(const GroupState& from, const GroupState& to) {
  auto is = [](const GroupState& s, auto tag) {
    return std::holds_alternative<decltype(tag)>(s);
  };
  if (is(from, st::Stopped{})) return is(to, st::Standby{});
  if (is(from, st::Standby{}))
    return is(to, st::Starting{}) || is(to, st::Fencing{}) || is(to, st::Released{});
  if (is(from, st::Released{}))
    return is(to, st::Starting{}) || is(to, st::Fencing{}) || is(to, st::Standby{});
  if (is(from, st::StartFailed{}))
    return is(to, st::Starting{}) || is(to, st::Fencing{}) || is(to, st::Standby{});
  if (is(from, st::Fencing{})) return is(to, st::Starting{}) || is(to, st::Standby{});
  if (is(from, st::Starting{})) return is(to, st::Running{}) || is(to, st::Stopping{});
  if (is(from, st::Running{})) return is(to, st::Stopping{});
  if (is(from, st::Stopping{}))
    return is(to, st::Released{}) || is(to, st::Standby{}) || is(to, st::Starting{}) ||
           is(to, st::StartFailed{}) || is(to, st::StopFailed{});
  return false;  // StopFailed is final until the daemon restarts
}

void ResourceManager::change(GroupState proposed, Reason why, TimePoint now) {
  // Sanitize: nothing to adjust today (an empty group passes through Starting to Running).
  // Validate.
  if (!allowed(state_, proposed)) {
    log(Level::Error, "internal: refused group transition " + std::string(state_name()) + " -> " +
                          std::string(cluster::state_name(proposed)) + " (" +
                          std::string(to_string(why)) + ")");
    return;
  }
  // Commit.
  std::string_view from = state_name();
  state_ = std::move(proposed);
  ++transitions_;
  reason_ = why;
  state_since_ = now;
  // Side effects.
  emit(rm_action::GroupStateChanged{from, state_name(), why});
  log(Level::Info, "group: " + std::string(from) + " -> " + std::string(state_name()) + " (" +
                       std::string(to_string(why)) + ")");
  enter(why, now);
  update_holder(now);
  // The announcement goes out once per event (after_event), not per intermediate state.
}

void ResourceManager::enter(Reason why, TimePoint now) {
  if (std::holds_alternative<st::Standby>(state_) || std::holds_alternative<st::Released>(state_) ||
      std::holds_alternative<st::StartFailed>(state_)) {
    admin_took_ = false;
  }
  if (std::holds_alternative<st::Starting>(state_) || std::holds_alternative<st::Stopping>(state_) ||
      std::holds_alternative<st::StartFailed>(state_)) {
    peer_offer_fresh_ = false;
  }
  if (std::holds_alternative<st::Starting>(state_)) {
    if (takeover_requested_ || why == Reason::AdminTakeover) admin_took_ = true;
    takeover_requested_ = false;
    start_next(now);
  } else if (std::holds_alternative<st::Stopping>(state_)) {
    for (auto& s : slots_) s.monitor_op = 0;
    stop_next(now);
  } else if (auto* f = std::get_if<st::Fencing>(&state_)) {
    issue_fence(*f);
  } else if (std::holds_alternative<st::Running>(state_)) {
    both_failed_logged_ = false;
    for (auto& s : slots_) {
      s.next_monitor = now + config_.monitor_interval;
      s.monitor_op = 0;
    }
  } else if (auto* sf = std::get_if<st::StopFailed>(&state_)) {
    log(Level::Error,
        "resource " + config_.group.resources[sf->index].name + " could not be stopped (" +
            sf->error + "): group unmanaged; " +
            (config_.fencing ? "the peer will fence this node before taking the group"
                             : "the peer will not start the group; fix the resource and restart "
                               "clusterd"));
  } else if (auto* f2 = std::get_if<st::StartFailed>(&state_)) {
    f2->retry_at = now + config_.start_failure_backoff;
    if (peer_is_up() && peer_.claim == GroupClaim::StartFailed && !both_failed_logged_) {
      both_failed_logged_ = true;
      log(Level::Error, "both nodes failed to start the group: it stays down; retrying in " +
                            seconds_text(config_.start_failure_backoff));
    }
  }
}

void ResourceManager::set_resource(std::size_t i, ManagedState s, TimePoint now) {
  if (slots_[i].state != s) slots_[i].since = now;
  slots_[i].state = s;
}

// --- agent sequencing ---

void ResourceManager::start_next(TimePoint now) {
  auto* s = std::get_if<st::Starting>(&state_);
  if (!s) return;
  if (s->next >= slots_.size()) {
    change(st::Running{}, Reason::Started, now);
    return;
  }
  s->op = new_op();
  set_resource(s->next, ManagedState::Starting, now);
  emit(rm_action::StartResource{s->next, s->op});
}

void ResourceManager::stop_next(TimePoint now) {
  auto* s = std::get_if<st::Stopping>(&state_);
  if (!s) return;
  // The highest index in [low, next] that may be active.
  std::optional<std::size_t> target;
  for (std::size_t i = std::min(s->next + 1, slots_.size()); i-- > s->low;) {
    if (slots_[i].state != ManagedState::Stopped) {
      target = i;
      break;
    }
  }
  if (!target) {
    st::Stopping done = *s;
    finish_stopping(done, now);
    return;
  }
  s->next = *target;
  s->op = new_op();
  s->retry_at.reset();
  set_resource(s->next, ManagedState::Stopping, now);
  emit(rm_action::StopResource{s->next, s->op});
}

void ResourceManager::finish_stopping(const st::Stopping& s, TimePoint now) {
  switch (s.after) {
    case st::AfterStop::Release: change(st::Released{}, s.why, now); break;
    case st::AfterStop::Yield: change(st::Standby{}, s.why, now); break;
    case st::AfterStop::Restart: change(st::Starting{s.low, 0, {}}, s.why, now); break;
    case st::AfterStop::StartFailed: change(st::StartFailed{}, s.why, now); break;
  }
}

void ResourceManager::issue_fence(st::Fencing& f) {
  f.op = new_op();
  f.retry_at.reset();
  ++f.attempt;
  log(Level::Warning, "fencing " + config_.peer + " before taking the group (attempt " +
                          std::to_string(f.attempt) + ")");
  emit(rm_action::Fence{config_.peer, f.op});
}

// --- events ---

void ResourceManager::startup(TimePoint now) {
  if (std::holds_alternative<st::Stopped>(state_)) change(st::Standby{}, Reason::Startup, now);
  after_event(now);
}

void ResourceManager::agent_result(std::uint64_t op, const AgentResult& r, TimePoint now) {
  if (op == 0) return;
  bool ok = r.outcome == AgentOutcome::Ok;
  std::string why = r.reason.empty() ? std::string("failed") : r.reason;
  if (auto* s = std::get_if<st::Starting>(&state_); s && s->op == op) {
    std::size_t i = s->next;
    s->op = 0;
    if (ok) {
      set_resource(i, ManagedState::Running, now);
      if (s->abort) {
        change(st::Stopping{*s->abort, st::AfterStop::Yield, 0, i, 0, 0, {}}, *s->abort, now);
      } else {
        ++s->next;
        start_next(now);
      }
    } else {
      set_resource(i, ManagedState::Failed, now);
      slots_[i].last_error = "start: " + why;
      ++slots_[i].failures;
      log(Level::Error, "start of " + config_.group.resources[i].name + " failed: " + why);
      change(st::Stopping{Reason::StartFailure, st::AfterStop::StartFailed, 0, i, 0, 0, {}},
             Reason::StartFailure, now);
    }
  } else if (auto* p = std::get_if<st::Stopping>(&state_); p && p->op == op) {
    std::size_t i = p->next;
    p->op = 0;
    if (ok) {
      set_resource(i, ManagedState::Stopped, now);
      p->attempt = 0;
      if (i == p->low) {
        st::Stopping done = *p;
        finish_stopping(done, now);
      } else {
        p->next = i - 1;
        stop_next(now);
      }
    } else {
      ++p->attempt;
      ++slots_[i].failures;
      slots_[i].last_error = "stop: " + why;
      if (p->attempt >= config_.stop_attempts) {
        set_resource(i, ManagedState::Failed, now);
        change(st::StopFailed{i, why}, Reason::StopFailure, now);
      } else {
        p->retry_at = now + config_.stop_retry_delay;
        log(Level::Warning, "stop of " + config_.group.resources[i].name + " failed (" + why +
                                "), attempt " + std::to_string(p->attempt) + " of " +
                                std::to_string(config_.stop_attempts) + "; retrying in " +
                                seconds_text(config_.stop_retry_delay));
      }
    }
  } else if (std::holds_alternative<st::Running>(state_)) {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].monitor_op != op) continue;
      slots_[i].monitor_op = 0;
      if (ok) {
        slots_[i].next_monitor = now + config_.monitor_interval;
      } else {
        set_resource(i, ManagedState::Failed, now);
        slots_[i].last_error = "monitor: " + why;
        ++slots_[i].failures;
        log(Level::Error, "monitor of " + config_.group.resources[i].name + " failed: " + why);
        on_monitor_failure(i, now);
      }
      break;
    }
  }
  after_event(now);
}

void ResourceManager::fence_result(std::uint64_t op, const AgentResult& r, TimePoint now) {
  auto* f = std::get_if<st::Fencing>(&state_);
  if (op == 0 || !f || f->op != op) {
    after_event(now);
    return;
  }
  f->op = 0;
  if (r.outcome == AgentOutcome::Ok) {
    log(Level::Warning, "fenced " + config_.peer + ": taking the group");
    // The peer is off: whatever it announced before is void until it is heard again.
    peer_link_ = PeerLink::Dead;
    peer_ = Announcement{GroupClaim::Initializing, false, false};
    change(st::Starting{}, Reason::FenceSucceeded, now);
  } else {
    f->retry_at = now + config_.fence_retry_delay;
    log(Level::Error, "fencing " + config_.peer + " failed (" +
                          (r.reason.empty() ? std::string("failed") : r.reason) +
                          "): not taking the group; retrying in " +
                          seconds_text(config_.fence_retry_delay));
  }
  after_event(now);
}

void ResourceManager::peer_up(TimePoint now) {
  if (peer_link_ != PeerLink::Up) {
    peer_link_ = PeerLink::Up;
    peer_ = Announcement{};
    peer_heard_ = false;  // no decision on the peer's group state before it announces it
  }
  after_event(now);
}

void ResourceManager::peer_dead(TimePoint now) {
  peer_link_ = PeerLink::Dead;
  peer_offer_fresh_ = false;
  peer_ = Announcement{GroupClaim::Initializing, false, false};
  after_event(now);
}

void ResourceManager::peer_announcement(const Announcement& a, TimePoint now) {
  peer_link_ = PeerLink::Up;
  peer_heard_ = true;
  if (a.claim != peer_.claim) {
    peer_stop_failed_logged_ = false;
    if ((a.claim == GroupClaim::Released || a.claim == GroupClaim::StartFailed) &&
        !std::holds_alternative<st::StartFailed>(state_)) {
      peer_offer_fresh_ = true;
    }
    if (a.claim == GroupClaim::StartFailed &&
        std::holds_alternative<st::StartFailed>(state_) && !both_failed_logged_) {
      both_failed_logged_ = true;
      log(Level::Error, "both nodes failed to start the group: it stays down; retrying in " +
                            seconds_text(config_.start_failure_backoff));
    }
  }
  peer_ = a;
  after_event(now);
}

void ResourceManager::ping_reachability(bool reachable, TimePoint now) {
  if (reachable != ping_ok_) {
    log(reachable ? Level::Info : Level::Warning,
        std::string("ping nodes ") + (reachable ? "reachable again" : "unreachable"));
  }
  ping_ok_ = reachable;
  after_event(now);
}

void ResourceManager::local_ready(bool ready, TimePoint now) {
  if (ready == ready_) return;
  log(Level::Info, ready ? std::string("resources ready to start here")
                         : std::string("resources not ready to start here (e.g. the disk is resyncing)"));
  ready_ = ready;
  after_event(now);
}

Status ResourceManager::standby(TimePoint now) {
  if (!std::holds_alternative<st::Running>(state_)) {
    if (std::holds_alternative<st::Starting>(state_))
      return make_error("standby: the group is still starting here; try again when it runs");
    return make_error("standby: this node does not hold the group (state " +
                      std::string(state_name()) + ")");
  }
  if (!peer_eligible())
    return make_error("standby: " + config_.peer +
                      " is not up or cannot take the group; refusing to leave it down");
  log(Level::Info, "standby requested: giving the group to " + config_.peer);
  change(st::Stopping{Reason::AdminStandby, st::AfterStop::Release, 0,
                      slots_.empty() ? 0 : slots_.size() - 1, 0, 0, {}},
         Reason::AdminStandby, now);
  after_event(now);
  return Status::Ok();
}

Status ResourceManager::takeover(TimePoint now) {
  if (std::holds_alternative<st::Stopped>(state_))
    return make_error("takeover: the cluster is still starting (initdead)");
  if (std::holds_alternative<st::StopFailed>(state_))
    return make_error("takeover: a resource could not be stopped here; fix it and restart clusterd");
  if (std::holds_alternative<st::Running>(state_) || std::holds_alternative<st::Starting>(state_))
    return make_error("takeover: this node already holds the group");
  if (std::holds_alternative<st::Stopping>(state_))
    return make_error("takeover: the group is being stopped here; try again when it is stopped");
  if (std::holds_alternative<st::Fencing>(state_))
    return make_error("takeover: already taking the group over (fencing " + config_.peer + ")");
  if (config_.ping_nodes && !ping_ok_)
    return make_error("takeover: this node cannot reach its ping nodes");
  takeover_requested_ = true;
  log(Level::Info, "takeover requested");
  after_event(now);
  return Status::Ok();
}

void ResourceManager::tick(TimePoint now) {
  if (auto* f = std::get_if<st::Fencing>(&state_); f && f->retry_at && now >= *f->retry_at) {
    issue_fence(*f);
  } else if (auto* p = std::get_if<st::Stopping>(&state_);
             p && p->retry_at && now >= *p->retry_at) {
    p->retry_at.reset();
    p->op = new_op();
    emit(rm_action::StopResource{p->next, p->op});
  } else if (auto* sf = std::get_if<st::StartFailed>(&state_); sf && now >= sf->retry_at) {
    change(st::Standby{}, Reason::BackoffElapsed, now);
  } else if (std::holds_alternative<st::Running>(state_)) {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      auto& s = slots_[i];
      if (s.monitor_op == 0 && now >= s.next_monitor) {
        s.monitor_op = new_op();
        emit(rm_action::MonitorResource{i, s.monitor_op});
      }
    }
  }
  prune_failures(now);
  after_event(now);
}

std::optional<TimePoint> ResourceManager::next_timer() const {
  if (auto* f = std::get_if<st::Fencing>(&state_)) return f->retry_at;
  if (auto* p = std::get_if<st::Stopping>(&state_)) return p->retry_at;
  if (auto* sf = std::get_if<st::StartFailed>(&state_)) return sf->retry_at;
  if (std::holds_alternative<st::Running>(state_)) {
    std::optional<TimePoint> t;
    for (const auto& s : slots_)
      if (s.monitor_op == 0 && (!t || s.next_monitor < *t)) t = s.next_monitor;
    return t;
  }
  return std::nullopt;
}

void ResourceManager::after_event(TimePoint now) {
  // A transition can make another rule apply (fencing abandoned -> take as Standby): evaluate
  // until nothing changes (bounded: every rule leads to a state that waits for an event).
  for (int i = 0; i < 4; ++i) {
    std::uint64_t before = transitions_;
    evaluate(now);
    if (transitions_ == before) break;
  }
  announce_if_changed();
  update_holder(now);
}

// --- announcements and queries ---

Announcement ResourceManager::announcement() const {
  Announcement a;
  a.ping_ok = !config_.ping_nodes || ping_ok_;
  a.wants_group = takeover_requested_;
  a.ready = ready_;
  a.claim = std::visit(
      [](const auto& s) {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, st::Stopped>) return GroupClaim::Initializing;
        else if constexpr (std::is_same_v<S, st::Standby>) return GroupClaim::Standby;
        else if constexpr (std::is_same_v<S, st::Released>) return GroupClaim::Released;
        else if constexpr (std::is_same_v<S, st::StartFailed>) return GroupClaim::StartFailed;
        else if constexpr (std::is_same_v<S, st::Fencing>) return GroupClaim::Standby;
        else if constexpr (std::is_same_v<S, st::Starting>) return GroupClaim::Acquiring;
        else if constexpr (std::is_same_v<S, st::Running>) return GroupClaim::Holds;
        else if constexpr (std::is_same_v<S, st::Stopping>) return GroupClaim::Releasing;
        else return GroupClaim::StopFailed;
      },
      state_);
  return a;
}

void ResourceManager::announce_if_changed() {
  Announcement a = announcement();
  if (announced_ && *announced_ == a) return;
  announced_ = a;
  emit(rm_action::Announce{a});
}

bool ResourceManager::any_resource_active() const {
  return std::any_of(slots_.begin(), slots_.end(),
                     [](const Slot& s) { return s.state != ManagedState::Stopped; });
}

Holder ResourceManager::holder() const {
  bool me = any_resource_active() || std::holds_alternative<st::Starting>(state_) ||
            std::holds_alternative<st::Running>(state_);
  bool peer = peer_is_up() &&
              (peer_.claim == GroupClaim::Acquiring || peer_.claim == GroupClaim::Holds ||
               peer_.claim == GroupClaim::Releasing || peer_.claim == GroupClaim::StopFailed);
  if (me && peer) return Holder::Both;
  if (me) return Holder::Me;
  if (peer) return Holder::Peer;
  return Holder::Nobody;
}

void ResourceManager::update_holder(TimePoint now) {
  Holder h = holder();
  if (h != holder_) {
    holder_ = h;
    holder_since_ = now;
  }
}

ResourceManagerStatus ResourceManager::status(TimePoint now) const {
  ResourceManagerStatus s;
  s.node = config_.node;
  s.peer = config_.peer;
  s.preferred_node = config_.group.preferred_node;
  s.state = state_name();
  s.reason = reason_;
  s.state_since = state_since_;
  s.holder = holder_;
  s.holder_since = holder_since_;
  s.peer_link = peer_link_;
  s.mine = announcement();
  s.peers = peer_;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const auto& r = config_.group.resources[i];
    s.resources.push_back(
        {r.name, r.kind, slots_[i].state, slots_[i].last_error, slots_[i].failures,
         slots_[i].since});
  }
  s.recent_failures = static_cast<std::size_t>(
      std::count_if(failures_.begin(), failures_.end(),
                    [&](TimePoint t) { return now - t < config_.failure_window; }));
  return s;
}

}  // namespace hapbx::cluster
