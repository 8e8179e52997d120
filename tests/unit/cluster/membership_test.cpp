// Membership rules with a manual clock: keepalive cadence per medium, deadtime on all media,
// warntime, initdead, replay and generation checks, restarts, flapping links, leaving.
#include "cluster/membership.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/clock.h"

namespace hapbx::cluster {
namespace {

using namespace std::chrono_literals;
namespace act = membership_action;

MembershipConfig config(std::size_t media = 2) {
  MembershipConfig c;
  c.node = "asterisk1";
  c.peers = {"asterisk1", "asterisk2"};  // as ha.cf lists them: self included
  c.keepalive = 1s;
  c.deadtime = 5s;
  c.warntime = 3s;
  c.initdead = 10s;
  c.media = media;
  return c;
}

// A heartbeat of asterisk2 that echoes asterisk1's generation `echo` (the tests' default 1).
HeartbeatMessage from2(std::uint64_t seq, std::uint64_t gen = 100, std::uint64_t echo = 1) {
  HeartbeatMessage m;
  m.node = "asterisk2";
  m.generation = gen;
  m.sequence = seq;
  m.hears = {HeardNode{"asterisk1", echo, true}};
  return m;
}

template <typename A>
std::vector<A> only(const std::vector<MembershipAction>& actions) {
  std::vector<A> out;
  for (const auto& a : actions) {
    if (const A* x = std::get_if<A>(&a)) out.push_back(*x);
  }
  return out;
}

bool logged(const std::vector<MembershipAction>& actions, std::string_view text) {
  for (const auto& l : only<act::Log>(actions)) {
    if (l.text.find(text) != std::string::npos) return true;
  }
  return false;
}

// Ticks at every timer up to `until`, collecting the actions.
std::vector<MembershipAction> run_until(Membership& m, core::ManualClock& clock, TimePoint until) {
  std::vector<MembershipAction> all;
  for (auto t = m.next_timer(); t && *t <= until; t = m.next_timer()) {
    clock.set(std::max(*t, clock.now()));
    m.tick(clock.now());
    for (auto& a : m.take_actions()) all.push_back(std::move(a));
  }
  clock.set(until);
  m.tick(until);
  for (auto& a : m.take_actions()) all.push_back(std::move(a));
  return all;
}

TEST(Membership, ValidateNamesWhatIsWrong) {
  EXPECT_TRUE(validate(config()).ok());
  auto c = config();
  c.deadtime = c.keepalive;
  EXPECT_NE(validate(c).error().message.find("deadtime"), std::string::npos);
  c = config();
  c.warntime = c.deadtime;
  EXPECT_NE(validate(c).error().message.find("warntime"), std::string::npos);
  c = config();
  c.initdead = 1s;
  EXPECT_NE(validate(c).error().message.find("initdead"), std::string::npos);
  c = config();
  c.media = 0;
  EXPECT_FALSE(validate(c).ok());
  c = config();
  c.peers.push_back("asterisk2");
  EXPECT_NE(validate(c).error().message.find("twice"), std::string::npos);
  c = config();
  c.node = "bad name";
  EXPECT_FALSE(validate(c).ok());
}

TEST(Membership, InvalidConfigIsSanitizedNotTrusted) {
  core::ManualClock clock;
  auto c = config();
  c.keepalive = 0s;
  c.deadtime = 0s;
  c.media = 0;
  Membership m(c, 1, clock.now());
  EXPECT_TRUE(logged(m.take_actions(), "safe values"));
  EXPECT_GE(m.config().keepalive, 1ms);
  EXPECT_GT(m.config().deadtime, m.config().keepalive);
  EXPECT_EQ(m.config().media, 1u);
}

TEST(Membership, KeepaliveCadenceOnEveryMedium) {
  core::ManualClock clock;
  const TimePoint t0 = clock.now();
  Membership m(config(2), 7, t0);
  auto actions = m.take_actions();
  auto sends = only<act::SendHeartbeat>(actions);
  ASSERT_EQ(sends.size(), 2u);  // at once, on both media
  EXPECT_EQ(sends[0].medium, 0u);
  EXPECT_EQ(sends[1].medium, 1u);
  EXPECT_EQ(sends[0].message.node, "asterisk1");
  EXPECT_EQ(sends[0].message.generation, 7u);
  EXPECT_EQ(*m.next_timer(), t0 + 1s);

  // Just before a keepalive nothing goes out.
  m.tick(t0 + 1s - 1ns);
  EXPECT_TRUE(only<act::SendHeartbeat>(m.take_actions()).empty());

  actions = run_until(m, clock, t0 + 10s);
  for (auto& s : only<act::SendHeartbeat>(actions)) sends.push_back(s);
  ASSERT_EQ(sends.size(), 22u);  // t0, t0+1s, ..., t0+10s on 2 media
  std::size_t per_medium[2] = {0, 0};
  for (std::size_t i = 0; i < sends.size(); ++i) {
    ++per_medium[sends[i].medium];
    EXPECT_EQ(sends[i].message.sequence, i + 1) << "one sequence number per datagram";
  }
  EXPECT_EQ(per_medium[0], 11u);
  EXPECT_EQ(per_medium[1], 11u);
  EXPECT_EQ(m.counters().sent, 22u);

  // A driver that wakes up late sends one round, not a burst.
  m.tick(t0 + 20s + 500ms);
  EXPECT_EQ(only<act::SendHeartbeat>(m.take_actions()).size(), 2u);
  EXPECT_EQ(*m.next_timer() <= t0 + 21s + 500ms, true);
}

TEST(Membership, InitThenUpOnFirstHeartbeat) {
  core::ManualClock clock;
  Membership m(config(), 1, clock.now());
  m.take_actions();
  EXPECT_EQ(m.state("asterisk2"), NodeState::Init);
  EXPECT_FALSE(m.state("asterisk1").has_value()) << "self is not a peer";
  EXPECT_FALSE(m.state("nobody").has_value());
  clock.advance(300ms);
  m.on_heartbeat(from2(1), 1, clock.now());
  auto actions = m.take_actions();
  auto ups = only<act::NodeUp>(actions);
  ASSERT_EQ(ups.size(), 1u);
  EXPECT_EQ(ups[0].node, "asterisk2");
  EXPECT_EQ(m.state("asterisk2"), NodeState::Up);
  EXPECT_TRUE(logged(actions, "link asterisk2 medium 1 up"));
  m.on_heartbeat(from2(2), 0, clock.now());
  EXPECT_TRUE(only<act::NodeUp>(m.take_actions()).empty());
  EXPECT_EQ(m.counters().accepted, 2u);

  // Our heartbeats now say we hear asterisk2.
  clock.advance(1s);
  m.tick(clock.now());
  auto sends = only<act::SendHeartbeat>(m.take_actions());
  ASSERT_FALSE(sends.empty());
  EXPECT_EQ(sends[0].message.hears, (std::vector<HeardNode>{{"asterisk2", 100, true}}));
}

TEST(Membership, DeadExactlyAfterDeadtimeOnAllMedia) {
  core::ManualClock clock;
  Membership m(config(), 1, clock.now());
  clock.advance(2s);
  const TimePoint last = clock.now();
  m.on_heartbeat(from2(1), 0, last);
  m.on_heartbeat(from2(2), 1, last);
  m.take_actions();
  auto actions = run_until(m, clock, last + 5s - 1ns);
  EXPECT_EQ(m.state("asterisk2"), NodeState::Up);
  EXPECT_TRUE(only<act::NodeDead>(actions).empty());
  // The driver that only ticks at next_timer() gets it exactly at deadtime.
  ASSERT_EQ(*m.next_timer(), last + 5s);
  clock.set(*m.next_timer());
  m.tick(clock.now());
  actions = m.take_actions();
  auto dead = only<act::NodeDead>(actions);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].node, "asterisk2");
  EXPECT_EQ(dead[0].why, DeadReason::Silent);
  EXPECT_EQ(m.state("asterisk2"), NodeState::Dead);
  EXPECT_TRUE(logged(actions, "link asterisk2 medium 0 dead"));
  EXPECT_TRUE(logged(actions, "link asterisk2 medium 1 dead"));
  auto st = m.status(clock.now());
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].why, DeadReason::Silent);
  EXPECT_EQ(st[0].since, last + 5s);
  EXPECT_EQ(*st[0].last_heard_age, 5s);
}

TEST(Membership, NotDeadWhileOneMediumStillHears) {
  core::ManualClock clock;
  Membership m(config(), 1, clock.now());
  const TimePoint t0 = clock.now();
  std::uint64_t seq = 0;
  m.on_heartbeat(from2(++seq), 0, t0);
  m.on_heartbeat(from2(++seq), 1, t0);
  m.take_actions();
  std::vector<MembershipAction> all;
  for (int i = 1; i <= 30; ++i) {  // medium 0 is cut; medium 1 keeps delivering
    for (auto& a : run_until(m, clock, t0 + i * 1s)) all.push_back(std::move(a));
    ++seq;  // the copy on medium 0, lost
    m.on_heartbeat(from2(++seq), 1, clock.now());
    for (auto& a : m.take_actions()) all.push_back(std::move(a));
  }
  EXPECT_EQ(m.state("asterisk2"), NodeState::Up);
  EXPECT_TRUE(only<act::NodeDead>(all).empty());
  EXPECT_TRUE(logged(all, "link asterisk2 medium 0 dead"));
  EXPECT_FALSE(logged(all, "link asterisk2 medium 1 dead"));
  auto st = m.status(clock.now());
  EXPECT_FALSE(st[0].media[0].up);
  EXPECT_EQ(*st[0].media[0].last_heard_age, 30s);
  EXPECT_TRUE(st[0].media[1].up);
  EXPECT_EQ(*st[0].media[1].last_heard_age, 0s);
}

TEST(Membership, ReorderedCopyOnOtherMediumKeepsThatLinkUp) {
  // The sender's medium-0 copy (seq n) always arrives after its medium-1 copy (seq n+1).
  core::ManualClock clock;
  Membership m(config(), 1, clock.now());
  const TimePoint t0 = clock.now();
  std::vector<MembershipAction> all;
  for (int i = 0; i < 20; ++i) {
    for (auto& a : run_until(m, clock, t0 + i * 1s)) all.push_back(std::move(a));
    m.on_heartbeat(from2(2 * i + 2), 1, clock.now());
    m.on_heartbeat(from2(2 * i + 1), 0, clock.now());
    for (auto& a : m.take_actions()) all.push_back(std::move(a));
  }
  EXPECT_FALSE(logged(all, "medium 0 dead"));
  EXPECT_EQ(m.counters().out_of_order, 20u);  // every medium-0 copy, counted, not applied
  EXPECT_EQ(m.counters().accepted, 20u);
  EXPECT_TRUE(m.status(clock.now())[0].media[0].up);
}

TEST(Membership, WarntimeLogsLateHeartbeats) {
  core::ManualClock clock;
  Membership m(config(), 1, clock.now());
  const TimePoint t0 = clock.now();
  m.on_heartbeat(from2(1), 0, t0);
  m.take_actions();
  auto actions = run_until(m, clock, t0 + 3s - 1ns);
  EXPECT_FALSE(logged(actions, "no heartbeat from"));
  actions = run_until(m, clock, t0 + 3s);
  EXPECT_TRUE(logged(actions, "no heartbeat from asterisk2 for 3000 ms"));
  actions = run_until(m, clock, t0 + 4s);
  EXPECT_FALSE(logged(actions, "no heartbeat from")) << "logged once per silence";
  m.on_heartbeat(from2(2), 0, clock.now());
  actions = m.take_actions();
  auto late = only<act::LateHeartbeat>(actions);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].node, "asterisk2");
  EXPECT_EQ(late[0].ms, 4000);
  EXPECT_TRUE(logged(actions, "late heartbeat: node asterisk2: interval 4000 ms"));
  EXPECT_EQ(m.state("asterisk2"), NodeState::Up);
  // On time again: no warning.
  clock.advance(1s);
  m.on_heartbeat(from2(3), 0, clock.now());
  EXPECT_TRUE(only<act::LateHeartbeat>(m.take_actions()).empty());
  EXPECT_EQ(m.counters().late, 1u);
}

TEST(Membership, InitdeadAtStartup) {
  core::ManualClock clock;
  const TimePoint t0 = clock.now();
  Membership m(config(), 1, t0);
  m.take_actions();
  auto actions = run_until(m, clock, t0 + 10s - 1ns);
  EXPECT_EQ(m.state("asterisk2"), NodeState::Init) << "initdead, not deadtime, applies at start";
  EXPECT_TRUE(only<act::NodeDead>(actions).empty());
  actions = run_until(m, clock, t0 + 10s);
  auto dead = only<act::NodeDead>(actions);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].why, DeadReason::NeverHeard);
  // It comes up later: from then on deadtime applies.
  clock.advance(1s);
  m.on_heartbeat(from2(1), 0, clock.now());
  EXPECT_EQ(only<act::NodeUp>(m.take_actions()).size(), 1u);
}

TEST(Membership, HeardDuringInitdeadThenDeadtime) {
  core::ManualClock clock;
  const TimePoint t0 = clock.now();
  Membership m(config(), 1, t0);
  m.on_heartbeat(from2(1), 0, t0 + 1s);
  run_until(m, clock, t0 + 6s - 1ns);
  EXPECT_EQ(m.state("asterisk2"), NodeState::Up);
  run_until(m, clock, t0 + 6s);
  EXPECT_EQ(m.state("asterisk2"), NodeState::Dead);
}

TEST(Membership, ReplaysAreDroppedAndCounted) {
  core::ManualClock clock;
  const TimePoint t0 = clock.now();
  Membership m(config(), 1, t0);
  m.on_heartbeat(from2(10), 0, t0);
  m.take_actions();
  // The same datagram again, on either medium, keeps nothing alive.
  for (int i = 1; i <= 10; ++i) {
    run_until(m, clock, t0 + i * 1s);
    m.on_heartbeat(from2(10), i % 2, clock.now());
  }
  EXPECT_EQ(m.counters().replayed, 10u);
  EXPECT_EQ(m.state("asterisk2"), NodeState::Dead);
  EXPECT_EQ(m.status(clock.now())[0].since, t0 + 5s);
  EXPECT_EQ(m.counters().accepted, 1u);

  // Lower sequence numbers: seen ones are replays, unseen ones out of order; none revives it.
  m.on_heartbeat(from2(11), 0, clock.now());
  EXPECT_EQ(m.state("asterisk2"), NodeState::Up);
  m.on_heartbeat(from2(12), 0, clock.now());
  m.on_heartbeat(from2(11), 1, clock.now());
  EXPECT_EQ(m.counters().replayed, 11u);
  m.on_heartbeat(from2(9), 1, clock.now());
  EXPECT_EQ(m.counters().out_of_order, 1u);
  m.on_heartbeat(from2(9), 1, clock.now());
  EXPECT_EQ(m.counters().replayed, 12u);
  m.on_heartbeat(from2(1), 1, clock.now());  // older than the window
  EXPECT_EQ(m.counters().out_of_order, 2u);
  EXPECT_EQ(m.status(clock.now())[0].sequence, 12u);
}

TEST(Membership, StaleGenerationIsDropped) {
  core::ManualClock clock;
  const TimePoint t0 = clock.now();
  Membership m(config(), 1, t0);
  m.on_heartbeat(from2(5, 200), 0, t0);
  m.take_actions();
  for (int i = 1; i <= 6; ++i) {
    run_until(m, clock, t0 + i * 1s);
    m.on_heartbeat(from2(1000 + i, 199), 0, clock.now());  // an old boot's packets
  }
  EXPECT_EQ(m.counters().stale_generation, 6u);
  EXPECT_EQ(m.state("asterisk2"), NodeState::Dead);
  EXPECT_EQ(m.status(clock.now())[0].generation, 200u);
}

TEST(Membership, RestartIsDetected) {
  core::ManualClock clock;
  const TimePoint t0 = clock.now();
  Membership m(config(), 1, t0);
  m.on_heartbeat(from2(500, 100), 0, t0);
  m.take_actions();
  clock.advance(1s);
  m.on_heartbeat(from2(1, 101), 0, clock.now());  // new boot: sequence starts over
  auto actions = m.take_actions();
  EXPECT_TRUE(logged(actions, "asterisk2 restarted"));
  ASSERT_EQ(only<act::NodeRestarted>(actions).size(), 1u);
  EXPECT_TRUE(only<act::NodeDead>(actions).empty()) << "back within deadtime: still up";
  EXPECT_EQ(m.counters().restarts, 1u);
  EXPECT_EQ(m.counters().accepted, 2u);
  m.on_heartbeat(from2(2, 101), 0, clock.now());
  EXPECT_EQ(m.counters().accepted, 3u);
  m.on_heartbeat(from2(501, 100), 0, clock.now());  // the old boot, replayed
  EXPECT_EQ(m.counters().stale_generation, 1u);
  EXPECT_EQ(m.status(clock.now())[0].generation, 101u);
}

TEST(Membership, FlappingLink) {
  core::ManualClock clock;
  const TimePoint t0 = clock.now();
  Membership m(config(1), 1, t0);
  m.take_actions();
  std::uint64_t seq = 0;
  std::vector<MembershipAction> all;
  TimePoint t = t0;
  // Short drop-outs (3 s < deadtime) never kill it; long ones (7 s) do, once each.
  for (int cycle = 0; cycle < 6; ++cycle) {
    for (int i = 0; i < 3; ++i) {
      t += 1s;
      for (auto& a : run_until(m, clock, t)) all.push_back(std::move(a));
      m.on_heartbeat(from2(++seq), 0, t);
      for (auto& a : m.take_actions()) all.push_back(std::move(a));
    }
    t += cycle % 2 == 0 ? 3s : 7s;
    for (auto& a : run_until(m, clock, t)) all.push_back(std::move(a));
  }
  // Transitions alternate Up, Dead, Up, Dead, ...
  std::vector<char> order;
  for (const auto& a : all) {
    if (std::holds_alternative<act::NodeUp>(a)) order.push_back('U');
    if (std::holds_alternative<act::NodeDead>(a)) order.push_back('D');
  }
  EXPECT_EQ(std::string(order.begin(), order.end()), "UDUDUD");
  EXPECT_EQ(only<act::LateHeartbeat>(all).size(), 3u);  // after each 3 s (+1 s) gap
}

TEST(Membership, OnlyHeartbeatsEchoingOurGenerationCount) {
  // Replays of what asterisk2 sent before we started echo an older generation of ours (or
  // none): they must not make it look alive, only teach us its generation to echo.
  core::ManualClock clock;
  const TimePoint t0 = clock.now();
  Membership m(config(), 5, t0);
  m.take_actions();
  m.on_heartbeat(from2(10, 100, 4), 0, t0);  // echoes our previous boot
  auto actions = m.take_actions();
  EXPECT_EQ(m.state("asterisk2"), NodeState::Init);
  EXPECT_EQ(m.counters().unconfirmed, 1u);
  auto sends = only<act::SendHeartbeat>(actions);
  ASSERT_EQ(sends.size(), 2u) << "a round at once, echoing the generation just learnt";
  EXPECT_EQ(sends[0].message.hears, (std::vector<HeardNode>{{"asterisk2", 100, false}}));
  HeartbeatMessage none = from2(11);
  none.hears.clear();
  m.on_heartbeat(none, 1, t0);
  EXPECT_EQ(m.counters().unconfirmed, 2u);
  EXPECT_TRUE(only<act::SendHeartbeat>(m.take_actions()).empty()) << "nothing new learnt";
  // Replayed forever, they never bring it up; initdead declares it dead.
  for (int i = 1; i <= 12; ++i) {
    run_until(m, clock, t0 + i * 1s);
    m.on_heartbeat(from2(11 + i, 100, 4), i % 2, clock.now());
  }
  EXPECT_EQ(m.state("asterisk2"), NodeState::Dead);
  EXPECT_EQ(m.counters().accepted, 0u);
  // The live peer has heard us: it counts.
  m.on_heartbeat(from2(100, 100, 5), 0, clock.now());
  EXPECT_EQ(m.state("asterisk2"), NodeState::Up);
}

TEST(Membership, LeavingPeerIsDeadAtOnce) {
  core::ManualClock clock;
  Membership m(config(), 1, clock.now());
  m.on_heartbeat(from2(1), 0, clock.now());
  m.take_actions();
  HeartbeatMessage bye = from2(2);
  bye.leaving = true;
  m.on_heartbeat(bye, 0, clock.now());
  auto dead = only<act::NodeDead>(m.take_actions());
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].why, DeadReason::Left);
  m.on_heartbeat(from2(3), 0, clock.now());  // it came back
  EXPECT_EQ(only<act::NodeUp>(m.take_actions()).size(), 1u);

  // And our own leave(): a round goes out at once, flagged.
  m.leave(clock.now());
  auto sends = only<act::SendHeartbeat>(m.take_actions());
  ASSERT_EQ(sends.size(), 2u);
  EXPECT_TRUE(sends[0].message.leaving);
}

TEST(Membership, ForeignSelfUnknownAndBadMediumAreDropped) {
  core::ManualClock clock;
  auto c = config();
  c.cluster = "thesis";
  Membership m(c, 1, clock.now());
  HeartbeatMessage h = from2(1);
  m.on_heartbeat(h, 0, clock.now());  // no cluster id
  EXPECT_EQ(m.counters().foreign_cluster, 1u);
  h.cluster = "other";
  m.on_heartbeat(h, 0, clock.now());
  EXPECT_EQ(m.counters().foreign_cluster, 2u);
  h.cluster = "thesis";
  m.on_heartbeat(h, 2, clock.now());
  EXPECT_EQ(m.counters().bad_medium, 1u);
  HeartbeatMessage self = h;
  self.node = "asterisk1";
  m.on_heartbeat(self, 0, clock.now());
  EXPECT_EQ(m.counters().from_self, 1u);
  HeartbeatMessage stranger = h;
  stranger.node = "asterisk3";
  m.on_heartbeat(stranger, 0, clock.now());
  EXPECT_EQ(m.counters().unknown_node, 1u);
  EXPECT_EQ(m.state("asterisk2"), NodeState::Init);
  m.on_heartbeat(h, 1, clock.now());
  EXPECT_EQ(m.state("asterisk2"), NodeState::Up);
  EXPECT_EQ(m.counters().accepted, 1u);
}

TEST(Membership, ReportsResourcesAndPingInHeartbeats) {
  core::ManualClock clock;
  Membership m(config(1), 1, clock.now());
  m.set_resources(ResourceReport{ResourceState::Running, "pbx"});
  m.set_ping(PingReport{1, 2});
  m.take_actions();
  clock.advance(1s);
  m.tick(clock.now());
  auto sends = only<act::SendHeartbeat>(m.take_actions());
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].message.resources, (ResourceReport{ResourceState::Running, "pbx"}));
  EXPECT_EQ(sends[0].message.ping, (PingReport{1, 2}));
  // The peer's view is kept for the resource manager.
  HeartbeatMessage h = from2(1);
  h.resources = ResourceReport{ResourceState::None, ""};
  m.on_heartbeat(h, 0, clock.now());
  auto st = m.status(clock.now());
  ASSERT_TRUE(st[0].last.has_value());
  EXPECT_EQ(st[0].last->resources->state, ResourceState::None);
}

}  // namespace
}  // namespace hapbx::cluster
