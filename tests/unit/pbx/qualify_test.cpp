// QualifyMachine: the exact probe schedule and OK / LAGGED / UNREACHABLE / UNKNOWN transitions
// with a manual clock; the OPTIONS request builder.
#include "pbx/qualify.h"

#include <gtest/gtest.h>

#include "sip/message.h"

namespace hapbx::pbx {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const QualifyTarget kTarget{sip::Endpoint{sip::TransportKind::Udp, "198.18.0.100", 5062, 0},
                            "sip:201@192.168.1.20:5062"};

class QualifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    machine_.set_peer("201", QualifySettings{milliseconds(2000), seconds(60)}, clock_.now());
  }
  // Polls and expects exactly one probe, for 201.
  uint64_t expect_probe() {
    auto probes = machine_.poll(clock_.now());
    EXPECT_EQ(probes.size(), 1u);
    if (probes.size() != 1) return 0;
    EXPECT_EQ(probes[0].peer, "201");
    EXPECT_EQ(probes[0].target, kTarget);
    return probes[0].probe_id;
  }

  core::ManualClock clock_;
  QualifyMachine machine_;
};

TEST_F(QualifyTest, UnknownUntilTargetThenProbedAtOnce) {
  EXPECT_EQ(machine_.status("201").state, QualifyState::Unknown);
  EXPECT_EQ(status_text(machine_.status("201")), "UNKNOWN");
  EXPECT_TRUE(machine_.poll(clock_.now()).empty());  // no address yet
  EXPECT_FALSE(machine_.next_wakeup().has_value());

  machine_.set_target("201", kTarget, clock_.now());
  EXPECT_EQ(machine_.next_wakeup(), clock_.now());
  EXPECT_NE(expect_probe(), 0u);
  EXPECT_TRUE(machine_.poll(clock_.now()).empty());  // one probe in flight at a time
}

TEST_F(QualifyTest, ExactScheduleAndTransitions) {
  const auto t0 = clock_.now();
  machine_.set_target("201", kTarget, t0);
  uint64_t id = expect_probe();

  // Answered in 12 ms: Reachable.
  clock_.advance(milliseconds(12));
  auto events = machine_.on_response("201", id, clock_.now());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].text, "Peer '201' is now Reachable (12ms / 2000ms)");
  EXPECT_EQ(events[0].from, QualifyState::Unknown);
  EXPECT_EQ(status_text(machine_.status("201")), "OK (12 ms)");

  // Next probe exactly qualifyfreq after the previous send.
  EXPECT_EQ(machine_.next_wakeup(), t0 + seconds(60));
  clock_.set(t0 + seconds(60) - milliseconds(1));
  EXPECT_TRUE(machine_.poll(clock_.now()).empty());
  clock_.set(t0 + seconds(60));
  id = expect_probe();

  // Same state again: no event.
  clock_.advance(milliseconds(30));
  EXPECT_TRUE(machine_.on_response("201", id, clock_.now()).empty());
  EXPECT_EQ(status_text(machine_.status("201")), "OK (30 ms)");

  // Answered after 2500 ms: Lagged.
  clock_.set(t0 + seconds(120));
  id = expect_probe();
  clock_.advance(milliseconds(2500));
  events = machine_.on_response("201", id, clock_.now());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].text, "Peer '201' is now Lagged (2500ms / 2000ms)");
  EXPECT_EQ(status_text(machine_.status("201")), "LAGGED (2500 ms)");

  // Exactly at the threshold counts as reachable.
  clock_.set(t0 + seconds(180));
  id = expect_probe();
  clock_.advance(milliseconds(2000));
  events = machine_.on_response("201", id, clock_.now());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].to, QualifyState::Reachable);

  // No answer: the daemon reports the transaction timeout (32 s later).
  clock_.set(t0 + seconds(240));
  id = expect_probe();
  clock_.advance(seconds(32));
  events = machine_.on_timeout("201", id, clock_.now());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].text, "Peer '201' is now UNREACHABLE!  Last qualify: 2000");
  EXPECT_EQ(status_text(machine_.status("201")), "UNREACHABLE");
  // A late answer to that probe is ignored.
  EXPECT_TRUE(machine_.on_response("201", id, clock_.now()).empty());
  EXPECT_EQ(machine_.status("201").state, QualifyState::Unreachable);

  // Still probed every minute; back to Reachable when it answers.
  EXPECT_EQ(machine_.next_wakeup(), t0 + seconds(300));
  clock_.set(t0 + seconds(300));
  id = expect_probe();
  clock_.advance(milliseconds(5));
  events = machine_.on_response("201", id, clock_.now());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].from, QualifyState::Unreachable);
  EXPECT_EQ(events[0].text, "Peer '201' is now Reachable (5ms / 2000ms)");
}

TEST_F(QualifyTest, NoAnswerWithinTwiceMaxIsUnreachable) {
  const auto t0 = clock_.now();
  machine_.set_target("201", kTarget, t0);
  uint64_t id = expect_probe();
  // In flight: the next wake-up is the no-answer deadline, 2 x 2000 ms after the send.
  EXPECT_EQ(machine_.next_wakeup(), t0 + milliseconds(4000));
  clock_.set(t0 + milliseconds(3999));
  EXPECT_TRUE(machine_.check_no_answer(clock_.now()).empty());
  clock_.set(t0 + milliseconds(4000));
  auto events = machine_.check_no_answer(clock_.now());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].to, QualifyState::Unreachable);
  EXPECT_TRUE(machine_.check_no_answer(clock_.now()).empty());  // reported once
  // The late answer and the transaction timeout of that probe change nothing.
  EXPECT_TRUE(machine_.on_response("201", id, clock_.now()).empty());
  EXPECT_TRUE(machine_.on_timeout("201", id, clock_.now()).empty());
  EXPECT_EQ(machine_.status("201").state, QualifyState::Unreachable);
  // Probed again qualifyfreq after the unanswered probe was sent.
  EXPECT_EQ(machine_.next_wakeup(), t0 + seconds(60));
}

TEST_F(QualifyTest, LosingTheAddressReturnsToUnknown) {
  machine_.set_target("201", kTarget, clock_.now());
  uint64_t id = expect_probe();
  clock_.advance(milliseconds(10));
  ASSERT_EQ(machine_.on_response("201", id, clock_.now()).size(), 1u);
  machine_.set_target("201", std::nullopt, clock_.now());
  EXPECT_EQ(machine_.status("201").state, QualifyState::Unknown);
  EXPECT_FALSE(machine_.next_wakeup().has_value());
  // A new address is probed at once, and a stale probe id is ignored.
  QualifyTarget moved = kTarget;
  moved.endpoint.port = 5070;
  machine_.set_target("201", moved, clock_.now());
  auto probes = machine_.poll(clock_.now());
  ASSERT_EQ(probes.size(), 1u);
  EXPECT_EQ(probes[0].target, moved);
  EXPECT_TRUE(machine_.on_timeout("201", id, clock_.now()).empty());
}

TEST_F(QualifyTest, QualifyNoIsUnmonitored) {
  machine_.set_peer("202", QualifySettings{milliseconds(0), seconds(60)}, clock_.now());
  machine_.set_target("202", kTarget, clock_.now());
  EXPECT_EQ(status_text(machine_.status("202")), "Unmonitored");
  for (const auto& p : machine_.poll(clock_.now())) EXPECT_NE(p.peer, "202");
  // Turning it on later (sip reload) starts probing.
  machine_.set_peer("202", QualifySettings{milliseconds(1000), seconds(30)}, clock_.now());
  EXPECT_EQ(machine_.status("202").state, QualifyState::Unknown);
  auto probes = machine_.poll(clock_.now());
  ASSERT_EQ(probes.size(), 1u);
  EXPECT_EQ(probes[0].peer, "202");
}

TEST(QualifyTargetOf, LatestBindingWins) {
  core::ManualClock clock;
  EXPECT_FALSE(qualify_target({}).has_value());
  Binding a;
  a.contact = "sip:201@10.0.0.1";
  a.source = kTarget.endpoint;
  a.expires_at = clock.now() + seconds(100);
  Binding b = a;
  b.contact = "sip:201@10.0.0.2";
  b.source.port = 6000;
  b.expires_at = clock.now() + seconds(200);
  std::vector<Binding> both{a, b};
  auto t = qualify_target(both);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->request_uri, "sip:201@10.0.0.2");
  EXPECT_EQ(t->endpoint.port, 6000);
}

TEST(OptionsRequest, BuildsAParseableRequest) {
  OptionsRequestParams p;
  p.request_uri = "sip:201@192.168.1.20:5062;transport=udp";
  p.local_host = "198.18.0.10";
  p.local_port = 5060;
  p.cseq = 7;
  auto req = build_options_request(p);
  auto parsed = sip::parse_message(req.bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->fault(), sip::ParseFault::None) << parsed->fault_reason();
  EXPECT_EQ(parsed->method(), sip::Method::Options);
  EXPECT_EQ(parsed->request_uri().text, p.request_uri);
  EXPECT_EQ(parsed->max_forwards(), 70u);
  EXPECT_EQ(parsed->cseq().number, 7u);
  EXPECT_EQ(parsed->cseq().method, sip::Method::Options);
  EXPECT_EQ(parsed->call_id(), req.call_id);
  ASSERT_EQ(parsed->vias().size(), 1u);
  EXPECT_EQ(parsed->vias()[0].branch, req.branch);
  EXPECT_TRUE(parsed->vias()[0].has_rport);
  EXPECT_EQ(parsed->from().tag(), req.from_tag);
  EXPECT_EQ(parsed->from().uri.user, "pbxd");
  EXPECT_TRUE(parsed->to().tag().empty());
  EXPECT_EQ(parsed->header(sip::HeaderId::UserAgent), "hapbx PBX");
  // Each request is new.
  auto other = build_options_request(p);
  EXPECT_NE(other.call_id, req.call_id);
  EXPECT_NE(other.branch, req.branch);
}

}  // namespace
}  // namespace hapbx::pbx
