// Cluster membership by heartbeats, pure: which peers are alive, as Heartbeat decides it.
//
// It takes events (a verified heartbeat received on medium m, the time) and returns actions
// (send a heartbeat on medium m, node up, node dead, late heartbeat, log). It never touches a
// socket, a key or a clock: the driver decodes datagrams (decode() in heartbeat_message.h, which
// also counts forgeries, since they never get here), encodes and sends the heartbeats asked for,
// and calls tick() at next_timer() at the latest.
//
// Node states (each peer):
//
//   Init --valid heartbeat--> Up --deadtime without a valid heartbeat on every medium--> Dead
//   Init --initdead without a valid heartbeat-------------------------------------------> Dead
//   Up   --valid heartbeat announcing `leaving` (graceful shutdown)---------------------> Dead
//   Dead --valid heartbeat (not leaving)------------------------------------------------> Up
//
// Rules:
//  - Heartbeats go out every `keepalive` on every medium (the first ones at construction);
//    each datagram has its own sequence number (+1 per datagram, across media). They list every
//    peer whose heartbeats this node has heard, with that peer's generation (the echo).
//  - Freshness: a heartbeat is valid only if it echoes this node's current generation. A node
//    that has just started has no sequence numbers to compare with, so without the echo any
//    captured old heartbeat of a peer, replayed, would make a dead peer look alive to it. A
//    heartbeat that does not echo us yet (the peer has just started, or has not heard our
//    restart) is counted as unconfirmed and only teaches us the peer's generation, which our
//    next heartbeats echo; a round goes out at once when a new generation is learnt, so the
//    handshake takes about one round trip. Replays of datagrams sent before our start never
//    carry our generation.
//  - Replay protection, per (node, generation): a heartbeat counts only if its sequence is
//    higher than the highest seen. An equal or lower one is dropped and counted (replayed if
//    that sequence was seen, out_of_order otherwise). A lower one not seen yet, within the last
//    kReorderWindow sequences (the copy sent on another medium that arrived second), still
//    shows that medium working: it refreshes that medium's last-heard time, nothing else.
//  - A higher generation means the node restarted: logged ("asterisk2 restarted") with a
//    NodeRestarted action, and sequence tracking starts over. A lower generation is dropped
//    (counted as stale_generation): generations must increase across restarts of a node, see
//    make_generation().
//  - Heartbeats from this node itself (a broadcast looping back), from nodes not in `peers`,
//    or from another cluster id (when `cluster` is set) are dropped and counted.
//  - warntime: a valid heartbeat arriving more than `warntime` after the previous valid one
//    yields LateHeartbeat (Heartbeat's "Late heartbeat: interval N ms"); a silence reaching
//    warntime is logged once.
//  - Each medium of each peer is also tracked for status and logs ("link asterisk2 medium 1
//    dead/up"); only the node's state drives NodeUp/NodeDead.
//
// Time: `now` is a monotonic TimePoint from the caller; it must never go back.
// Threading: not thread-safe; owned by one event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cluster/heartbeat_message.h"
#include "core/clock.h"
#include "core/result.h"

namespace hapbx::cluster {

using core::Duration;
using core::TimePoint;

struct MembershipConfig {
  std::string node;                // this node's name (uname -n)
  std::vector<std::string> peers;  // the other nodes (this node's own name is ignored here)
  std::string cluster;             // "" = accept any cluster id and send none
  Duration keepalive = std::chrono::seconds(2);
  Duration deadtime = std::chrono::seconds(30);
  Duration warntime = std::chrono::seconds(10);  // 0 = no late-heartbeat warnings
  Duration initdead = std::chrono::seconds(120);
  std::size_t media = 1;           // bcast/mcast/ucast lines; heartbeats go on 0..media-1
};

// What is wrong with a config, for the daemon to refuse it with (ha.cf's parser checks the
// same). The Membership constructor itself never fails: it sanitizes (keepalive ≥ 1 ms, deadtime
// > keepalive, warntime < deadtime, initdead ≥ deadtime, 1..kMaxMedia media) and logs what it
// changed.
inline constexpr std::size_t kMaxMedia = 16;
Status validate(const MembershipConfig& config);

enum class NodeState { Init, Up, Dead };
std::string_view to_string(NodeState s);

enum class DeadReason {
  None,
  Silent,      // no valid heartbeat for deadtime on any medium
  NeverHeard,  // initdead passed without a heartbeat
  Left,        // it announced a graceful shutdown
};
std::string_view to_string(DeadReason r);

namespace membership_action {
struct SendHeartbeat {
  std::size_t medium = 0;
  HeartbeatMessage message;  // complete; the driver signs it with the active key
};
struct NodeUp { std::string node; };
struct NodeDead {
  std::string node;
  DeadReason why = DeadReason::Silent;
};
struct NodeRestarted {  // a new generation: whatever it held before is gone
  std::string node;
};
struct LateHeartbeat {
  std::string node;
  std::int64_t ms = 0;  // interval since the previous valid heartbeat
};
struct Log {
  enum class Level { Info, Warning, Error } level = Level::Info;
  std::string text;
};
}  // namespace membership_action

using MembershipAction =
    std::variant<membership_action::SendHeartbeat, membership_action::NodeUp,
                 membership_action::NodeDead, membership_action::NodeRestarted,
                 membership_action::LateHeartbeat, membership_action::Log>;

// Forged datagrams are not here: decode() rejects them first, and the driver counts those.
struct MembershipCounters {
  std::uint64_t sent = 0;              // heartbeats asked for (all media)
  std::uint64_t accepted = 0;          // valid heartbeats
  std::uint64_t replayed = 0;          // sequence already seen
  std::uint64_t out_of_order = 0;      // lower than the highest, not seen
  std::uint64_t stale_generation = 0;  // lower generation than the node's current one
  std::uint64_t restarts = 0;          // higher generation
  std::uint64_t unconfirmed = 0;       // newest, but not echoing our generation
  std::uint64_t from_self = 0;
  std::uint64_t unknown_node = 0;
  std::uint64_t foreign_cluster = 0;
  std::uint64_t bad_medium = 0;        // medium index ≥ media
  std::uint64_t late = 0;              // LateHeartbeat emitted
  bool operator==(const MembershipCounters&) const = default;
};

struct MediumStatus {
  std::optional<Duration> last_heard_age;  // nullopt: never heard on this medium
  bool up = false;                         // heard within deadtime
};

struct NodeStatus {
  std::string name;
  NodeState state = NodeState::Init;
  DeadReason why = DeadReason::None;  // for Dead
  TimePoint since{};                  // when it entered `state`
  std::optional<Duration> last_heard_age;  // any medium
  std::uint64_t generation = 0, sequence = 0;  // highest heard (0: none yet)
  std::vector<MediumStatus> media;
  std::optional<HeartbeatMessage> last;  // its latest valid heartbeat: what it sees and holds
};

class Membership {
 public:
  static constexpr std::uint64_t kReorderWindow = 64;

  Membership(MembershipConfig config, std::uint64_t generation, TimePoint now);

  // --- events ---
  // `message` was decoded and verified by decode(); `medium` is where it arrived.
  void on_heartbeat(const HeartbeatMessage& message, std::size_t medium, TimePoint now);
  void tick(TimePoint now);
  std::optional<TimePoint> next_timer() const;

  // --- what this node reports in its heartbeats (from the resource manager, ping checks) ---
  void set_resources(std::optional<ResourceReport> report);
  void set_ping(std::optional<PingReport> report);
  void set_claim(std::optional<ClaimReport> report);  // the resource manager's announcement
  // Graceful shutdown: heartbeats from now on say `leaving` (one round goes out at once), so
  // peers take over without waiting for deadtime.
  void leave(TimePoint now);

  std::vector<MembershipAction> take_actions();

  // --- queries ---
  std::optional<NodeState> state(std::string_view node) const;  // nullopt: not a peer
  std::vector<NodeStatus> status(TimePoint now) const;          // peers in config order
  const MembershipCounters& counters() const { return counters_; }
  const MembershipConfig& config() const { return config_; }
  std::uint64_t generation() const { return generation_; }

 private:
  struct Medium {
    std::optional<TimePoint> last_heard;
    bool up = false;
  };
  struct Peer {
    std::string name;
    NodeState state = NodeState::Init;
    DeadReason why = DeadReason::None;
    TimePoint since{};
    bool known = false;              // an authentic heartbeat was seen (generation/sequence set)
    bool confirmed = false;          // a valid heartbeat of `generation` was seen
    std::uint64_t generation = 0;
    std::uint64_t sequence = 0;      // highest valid of `generation`
    std::uint64_t seen_window = 0;   // bit i: sequence - 1 - i was seen
    std::optional<TimePoint> last_valid;
    bool warned = false;             // the silence reached warntime and was logged
    std::vector<Medium> media;
    std::optional<HeartbeatMessage> last;
  };

  template <typename A>
  void emit(A&& a) {
    actions_.emplace_back(std::in_place_type<std::decay_t<A>>, std::forward<A>(a));
  }
  void log(membership_action::Log::Level level, std::string text);
  void send_round(TimePoint now);
  void set_state(Peer& p, NodeState s, DeadReason why, TimePoint now);
  void refresh_medium(Peer& p, std::size_t medium, TimePoint now);
  // True if the sequence is new for the peer's current generation; counts and records it.
  enum class SeqVerdict { Newest, Reordered, Replayed, TooOld };
  SeqVerdict check_sequence(Peer& p, std::uint64_t sequence);
  Peer* find(std::string_view node);
  const Peer* find(std::string_view node) const;

  MembershipConfig config_;
  std::uint64_t generation_;
  std::uint64_t sequence_ = 0;
  TimePoint started_;
  TimePoint next_send_;
  bool leaving_ = false;
  std::optional<ResourceReport> resources_;
  std::optional<PingReport> ping_;
  std::optional<ClaimReport> claim_;
  std::vector<Peer> peers_;
  MembershipCounters counters_;
  std::vector<MembershipAction> actions_;
};

}  // namespace hapbx::cluster
