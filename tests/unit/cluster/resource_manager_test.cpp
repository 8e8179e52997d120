// The resource manager's rules, one node at a time: a manual clock, a scripted agent that answers
// start/stop/monitor/fence operations (Ok unless a test queued a failure), and the peer played by
// the test through membership events and announcements.
#include "cluster/resource_manager.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "core/clock.h"

namespace hapbx::cluster {
namespace {

using namespace std::chrono_literals;

ResourceManagerConfig make_config(const std::string& node, const std::string& peer) {
  ResourceManagerConfig c;
  c.node = node;
  c.peer = peer;
  c.group.preferred_node = "n1";
  c.group.resources = {{"IPaddr::198.18.0.10/24/eth0", "IPaddr"},
                       {"drbddisk::r0", "drbddisk"},
                       {"pbxd", "pbxd"}};
  return c;
}

Announcement claim(GroupClaim c, bool ping_ok = true, bool wants = false) {
  return Announcement{c, ping_ok, wants};
}

// One node under test and its scripted agent.
struct Node {
  explicit Node(ResourceManagerConfig c) : rm(std::move(c), clock.now()) { drain(); }

  core::ManualClock clock;
  ResourceManager rm;
  std::vector<std::string> ops;  // "start 0", "stop 2", "monitor 1", "fence n2", in order
  struct Pending { std::string kind; std::size_t index; std::uint64_t op; };
  std::deque<Pending> pending;
  std::map<std::string, std::deque<AgentResult>> script;  // "start 1" -> outcomes to give
  std::vector<Announcement> announced;
  std::vector<std::string> logs;
  std::vector<Reason> reasons;  // of GroupStateChanged

  void drain() {
    for (auto& a : rm.take_actions()) {
      if (auto* s = std::get_if<rm_action::StartResource>(&a)) {
        ops.push_back("start " + std::to_string(s->index));
        pending.push_back({"start", s->index, s->op});
      } else if (auto* t = std::get_if<rm_action::StopResource>(&a)) {
        ops.push_back("stop " + std::to_string(t->index));
        pending.push_back({"stop", t->index, t->op});
      } else if (auto* m = std::get_if<rm_action::MonitorResource>(&a)) {
        ops.push_back("monitor " + std::to_string(m->index));
        pending.push_back({"monitor", m->index, m->op});
      } else if (auto* f = std::get_if<rm_action::Fence>(&a)) {
        ops.push_back("fence " + f->peer);
        pending.push_back({"fence", 0, f->op});
      } else if (auto* an = std::get_if<rm_action::Announce>(&a)) {
        announced.push_back(an->announcement);
      } else if (auto* l = std::get_if<rm_action::Log>(&a)) {
        logs.push_back(l->text);
      } else if (auto* g = std::get_if<rm_action::GroupStateChanged>(&a)) {
        reasons.push_back(g->reason);
      }
    }
  }

  // Answers every pending operation (and those they lead to) from the script, default Ok.
  void run(int limit = 100) {
    drain();
    while (!pending.empty() && limit-- > 0) {
      Pending p = pending.front();
      pending.pop_front();
      std::string key = p.kind == "fence" ? "fence" : p.kind + " " + std::to_string(p.index);
      AgentResult r = AgentResult::ok();
      if (auto it = script.find(key); it != script.end() && !it->second.empty()) {
        r = it->second.front();
        it->second.pop_front();
      }
      if (p.kind == "fence") rm.fence_result(p.op, r, clock.now());
      else rm.agent_result(p.op, r, clock.now());
      drain();
    }
  }
  void fail(const std::string& key, int times = 1, std::string why = "boom") {
    for (int i = 0; i < times; ++i) script[key].push_back(AgentResult::failed(why));
  }
  void advance(Duration d) {
    clock.advance(d);
    rm.tick(clock.now());
    drain();
  }
  void peer(GroupClaim c, bool ping_ok = true, bool wants = false) {
    rm.peer_announcement(claim(c, ping_ok, wants), clock.now());
    drain();
  }
  void peer_dead() {
    rm.peer_dead(clock.now());
    drain();
  }
  void startup() {
    rm.startup(clock.now());
    drain();
  }
  GroupClaim my_claim() const { return rm.announcement().claim; }
  bool logged(const std::string& part) const {
    for (const auto& l : logs)
      if (l.find(part) != std::string::npos) return true;
    return false;
  }
  // Brings a node to Running with the group (peer dead at startup, no fencing).
  void hold() {
    startup();
    run();
    ASSERT_TRUE(rm.running()) << rm.state_name();
    ops.clear();
  }
};

using Ops = std::vector<std::string>;

TEST(ResourceManager, StartsInOrderAndStopsInReverse) {
  Node n(make_config("n1", "n2"));
  EXPECT_EQ(n.rm.state_name(), "Stopped");
  EXPECT_EQ(n.my_claim(), GroupClaim::Initializing);
  n.startup();  // peer never heard: take it
  n.run();
  EXPECT_EQ(n.ops, (Ops{"start 0", "start 1", "start 2"}));
  EXPECT_TRUE(n.rm.running());
  EXPECT_EQ(n.my_claim(), GroupClaim::Holds);
  EXPECT_EQ(n.rm.last_reason(), Reason::Started);
  auto st = n.rm.status(n.clock.now());
  EXPECT_EQ(st.holder, Holder::Me);
  EXPECT_EQ(st.holder_since, n.clock.now());
  for (const auto& r : st.resources) EXPECT_EQ(r.state, ManagedState::Running);

  n.ops.clear();
  n.peer(GroupClaim::Standby);
  ASSERT_TRUE(n.rm.standby(n.clock.now()).ok());
  n.run();
  EXPECT_EQ(n.ops, (Ops{"stop 2", "stop 1", "stop 0"}));
  EXPECT_EQ(n.rm.state_name(), "Released");
  EXPECT_EQ(n.rm.last_reason(), Reason::AdminStandby);
  EXPECT_EQ(n.my_claim(), GroupClaim::Released);
  EXPECT_FALSE(n.rm.any_resource_active());
}

TEST(ResourceManager, PreferredTakesAtStartupNonPreferredWaits) {
  Node n1(make_config("n1", "n2"));
  n1.peer(GroupClaim::Initializing);
  n1.startup();
  n1.run();
  EXPECT_TRUE(n1.rm.running());
  EXPECT_EQ(n1.reasons.front(), Reason::Startup);
  EXPECT_EQ(n1.reasons[1], Reason::PreferredNode);

  Node n2(make_config("n2", "n1"));
  n2.peer(GroupClaim::Standby);
  n2.startup();
  n2.run();
  EXPECT_EQ(n2.rm.state_name(), "Standby");
  EXPECT_TRUE(n2.ops.empty());
  n2.peer(GroupClaim::Acquiring);
  n2.peer(GroupClaim::Holds);
  n2.run();
  EXPECT_TRUE(n2.ops.empty());
  EXPECT_EQ(n2.rm.status(n2.clock.now()).holder, Holder::Peer);
}

TEST(ResourceManager, PreferredDoesNotTakeWhatPeerHolds) {
  Node n1(make_config("n1", "n2"));
  n1.peer(GroupClaim::Holds);
  n1.startup();
  n1.run();
  EXPECT_EQ(n1.rm.state_name(), "Standby");
  EXPECT_TRUE(n1.ops.empty());
}

TEST(ResourceManager, TakeoverOnPeerDeathWithoutFencing) {
  Node n2(make_config("n2", "n1"));
  n2.peer(GroupClaim::Holds);
  n2.startup();
  n2.run();
  ASSERT_EQ(n2.rm.state_name(), "Standby");
  n2.peer_dead();
  n2.run();
  EXPECT_EQ(n2.ops, (Ops{"start 0", "start 1", "start 2"}));
  EXPECT_TRUE(n2.rm.running());
  EXPECT_EQ(n2.reasons[n2.reasons.size() - 2], Reason::PeerDead);
}

TEST(ResourceManager, TakeoverOnPeerDeathFencesFirst) {
  auto c = make_config("n2", "n1");
  c.fencing = true;
  Node n2(c);
  n2.peer(GroupClaim::Holds);
  n2.startup();
  n2.peer_dead();
  EXPECT_EQ(n2.rm.state_name(), "Fencing");
  EXPECT_EQ(n2.ops, (Ops{"fence n1"}));  // nothing started before the fence answered
  n2.run();
  EXPECT_EQ(n2.ops, (Ops{"fence n1", "start 0", "start 1", "start 2"}));
  EXPECT_TRUE(n2.rm.running());
}

TEST(ResourceManager, FenceFailureMeansNoTakeoverAndRetry) {
  auto c = make_config("n2", "n1");
  c.fencing = true;
  Node n2(c);
  n2.peer(GroupClaim::Holds);
  n2.startup();
  n2.fail("fence", 2, "stonith: power switch unreachable");
  n2.peer_dead();
  n2.run();
  EXPECT_EQ(n2.ops, (Ops{"fence n1"}));
  EXPECT_EQ(n2.rm.state_name(), "Fencing");
  EXPECT_TRUE(n2.logged("fencing n1 failed"));
  ASSERT_TRUE(n2.rm.next_timer().has_value());
  EXPECT_EQ(*n2.rm.next_timer(), n2.clock.now() + c.fence_retry_delay);
  n2.advance(1s);
  EXPECT_EQ(n2.ops.size(), 1u);  // not before the delay
  n2.advance(c.fence_retry_delay);
  n2.run();  // second attempt fails too
  EXPECT_EQ(n2.ops, (Ops{"fence n1", "fence n1"}));
  n2.advance(c.fence_retry_delay);
  n2.run();
  EXPECT_EQ(n2.ops, (Ops{"fence n1", "fence n1", "fence n1", "start 0", "start 1", "start 2"}));
  EXPECT_TRUE(n2.rm.running());
}

TEST(ResourceManager, FencingAbandonedWhenPeerComesBack) {
  auto c = make_config("n2", "n1");
  c.fencing = true;
  Node n2(c);
  n2.peer(GroupClaim::Holds);
  n2.startup();
  n2.fail("fence");
  n2.peer_dead();
  n2.run();
  n2.peer(GroupClaim::Holds);
  EXPECT_EQ(n2.rm.state_name(), "Standby");
  EXPECT_EQ(n2.rm.last_reason(), Reason::PeerAlive);
  n2.advance(c.fence_retry_delay);
  n2.run();
  EXPECT_EQ(n2.ops, (Ops{"fence n1"}));
}

// n2 took the group while n1 was away; n1 comes back.
void failback_case(AutoFailback mode, bool expect_release) {
  auto c = make_config("n2", "n1");
  c.auto_failback = mode;
  Node n2(c);
  n2.hold();
  n2.peer(GroupClaim::Initializing);  // n1 booting
  EXPECT_TRUE(n2.rm.running());
  n2.peer(GroupClaim::Standby);  // n1 past initdead, sees n2 holding
  n2.run();
  if (expect_release) {
    EXPECT_EQ(n2.ops, (Ops{"stop 2", "stop 1", "stop 0"}));
    EXPECT_EQ(n2.rm.state_name(), "Released");
    EXPECT_EQ(n2.rm.last_reason(), Reason::Failback);
    // n1 takes; n2 stays out of it.
    n2.peer(GroupClaim::Acquiring);
    n2.peer(GroupClaim::Holds);
    n2.run();
    EXPECT_EQ(n2.ops.size(), 3u);
  } else {
    EXPECT_TRUE(n2.ops.empty());
    EXPECT_TRUE(n2.rm.running());
  }
}

TEST(ResourceManager, AutoFailbackOnReleasesToPreferred) { failback_case(AutoFailback::On, true); }
TEST(ResourceManager, AutoFailbackLegacyActsAsOn) { failback_case(AutoFailback::Legacy, true); }
TEST(ResourceManager, AutoFailbackOffKeepsGroup) { failback_case(AutoFailback::Off, false); }

TEST(ResourceManager, AutoFailbackPreferredSide) {
  for (auto mode : {AutoFailback::On, AutoFailback::Off}) {
    auto c = make_config("n1", "n2");
    c.auto_failback = mode;
    Node n1(c);
    n1.peer(GroupClaim::Holds);
    n1.startup();
    n1.run();
    EXPECT_EQ(n1.my_claim(), GroupClaim::Standby);  // what makes the holder fail back
    EXPECT_TRUE(n1.ops.empty());
    if (mode == AutoFailback::On) {
      n1.peer(GroupClaim::Releasing);
      EXPECT_TRUE(n1.ops.empty());  // not before everything is stopped there
      n1.peer(GroupClaim::Released);
      n1.run();
      EXPECT_TRUE(n1.rm.running());
      EXPECT_EQ(n1.reasons[n1.reasons.size() - 2], Reason::PeerReleased);
    }
  }
}

// n1 (preferred) came back but its disk is still a resync target: the failback waits until it
// is ready, so the users see one outage, not two (a refused promotion and a second takeover).
TEST(ResourceManager, FailbackWaitsUntilThePreferredNodeIsReady) {
  auto c = make_config("n2", "n1");
  c.auto_failback = AutoFailback::On;
  Node n2(c);
  n2.hold();
  Announcement resyncing = claim(GroupClaim::Standby);
  resyncing.ready = false;
  n2.rm.peer_announcement(resyncing, n2.clock.now());
  n2.run();
  EXPECT_TRUE(n2.rm.running()) << "released to a node that cannot promote its disk";
  EXPECT_FALSE(n2.rm.standby(n2.clock.now())) << "standby to an unready peer is refused";
  n2.peer(GroupClaim::Standby);  // resync done
  n2.run();
  EXPECT_EQ(n2.rm.state_name(), "Released");
  EXPECT_EQ(n2.rm.last_reason(), Reason::Failback);
}

// The preferred node is up but not ready and nobody holds the group: the ready peer takes it;
// an unready node never takes it from under a live peer, and says so on its heartbeats.
TEST(ResourceManager, UnreadyPreferredNodeLeavesTheGroupToItsPeer) {
  Node n1(make_config("n1", "n2"));
  n1.rm.local_ready(false, n1.clock.now());
  n1.peer(GroupClaim::Standby);
  n1.startup();
  n1.run();
  EXPECT_TRUE(n1.ops.empty()) << "took the group while not ready";
  EXPECT_FALSE(n1.rm.announcement().ready);
  EXPECT_TRUE(n1.logged("not ready"));

  Node n2(make_config("n2", "n1"));
  Announcement unready = claim(GroupClaim::Standby);
  unready.ready = false;
  n2.rm.peer_announcement(unready, n2.clock.now());
  n2.startup();
  n2.run();
  EXPECT_TRUE(n2.rm.running());
  EXPECT_EQ(n2.reasons[n2.reasons.size() - 2], Reason::PeerNotReady);

  // Readiness does not matter once the peer is dead: we try (the agent refuses if it must).
  n1.peer_dead();
  n1.run();
  EXPECT_TRUE(n1.rm.running());
}

TEST(ResourceManager, PreferredNodeNeverFailsBackItself) {
  // The preferred holder never releases to a non-preferred Standby peer.
  Node n1(make_config("n1", "n2"));
  n1.hold();
  n1.peer(GroupClaim::Standby);
  n1.run();
  EXPECT_TRUE(n1.rm.running());
}

TEST(ResourceManager, StandbyRefusedWithoutEligiblePeer) {
  Node n1(make_config("n1", "n2"));
  n1.hold();
  auto s = n1.rm.standby(n1.clock.now());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("n2 is not up"), std::string::npos);
  n1.peer(GroupClaim::StartFailed);
  EXPECT_FALSE(n1.rm.standby(n1.clock.now()).ok());
  EXPECT_TRUE(n1.rm.running());
  Node idle(make_config("n2", "n1"));
  idle.peer(GroupClaim::Holds);
  idle.startup();
  EXPECT_FALSE(idle.rm.standby(idle.clock.now()).ok());
}

TEST(ResourceManager, StandbyThenPeerGivesItBack) {
  Node n1(make_config("n1", "n2"));
  n1.hold();
  n1.peer(GroupClaim::Standby);
  ASSERT_TRUE(n1.rm.standby(n1.clock.now()).ok());
  n1.run();
  ASSERT_EQ(n1.rm.state_name(), "Released");
  n1.peer(GroupClaim::Holds);
  n1.run();
  EXPECT_EQ(n1.rm.state_name(), "Released");  // no failback onto itself
  n1.ops.clear();
  n1.peer(GroupClaim::Releasing);
  n1.peer(GroupClaim::Released);  // hb_standby on n2
  n1.run();
  EXPECT_EQ(n1.ops, (Ops{"start 0", "start 1", "start 2"}));
}

TEST(ResourceManager, TakeoverCommandAsksTheHolder) {
  // The asking side.
  Node n2(make_config("n2", "n1"));
  n2.peer(GroupClaim::Holds);
  n2.startup();
  ASSERT_TRUE(n2.rm.takeover(n2.clock.now()).ok());
  EXPECT_TRUE(n2.rm.announcement().wants_group);
  EXPECT_TRUE(n2.ops.empty());
  n2.peer(GroupClaim::Releasing);
  n2.peer(GroupClaim::Released);
  n2.run();
  EXPECT_TRUE(n2.rm.running());
  EXPECT_FALSE(n2.rm.announcement().wants_group);
  EXPECT_FALSE(n2.rm.takeover(n2.clock.now()).ok());  // already holds

  // The holding side.
  Node n1(make_config("n1", "n2"));
  n1.hold();
  n1.peer(GroupClaim::Standby, true, /*wants=*/true);
  n1.run();
  EXPECT_EQ(n1.ops, (Ops{"stop 2", "stop 1", "stop 0"}));
  EXPECT_EQ(n1.rm.last_reason(), Reason::PeerTakeover);
}

TEST(ResourceManager, TakeoverOfAnUnheldGroup) {
  Node n2(make_config("n2", "n1"));
  n2.peer(GroupClaim::Standby);
  n2.startup();
  n2.run();
  ASSERT_EQ(n2.rm.state_name(), "Standby");
  ASSERT_TRUE(n2.rm.takeover(n2.clock.now()).ok());
  n2.run();
  EXPECT_TRUE(n2.ops.empty());  // not before n1 says it will not take it
  n2.peer(GroupClaim::Released);
  n2.run();
  EXPECT_TRUE(n2.rm.running());
  EXPECT_EQ(n2.reasons[n2.reasons.size() - 2], Reason::AdminTakeover);

  // The other side: a node not holding the group answers a takeover request with Released.
  Node n1(make_config("n1", "n2"));
  n1.peer(GroupClaim::Holds);
  n1.startup();
  n1.peer(GroupClaim::Standby, true, /*wants=*/true);
  n1.run();
  EXPECT_EQ(n1.rm.state_name(), "Released");
  EXPECT_EQ(n1.rm.last_reason(), Reason::PeerTakeover);
  EXPECT_TRUE(n1.ops.empty());
}

TEST(ResourceManager, MonitorFailureRestartsInPlace) {
  auto c = make_config("n1", "n2");
  Node n(c);
  n.hold();
  ASSERT_EQ(*n.rm.next_timer(), n.clock.now() + c.monitor_interval);
  n.advance(c.monitor_interval);
  n.run();
  EXPECT_EQ(n.ops, (Ops{"monitor 0", "monitor 1", "monitor 2"}));
  n.ops.clear();
  n.fail("monitor 1", 1, "not mounted");
  n.advance(c.monitor_interval);
  n.run();
  EXPECT_EQ(n.ops, (Ops{"monitor 0", "monitor 1", "monitor 2", "stop 2", "stop 1", "start 1",
                        "start 2"}));
  EXPECT_TRUE(n.rm.running());
  auto st = n.rm.status(n.clock.now());
  EXPECT_EQ(st.resources[1].failures, 1);
  EXPECT_EQ(st.resources[1].last_error, "monitor: not mounted");
  EXPECT_EQ(st.resources[0].failures, 0);
  EXPECT_EQ(st.recent_failures, 1u);
  EXPECT_EQ(n.reasons[n.reasons.size() - 2], Reason::MonitorFailure);
}

TEST(ResourceManager, RepeatedFailuresMigrateToEligiblePeer) {
  auto c = make_config("n1", "n2");
  Node n(c);
  n.hold();
  n.peer(GroupClaim::Standby);
  for (int i = 0; i < 2; ++i) {
    n.fail("monitor 2", 1, "pbxd died");
    n.advance(c.monitor_interval);
    n.run();
    ASSERT_TRUE(n.rm.running());
  }
  n.ops.clear();
  n.fail("monitor 2", 1, "pbxd died");
  n.advance(c.monitor_interval);
  n.run();
  EXPECT_EQ(n.rm.state_name(), "Released");
  EXPECT_EQ(n.rm.last_reason(), Reason::RepeatedFailures);
  EXPECT_EQ(n.ops, (Ops{"monitor 0", "monitor 1", "monitor 2", "stop 2", "stop 1", "stop 0"}));
}

TEST(ResourceManager, FailuresOutsideTheWindowDoNotMigrate) {
  auto c = make_config("n1", "n2");
  c.failure_window = 1min;
  Node n(c);
  n.hold();
  n.peer(GroupClaim::Standby);
  for (int i = 0; i < 5; ++i) {
    n.advance(50s);
    n.fail("monitor 0");
    n.advance(c.monitor_interval);
    n.run();
    ASSERT_TRUE(n.rm.running()) << i;
  }
}

TEST(ResourceManager, RepeatedFailuresWithoutPeerKeepRestarting) {
  auto c = make_config("n1", "n2");
  Node n(c);
  n.hold();  // peer never heard
  for (int i = 0; i < 5; ++i) {
    n.fail("monitor 0");
    n.advance(c.monitor_interval);
    n.run();
    ASSERT_TRUE(n.rm.running()) << i;
  }
  EXPECT_TRUE(n.logged("cannot take the group: restarting in place"));
}

TEST(ResourceManager, StopFailureRetriedThenStopFailed) {
  auto c = make_config("n1", "n2");
  Node n(c);
  n.hold();
  n.peer(GroupClaim::Standby);
  n.fail("stop 1", 3, "device busy");
  ASSERT_TRUE(n.rm.standby(n.clock.now()).ok());
  n.run();
  EXPECT_EQ(n.ops, (Ops{"stop 2", "stop 1"}));
  EXPECT_EQ(n.my_claim(), GroupClaim::Releasing);
  n.advance(c.stop_retry_delay);
  n.run();
  n.advance(c.stop_retry_delay);
  n.run();
  EXPECT_EQ(n.ops, (Ops{"stop 2", "stop 1", "stop 1", "stop 1"}));  // never stop 0 past it
  EXPECT_EQ(n.rm.state_name(), "StopFailed");
  EXPECT_EQ(n.my_claim(), GroupClaim::StopFailed);
  EXPECT_TRUE(n.logged("the peer will not start the group"));
  auto st = n.rm.status(n.clock.now());
  EXPECT_EQ(st.resources[1].state, ManagedState::Failed);
  EXPECT_EQ(st.resources[1].last_error, "stop: device busy");
  EXPECT_EQ(st.resources[0].state, ManagedState::Running);
  EXPECT_EQ(st.reason, Reason::StopFailure);
  EXPECT_FALSE(n.rm.takeover(n.clock.now()).ok());
}

TEST(ResourceManager, StopRecoversOnRetry) {
  auto c = make_config("n1", "n2");
  Node n(c);
  n.hold();
  n.peer(GroupClaim::Standby);
  n.fail("stop 0", 1);
  ASSERT_TRUE(n.rm.standby(n.clock.now()).ok());
  n.run();
  n.advance(c.stop_retry_delay);
  n.run();
  EXPECT_EQ(n.rm.state_name(), "Released");
  EXPECT_EQ(n.ops, (Ops{"stop 2", "stop 1", "stop 0", "stop 0"}));
}

TEST(ResourceManager, PeerStopFailedWithoutFencingNeverStarts) {
  Node n2(make_config("n2", "n1"));
  n2.peer(GroupClaim::Holds);
  n2.startup();
  n2.peer(GroupClaim::Releasing);
  n2.peer(GroupClaim::StopFailed);
  n2.run();
  n2.advance(10min);
  n2.run();
  EXPECT_TRUE(n2.ops.empty());
  EXPECT_TRUE(n2.logged("no stonith is configured"));
  EXPECT_EQ(n2.rm.status(n2.clock.now()).holder, Holder::Peer);
}

TEST(ResourceManager, PeerStopFailedWithFencingFencesThenStarts) {
  auto c = make_config("n2", "n1");
  c.fencing = true;
  Node n2(c);
  n2.peer(GroupClaim::Holds);
  n2.startup();
  n2.peer(GroupClaim::StopFailed);
  EXPECT_EQ(n2.ops, (Ops{"fence n1"}));
  n2.peer(GroupClaim::StopFailed);  // heartbeats keep coming while the fence runs
  n2.run();
  EXPECT_EQ(n2.ops, (Ops{"fence n1", "start 0", "start 1", "start 2"}));
  EXPECT_EQ(n2.reasons[n2.reasons.size() - 2], Reason::FenceSucceeded);
}

TEST(ResourceManager, PingLossReleasesToPeerThatCanPing) {
  auto c = make_config("n1", "n2");
  c.ping_nodes = true;
  Node n(c);
  n.hold();
  n.peer(GroupClaim::Standby, /*ping_ok=*/true);
  n.rm.ping_reachability(false, n.clock.now());
  n.run();
  EXPECT_EQ(n.rm.state_name(), "Released");
  EXPECT_EQ(n.rm.last_reason(), Reason::PingLost);
  EXPECT_FALSE(n.rm.announcement().ping_ok);
  // The peer takes it; we never take it back while we cannot ping.
  n.peer(GroupClaim::Holds);
  n.peer_dead();
  n.run();
  EXPECT_EQ(n.ops.size(), 3u);
  EXPECT_FALSE(n.rm.any_resource_active());
}

TEST(ResourceManager, IsolatedNodeNeverTakesOver) {
  auto c = make_config("n2", "n1");
  c.ping_nodes = true;
  Node n2(c);
  n2.peer(GroupClaim::Holds);
  n2.startup();
  n2.rm.ping_reachability(false, n2.clock.now());
  n2.peer_dead();
  n2.run();
  n2.advance(1h);
  EXPECT_TRUE(n2.ops.empty());
  EXPECT_EQ(n2.rm.state_name(), "Standby");
  EXPECT_FALSE(n2.rm.takeover(n2.clock.now()).ok());
  // The ping nodes answer again: now it takes over.
  n2.rm.ping_reachability(true, n2.clock.now());
  n2.run();
  EXPECT_TRUE(n2.rm.running());
}

TEST(ResourceManager, IsolatedHolderGivesUp) {
  auto c = make_config("n1", "n2");
  c.ping_nodes = true;
  Node n(c);
  n.hold();
  n.peer(GroupClaim::Standby);
  n.peer_dead();
  n.rm.ping_reachability(false, n.clock.now());
  n.run();
  EXPECT_EQ(n.rm.state_name(), "Released");
  EXPECT_EQ(n.rm.last_reason(), Reason::PingIsolated);
}

TEST(ResourceManager, NeitherCanPingKeepsStatusQuo) {
  auto c = make_config("n2", "n1");
  c.ping_nodes = true;
  Node n2(c);
  n2.hold();
  n2.peer(GroupClaim::Standby, /*ping_ok=*/false);  // preferred n1 back, but cannot ping
  n2.rm.ping_reachability(false, n2.clock.now());
  n2.run();
  EXPECT_TRUE(n2.rm.running());
  EXPECT_TRUE(n2.ops.empty());
}

TEST(ResourceManager, NonPreferredTakesWhenPreferredCannotPing) {
  auto c = make_config("n2", "n1");
  c.ping_nodes = true;
  Node n2(c);
  n2.peer(GroupClaim::Standby, /*ping_ok=*/false);
  n2.startup();
  n2.run();
  EXPECT_TRUE(n2.rm.running());
  EXPECT_EQ(n2.reasons[n2.reasons.size() - 2], Reason::PeerPingLost);
}

TEST(ResourceManager, StartFailureRollsBackAndLetsPeerTry) {
  auto c = make_config("n1", "n2");
  Node n1(c);
  n1.peer(GroupClaim::Standby);
  n1.fail("start 1", 1, "cannot promote");
  n1.startup();
  n1.run();
  EXPECT_EQ(n1.ops, (Ops{"start 0", "start 1", "stop 1", "stop 0"}));
  EXPECT_EQ(n1.rm.state_name(), "StartFailed");
  EXPECT_EQ(n1.my_claim(), GroupClaim::StartFailed);
  EXPECT_EQ(n1.rm.status(n1.clock.now()).resources[1].last_error, "start: cannot promote");

  Node n2(make_config("n2", "n1"));
  n2.peer(GroupClaim::Standby);
  n2.startup();
  n2.peer(GroupClaim::Acquiring);
  n2.peer(GroupClaim::Releasing);
  n2.peer(GroupClaim::StartFailed);
  n2.run();
  EXPECT_TRUE(n2.rm.running());
  EXPECT_EQ(n2.reasons[n2.reasons.size() - 2], Reason::PeerStartFailed);
}

TEST(ResourceManager, StartFailureOnBothNodesStaysDownThenPreferredRetries) {
  auto c = make_config("n1", "n2");
  Node n1(c);
  n1.peer(GroupClaim::StartFailed);  // n2 failed already
  n1.fail("start 0", 1, "no such device");
  n1.startup();
  n1.run();
  EXPECT_EQ(n1.rm.state_name(), "StartFailed");
  EXPECT_TRUE(n1.logged("both nodes failed to start the group"));
  n1.ops.clear();
  n1.advance(c.start_failure_backoff - 1s);
  n1.run();
  EXPECT_TRUE(n1.ops.empty());  // stays down during the back-off
  n1.advance(1s);
  n1.run();
  EXPECT_EQ(n1.ops, (Ops{"start 0", "start 1", "start 2"}));
  EXPECT_TRUE(n1.rm.running());
}

TEST(ResourceManager, StartFailureOnBothNodesOtherNodeWaitsForItsTurn) {
  auto c = make_config("n2", "n1");
  Node n2(c);
  n2.peer(GroupClaim::StartFailed);  // n1 failed already
  n2.fail("start 0", 1, "no such device");
  n2.startup();
  n2.run();
  EXPECT_EQ(n2.rm.state_name(), "StartFailed");
  n2.ops.clear();
  n2.advance(c.start_failure_backoff);
  n2.run();
  EXPECT_TRUE(n2.ops.empty());  // n1 retries first
  EXPECT_EQ(n2.rm.state_name(), "Standby");
  n2.peer(GroupClaim::Acquiring);
  n2.peer(GroupClaim::Releasing);
  n2.peer(GroupClaim::StartFailed);  // n1 failed again: n2's turn
  n2.run();
  EXPECT_TRUE(n2.rm.running());
}

TEST(ResourceManager, OwnReleaseDoesNotTakeBackAnOldOffer) {
  Node n2(make_config("n2", "n1"));
  n2.peer(GroupClaim::Holds);
  n2.startup();
  n2.peer(GroupClaim::Releasing);
  n2.peer(GroupClaim::Released);  // hb_standby on n1
  n2.run();
  ASSERT_TRUE(n2.rm.running());
  ASSERT_TRUE(n2.rm.standby(n2.clock.now()).ok());  // n1 still announces Released
  n2.run();
  EXPECT_EQ(n2.rm.state_name(), "Released");
  EXPECT_EQ(n2.ops, (Ops{"start 0", "start 1", "start 2", "stop 2", "stop 1", "stop 0"}));
}

TEST(ResourceManager, BothHeldNonPreferredReleases) {
  Node n2(make_config("n2", "n1"));
  n2.hold();  // during a partition
  n2.peer(GroupClaim::Holds);  // healed: n1 held it too
  n2.run();
  EXPECT_TRUE(n2.logged("both nodes held the group: releasing"));
  EXPECT_EQ(n2.ops, (Ops{"stop 2", "stop 1", "stop 0"}));
  EXPECT_EQ(n2.rm.state_name(), "Standby");
  EXPECT_EQ(n2.rm.last_reason(), Reason::BothHeld);

  Node n1(make_config("n1", "n2"));
  n1.hold();
  n1.peer(GroupClaim::Holds);
  n1.run();
  EXPECT_TRUE(n1.rm.running());  // the preferred one keeps it
}

TEST(ResourceManager, NonPreferredAbortsAStartWhenPeerClaims) {
  Node n2(make_config("n2", "n1"));
  n2.startup();  // peer unknown: takes
  n2.drain();
  ASSERT_EQ(n2.ops, (Ops{"start 0"}));
  n2.peer(GroupClaim::Acquiring);
  n2.run();
  EXPECT_EQ(n2.ops, (Ops{"start 0", "stop 0"}));
  EXPECT_EQ(n2.rm.state_name(), "Standby");
}

TEST(ResourceManager, EmptyGroupRunsAtOnce) {
  auto c = make_config("n1", "n2");
  c.group.resources.clear();
  Node n(c);
  n.startup();
  EXPECT_TRUE(n.rm.running());
  EXPECT_FALSE(n.rm.next_timer().has_value());
  EXPECT_FALSE(n.logged("internal:"));
}

TEST(ResourceManager, StaleAnswersAreIgnored) {
  Node n(make_config("n1", "n2"));
  n.startup();
  n.drain();
  auto first = n.pending.front();
  n.rm.agent_result(first.op + 100, AgentResult::failed("x"), n.clock.now());
  n.rm.fence_result(first.op, AgentResult::ok(), n.clock.now());
  n.drain();
  EXPECT_EQ(n.rm.state_name(), "Starting");
  n.run();
  EXPECT_TRUE(n.rm.running());
  n.rm.agent_result(first.op, AgentResult::failed("late"), n.clock.now());
  EXPECT_TRUE(n.rm.running());
}

TEST(ResourceManager, AnnouncementsOnlyOnChange) {
  Node n(make_config("n1", "n2"));
  ASSERT_EQ(n.announced.size(), 1u);
  EXPECT_EQ(n.announced[0].claim, GroupClaim::Initializing);
  n.hold();
  n.peer(GroupClaim::Standby);
  n.peer(GroupClaim::Standby);
  std::vector<GroupClaim> claims;
  for (auto& a : n.announced) claims.push_back(a.claim);
  EXPECT_EQ(claims, (std::vector<GroupClaim>{GroupClaim::Initializing, GroupClaim::Acquiring,
                                             GroupClaim::Holds}));
}

}  // namespace
}  // namespace hapbx::cluster
