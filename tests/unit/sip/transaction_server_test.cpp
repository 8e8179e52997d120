// The server transaction machines (RFC 3261 17.2.1, 17.2.2, RFC 6026 7.1) driven by a fake
// clock: 100 Trying, absorbed retransmissions answered from the stored response, Timer G/H/I/J,
// the Accepted state, reliable transports.
#include <gtest/gtest.h>

#include "sip/transaction_server_invite.h"
#include "sip/transaction_server_non_invite.h"
#include "transaction_test_util.h"

namespace hapbx::sip {
namespace {

using testing::MachineHarness;
using testing::ms;
using std::chrono::milliseconds;
using txn::Failure;
using txn::ServerInvite;
using txn::ServerNonInvite;

constexpr bool kUdp = false;
constexpr bool kTcp = true;

TimerConfig config() { return TimerConfig{}.sanitized(); }

template <typename Harness>
bool respond(Harness& h, int status) {
  auto result = h.machine.on_tu_response(status, h.now());
  h.apply(std::move(result.actions));
  return result.accepted;
}

// --- INVITE server ---------------------------------------------------------------------------

TEST(ServerInviteTest, SendsTryingAtOnceAndAnswersRetransmissionsWithIt) {
  MachineHarness<ServerInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  EXPECT_EQ(h.delivered, 1);
  EXPECT_EQ(h.tryings, ms({0}));
  h.run_until(milliseconds(500));
  h.apply(h.machine.on_request_retransmission(h.now()));
  EXPECT_EQ(h.transmits, ms({500})) << "the stored 100 Trying is re-sent";
  EXPECT_EQ(h.absorbed, 1);
  EXPECT_EQ(h.delivered, 1) << "a retransmitted INVITE must not reach the TU";
}

TEST(ServerInviteTest, DelayedTryingIsSkippedWhenTheTuAnswersFirst) {
  TimerConfig c;
  c.trying_delay = milliseconds(200);
  MachineHarness<ServerInvite> h(c.sanitized(), kUdp);
  h.apply(h.machine.start(h.now()));
  EXPECT_TRUE(h.tryings.empty());
  h.apply(h.machine.on_request_retransmission(h.now()));
  EXPECT_TRUE(h.transmits.empty()) << "nothing stored yet: absorbed silently";
  h.run_until(milliseconds(150));
  EXPECT_TRUE(respond(h, 180));
  h.run_until(milliseconds(1000));
  EXPECT_TRUE(h.tryings.empty());
  EXPECT_EQ(h.transmits, ms({150}));
}

TEST(ServerInviteTest, DelayedTryingIsSentWhenTheTuIsSlow) {
  TimerConfig c;
  c.trying_delay = milliseconds(200);
  MachineHarness<ServerInvite> h(c.sanitized(), kUdp);
  h.apply(h.machine.start(h.now()));
  h.run_until(milliseconds(1000));
  EXPECT_EQ(h.tryings, ms({200}));
}

TEST(ServerInviteTest, FailureResponseRetransmittedByTimerGCappedAtT2UntilTimerH) {
  MachineHarness<ServerInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  h.run_until(milliseconds(100));
  EXPECT_TRUE(respond(h, 486));
  EXPECT_EQ(h.machine.state_name(), "Completed");
  h.run_timers();
  // G: 500, 1000, 2000, 4000 (T2), 4000 ... after the first sending at 100; H at 100 + 32000.
  EXPECT_EQ(h.transmits, ms({100, 600, 1600, 3600, 7600, 11600, 15600, 19600, 23600, 27600,
                             31600}));
  ASSERT_EQ(h.failures.size(), 1u);
  EXPECT_EQ(h.failures[0].first.timer, TimerId::H);
  EXPECT_EQ(h.failures[0].first.failure, Failure::Timeout);
  EXPECT_EQ(h.failures[0].second, milliseconds(32100));
}

TEST(ServerInviteTest, AckConfirmsStopsRetransmissionsAndTimerIEnds) {
  MachineHarness<ServerInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  EXPECT_TRUE(respond(h, 404));
  h.run_until(milliseconds(800));  // one G retransmission at 500
  h.apply(h.machine.on_request_retransmission(h.now()));  // INVITE again: 404 again
  EXPECT_EQ(h.transmits, ms({0, 500, 800}));
  h.apply(h.machine.on_ack(h.now()));
  EXPECT_EQ(h.machine.state_name(), "Confirmed");
  EXPECT_EQ(h.delivered, 1) << "the ACK for a non-2xx is not passed to the TU";
  EXPECT_FALSE(h.deadline(TimerId::G));
  EXPECT_FALSE(h.deadline(TimerId::H));
  EXPECT_EQ(h.deadline_offset(TimerId::I), milliseconds(5800));  // T4
  h.apply(h.machine.on_ack(h.now()));  // retransmitted ACK
  h.run_timers();
  EXPECT_EQ(h.transmits, ms({0, 500, 800}));
  EXPECT_EQ(h.terminated_at, milliseconds(5800));
  EXPECT_TRUE(h.failures.empty());
  EXPECT_EQ(h.absorbed, 2);
}

TEST(ServerInviteTest, ReliableTransportHasNoTimerGAndZeroTimerI) {
  MachineHarness<ServerInvite> h(config(), kTcp);
  h.apply(h.machine.start(h.now()));
  EXPECT_TRUE(respond(h, 603));
  EXPECT_FALSE(h.deadline(TimerId::G));
  EXPECT_EQ(h.deadline_offset(TimerId::H), milliseconds(32000));
  h.run_until(milliseconds(40));
  h.apply(h.machine.on_ack(h.now()));
  EXPECT_EQ(h.terminated_at, milliseconds(40)) << "Timer I is zero over TCP";
  EXPECT_EQ(h.transmits, ms({0}));
}

TEST(ServerInviteTest, ReliableTransportStillTimesOutWithoutAck) {
  MachineHarness<ServerInvite> h(config(), kTcp);
  h.apply(h.machine.start(h.now()));
  EXPECT_TRUE(respond(h, 500));
  h.run_timers();
  EXPECT_EQ(h.transmits, ms({0}));
  EXPECT_EQ(h.failures.at(0).second, milliseconds(32000));
}

TEST(ServerInviteTest, SuccessEntersAcceptedAbsorbsInvitesPassesAcksUntilTimerL) {
  MachineHarness<ServerInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  h.run_until(milliseconds(100));
  EXPECT_TRUE(respond(h, 200));
  EXPECT_EQ(h.machine.state_name(), "Accepted");
  EXPECT_EQ(h.deadline_offset(TimerId::L), milliseconds(32100));
  h.run_until(milliseconds(600));
  h.apply(h.machine.on_request_retransmission(h.now()));
  EXPECT_EQ(h.transmits, ms({100})) << "no 2xx retransmission of the transaction's own";
  EXPECT_TRUE(respond(h, 200)) << "the TU's own 2xx retransmission goes out";
  EXPECT_EQ(h.transmits, ms({100, 600}));
  EXPECT_FALSE(respond(h, 486)) << "no failure after a success";
  h.apply(h.machine.on_ack(h.now()));
  EXPECT_EQ(h.delivered, 2) << "the ACK for a 2xx belongs to the TU";
  h.run_timers();
  EXPECT_EQ(h.terminated_at, milliseconds(32100));
}

TEST(ServerInviteTest, ResponsesAfterCompletionAreRefused) {
  MachineHarness<ServerInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  EXPECT_TRUE(respond(h, 180));
  EXPECT_TRUE(respond(h, 480));
  EXPECT_FALSE(respond(h, 200));
  EXPECT_FALSE(respond(h, 180));
  EXPECT_EQ(h.transmits, ms({0, 0}));
  EXPECT_FALSE(respond(h, 42));
}

TEST(ServerInviteTest, TransportErrorInformsTheTu) {
  MachineHarness<ServerInvite> h(config(), kTcp);
  h.apply(h.machine.start(h.now()));
  EXPECT_TRUE(respond(h, 486));
  h.apply(h.machine.on_transport_error(h.now()));
  ASSERT_EQ(h.failures.size(), 1u);
  EXPECT_EQ(h.failures[0].first.failure, Failure::TransportError);
  EXPECT_TRUE(h.machine.terminated());
}

// --- non-INVITE server -----------------------------------------------------------------------

TEST(ServerNonInviteTest, TryingDiscardsRetransmissionsProceedingAndCompletedAnswerThem) {
  MachineHarness<ServerNonInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  EXPECT_EQ(h.delivered, 1);
  h.apply(h.machine.on_request_retransmission(h.now()));
  EXPECT_TRUE(h.transmits.empty());
  EXPECT_EQ(h.absorbed, 1);

  h.run_until(milliseconds(100));
  EXPECT_TRUE(respond(h, 100));
  EXPECT_EQ(h.machine.state_name(), "Proceeding");
  h.run_until(milliseconds(200));
  h.apply(h.machine.on_request_retransmission(h.now()));
  EXPECT_EQ(h.transmits, ms({100, 200}));

  h.run_until(milliseconds(300));
  EXPECT_TRUE(respond(h, 200));
  EXPECT_EQ(h.machine.state_name(), "Completed");
  EXPECT_EQ(h.deadline_offset(TimerId::J), milliseconds(32300));  // 64*T1
  h.run_until(milliseconds(400));
  h.apply(h.machine.on_request_retransmission(h.now()));
  EXPECT_EQ(h.transmits, ms({100, 200, 300, 400}));
  EXPECT_EQ(h.retransmissions, 2);
  EXPECT_EQ(h.absorbed, 3);
  EXPECT_EQ(h.delivered, 1);
  EXPECT_FALSE(respond(h, 500)) << "Completed discards further responses";

  h.run_timers();
  EXPECT_EQ(h.terminated_at, milliseconds(32300));
  EXPECT_EQ(h.transmits.size(), 4u) << "no retransmission timer on the server side";
}

TEST(ServerNonInviteTest, ReliableTransportHasZeroTimerJ) {
  MachineHarness<ServerNonInvite> h(config(), kTcp);
  h.apply(h.machine.start(h.now()));
  h.run_until(milliseconds(70));
  EXPECT_TRUE(respond(h, 200));
  EXPECT_EQ(h.terminated_at, milliseconds(70));
}

TEST(ServerNonInviteTest, TransportErrorInformsTheTu) {
  MachineHarness<ServerNonInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  EXPECT_TRUE(respond(h, 180));
  h.apply(h.machine.on_transport_error(h.now()));
  ASSERT_EQ(h.failures.size(), 1u);
  EXPECT_EQ(h.failures[0].first.failure, Failure::TransportError);
  EXPECT_TRUE(h.machine.terminated());
}

}  // namespace
}  // namespace hapbx::sip
