// The rules of the resource manager: when this node takes the group, when it gives it away, and
// what a monitor failure leads to. Evaluated after every event; see resource_manager.h for the
// rules in words. Also the names of states and reasons.
#include <algorithm>

#include "cluster/resource_manager.h"

namespace hapbx::cluster {

using Level = rm_action::Log::Level;
namespace st = rm_state;

bool ResourceManager::my_ping_usable() const {
  if (!config_.ping_nodes || ping_ok_) return true;
  // Neither node reaches its ping nodes: ping tells nothing, the ordinary rules apply.
  return peer_is_up() && !peer_.ping_ok;
}

bool ResourceManager::peer_eligible() const {
  if (!peer_is_up() || !peer_heard_ || !peer_.ready) return false;
  if (config_.ping_nodes && !peer_.ping_ok && ping_ok_) return false;
  switch (peer_.claim) {
    case GroupClaim::Initializing:
    case GroupClaim::Standby:
    case GroupClaim::Released: return true;
    default: return false;
  }
}

bool ResourceManager::peer_claims_group() const {
  return peer_is_up() &&
         (peer_.claim == GroupClaim::Acquiring || peer_.claim == GroupClaim::Holds);
}

bool ResourceManager::needs_fence_to_acquire() const {
  if (!config_.fencing) return false;
  return !peer_is_up() || peer_.claim == GroupClaim::StopFailed;
}

std::optional<Reason> ResourceManager::should_acquire(TimePoint now) const {
  if (!my_ping_usable()) return std::nullopt;
  const auto* failed = std::get_if<st::StartFailed>(&state_);
  bool backing_off = failed && now < failed->retry_at;
  bool released = std::holds_alternative<st::Released>(state_);

  if (peer_is_up() && !peer_heard_) return std::nullopt;  // up, group state not yet known
  if (peer_is_up() && !ready_) return std::nullopt;       // the peer may be able to; we are not
  if (!peer_is_up()) {
    if (backing_off) return std::nullopt;
    return takeover_requested_ ? Reason::AdminTakeover : Reason::PeerDead;
  }
  switch (peer_.claim) {
    case GroupClaim::Acquiring:
    case GroupClaim::Holds:
    case GroupClaim::Releasing: return std::nullopt;  // wait for Released (takeover: wants_group)
    case GroupClaim::StopFailed:
      // Without fencing nobody may start the group (see the header); with it we fence first.
      if (!config_.fencing || backing_off) return std::nullopt;
      return Reason::PeerStopFailed;
    case GroupClaim::Released:
      // Only an offer made after our own last start/stop: our own release must not make us
      // take the group straight back from a peer that released it long ago.
      if (backing_off || !peer_offer_fresh_) return std::nullopt;
      return takeover_requested_ ? Reason::AdminTakeover : Reason::PeerReleased;
    case GroupClaim::StartFailed:
      if (backing_off) return std::nullopt;
      // The peer failed after we last tried: our turn. Both failed: only the preferred node
      // retries (after its back-off), so the two never start at the same time.
      if (peer_offer_fresh_ || preferred()) return Reason::PeerStartFailed;
      return std::nullopt;
    case GroupClaim::Initializing:
    case GroupClaim::Standby:
      if (backing_off) return std::nullopt;
      // takeover(): wait for the peer's Released, which it answers even when not holding, so
      // the two never start at once.
      if (takeover_requested_) return std::nullopt;
      if (released) return std::nullopt;  // we gave it away: the peer decides
      if (preferred()) return Reason::PreferredNode;
      if (config_.ping_nodes && ping_ok_ && !peer_.ping_ok) return Reason::PeerPingLost;
      if (!peer_.ready && peer_.claim == GroupClaim::Standby) return Reason::PeerNotReady;
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<ResourceManager::Release> ResourceManager::should_release() const {
  using After = st::AfterStop;
  if (!peer_is_up()) {
    if (config_.ping_nodes && !ping_ok_ && peer_link_ == PeerLink::Dead)
      return Release{Reason::PingIsolated, After::Release};
    return std::nullopt;
  }
  if (peer_claims_group() && !preferred()) return Release{Reason::BothHeld, After::Yield};
  if (peer_.wants_group && peer_eligible()) return Release{Reason::PeerTakeover, After::Release};
  if (config_.ping_nodes && !ping_ok_ && peer_.ping_ok && peer_eligible())
    return Release{Reason::PingLost, After::Release};
  if (config_.auto_failback != AutoFailback::Off && !preferred() && peer_is_preferred() &&
      peer_.claim == GroupClaim::Standby && peer_eligible() && !admin_took_ &&
      (!config_.ping_nodes || peer_.ping_ok))
    return Release{Reason::Failback, After::Release};
  return std::nullopt;
}

void ResourceManager::evaluate(TimePoint now) {
  std::size_t last = slots_.empty() ? 0 : slots_.size() - 1;
  if (std::holds_alternative<st::Standby>(state_) || std::holds_alternative<st::Released>(state_) ||
      std::holds_alternative<st::StartFailed>(state_)) {
    if (peer_is_up() && peer_.claim == GroupClaim::StopFailed && !config_.fencing &&
        !peer_stop_failed_logged_) {
      peer_stop_failed_logged_ = true;
      log(Level::Error, config_.peer +
                            " could not stop a resource and no stonith is configured: not "
                            "starting the group here (it may still be active there)");
    }
    if (peer_is_up() && peer_heard_ && peer_.wants_group &&
        std::holds_alternative<st::Standby>(state_)) {
      change(st::Released{}, Reason::PeerTakeover, now);  // "I will not take it": the peer may
      return;
    }
    // Released because our ping nodes were lost (not given away by choice): once they answer
    // again we are an ordinary standby, so auto_failback and the other rules apply again.
    if (std::holds_alternative<st::Released>(state_) && ping_ok_ &&
        (reason_ == Reason::PingLost || reason_ == Reason::PingIsolated)) {
      change(st::Standby{}, Reason::PingRecovered, now);
      return;
    }
    auto why = should_acquire(now);
    if (!why) return;
    if (needs_fence_to_acquire()) {
      change(st::Fencing{*why, 0, 0, {}}, *why, now);
    } else {
      change(st::Starting{}, *why, now);
    }
    return;
  }
  if (auto* f = std::get_if<st::Fencing>(&state_)) {
    bool peer_fine = peer_is_up() && peer_heard_ && peer_.claim != GroupClaim::StopFailed;
    if (peer_fine || !my_ping_usable()) {
      log(Level::Info, peer_fine ? "fencing abandoned: " + config_.peer + " is alive"
                                 : std::string("fencing abandoned: ping nodes unreachable"));
      f->op = 0;  // a late answer is ignored
      change(st::Standby{}, Reason::PeerAlive, now);
    }
    return;
  }
  if (auto* s = std::get_if<st::Starting>(&state_)) {
    if (!s->abort && peer_claims_group() && !preferred()) {
      log(Level::Error, "both nodes held the group: releasing");
      s->abort = Reason::BothHeld;
    }
    return;
  }
  if (std::holds_alternative<st::Running>(state_)) {
    auto r = should_release();
    if (!r) return;  // both claiming and we are preferred: the peer yields
    if (r->why == Reason::BothHeld) {
      log(Level::Error, std::string("both nodes held the group: releasing") +
                            (config_.fencing ? " (must not happen with fencing: check stonith)"
                                             : ""));
    }
    change(st::Stopping{r->why, r->after, 0, last, 0, 0, {}}, r->why, now);
  }
}

void ResourceManager::prune_failures(TimePoint now) {
  while (!failures_.empty() && now - failures_.front() >= config_.failure_window)
    failures_.pop_front();
}

void ResourceManager::on_monitor_failure(std::size_t i, TimePoint now) {
  failures_.push_back(now);
  prune_failures(now);
  std::size_t last = slots_.size() - 1;
  if (failures_.size() >= static_cast<std::size_t>(config_.max_failures)) {
    if (peer_eligible()) {
      log(Level::Error, std::to_string(failures_.size()) + " monitor failures within the window: "
                            "moving the group to " + config_.peer);
      failures_.clear();
      change(st::Stopping{Reason::RepeatedFailures, st::AfterStop::Release, 0, last, 0, 0, {}},
             Reason::RepeatedFailures, now);
      return;
    }
    log(Level::Warning, std::to_string(failures_.size()) +
                            " monitor failures within the window but " + config_.peer +
                            " cannot take the group: restarting in place");
  }
  change(st::Stopping{Reason::MonitorFailure, st::AfterStop::Restart, i, last, 0, 0, {}},
         Reason::MonitorFailure, now);
}

// --- names ---

std::string_view state_name(const GroupState& s) {
  static constexpr std::string_view names[] = {"Stopped",  "Standby", "Released",
                                               "StartFailed", "Fencing", "Starting",
                                               "Running", "Stopping", "StopFailed"};
  return names[s.index()];
}

std::string_view to_string(Reason r) {
  switch (r) {
    case Reason::None: return "none";
    case Reason::Startup: return "startup";
    case Reason::PreferredNode: return "preferred node";
    case Reason::PeerDead: return "peer dead";
    case Reason::PeerReleased: return "peer released the group";
    case Reason::PeerNotReady: return "preferred peer not ready";
    case Reason::PeerStartFailed: return "peer failed to start the group";
    case Reason::PeerStopFailed: return "peer failed to stop the group";
    case Reason::PeerPingLost: return "peer cannot reach its ping nodes";
    case Reason::PeerAlive: return "peer alive";
    case Reason::PeerTakeover: return "peer asked for the group";
    case Reason::AdminStandby: return "standby (admin)";
    case Reason::AdminTakeover: return "takeover (admin)";
    case Reason::Failback: return "auto_failback";
    case Reason::PingLost: return "ping nodes unreachable";
    case Reason::PingIsolated: return "isolated (ping nodes unreachable, peer dead)";
    case Reason::BothHeld: return "both nodes held the group";
    case Reason::MonitorFailure: return "monitor failure";
    case Reason::RepeatedFailures: return "repeated failures";
    case Reason::StartFailure: return "start failure";
    case Reason::StopFailure: return "stop failure";
    case Reason::Started: return "all resources started";
    case Reason::FenceSucceeded: return "peer fenced";
    case Reason::BackoffElapsed: return "back-off elapsed";
    case Reason::PingRecovered: return "ping nodes reachable again";
  }
  return "?";
}

std::string_view to_string(GroupClaim c) {
  switch (c) {
    case GroupClaim::Initializing: return "initializing";
    case GroupClaim::Standby: return "standby";
    case GroupClaim::Acquiring: return "acquiring";
    case GroupClaim::Holds: return "holds";
    case GroupClaim::Releasing: return "releasing";
    case GroupClaim::Released: return "released";
    case GroupClaim::StartFailed: return "start-failed";
    case GroupClaim::StopFailed: return "stop-failed";
  }
  return "?";
}


std::string_view to_string(ManagedState s) {
  switch (s) {
    case ManagedState::Stopped: return "stopped";
    case ManagedState::Starting: return "starting";
    case ManagedState::Running: return "running";
    case ManagedState::Stopping: return "stopping";
    case ManagedState::Failed: return "failed";
  }
  return "?";
}

std::string_view to_string(PeerLink p) {
  switch (p) {
    case PeerLink::Unknown: return "unknown";
    case PeerLink::Up: return "up";
    case PeerLink::Dead: return "dead";
  }
  return "?";
}

std::string_view to_string(Holder h) {
  switch (h) {
    case Holder::Nobody: return "nobody";
    case Holder::Me: return "me";
    case Holder::Peer: return "peer";
    case Holder::Both: return "both";
  }
  return "?";
}

}  // namespace hapbx::cluster
