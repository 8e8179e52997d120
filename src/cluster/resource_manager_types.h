// The vocabulary of the resource manager (resource_manager.h): its input types (the group and the
// configuration, independent of the ha.cf / haresources parsers, which the daemon maps onto them),
// what a node announces about the group on its heartbeats, the actions it asks the driver to carry
// out, the states of the group (as types) and the reasons of its transitions.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cluster/ha_config.h"
#include "core/clock.h"

namespace hapbx::cluster {

using core::Duration;
using core::TimePoint;

// One resource of the group: `IPaddr::198.18.0.10/24/eth0` is kind "IPaddr", name the whole word.
struct ManagedResource {
  std::string name;
  std::string kind;
};

// The haresources line: the preferred node and the resources, started in this order.
struct ResourceGroupSpec {
  std::string preferred_node;
  std::vector<ManagedResource> resources;
};

// Heartbeat's auto_failback (ha_config.h's AutoFailback). Legacy means "on unless a node does
// not announce support"; every hapbx node supports it, so Legacy behaves exactly as On.

struct ResourceManagerConfig {
  std::string node;  // this node's name (ha.cf `node`)
  std::string peer;  // the other node's name
  ResourceGroupSpec group;
  AutoFailback auto_failback = AutoFailback::On;
  bool fencing = false;     // a stonith command is configured
  bool ping_nodes = false;  // ping nodes are configured (without them reachability is ignored)
  Duration monitor_interval = std::chrono::seconds(10);
  int stop_attempts = 3;                              // a stop is tried this often in all
  Duration stop_retry_delay = std::chrono::seconds(2);
  int max_failures = 3;                               // monitor failures within the window
  Duration failure_window = std::chrono::minutes(10); //   that move the group to the peer
  Duration fence_retry_delay = std::chrono::seconds(5);
  Duration start_failure_backoff = std::chrono::seconds(60);
};

// The outcome of an agent operation (start / stop / monitor of one resource, or the stonith
// command). Timeouts are the driver's: it kills the agent and reports TimedOut.
enum class AgentOutcome { Ok, Failed, TimedOut };
struct AgentResult {
  AgentOutcome outcome = AgentOutcome::Ok;
  std::string reason;  // what the agent said (empty for Ok)
  static AgentResult ok() { return {}; }
  static AgentResult failed(std::string why) { return {AgentOutcome::Failed, std::move(why)}; }
  static AgentResult timed_out() { return {AgentOutcome::TimedOut, "timed out"}; }
};

// What a node says about the group on every heartbeat.
enum class GroupClaim {
  Initializing,  // initdead has not elapsed yet: no decision taken
  Standby,       // not holding; would take the group per the rules
  Acquiring,     // starting the resources
  Holds,         // all resources running
  Releasing,     // stopping the resources
  Released,      // stopped, gave the group away: the peer should take it
  StartFailed,   // could not start it here (rolled back): the peer should try
  StopFailed,    // could not stop a resource: with fencing the peer fences us first, else nobody starts
};
struct Announcement {
  GroupClaim claim = GroupClaim::Initializing;
  bool ping_ok = true;      // this node reaches its ping nodes (true when none are configured)
  bool wants_group = false; // `hapbx cluster takeover` was asked here: the holder should release
  bool ready = true;        // its resources could start there now (local_ready())
  bool operator==(const Announcement&) const = default;
};

// Why the group state last changed (shown by `hapbx cluster status`).
enum class Reason {
  None,
  Startup,            // initdead elapsed
  PreferredNode,      // the preferred node takes the group the peer does not hold
  PeerDead,           // takeover: the peer is dead (or was never heard at startup)
  PeerReleased,       // the peer gave the group away
  PeerNotReady,       // the preferred peer is up but could not start the group (disk resyncing)
  PeerStartFailed,    // the peer could not start it
  PeerStopFailed,     // the peer could not stop it (we fence it first)
  PeerPingLost,       // the peer cannot reach its ping nodes, we can
  PeerAlive,          // fencing abandoned: the peer is alive and not in trouble
  PeerTakeover,       // the peer asked for the group (hb_takeover there)
  AdminStandby,       // hb_standby here
  AdminTakeover,      // hb_takeover here
  Failback,           // auto_failback: the preferred node is back
  PingLost,           // we cannot reach our ping nodes, the peer can
  PingIsolated,       // we cannot reach our ping nodes and the peer is dead: we are the isolated one
  BothHeld,           // both nodes held the group (partition healed): the non-preferred yields
  MonitorFailure,     // a monitor failed: restart in place
  RepeatedFailures,   // too many monitor failures in the window: migrate to the peer
  StartFailure,       // a start failed: roll back
  StopFailure,        // a stop failed stop_attempts times
  Started,            // every resource started
  FenceSucceeded,     // the stonith command confirmed the peer is off
  BackoffElapsed,     // start-failure back-off over: eligible again
  PingRecovered,      // released for lost ping nodes; they answer again: eligible again
};

std::string_view to_string(Reason r);
std::string_view to_string(GroupClaim c);
std::string_view to_string(AutoFailback a);

// Actions for the driver, carried out in order. Every agent action carries an operation id; the
// driver answers it exactly once (agent_result / fence_result) with that id. Answers to
// operations the manager no longer waits for are ignored, so the driver never has to cancel.
namespace rm_action {
struct StartResource { std::size_t index = 0; std::uint64_t op = 0; };
struct StopResource { std::size_t index = 0; std::uint64_t op = 0; };
struct MonitorResource { std::size_t index = 0; std::uint64_t op = 0; };
struct Fence { std::string peer; std::uint64_t op = 0; };  // run the stonith command on the peer
struct Log {
  enum class Level { Info, Warning, Error } level = Level::Info;
  std::string text;
};
struct Announce { Announcement announcement; };  // put this on the heartbeats from now on
struct GroupStateChanged {
  std::string_view from, to;  // state names (static strings)
  Reason reason = Reason::None;
};
}  // namespace rm_action

using RmAction = std::variant<rm_action::StartResource, rm_action::StopResource,
                              rm_action::MonitorResource, rm_action::Fence, rm_action::Log,
                              rm_action::Announce, rm_action::GroupStateChanged>;

// The states of the group on this node. Each owns the data only it needs.
namespace rm_state {
struct Stopped {};   // before startup (initdead): nothing runs, nothing decided
struct Standby {};   // not holding; takes the group when the rules say so
struct Released {};  // gave the group away; takes it back only if the peer dies or releases it
struct StartFailed { TimePoint retry_at{}; };  // rolled back; the peer may try; back-off here
struct Fencing {
  Reason why = Reason::None;        // PeerDead or PeerStopFailed (or the reason to take over)
  std::uint64_t op = 0;             // the Fence in flight (0: waiting for retry_at)
  int attempt = 0;
  std::optional<TimePoint> retry_at;
};
struct Starting {
  std::size_t next = 0;             // the resource being started
  std::uint64_t op = 0;
  std::optional<Reason> abort;      // yield once the start in flight has answered
};
struct Running {};
enum class AfterStop { Release, Yield, Restart, StartFailed };
struct Stopping {
  Reason why = Reason::None;
  AfterStop after = AfterStop::Release;
  std::size_t low = 0;              // stop down to this index (Restart: then start from it)
  std::size_t next = 0;             // the resource being stopped
  std::uint64_t op = 0;             // 0: waiting for retry_at
  int attempt = 0;                  // failed attempts of this resource's stop
  std::optional<TimePoint> retry_at;
};
struct StopFailed { std::size_t index = 0; std::string error; };  // unmanaged until restart
}  // namespace rm_state

using GroupState = std::variant<rm_state::Stopped, rm_state::Standby, rm_state::Released,
                                rm_state::StartFailed, rm_state::Fencing, rm_state::Starting,
                                rm_state::Running, rm_state::Stopping, rm_state::StopFailed>;

std::string_view state_name(const GroupState& s);

// --- status queries ---
enum class ManagedState { Stopped, Starting, Running, Stopping, Failed };
std::string_view to_string(ManagedState s);

struct ResourceStatus {
  std::string name, kind;
  ManagedState state = ManagedState::Stopped;
  std::string last_error;
  int failures = 0;   // failed operations of this resource since the daemon started
  TimePoint since{};  // when `state` was entered
};

enum class PeerLink { Unknown, Up, Dead };
enum class Holder { Nobody, Me, Peer, Both };
std::string_view to_string(PeerLink p);
std::string_view to_string(Holder h);

struct ResourceManagerStatus {
  std::string node, peer, preferred_node;
  std::string_view state;        // state_name()
  Reason reason = Reason::None;  // of the last transition
  TimePoint state_since{};
  Holder holder = Holder::Nobody;  // per my view (me: any resource may be active here)
  TimePoint holder_since{};
  PeerLink peer_link = PeerLink::Unknown;
  Announcement mine, peers;
  std::vector<ResourceStatus> resources;
  std::size_t recent_failures = 0;  // monitor failures within the window
};

}  // namespace hapbx::cluster
