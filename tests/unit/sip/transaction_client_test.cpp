// The client transaction machines (RFC 3261 17.1.1, 17.1.2, RFC 6026 7.2) driven by a fake
// clock: exact retransmission schedules, timeouts, ACK generation points, reliable transports.
#include <gtest/gtest.h>

#include "sip/transaction_client_invite.h"
#include "sip/transaction_client_non_invite.h"
#include "transaction_test_util.h"

namespace hapbx::sip {
namespace {

using testing::MachineHarness;
using testing::ms;
using std::chrono::milliseconds;
using txn::ClientInvite;
using txn::ClientNonInvite;
using txn::Failure;

constexpr bool kUdp = false;
constexpr bool kTcp = true;

TimerConfig config() { return TimerConfig{}.sanitized(); }

// --- INVITE client ---------------------------------------------------------------------------

TEST(ClientInviteTest, TimerADoublesWithoutCapUntilTimerBTimesOutAt64T1) {
  MachineHarness<ClientInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  h.run_timers();
  // A: 500, 1000, 2000, 4000, 8000, 16000 between sendings (no T2 cap for INVITE), B at 32 s.
  EXPECT_EQ(h.transmits, ms({0, 500, 1500, 3500, 7500, 15500, 31500}));
  EXPECT_EQ(h.retransmissions, 6);
  ASSERT_EQ(h.failures.size(), 1u);
  EXPECT_EQ(h.failures[0].first.failure, Failure::Timeout);
  EXPECT_EQ(h.failures[0].first.timer, TimerId::B);
  EXPECT_EQ(h.failures[0].second, milliseconds(32000));
  EXPECT_TRUE(h.machine.terminated());
}

TEST(ClientInviteTest, ProvisionalStopsRetransmissionsAndTimerB) {
  MachineHarness<ClientInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  h.run_until(milliseconds(700));  // one retransmission at 500
  h.apply(h.machine.on_response(180, h.now()));
  EXPECT_EQ(h.machine.state_name(), "Proceeding");
  EXPECT_EQ(h.delivered, 1);
  EXPECT_TRUE(h.armed.empty());  // neither A nor B: the TU owns the wait from here (Timer C)
  h.apply(h.machine.on_timer(TimerId::A, h.now()));  // a stale A must do nothing
  h.apply(h.machine.on_timer(TimerId::B, h.now()));
  EXPECT_EQ(h.transmits, ms({0, 500}));
  EXPECT_TRUE(h.failures.empty());
  h.apply(h.machine.on_response(183, h.now()));
  EXPECT_EQ(h.delivered, 2);
}

TEST(ClientInviteTest, FailureResponseIsAckedDeliveredOnceAndReAckedOnRetransmission) {
  MachineHarness<ClientInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  h.run_until(milliseconds(100));
  h.apply(h.machine.on_response(100, h.now()));
  h.apply(h.machine.on_response(486, h.now()));
  EXPECT_EQ(h.machine.state_name(), "Completed");
  EXPECT_EQ(h.acks, ms({100}));
  EXPECT_EQ(h.delivered, 2);
  EXPECT_EQ(h.deadline_offset(TimerId::D), milliseconds(32100));  // D >= 32 s over UDP

  h.run_until(milliseconds(2000));
  h.apply(h.machine.on_response(486, h.now()));  // retransmitted final response
  EXPECT_EQ(h.acks, ms({100, 2000}));
  EXPECT_EQ(h.delivered, 2) << "a retransmitted final response must not reach the TU";
  EXPECT_EQ(h.absorbed, 1);

  h.run_timers();
  EXPECT_EQ(h.terminated_at, milliseconds(32100));
  EXPECT_TRUE(h.failures.empty());
}

TEST(ClientInviteTest, FailureInCallingStopsTimerA) {
  MachineHarness<ClientInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  h.run_until(milliseconds(600));
  h.apply(h.machine.on_response(503, h.now()));
  EXPECT_FALSE(h.deadline(TimerId::A));
  EXPECT_FALSE(h.deadline(TimerId::B));
  h.run_timers();
  EXPECT_EQ(h.transmits, ms({0, 500}));
  EXPECT_TRUE(h.machine.terminated());
}

TEST(ClientInviteTest, SuccessEntersAcceptedAndPassesEvery2xxUntilTimerM) {
  MachineHarness<ClientInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  h.run_until(milliseconds(1000));
  h.apply(h.machine.on_response(200, h.now()));
  EXPECT_EQ(h.machine.state_name(), "Accepted");
  EXPECT_TRUE(h.acks.empty()) << "the ACK for a 2xx is the TU's, not the transaction's";
  EXPECT_EQ(h.deadline_offset(TimerId::M), milliseconds(33000));
  EXPECT_FALSE(h.deadline(TimerId::A));

  h.run_until(milliseconds(5000));
  h.apply(h.machine.on_response(200, h.now()));  // 2xx retransmission or a forked 2xx
  EXPECT_EQ(h.delivered, 2);
  h.apply(h.machine.on_response(486, h.now()));  // nonsense after a 2xx: absorbed
  EXPECT_EQ(h.delivered, 2);
  h.run_timers();
  EXPECT_EQ(h.terminated_at, milliseconds(33000));
  EXPECT_EQ(h.transmits, ms({0, 500}));
}

TEST(ClientInviteTest, ReliableTransportHasNoTimerAAndZeroTimerD) {
  MachineHarness<ClientInvite> h(config(), kTcp);
  h.apply(h.machine.start(h.now()));
  EXPECT_FALSE(h.deadline(TimerId::A));
  EXPECT_EQ(h.deadline_offset(TimerId::B), milliseconds(32000));
  h.run_until(milliseconds(300));
  h.apply(h.machine.on_response(404, h.now()));
  EXPECT_EQ(h.acks, ms({300}));
  EXPECT_EQ(h.delivered, 1);
  EXPECT_EQ(h.terminated_at, milliseconds(300)) << "Timer D is zero over TCP";
  EXPECT_EQ(h.transmits, ms({0}));
}

TEST(ClientInviteTest, ReliableTransportStillTimesOutWithTimerB) {
  MachineHarness<ClientInvite> h(config(), kTcp);
  h.apply(h.machine.start(h.now()));
  h.run_timers();
  EXPECT_EQ(h.transmits, ms({0}));
  ASSERT_EQ(h.failures.size(), 1u);
  EXPECT_EQ(h.failures[0].second, milliseconds(32000));
}

TEST(ClientInviteTest, TransportErrorInformsTheTu) {
  MachineHarness<ClientInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  h.apply(h.machine.on_transport_error(h.now()));
  ASSERT_EQ(h.failures.size(), 1u);
  EXPECT_EQ(h.failures[0].first.failure, Failure::TransportError);
  EXPECT_TRUE(h.machine.terminated());
}

TEST(ClientInviteTest, ScaledT1ScalesTheWholeSchedule) {
  TimerConfig custom;
  custom.t1 = milliseconds(100);
  MachineHarness<ClientInvite> h(custom.sanitized(), kUdp);
  h.apply(h.machine.start(h.now()));
  h.run_timers();
  EXPECT_EQ(h.transmits, ms({0, 100, 300, 700, 1500, 3100, 6300}));
  EXPECT_EQ(h.failures.at(0).second, milliseconds(6400));
}

TEST(ClientInviteTest, CancelGuardGivesUpTheInvite64T1AfterTheCancel) {
  MachineHarness<ClientInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  h.run_until(milliseconds(100));
  h.apply(h.machine.on_response(180, h.now()));
  h.run_until(milliseconds(10000));
  h.apply(h.machine.on_cancel_sent(h.now()));
  EXPECT_EQ(h.deadline_offset(TimerId::CancelGuard), milliseconds(42000));
  h.run_timers();
  ASSERT_EQ(h.failures.size(), 1u);
  EXPECT_EQ(h.failures[0].first.timer, TimerId::CancelGuard);
  EXPECT_EQ(h.failures[0].second, milliseconds(42000));
  EXPECT_TRUE(h.machine.terminated());
}

TEST(ClientInviteTest, CancelGuardStopsWhenTheFinalResponseComes) {
  MachineHarness<ClientInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  h.apply(h.machine.on_response(180, h.now()));
  h.apply(h.machine.on_cancel_sent(h.now()));
  h.run_until(milliseconds(1000));
  h.apply(h.machine.on_response(487, h.now()));
  EXPECT_FALSE(h.deadline(TimerId::CancelGuard));
  h.run_timers();
  EXPECT_TRUE(h.failures.empty());
  EXPECT_EQ(h.acks, ms({1000}));
}

TEST(ClientInviteTest, OutOfRangeStatusIsIgnored) {
  MachineHarness<ClientInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  h.apply(h.machine.on_response(99, h.now()));
  h.apply(h.machine.on_response(700, h.now()));
  EXPECT_EQ(h.machine.state_name(), "Calling");
  EXPECT_EQ(h.delivered, 0);
}

// --- non-INVITE client -----------------------------------------------------------------------

TEST(ClientNonInviteTest, TimerEDoublesUpToT2UntilTimerFTimesOut) {
  MachineHarness<ClientNonInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  h.run_timers();
  // E: 500, 1000, 2000, 4000 (= T2), 4000, ... ; F at 64*T1 = 32 s.
  EXPECT_EQ(h.transmits,
            ms({0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500}));
  ASSERT_EQ(h.failures.size(), 1u);
  EXPECT_EQ(h.failures[0].first.timer, TimerId::F);
  EXPECT_EQ(h.failures[0].first.failure, Failure::Timeout);
  EXPECT_EQ(h.failures[0].second, milliseconds(32000));
}

TEST(ClientNonInviteTest, ProceedingRetransmitsEveryT2AndStillTimesOut) {
  MachineHarness<ClientNonInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  h.run_until(milliseconds(600));
  h.apply(h.machine.on_response(100, h.now()));
  EXPECT_EQ(h.machine.state_name(), "Proceeding");
  EXPECT_EQ(h.delivered, 1);
  h.run_timers();
  // The E armed in Trying (due 1500) fires, then every T2.
  EXPECT_EQ(h.transmits,
            ms({0, 500, 1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500}));
  EXPECT_EQ(h.failures.at(0).second, milliseconds(32000));
}

TEST(ClientNonInviteTest, FinalResponseCompletesAndTimerKAbsorbsRetransmissions) {
  MachineHarness<ClientNonInvite> h(config(), kUdp);
  h.apply(h.machine.start(h.now()));
  h.run_until(milliseconds(800));
  h.apply(h.machine.on_response(200, h.now()));
  EXPECT_EQ(h.machine.state_name(), "Completed");
  EXPECT_EQ(h.deadline_offset(TimerId::K), milliseconds(5800));  // T4
  EXPECT_FALSE(h.deadline(TimerId::E));
  EXPECT_FALSE(h.deadline(TimerId::F));
  h.apply(h.machine.on_response(200, h.now()));
  h.apply(h.machine.on_response(200, h.now()));
  EXPECT_EQ(h.delivered, 1);
  EXPECT_EQ(h.absorbed, 2);
  h.run_timers();
  EXPECT_EQ(h.terminated_at, milliseconds(5800));
  EXPECT_EQ(h.transmits, ms({0, 500}));
  EXPECT_TRUE(h.failures.empty());
}

TEST(ClientNonInviteTest, ReliableTransportHasNoTimerEAndZeroTimerK) {
  MachineHarness<ClientNonInvite> h(config(), kTcp);
  h.apply(h.machine.start(h.now()));
  EXPECT_FALSE(h.deadline(TimerId::E));
  EXPECT_EQ(h.deadline_offset(TimerId::F), milliseconds(32000));
  h.run_until(milliseconds(10));
  h.apply(h.machine.on_response(401, h.now()));
  EXPECT_EQ(h.terminated_at, milliseconds(10));
  EXPECT_EQ(h.transmits, ms({0}));
}

TEST(ClientNonInviteTest, TransportErrorInformsTheTu) {
  MachineHarness<ClientNonInvite> h(config(), kTcp);
  h.apply(h.machine.start(h.now()));
  h.apply(h.machine.on_transport_error(h.now()));
  ASSERT_EQ(h.failures.size(), 1u);
  EXPECT_EQ(h.failures[0].first.failure, Failure::TransportError);
  EXPECT_TRUE(h.machine.terminated());
}

// --- timer table -----------------------------------------------------------------------------

TEST(TimerConfigTest, Table4Values) {
  const TimerConfig c = config();
  EXPECT_EQ(c.timeout_64t1(), milliseconds(32000));
  EXPECT_EQ(c.timer_d(false), milliseconds(32000));
  EXPECT_EQ(c.timer_d(true), Duration::zero());
  EXPECT_EQ(c.timer_i(false), milliseconds(5000));
  EXPECT_EQ(c.timer_i(true), Duration::zero());
  EXPECT_EQ(c.timer_j(false), milliseconds(32000));
  EXPECT_EQ(c.timer_j(true), Duration::zero());
  EXPECT_EQ(c.timer_k(false), milliseconds(5000));
  EXPECT_EQ(c.timer_k(true), Duration::zero());
}

TEST(TimerConfigTest, SanitizedClampsHostileValues) {
  TimerConfig bad;
  bad.t1 = Duration::zero();
  bad.t2 = -milliseconds(5);
  bad.t4 = -milliseconds(5);
  bad.trying_delay = -milliseconds(1);
  const TimerConfig c = bad.sanitized();
  EXPECT_GT(c.t1, Duration::zero());
  EXPECT_GE(c.t2, c.t1);
  EXPECT_EQ(c.t4, Duration::zero());
  EXPECT_EQ(c.trying_delay, Duration::zero());
  // Timer D never drops below 32 s over UDP, even with a tiny T1.
  EXPECT_EQ(c.timer_d(false), milliseconds(32000));
}

}  // namespace
}  // namespace hapbx::sip
