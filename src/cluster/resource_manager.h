// The resource manager of clusterd: which node holds the resource group, pure.
//
// It takes events (an agent answered, the peer came up / died / announced its group state, ping
// reachability changed, an admin command, startup, the time) and returns actions (start / stop /
// monitor resource i, fence the peer, log, announce our group state on the heartbeats, the group
// state changed). It never runs a process, opens a socket or reads a clock: the daemon's driver
// does, and the tests run two managers against each other from a seed.
//
// States (rm_state::*, in resource_manager_types.h); every transition carries a Reason:
//
//   Stopped --startup--> Standby --take, fencing off----------------------> Starting{next}
//                        |  ^  |                                             ^     |     |
//                        |  |  +--take, fencing on--> Fencing --fence ok-----+     |     | all
//                        |  +----------PeerAlive--------'  (fence failed:          |     | started
//                        |                                  retry, no takeover)    |     v
//                        +--peer's takeover request--> Released         start fails|  Running
//                                                                                  |     |
//                                                                                  v     | release,
//   StartFailed{retry_at} <--after StartFailed-- Stopping{why, after, low, next} <-------+ yield,
//   Released              <--after Release--------'  |  |  |                              monitor
//   Standby               <--after Yield-------------'  |  +--after Restart--> Starting{low} failure
//   StopFailed            <--a stop failed stop_attempts times
//
//   StartFailed --BackoffElapsed--> Standby.  Released and StartFailed --take--> Starting or
//   Fencing, like Standby but stricter (see "Taking").  StopFailed is final until clusterd
//   restarts.
//
// Rules (Heartbeat v1 semantics, improved; "peer up" = membership says Up):
//  - One node holds the group. Resources start in order and stop in reverse.
//  - Taking: the preferred node takes the group at startup when the peer does not hold it (peer
//    Initializing or Standby). Either node takes it when the peer is dead or was never heard at
//    startup (Fence first if a stonith command is configured; a failed fence = no takeover, log,
//    retry every fence_retry_delay), when the peer announces Released or StartFailed (only if it
//    turned so after our own last start/stop, so a node never takes back what it just gave away,
//    and after a failed start of our own only once the peer tried again), and the non-preferred
//    node also when the peer (Standby) cannot reach its ping nodes and we can.
//  - auto_failback on / legacy: the non-preferred holder releases the group when the preferred
//    node is up and announces Standby (it came back and would take it); off: it keeps it. A node
//    that gave the group away (standby, migration) announces Released, never Standby, so that
//    does not bounce the group back.
//  - hb_standby (standby()): the holder stops everything and announces Released; refused when the
//    peer is not up or not eligible, since nobody would take the group. hb_takeover (takeover()):
//    announces wants_group; the holder releases (PeerTakeover) and we take it on its Released.
//    A peer that does not hold the group answers wants_group by going Standby -> Released too,
//    so a takeover never races a peer that is just taking the group itself. With the peer dead,
//    takeover() takes it as after a peer death (fencing first).
//    DECISION: a group taken by takeover() is not failed back automatically (the admin asked
//    for it here); the next standby/takeover or failure moves it again.
//  - auto_failback also needs the preferred node to reach its ping nodes (when configured):
//    when neither node can, the status quo holds.
//  - Readiness (local_ready()): a node whose resources could not start now (its disk is a
//    resync target after it came back) announces it. The group is never handed to it (failback,
//    standby, takeover and ping-loss releases wait until it is ready), it does not take the
//    group from a live peer, and a ready non-preferred node takes the group nobody holds instead
//    of waiting for it (PeerNotReady). Without this a returning node takes the group back, fails
//    to promote its half-synced disk, and both outages are the users'.
//  - Monitors: every running resource every monitor_interval. A failure restarts it in place
//    (stop it and the ones after it in reverse, start them again in order). max_failures within
//    failure_window migrate the group (release) if the peer is up and eligible, else it keeps
//    restarting in place.
//  - Start failure: stop what was started (the failed one included, stop is idempotent), announce
//    StartFailed so the peer tries; if the peer failed too, stay down, log an error; after
//    start_failure_backoff the preferred node retries (the other one takes its turn when the
//    preferred node announces a new failure), so the two never start the group at once.
//  - Stop failure: retried stop_attempts times, stop_retry_delay apart. Then StopFailed, announced.
//    DECISION: with fencing configured the peer fences us before it takes the group (the fence
//    guarantees our half-stopped resources are gone). Without fencing the peer must NOT start the
//    group: a resource we could not stop (the VIP, a mounted disk) may still be active here, and
//    two holders is worse than none. The group then stays down, unmanaged, until the operator
//    fixes the resource and restarts clusterd on this node; both nodes log it.
//  - Ping nodes (when configured): a holder that cannot reach them while the peer (up) can
//    releases the group (PingLost). A holder that cannot reach them while the peer is dead is the
//    isolated one and releases too (PingIsolated; DECISION: the issue's "no isolated node holding
//    the VIP" wins over the status quo; if the peer really died we take the group back as soon as
//    the ping nodes answer again). A node that cannot reach them never takes the group, unless the
//    peer is up and cannot reach them either (then the ordinary rules apply: status quo).
//  - Partition healing: if both nodes announce Acquiring/Holds, the non-preferred one yields at
//    once (Error log "both nodes held the group: releasing"). With fencing this cannot happen (a
//    node only takes over a dead peer after a successful fence); if it does it is logged as such.
//
// Contract with the driver:
//  - Actions are carried out in order; each agent action is answered exactly once with its op id
//    (late answers to abandoned operations are fine: ignored). Agent timeouts are enforced by the
//    driver (TimedOut). Agents' stop must be idempotent (a stop of a stopped resource is Ok).
//  - The Announce action's announcement goes on every heartbeat from then on (announcement()
//    gives the current one at any time). The peer's, from its heartbeats, comes in via
//    peer_announcement(); duplicates are harmless. Between peer_up() and the first announcement
//    the peer's group state is unknown and nothing is taken or given on its account.
//  - tick() is called at next_timer() at the latest. startup() once, when initdead has elapsed.
//  - After a successful fence, the peer counts as dead until membership reports it up again.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "cluster/resource_manager_types.h"

namespace hapbx::cluster {

class ResourceManager {
 public:
  ResourceManager(ResourceManagerConfig config, TimePoint now);

  // --- lifecycle ---
  void startup(TimePoint now);  // initdead elapsed: decide with what membership knows

  // --- agents ---
  void agent_result(std::uint64_t op, const AgentResult& result, TimePoint now);
  void fence_result(std::uint64_t op, const AgentResult& result, TimePoint now);

  // --- membership / heartbeats ---
  void peer_up(TimePoint now);
  void peer_dead(TimePoint now);
  void peer_announcement(const Announcement& a, TimePoint now);  // implies peer up
  void ping_reachability(bool reachable, TimePoint now);          // our ping nodes
  // Whether the resources could start here now (every agent's ready(): the replicated disk is
  // UpToDate and connected, not a resync target). Announced; the peer hands the group over
  // (failback, standby, takeover, ping loss) only to a ready node, and an unready preferred node
  // leaves the group to a ready peer. Ignored while the peer is dead (we try anyway).
  void local_ready(bool ready, TimePoint now);

  // --- admin (hapbx cluster standby / takeover): errors are the message the user sees ---
  Status standby(TimePoint now);
  Status takeover(TimePoint now);

  // --- time ---
  void tick(TimePoint now);
  std::optional<TimePoint> next_timer() const;

  std::vector<RmAction> take_actions();

  // --- queries ---
  const GroupState& state() const { return state_; }
  std::string_view state_name() const { return cluster::state_name(state_); }
  Reason last_reason() const { return reason_; }
  Announcement announcement() const;
  bool running() const { return std::holds_alternative<rm_state::Running>(state_); }
  bool any_resource_active() const;  // some resource is not Stopped here
  bool preferred() const { return config_.node == config_.group.preferred_node; }
  ResourceManagerStatus status(TimePoint now) const;
  const ResourceManagerConfig& config() const { return config_; }

 private:
  struct Slot {
    ManagedState state = ManagedState::Stopped;
    std::string last_error;
    int failures = 0;
    TimePoint since{};
    TimePoint next_monitor{};
    std::uint64_t monitor_op = 0;
  };

  // The transaction: propose -> validate -> commit -> side effects (resource_manager.cpp).
  void change(GroupState proposed, Reason why, TimePoint now);
  static bool allowed(const GroupState& from, const GroupState& to);
  void enter(Reason why, TimePoint now);
  void after_event(TimePoint now);  // evaluate the rules, then announce / holder bookkeeping

  // Agent sequencing.
  void start_next(TimePoint now);
  void stop_next(TimePoint now);
  void finish_stopping(const rm_state::Stopping& s, TimePoint now);
  void issue_fence(rm_state::Fencing& f);
  void set_resource(std::size_t i, ManagedState s, TimePoint now);

  // The rules (resource_manager_rules.cpp).
  void evaluate(TimePoint now);
  std::optional<Reason> should_acquire(TimePoint now) const;
  bool needs_fence_to_acquire() const;
  struct Release { Reason why; rm_state::AfterStop after; };
  std::optional<Release> should_release() const;
  bool peer_is_up() const { return peer_link_ == PeerLink::Up; }
  bool peer_eligible() const;        // up and able to take the group
  bool my_ping_usable() const;       // may take the group as far as ping nodes are concerned
  bool peer_claims_group() const;    // Acquiring or Holds
  bool peer_is_preferred() const { return config_.peer == config_.group.preferred_node; }
  void on_monitor_failure(std::size_t i, TimePoint now);
  void prune_failures(TimePoint now);

  template <typename A>
  void emit(A&& a) {
    actions_.emplace_back(std::in_place_type<std::decay_t<A>>, std::forward<A>(a));
  }
  void log(rm_action::Log::Level level, std::string text);
  std::uint64_t new_op() { return ++op_counter_; }
  void announce_if_changed();
  void update_holder(TimePoint now);
  Holder holder() const;

  ResourceManagerConfig config_;
  GroupState state_ = rm_state::Stopped{};
  Reason reason_ = Reason::None;
  TimePoint state_since_{};
  std::vector<Slot> slots_;
  std::deque<TimePoint> failures_;   // monitor failures, for the migration window
  PeerLink peer_link_ = PeerLink::Unknown;
  Announcement peer_{};
  bool peer_heard_ = false;  // peer_ comes from an announcement of the peer's current run
  bool ping_ok_ = true;
  bool ready_ = true;
  bool takeover_requested_ = false;
  bool admin_took_ = false;
  bool peer_offer_fresh_ = false;  // the peer turned Released/StartFailed after our last try  // taken by takeover(): no automatic failback
  bool both_failed_logged_ = false;
  bool peer_stop_failed_logged_ = false;
  std::optional<Announcement> announced_;
  Holder holder_ = Holder::Nobody;
  TimePoint holder_since_{};
  std::uint64_t op_counter_ = 0;
  std::uint64_t transitions_ = 0;
  std::vector<RmAction> actions_;
};

}  // namespace hapbx::cluster
