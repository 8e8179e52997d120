// Seeded simulation: two Membership instances exchanging encoded, signed heartbeats over two
// simulated media, each direction of each medium with its own loss, delay (so reordering),
// partitions and cuts; an attacker duplicates, replays and tampers with datagrams. Hundreds of
// seeds, a few seconds of simulated time each, milliseconds of real time.
//
// Properties:
//  P1 one medium delivering every datagram within deadtime - keepalive (a heartbeat sent right
//     after the previous one may take the whole delay) keeps each node alive for the other,
//     whatever the other medium does, and across a quick restart of the peer;
//  P2 after a full partition (all media, both directions, in-flight datagrams lost) longer than
//     deadtime, both sides declare the other dead within deadtime + keepalive of its start, and
//     see it up again after the partition heals;
//  P3 duplicates, replays and forgeries never change anything: the run with the attacker gives
//     exactly the same membership transitions, at the same times, as the run without.
#include <gtest/gtest.h>

#include <memory>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "cluster/heartbeat_message.h"
#include "cluster/membership.h"

namespace hapbx::cluster {
namespace {

using namespace std::chrono_literals;
namespace act = membership_action;

constexpr Duration kKeepalive = 100ms;
constexpr Duration kDeadtime = 500ms;
constexpr Duration kInitdead = 1000ms;
constexpr Duration kRun = 8s;
constexpr std::size_t kMedia = 2;
const char* const kNames[2] = {"asterisk1", "asterisk2"};

struct Window {
  Duration from, to;  // relative to the start
};

// One direction of one medium.
struct Link {
  double loss = 0;
  Duration max_delay = 0ms;
  std::vector<Window> cuts;  // a datagram delivered inside a cut is lost
};

struct Scenario {
  Link links[2][kMedia];       // [from node][medium]
  std::optional<Window> b_down;  // node 1 crashes at `from` and restarts at `to`
  std::optional<Window> partition;  // every link cut
};

struct Transition {
  Duration at;
  int observer;
  std::string what;  // "up asterisk2", "dead asterisk2 (...)", "restarted asterisk2"
  bool operator==(const Transition&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Transition& t) {
  return os << std::chrono::duration_cast<std::chrono::microseconds>(t.at).count() << "us n"
            << t.observer << " " << t.what;
}

struct Outcome {
  std::vector<Transition> transitions;
  std::uint64_t replayed = 0, forged = 0, stale = 0, accepted = 0;
};

class Sim {
 public:
  Sim(const Scenario& s, std::uint64_t seed, bool attacker)
      : s_(s), seed_(seed), evil_(seed ^ 0x5eed5eedULL), attacker_(attacker) {
    keys_ = {{1, AuthMethod::Sha1, "old secret"}, {2, AuthMethod::Sha256, "thesis secret"}};
    start_node(0, 1000);
    start_node(1, 2000);
    if (attacker_) {
      std::uniform_int_distribution<int> gap_us(1, 40000);
      for (Duration t = 0ms; t < kRun; t += std::chrono::microseconds(gap_us(evil_))) {
        push(t0_ + t, Datagram{-1, 0, {}, true});
      }
    }
  }

  Outcome run() {
    const TimePoint end = t0_ + kRun;
    bool b_crashed = false, b_restarted = false;
    for (;;) {
      TimePoint t = end;
      int timer_node = -1;
      for (int i = 0; i < 2; ++i) {
        if (!nodes_[i]) continue;
        if (auto nt = nodes_[i]->next_timer(); nt && *nt < t) {
          t = *nt;
          timer_node = i;
        }
      }
      TimePoint crash_at = s_.b_down && !b_crashed ? t0_ + s_.b_down->from : end;
      TimePoint restart_at = s_.b_down && !b_restarted ? t0_ + s_.b_down->to : end;
      if (!queue_.empty() && queue_.top().at <= t && queue_.top().at <= crash_at &&
          queue_.top().at <= restart_at) {
        Entry e = queue_.top();
        queue_.pop();
        deliver(e.at, std::move(e.d));
        continue;
      }
      if (crash_at <= t && crash_at < end) {  // power loss: it just stops
        nodes_[1].reset();
        b_crashed = true;
        continue;
      }
      if (restart_at <= t && restart_at < end) {
        start_node(1, 3000, restart_at);
        b_restarted = true;
        continue;
      }
      if (timer_node < 0 || t >= end) break;
      nodes_[timer_node]->tick(t);
      drain(timer_node, t);
    }
    out_.accepted = nodes_[0]->counters().accepted;
    for (int i = 0; i < 2; ++i) {
      if (!nodes_[i]) continue;
      out_.replayed += nodes_[i]->counters().replayed;
      out_.stale += nodes_[i]->counters().stale_generation;
    }
    return out_;
  }

  TimePoint t0() const { return t0_; }

 private:
  struct Datagram {
    int to = 0;
    std::size_t medium = 0;
    Bytes bytes;
    bool attack = false;   // an attacker's slot: replay or forge something captured
    bool duplicate = false;
  };
  struct Entry {
    TimePoint at;
    std::uint64_t id;
    Datagram d;
    bool operator>(const Entry& o) const { return at != o.at ? at > o.at : id > o.id; }
  };

  void push(TimePoint at, Datagram d) { queue_.push(Entry{at, ++ids_, std::move(d)}); }

  void start_node(int i, std::uint64_t wall_ms, std::optional<TimePoint> at = std::nullopt) {
    MembershipConfig c;
    c.node = kNames[i];
    c.peers = {kNames[0], kNames[1]};
    c.keepalive = kKeepalive;
    c.deadtime = kDeadtime;
    c.warntime = 300ms;
    c.initdead = kInitdead;
    c.media = kMedia;
    const TimePoint now = at.value_or(t0_);
    nodes_[i] = std::make_unique<Membership>(c, make_generation(wall_ms, 7), now);
    drain(i, now);
  }

  bool cut(int from, std::size_t medium, TimePoint at) const {
    const Duration rel = at - t0_;
    if (s_.partition && rel >= s_.partition->from && rel < s_.partition->to) return true;
    for (const Window& w : s_.links[from][medium].cuts) {
      if (rel >= w.from && rel < w.to) return true;
    }
    return false;
  }

  void drain(int i, TimePoint now) {
    for (auto& a : nodes_[i]->take_actions()) {
      if (auto* send = std::get_if<act::SendHeartbeat>(&a)) {
        auto bytes = encode(send->message, keys_[1]);
        ASSERT_TRUE(bytes.ok()) << bytes.error().message;
        const Link& l = s_.links[i][send->medium];
        // The network's fate of a datagram depends only on the seed, its sender, medium and send
        // time, so a datagram the attacker provokes does not shift the others' fates.
        std::mt19937_64 fate(seed_ ^ (std::uint64_t(i + 1) * 0x9E3779B97F4A7C15ULL) ^
                             (std::uint64_t(send->medium + 1) * 0xC2B2AE3D27D4EB4FULL) ^
                             std::uint64_t((now - t0_).count()) ^ send->message.generation);
        fate.discard(2);
        const bool lost = std::uniform_real_distribution<double>(0, 1)(fate) < l.loss;
        const auto delay = std::chrono::microseconds(std::uniform_int_distribution<std::int64_t>(
            0, std::chrono::duration_cast<std::chrono::microseconds>(l.max_delay).count())(fate));
        if (!lost) push(now + delay, Datagram{1 - i, send->medium, std::move(*bytes)});
      } else if (auto* up = std::get_if<act::NodeUp>(&a)) {
        out_.transitions.push_back({now - t0_, i, "up " + up->node});
      } else if (auto* dead = std::get_if<act::NodeDead>(&a)) {
        out_.transitions.push_back(
            {now - t0_, i, "dead " + dead->node + " (" + std::string(to_string(dead->why)) + ")"});
      } else if (auto* r = std::get_if<act::NodeRestarted>(&a)) {
        out_.transitions.push_back({now - t0_, i, "restarted " + r->node});
      }
    }
  }

  void deliver(TimePoint now, Datagram d) {
    if (d.attack) {
      if (captured_.empty()) return;
      Datagram x = captured_[std::uniform_int_distribution<std::size_t>(0, captured_.size() - 1)(evil_)];
      x.to = std::uniform_int_distribution<int>(0, 1)(evil_);
      x.medium = std::uniform_int_distribution<std::size_t>(0, kMedia - 1)(evil_);
      if (std::uniform_int_distribution<int>(0, 3)(evil_) == 0) {  // forge: flip a byte
        x.bytes[std::uniform_int_distribution<std::size_t>(0, x.bytes.size() - 1)(evil_)] ^= 0x20;
      }
      x.attack = false;
      x.duplicate = true;
      return receive(now, x);
    }
    if (cut(1 - d.to, d.medium, now)) return;
    if (attacker_ && !d.duplicate) {
      if (captured_.size() < 4096) captured_.push_back(d);
      if (std::uniform_int_distribution<int>(0, 4)(evil_) == 0) {  // the network duplicates it
        Datagram copy = d;
        copy.duplicate = true;
        push(now + std::chrono::microseconds(std::uniform_int_distribution<int>(0, 300000)(evil_)),
             std::move(copy));
      }
    }
    receive(now, d);
  }

  void receive(TimePoint now, const Datagram& d) {
    if (!nodes_[d.to]) return;  // crashed
    DecodeFailure why = DecodeFailure::None;
    auto m = decode(d.bytes, keys_, &why);
    if (!m.ok()) {
      ++out_.forged;
      return;
    }
    nodes_[d.to]->on_heartbeat(*m, d.medium, now);
    drain(d.to, now);
  }

  Scenario s_;
  std::uint64_t seed_;
  std::mt19937_64 evil_;
  bool attacker_;
  std::vector<AuthKey> keys_;
  TimePoint t0_ = TimePoint{} + std::chrono::hours(1000);
  std::unique_ptr<Membership> nodes_[2];
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue_;
  std::uint64_t ids_ = 0;
  std::vector<Datagram> captured_;
  Outcome out_;
};

Duration ms(std::int64_t v) { return std::chrono::milliseconds(v); }

// A link that misbehaves in every way: loss, long delays (reordering past the deadline), flaps.
Link bad_link(std::mt19937_64& rng) {
  Link l;
  l.loss = std::uniform_real_distribution<double>(0, 1)(rng);
  l.max_delay = ms(std::uniform_int_distribution<int>(0, 1500)(rng));
  std::uniform_int_distribution<int> at(0, 8000), len(10, 2000);
  for (int i = std::uniform_int_distribution<int>(0, 4)(rng); i > 0; --i) {
    const int from = at(rng);
    l.cuts.push_back({ms(from), ms(from + len(rng))});
  }
  return l;
}

// P3. One allowance: a replay of a peer's current-generation heartbeat to a node that has just
// restarted teaches it the peer's generation early (true information: it cannot make the peer
// look alive, see membership.h), so the restart handshake may finish sooner. Then the same
// transitions happen in the same order, deaths at the same times.
void check_attacker_changes_nothing(const Scenario& s, std::uint64_t seed, const Outcome& clean) {
  Sim dirty(s, seed, true);
  const Outcome o = dirty.run();
  if (!s.b_down) {
    EXPECT_EQ(o.transitions, clean.transitions) << "P3, seed " << seed;
  } else {
    ASSERT_EQ(o.transitions.size(), clean.transitions.size()) << "P3, seed " << seed;
    for (std::size_t i = 0; i < o.transitions.size(); ++i) {
      EXPECT_EQ(o.transitions[i].what, clean.transitions[i].what) << "P3, seed " << seed;
      EXPECT_EQ(o.transitions[i].observer, clean.transitions[i].observer) << "P3, seed " << seed;
      if (o.transitions[i].what.rfind("dead", 0) == 0) {
        EXPECT_EQ(o.transitions[i].at, clean.transitions[i].at) << "P3, seed " << seed;
      }
    }
  }
  EXPECT_GT(o.replayed + o.stale + o.forged, 0u) << "the attacker did something, seed " << seed;
}

TEST(MembershipSim, OneGoodMediumKeepsNodesAlive) {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 rng(seed);
    Scenario s;
    const std::size_t good = seed % kMedia;
    const bool restart = seed % 3 == 0;
    // A heartbeat sent just after the last one may take the whole delay: keepalive + delay must
    // fit in deadtime. With a restart, the downtime and the echo handshake (three one-way
    // trips: hello, echo, echo back) must fit as well: keepalive + down + 3 delay <= deadtime.
    const int max_good = restart ? 100 : 400;
    for (int from = 0; from < 2; ++from) {
      for (std::size_t m = 0; m < kMedia; ++m) {
        if (m == good) {
          s.links[from][m].max_delay = ms(std::uniform_int_distribution<int>(0, max_good)(rng));
        } else {
          s.links[from][m] = bad_link(rng);
        }
      }
    }
    if (restart) {
      const int down = std::uniform_int_distribution<int>(1500, 6000)(rng);
      s.b_down = Window{ms(down), ms(down + std::uniform_int_distribution<int>(0, 100)(rng))};
    }
    Sim sim(s, seed, false);
    const Outcome o = sim.run();
    int ups = 0, restarts = 0;
    for (const Transition& t : o.transitions) {
      EXPECT_EQ(t.what.rfind("dead", 0), std::string::npos) << "P1, seed " << seed << ": " << t;
      ups += t.what.rfind("up", 0) == 0;
      restarts += t.what.rfind("restarted", 0) == 0;
    }
    EXPECT_EQ(ups, restart ? 3 : 2) << "seed " << seed;  // a restarted node meets its peer anew
    EXPECT_EQ(restarts, restart ? 1 : 0) << "seed " << seed;
    check_attacker_changes_nothing(s, seed, o);
    if (HasFailure()) return;
  }
}

TEST(MembershipSim, FullPartitionKillsBothSidesInTime) {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 rng(seed * 7919);
    Scenario s;
    for (int from = 0; from < 2; ++from) {
      for (std::size_t m = 0; m < kMedia; ++m) {
        s.links[from][m].loss = std::uniform_real_distribution<double>(0, 0.2)(rng);
        s.links[from][m].max_delay = ms(std::uniform_int_distribution<int>(0, 250)(rng));
      }
    }
    // Asymmetric trouble on one medium before the partition.
    s.links[seed % 2][seed % kMedia].cuts.push_back({ms(1200), ms(1800)});
    const int p = std::uniform_int_distribution<int>(2000, 4000)(rng);
    const int len = std::uniform_int_distribution<int>(600, 3000)(rng);  // > deadtime
    s.partition = Window{ms(p), ms(p + len)};
    Sim sim(s, seed, false);
    const Outcome o = sim.run();
    const Duration start = ms(p), heal = ms(p + len);
    for (int observer = 0; observer < 2; ++observer) {
      // The last transition before the partition's end (for this observer) must be a death,
      // no later than deadtime + keepalive after the partition began.
      std::optional<Transition> last_in, first_after;
      for (const Transition& t : o.transitions) {
        if (t.observer != observer) continue;
        if (t.at < heal) last_in = t;
        if (t.at >= heal && !first_after) first_after = t;
        if (t.at >= start && t.at < heal) {
          EXPECT_EQ(t.what.rfind("dead", 0), 0u) << "seed " << seed << ": " << t;
          EXPECT_LE(t.at, start + kDeadtime + kKeepalive) << "P2, seed " << seed << ": " << t;
        }
      }
      ASSERT_TRUE(last_in.has_value()) << "seed " << seed;
      EXPECT_EQ(last_in->what.rfind("dead", 0), 0u) << "P2, seed " << seed << ": " << *last_in;
      ASSERT_TRUE(first_after.has_value() || heal + kDeadtime > kRun) << "seed " << seed;
      if (first_after) {
        EXPECT_EQ(first_after->what.rfind("up", 0), 0u) << "seed " << seed << ": " << *first_after;
      }
    }
    check_attacker_changes_nothing(s, seed, o);
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace hapbx::cluster
