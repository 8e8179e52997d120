// Two resource managers in one process, from a seed: a fake membership channel between them
// (announcements on every keepalive and on change, delivered in order after a random delay;
// a partition drops them, so each side declares the other dead after deadtime), agents that
// take a random time and sometimes fail, a stonith that sometimes fails and otherwise powers the
// peer off (it boots again later), random crashes and admin standby/takeover.
//
// Properties, checked every step:
//  - never both nodes Running the group while they hear each other, beyond the time the
//    announcements need to cross (grace);
//  - with fencing: never both Running while they cannot hear each other (after a partition,
//    a node takes over only after its fence powered the other off), so after a partition heals
//    at most one node is Running; nor any resource really active on both during a partition;
//  - the manager never refuses one of its own transitions (an "internal:" log).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cluster/resource_manager.h"

namespace hapbx::cluster {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr Duration kStep = 5ms;
constexpr Duration kKeepalive = 50ms;
constexpr Duration kDeadtime = 250ms;
constexpr Duration kInitdead = 400ms;
constexpr int kMaxDelayMs = 40;
constexpr Duration kGrace = kKeepalive + milliseconds(kMaxDelayMs) + 4 * kStep;
constexpr Duration kRun = 30s;

struct SimStats {
  Duration held{};        // time some node was Running
  int fences_ok = 0, fences_failed = 0, takeovers = 0, both_held_heals = 0;
};

class Sim {
 public:
  Sim(std::uint64_t seed, bool fencing) : rng_(seed), fencing_(fencing) {
    for (int i = 0; i < 2; ++i) {
      nodes_[i].name = i == 0 ? "n1" : "n2";
      power_on(i, now_ + milliseconds(pick(0, 300)));
    }
    next_partition_ = now_ + milliseconds(pick(500, 5000));
  }

  // Runs the whole scenario; returns "" or the first violated property.
  std::string run() {
    TimePoint end = now_ + kRun;
    while (now_ < end) {
      now_ += kStep;
      chaos();
      for (int i = 0; i < 2; ++i) step(i);
      std::string v = check();
      if (!v.empty()) return v + " at t=" + std::to_string(ms(now_ - start_)) + "ms";
    }
    return "";
  }
  const SimStats& stats() const { return stats_; }
  const std::vector<std::string>& trace() const { return trace_; }

 private:
  struct Op {
    TimePoint at;
    enum Kind { Start, Stop, Monitor, Fence } kind;
    std::size_t index;
    std::uint64_t id;
  };
  struct Msg {
    TimePoint at;
    Announcement a;
  };
  struct Node {
    std::string name;
    std::unique_ptr<ResourceManager> rm;
    bool on = false;
    TimePoint boot_at{}, off_until{};
    bool started = false;
    std::vector<Op> ops;
    std::vector<bool> active;  // what really runs on the node
    bool peer_up = false;
    TimePoint last_heard{};
    TimePoint next_beat{};
    std::deque<Msg> inbox;
  };

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  static long long ms(Duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }
  void note(int i, const std::string& what) {
    trace_.push_back(std::to_string(ms(now_ - start_)) + " " + nodes_[i].name + ": " + what);
  }

  ResourceManagerConfig config(int i) const {
    ResourceManagerConfig c;
    c.node = nodes_[i].name;
    c.peer = nodes_[1 - i].name;
    c.group.preferred_node = "n1";
    c.group.resources = {{"vip", "IPaddr"}, {"disk", "drbddisk"}, {"pbxd", "pbxd"}};
    c.fencing = fencing_;
    c.monitor_interval = 500ms;
    c.stop_retry_delay = 100ms;
    c.fence_retry_delay = 300ms;
    c.start_failure_backoff = 2s;
    c.failure_window = 5s;
    return c;
  }

  void power_on(int i, TimePoint at) {
    Node& n = nodes_[i];
    n.on = true;
    n.boot_at = at;
    n.started = false;
    n.rm = std::make_unique<ResourceManager>(config(i), now_);
    n.ops.clear();
    n.active.assign(3, false);
    n.peer_up = false;
    n.inbox.clear();
    n.next_beat = now_;
    note(i, "boots");
  }
  void power_off(int i, const char* why) {
    Node& n = nodes_[i];
    n.on = false;
    n.rm.reset();
    n.ops.clear();
    n.active.assign(3, false);
    n.inbox.clear();
    n.off_until = now_ + milliseconds(pick(300, 2500));
    note(i, std::string("powered off (") + why + ")");
  }

  void send(int from, const Announcement& a) {
    if (partitioned_) return;
    Node& to = nodes_[1 - from];
    if (!to.on) return;
    TimePoint at = now_ + milliseconds(pick(1, kMaxDelayMs));
    if (!to.inbox.empty() && to.inbox.back().at > at) at = to.inbox.back().at;  // in order
    to.inbox.push_back({at, a});
  }

  void chaos() {
    if (!partitioned_ && now_ >= next_partition_) {
      partitioned_ = true;
      partition_end_ = now_ + milliseconds(pick(100, 3000));
      trace_.push_back(std::to_string(ms(now_ - start_)) + " partition");
    } else if (partitioned_ && now_ >= partition_end_) {
      partitioned_ = false;
      next_partition_ = now_ + milliseconds(pick(1000, 8000));
      trace_.push_back(std::to_string(ms(now_ - start_)) + " heal");
    }
    for (int i = 0; i < 2; ++i) {
      Node& n = nodes_[i];
      if (!n.on) {
        if (now_ >= n.off_until) power_on(i, now_);
        continue;
      }
      if (chance(0.0002)) power_off(i, "crash");
      else if (n.started && chance(0.0005)) {
        note(i, "admin standby");
        (void)n.rm->standby(now_);
        drain(i);
      } else if (n.started && chance(0.0005)) {
        note(i, "admin takeover");
        (void)n.rm->takeover(now_);
        drain(i);
      }
    }
  }

  void step(int i) {
    Node& n = nodes_[i];
    if (!n.on) return;
    // Membership: deliveries, then deadtime.
    while (!n.inbox.empty() && n.inbox.front().at <= now_) {
      Announcement a = n.inbox.front().a;
      n.inbox.pop_front();
      if (!n.peer_up) {
        n.peer_up = true;
        n.rm->peer_up(now_);
      }
      n.last_heard = now_;
      n.rm->peer_announcement(a, now_);
      drain(i);
      if (!n.on) return;
    }
    if (n.peer_up && now_ - n.last_heard > kDeadtime) {
      n.peer_up = false;
      note(i, "peer dead");
      n.rm->peer_dead(now_);
      drain(i);
    }
    if (!n.started && now_ >= n.boot_at + kInitdead) {
      n.started = true;
      n.rm->startup(now_);
      drain(i);
    }
    // Agents that finished.
    for (std::size_t k = 0; k < n.ops.size();) {
      if (n.ops[k].at > now_) {
        ++k;
        continue;
      }
      Op op = n.ops[k];
      n.ops.erase(n.ops.begin() + static_cast<long>(k));
      finish(i, op);
      if (!n.on) return;
    }
    n.rm->tick(now_);
    drain(i);
    if (n.on && now_ >= n.next_beat) {
      send(i, n.rm->announcement());
      n.next_beat = now_ + kKeepalive;
    }
  }

  void finish(int i, const Op& op) {
    Node& n = nodes_[i];
    AgentResult r = AgentResult::ok();
    switch (op.kind) {
      case Op::Start:
        if (chance(0.02)) r = AgentResult::failed("start failed");
        else n.active[op.index] = true;
        break;
      case Op::Stop:
        if (chance(0.03)) r = chance(0.5) ? AgentResult::failed("busy") : AgentResult::timed_out();
        else n.active[op.index] = false;
        break;
      case Op::Monitor:
        if (!n.active[op.index]) r = AgentResult::failed("not running");
        else if (chance(0.02)) {
          n.active[op.index] = false;  // it died
          r = AgentResult::failed("died");
        }
        break;
      case Op::Fence: {
        if (chance(0.75)) {
          ++stats_.fences_ok;
          int other = 1 - i;
          if (nodes_[other].on) power_off(other, "fenced");
          // Membership drops heartbeats of the fenced boot generation still in flight.
          n.inbox.clear();
        } else {
          ++stats_.fences_failed;
          r = AgentResult::failed("stonith failed");
        }
        n.rm->fence_result(op.id, r, now_);
        drain(i);
        return;
      }
    }
    n.rm->agent_result(op.id, r, now_);
    drain(i);
  }

  void drain(int i) {
    Node& n = nodes_[i];
    if (!n.on) return;
    auto later = [&] { return now_ + milliseconds(pick(1, 60)); };
    for (auto& a : n.rm->take_actions()) {
      if (auto* s = std::get_if<rm_action::StartResource>(&a)) {
        n.ops.push_back({later(), Op::Start, s->index, s->op});
      } else if (auto* t = std::get_if<rm_action::StopResource>(&a)) {
        n.ops.push_back({later(), Op::Stop, t->index, t->op});
      } else if (auto* m = std::get_if<rm_action::MonitorResource>(&a)) {
        n.ops.push_back({later(), Op::Monitor, m->index, m->op});
      } else if (auto* f = std::get_if<rm_action::Fence>(&a)) {
        n.ops.push_back({now_ + milliseconds(pick(20, 200)), Op::Fence, 0, f->op});
      } else if (auto* an = std::get_if<rm_action::Announce>(&a)) {
        send(i, an->announcement);  // heartbeats go out at once on a change
      } else if (auto* l = std::get_if<rm_action::Log>(&a)) {
        if (l->text.rfind("internal:", 0) == 0) internal_error_ = l->text;
      } else if (auto* g = std::get_if<rm_action::GroupStateChanged>(&a)) {
        note(i, std::string(g->from) + " -> " + std::string(g->to) + " (" +
                    std::string(to_string(g->reason)) + ")");
        if (g->reason == Reason::PeerDead || g->reason == Reason::FenceSucceeded)
          ++stats_.takeovers;
        if (g->reason == Reason::BothHeld) ++stats_.both_held_heals;
      }
    }
  }

  std::string check() {
    if (!internal_error_.empty()) return internal_error_;
    bool connected = !partitioned_ && nodes_[0].on && nodes_[1].on;
    if (connected && !was_connected_) connected_since_ = now_;
    was_connected_ = connected;
    auto running = [&](int i) { return nodes_[i].on && nodes_[i].rm->running(); };
    bool both = running(0) && running(1);
    if (both && !was_both_) both_since_ = now_;
    was_both_ = both;
    if (running(0) || running(1)) stats_.held += kStep;
    auto active = [&](int i) {  // what really runs there, not what the manager believes
      return nodes_[i].on &&
             std::any_of(nodes_[i].active.begin(), nodes_[i].active.end(), [](bool b) { return b; });
    };
    if (fencing_ && active(0) && active(1) && !connected)
      return "resources active on both nodes during a partition with fencing";
    if (!both) return "";
    if (connected) {
      TimePoint from = std::max(both_since_, connected_since_);
      if (now_ - from > kGrace) return "both nodes Running while they hear each other";
    } else if (fencing_ && now_ - both_since_ > kGrace) {
      return "both nodes Running during a partition with fencing";
    }
    return "";
  }

  std::mt19937_64 rng_;
  bool fencing_;
  TimePoint start_ = TimePoint{} + std::chrono::hours(1000);
  TimePoint now_ = start_;
  Node nodes_[2];
  bool partitioned_ = false;
  TimePoint next_partition_{}, partition_end_{};
  bool was_connected_ = false, was_both_ = false;
  TimePoint connected_since_{}, both_since_{};
  std::string internal_error_;
  SimStats stats_;
  std::vector<std::string> trace_;
};

void run_seeds(bool fencing, int seeds) {
  SimStats total;
  int first_heal_seed = 0;
  for (int seed = 1; seed <= seeds; ++seed) {
    Sim sim(static_cast<std::uint64_t>(seed) * 7919 + (fencing ? 1 : 0), fencing);
    std::string v = sim.run();
    if (!v.empty()) {
      std::string tail;
      const auto& t = sim.trace();
      for (std::size_t k = t.size() > 40 ? t.size() - 40 : 0; k < t.size(); ++k)
        tail += "  " + t[k] + "\n";
      FAIL() << "seed " << seed << (fencing ? " (fencing)" : "") << ": " << v << "\n" << tail;
    }
    const auto& s = sim.stats();
    if (std::getenv("RM_SIM_TRACE") && std::atoi(std::getenv("RM_SIM_TRACE")) == seed) {
      for (const auto& line : sim.trace()) std::printf("%s\n", line.c_str());
    }
    total.held += s.held;
    total.fences_ok += s.fences_ok;
    total.fences_failed += s.fences_failed;
    total.takeovers += s.takeovers;
    total.both_held_heals += s.both_held_heals;
    if (s.both_held_heals > 0 && fencing && first_heal_seed == 0) first_heal_seed = seed;
  }
  // The scenario is not vacuous: the group ran most of the time, takeovers happened, and the
  // faults we meant to inject were injected.
  double held = static_cast<double>(total.held.count()) / static_cast<double>((kRun * seeds).count());
  EXPECT_GT(held, 0.5);
  EXPECT_GT(total.takeovers, seeds / 2);
  if (fencing) {
    EXPECT_GT(total.fences_ok, 0);
    EXPECT_GT(total.fences_failed, 0);
    EXPECT_EQ(total.both_held_heals, 0) << "first seed " << first_heal_seed;  // never with fencing
  } else {
    EXPECT_GT(total.both_held_heals, 0);  // partitions did make two holders, and they healed
  }
  std::printf("fencing=%d held=%.2f takeovers=%d fences ok=%d failed=%d both-held heals=%d\n",
              fencing ? 1 : 0, held, total.takeovers, total.fences_ok, total.fences_failed,
              total.both_held_heals);
}

TEST(ResourceManagerSim, TwoNodesWithoutFencing) { run_seeds(false, 300); }
TEST(ResourceManagerSim, TwoNodesWithFencing) { run_seeds(true, 300); }

}  // namespace
}  // namespace hapbx::cluster
