// The transaction layer end to end with a fake clock: bytes out and TU deliveries for each of
// the four transaction kinds, absorbed retransmissions answered from the stored response,
// stray messages, reliable transports, the capacity limit and the counters.
#include <gtest/gtest.h>

#include <chrono>

#include "core/clock.h"
#include "sip/transaction_layer.h"
#include "transaction_layer_test_util.h"

namespace hapbx::sip {
namespace {

using std::chrono::milliseconds;
using testing::build_request;
using testing::parse;
using testing::request;
using testing::RequestSpec;
using testing::response_to;
using testing::take;
using testing::tcp_peer;
using testing::udp_peer;

class TransactionLayerTest : public ::testing::Test {
 protected:
  // Fires the layer's timers the way a driver would, up to `offset` from the test's start,
  // and returns the offsets at which bytes went out.
  std::vector<milliseconds> run_until(milliseconds offset) {
    std::vector<milliseconds> sent;
    const TimePoint target = start_ + offset;
    while (auto deadline = layer_.next_deadline()) {
      if (*deadline > target) break;
      clock_.set(*deadline);
      layer_.on_timer(clock_.now());
      for (auto& send : take<SendBytes>(pending_ = layer_.take_actions())) {
        sent.push_back(elapsed());
        sent_bytes_.push_back(std::move(send.bytes));
      }
      for (auto& rest : pending_) leftovers_.push_back(std::move(rest));
    }
    clock_.set(target);
    return sent;
  }
  milliseconds elapsed() const {
    return std::chrono::duration_cast<milliseconds>(clock_.now() - start_);
  }
  TimePoint now() const { return clock_.now(); }

  core::ManualClock clock_;
  TimePoint start_ = clock_.now();
  TransactionLayer layer_;
  std::vector<LayerAction> pending_;
  std::vector<LayerAction> leftovers_;    // non-SendBytes actions seen by run_until
  std::vector<std::string> sent_bytes_;  // bytes sent by run_until
};

std::vector<milliseconds> ms(std::initializer_list<long> values) {
  std::vector<milliseconds> out;
  for (long v : values) out.emplace_back(v);
  return out;
}

// --- server INVITE -------------------------------------------------------------------------

TEST_F(TransactionLayerTest, ServerInviteSendsTryingDeliversOnceAndAnswersRetransmissions) {
  const std::string invite = build_request({});
  layer_.on_message(parse(invite), udp_peer(), now());
  auto actions = layer_.take_actions();
  auto sends = take<SendBytes>(actions);
  auto requests = take<RequestForTu>(actions);
  ASSERT_EQ(sends.size(), 1u);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(actions.empty());
  Message trying = parse(sends[0].bytes);
  EXPECT_EQ(trying.status_code(), 100);
  EXPECT_EQ(trying.vias().at(0).branch, "z9hG4bKbranch1");
  EXPECT_EQ(sends[0].destination, udp_peer());
  EXPECT_EQ(requests[0].request.method(), Method::Invite);
  const TransactionId id = requests[0].transaction;
  EXPECT_EQ(layer_.state_name(id), "Proceeding");

  clock_.advance(milliseconds(500));
  layer_.on_message(parse(invite), udp_peer(), now());  // retransmission
  actions = layer_.take_actions();
  ASSERT_EQ(actions.size(), 1u);
  auto resend = take<SendBytes>(actions);
  ASSERT_EQ(resend.size(), 1u);
  EXPECT_EQ(resend[0].bytes, sends[0].bytes) << "answered with the stored 100 Trying";
  EXPECT_EQ(layer_.counters().retransmissions_absorbed, 1u);

  // The TU rings: now a retransmitted INVITE gets the 180.
  Message req = parse(invite);
  std::string ringing = make_response(req, 180, {}, "uas1").finish();
  ASSERT_TRUE(layer_.send_response(id, ringing, 180, now()).ok());
  EXPECT_EQ(take<SendBytes>(pending_ = layer_.take_actions()).at(0).bytes, ringing);
  layer_.on_message(parse(invite), udp_peer(), now());
  EXPECT_EQ(take<SendBytes>(pending_ = layer_.take_actions()).at(0).bytes, ringing);
}

TEST_F(TransactionLayerTest, ServerInviteFailureRetransmitsOnTimerGUntilAckThenTimerI) {
  const std::string invite = build_request({});
  layer_.on_message(parse(invite), udp_peer(), now());
  auto actions = layer_.take_actions();
  const TransactionId id = take<RequestForTu>(actions).at(0).transaction;
  const std::string busy = make_response(parse(invite), 486, {}, "uas1").finish();
  ASSERT_TRUE(layer_.send_response(id, busy, 486, now()).ok());
  EXPECT_EQ(take<SendBytes>(pending_ = layer_.take_actions()).at(0).bytes, busy);

  EXPECT_EQ(run_until(milliseconds(7600)), ms({500, 1500, 3500, 7500}));
  for (const std::string& bytes : sent_bytes_) EXPECT_EQ(bytes, busy);
  EXPECT_EQ(layer_.counters().retransmissions_sent, 4u);

  // The ACK for the 486 (same branch, To tag from our response) confirms the transaction.
  RequestSpec ack;
  ack.method = "ACK";
  ack.to_tag = "uas1";
  layer_.on_message(request(ack), udp_peer(), now());
  EXPECT_TRUE(layer_.take_actions().empty()) << "the ACK for a non-2xx stays in the transaction";
  EXPECT_EQ(layer_.state_name(id), "Confirmed");
  EXPECT_EQ(layer_.next_deadline(), start_ + milliseconds(7600 + 5000));  // Timer I = T4

  EXPECT_TRUE(run_until(milliseconds(20000)).empty());
  ASSERT_EQ(leftovers_.size(), 1u);
  auto ended = take<ServerTransactionTerminated>(leftovers_);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].transaction, id);
  EXPECT_EQ(layer_.size(), 0u);
  EXPECT_FALSE(layer_.next_deadline());
}

TEST_F(TransactionLayerTest, ServerInviteWithoutAckTimesOutAtTimerH) {
  const std::string invite = build_request({});
  layer_.on_message(parse(invite), udp_peer(), now());
  auto actions = layer_.take_actions();
  const TransactionId id = take<RequestForTu>(actions).at(0).transaction;
  ASSERT_TRUE(layer_.send_response(id, make_response(parse(invite), 404).finish(), 404, now()).ok());
  layer_.take_actions();
  const auto sent = run_until(milliseconds(60000));
  EXPECT_EQ(sent.back(), milliseconds(31500));
  auto failed = take<ServerTransactionFailed>(leftovers_);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].failure, txn::Failure::Timeout);
  EXPECT_EQ(take<ServerTransactionTerminated>(leftovers_).size(), 1u);
  EXPECT_EQ(layer_.counters().timeouts, 1u);
  EXPECT_EQ(layer_.size(), 0u);
}

TEST_F(TransactionLayerTest, ServerInviteSuccessPassesAckForTheTwoHundredToTheTu) {
  const std::string invite = build_request({});
  layer_.on_message(parse(invite), udp_peer(), now());
  auto actions = layer_.take_actions();
  const TransactionId id = take<RequestForTu>(actions).at(0).transaction;
  const std::string ok = make_response(parse(invite), 200, {}, "uas1").finish();
  ASSERT_TRUE(layer_.send_response(id, ok, 200, now()).ok());
  layer_.take_actions();
  EXPECT_EQ(layer_.state_name(id), "Accepted");

  layer_.on_message(parse(invite), udp_peer(), now());  // INVITE retransmission: absorbed
  EXPECT_TRUE(layer_.take_actions().empty());

  // The ACK for a 2xx has a branch of its own: it matches no transaction and goes up.
  RequestSpec ack;
  ack.method = "ACK";
  ack.branch = "z9hG4bKack2xx";
  ack.to_tag = "uas1";
  layer_.on_message(request(ack), udp_peer(), now());
  actions = layer_.take_actions();
  auto acks = take<AckForTu>(actions);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].transaction, 0u);
  EXPECT_EQ(layer_.counters().unmatched_acks, 1u);

  EXPECT_TRUE(run_until(milliseconds(40000)).empty()) << "no 2xx retransmission of its own";
  EXPECT_EQ(take<ServerTransactionTerminated>(leftovers_).size(), 1u);  // Timer L
  EXPECT_EQ(layer_.size(), 0u);
}

TEST_F(TransactionLayerTest, ServerInviteOverTcpHasNoTimerGAndEndsAtTheAck) {
  const std::string invite = build_request({});
  layer_.on_message(parse(invite), tcp_peer(), now());
  auto actions = layer_.take_actions();
  auto sends = take<SendBytes>(actions);
  EXPECT_EQ(sends.at(0).destination, tcp_peer()) << "responses reuse the connection";
  const TransactionId id = take<RequestForTu>(actions).at(0).transaction;
  ASSERT_TRUE(
      layer_.send_response(id, make_response(parse(invite), 480).finish(), 480, now()).ok());
  layer_.take_actions();
  EXPECT_EQ(layer_.next_deadline(), start_ + milliseconds(32000)) << "only Timer H";
  RequestSpec ack;
  ack.method = "ACK";
  ack.to_tag = "totag9";
  layer_.on_message(request(ack), tcp_peer(), now());
  actions = layer_.take_actions();
  EXPECT_EQ(take<ServerTransactionTerminated>(actions).size(), 1u) << "Timer I is zero";
  EXPECT_EQ(layer_.size(), 0u);
  EXPECT_FALSE(layer_.next_deadline());
}

// --- server non-INVITE ---------------------------------------------------------------------

TEST_F(TransactionLayerTest, ServerNonInviteAnswersRetransmissionsFromTheStoredFinal) {
  RequestSpec spec;
  spec.method = "REGISTER";
  spec.rport = true;
  const std::string reg = build_request(spec);
  const Endpoint nat = udp_peer(34567);  // behind NAT: the source port differs from sent-by
  layer_.on_message(parse(reg), nat, now());
  auto actions = layer_.take_actions();
  EXPECT_TRUE(take<SendBytes>(actions).empty()) << "no 100 Trying for non-INVITE";
  const TransactionId id = take<RequestForTu>(actions).at(0).transaction;

  layer_.on_message(parse(reg), nat, now());  // Trying: discarded
  EXPECT_TRUE(layer_.take_actions().empty());

  const std::string ok = make_response(parse(reg), 200, {}, "reg1").finish();
  ASSERT_TRUE(layer_.send_response(id, ok, 200, now()).ok());
  auto sends = take<SendBytes>(pending_ = layer_.take_actions());
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].destination, nat) << "rport: back to the source port";

  clock_.advance(milliseconds(1000));
  layer_.on_message(parse(reg), nat, now());
  sends = take<SendBytes>(pending_ = layer_.take_actions());
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].bytes, ok);
  EXPECT_TRUE(pending_.empty()) << "the TU does not see the retransmission";
  EXPECT_EQ(layer_.counters().retransmissions_absorbed, 2u);

  const Status late = layer_.send_response(id, ok, 200, now());
  EXPECT_FALSE(late.ok()) << "a completed transaction takes no second final response";

  EXPECT_TRUE(run_until(milliseconds(40000)).empty());
  EXPECT_EQ(take<ServerTransactionTerminated>(leftovers_).size(), 1u);  // Timer J at 64*T1
  EXPECT_FALSE(layer_.send_response(id, ok, 200, now()).ok()) << "gone";
}

TEST_F(TransactionLayerTest, StatelessFinalForgetsTheTransactionAtOnce) {
  RequestSpec spec;
  spec.method = "REGISTER";
  spec.rport = true;
  const std::string reg = build_request(spec);
  const Endpoint nat = udp_peer(34567);
  layer_.on_message(parse(reg), nat, now());
  auto actions = layer_.take_actions();
  const TransactionId id = take<RequestForTu>(actions).at(0).transaction;
  ASSERT_EQ(layer_.size(), 1u);

  const std::string challenge = make_response(parse(reg), 401, {}, "c1").finish();
  ASSERT_TRUE(layer_.send_final_and_forget(id, challenge).ok());
  auto sends = take<SendBytes>(pending_ = layer_.take_actions());
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].destination, nat);
  EXPECT_EQ(sends[0].bytes, challenge);
  EXPECT_EQ(layer_.size(), 0u) << "nothing is kept for Timer J";
  EXPECT_FALSE(layer_.next_deadline().has_value());
  EXPECT_EQ(layer_.counters().stateless_finals, 1u);

  // A retransmission is a new request for the TU, which answers it again.
  layer_.on_message(parse(reg), nat, now());
  actions = layer_.take_actions();
  EXPECT_EQ(take<RequestForTu>(actions).size(), 1u);
  EXPECT_FALSE(layer_.send_final_and_forget(id, challenge).ok()) << "the old id is gone";
}

TEST_F(TransactionLayerTest, StatelessFinalIsRefusedForInvite) {
  RequestSpec spec;
  spec.method = "INVITE";
  const std::string invite = build_request(spec);
  layer_.on_message(parse(invite), udp_peer(5060), now());
  auto actions = layer_.take_actions();
  const TransactionId id = take<RequestForTu>(actions).at(0).transaction;
  EXPECT_FALSE(layer_.send_final_and_forget(id, make_response(parse(invite), 486).finish()).ok());
  EXPECT_EQ(layer_.size(), 1u);
}

TEST_F(TransactionLayerTest, ServerNonInviteOverTcpEndsWithTheFinalResponse) {
  RequestSpec spec;
  spec.method = "OPTIONS";
  const std::string options = build_request(spec);
  layer_.on_message(parse(options), tcp_peer(), now());
  auto actions = layer_.take_actions();
  const TransactionId id = take<RequestForTu>(actions).at(0).transaction;
  ASSERT_TRUE(
      layer_.send_response(id, make_response(parse(options), 200).finish(), 200, now()).ok());
  actions = layer_.take_actions();
  EXPECT_EQ(take<SendBytes>(actions).size(), 1u);
  EXPECT_EQ(take<ServerTransactionTerminated>(actions).size(), 1u) << "Timer J is zero";
  EXPECT_EQ(layer_.size(), 0u);
}

// --- client INVITE -------------------------------------------------------------------------

TEST_F(TransactionLayerTest, ClientInviteRetransmitsOnTimerAAndTimesOutAtTimerB) {
  const std::string invite = build_request({});
  auto id = layer_.send_request(invite, udp_peer(), now());
  ASSERT_TRUE(id.ok()) << id.error().message;
  auto sends = take<SendBytes>(pending_ = layer_.take_actions());
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].bytes, invite);
  EXPECT_EQ(sends[0].transaction, *id);
  EXPECT_EQ(run_until(milliseconds(40000)), ms({500, 1500, 3500, 7500, 15500, 31500}));
  for (const std::string& bytes : sent_bytes_) EXPECT_EQ(bytes, invite);
  auto failed = take<ClientTransactionFailed>(leftovers_);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].transaction, *id);
  EXPECT_EQ(failed[0].failure, txn::Failure::Timeout);
  EXPECT_EQ(layer_.counters().timeouts, 1u);
  EXPECT_EQ(layer_.counters().retransmissions_sent, 6u);
  EXPECT_EQ(layer_.size(), 0u);
}

TEST_F(TransactionLayerTest, ClientInviteAcksFailureAndReAcksItsRetransmissions) {
  RequestSpec spec;
  spec.routes = {"<sip:proxy1.example.com;lr>", "<sip:proxy2.example.com;lr>"};
  spec.cseq = 314;
  const std::string invite = build_request(spec);
  auto id = layer_.send_request(invite, udp_peer(), now());
  ASSERT_TRUE(id.ok()) << id.error().message;
  layer_.take_actions();

  clock_.advance(milliseconds(200));
  layer_.on_message(response_to(invite, 407, "uas77"), udp_peer(), now());
  auto actions = layer_.take_actions();
  ASSERT_EQ(actions.size(), 2u);
  auto sends = take<SendBytes>(actions);
  auto responses = take<ResponseForTu>(actions);
  ASSERT_EQ(sends.size(), 1u);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].transaction, *id);
  EXPECT_EQ(responses[0].response.status_code(), 407);

  Message ack = parse(sends[0].bytes);
  Message sent = parse(invite);
  EXPECT_EQ(ack.method(), Method::Ack);
  EXPECT_EQ(ack.request_uri().text, sent.request_uri().text);
  ASSERT_EQ(ack.values(HeaderId::Via).size(), 1u);
  EXPECT_EQ(ack.values(HeaderId::Via)[0], sent.values(HeaderId::Via)[0]);
  EXPECT_EQ(ack.header(HeaderId::From), sent.header(HeaderId::From));
  EXPECT_EQ(ack.to().tag(), "uas77") << "To comes from the response";
  EXPECT_EQ(ack.call_id(), sent.call_id());
  EXPECT_EQ(ack.cseq().number, 314u);
  EXPECT_EQ(ack.cseq().method, Method::Ack);
  EXPECT_EQ(ack.values(HeaderId::Route), sent.values(HeaderId::Route));
  EXPECT_EQ(ack.body(), "");
  EXPECT_EQ(sends[0].destination, udp_peer());

  clock_.advance(milliseconds(300));
  layer_.on_message(response_to(invite, 407, "uas77"), udp_peer(), now());
  actions = layer_.take_actions();
  auto again = take<SendBytes>(actions);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].bytes, sends[0].bytes);
  EXPECT_TRUE(actions.empty()) << "the retransmitted 407 does not reach the TU";
  EXPECT_EQ(layer_.counters().retransmissions_absorbed, 1u);

  EXPECT_TRUE(run_until(milliseconds(40000)).empty()) << "no INVITE retransmission after 407";
  EXPECT_EQ(layer_.size(), 0u);  // Timer D
  EXPECT_TRUE(take<ClientTransactionFailed>(leftovers_).empty());
}

TEST_F(TransactionLayerTest, ClientInviteTwoHundredRetransmissionsReachTheTu) {
  const std::string invite = build_request({});
  auto id = layer_.send_request(invite, udp_peer(), now());
  ASSERT_TRUE(id.ok());
  layer_.take_actions();
  layer_.on_message(response_to(invite, 200), udp_peer(), now());
  layer_.on_message(response_to(invite, 200), udp_peer(), now());
  auto actions = layer_.take_actions();
  auto responses = take<ResponseForTu>(actions);
  ASSERT_EQ(responses.size(), 2u) << "Accepted passes every 2xx to the TU";
  EXPECT_TRUE(take<SendBytes>(actions).empty()) << "the ACK for a 2xx is the TU's job";

  run_until(milliseconds(40000));  // Timer M ends the transaction
  EXPECT_EQ(layer_.size(), 0u);
  layer_.on_message(response_to(invite, 200), udp_peer(), now());
  actions = layer_.take_actions();
  auto strays = take<StrayResponseForTu>(actions);
  ASSERT_EQ(strays.size(), 1u) << "a late 2xx to INVITE still goes to the TU";
  EXPECT_EQ(strays[0].response.status_code(), 200);

  layer_.on_message(response_to(invite, 486), udp_peer(), now());
  EXPECT_TRUE(layer_.take_actions().empty()) << "other strays are dropped";
  EXPECT_EQ(layer_.counters().stray_responses, 2u);
}

TEST_F(TransactionLayerTest, ClientInviteOverTcpEndsAtTheFailureAndReportsTransportErrors) {
  const std::string invite = build_request({});
  auto id = layer_.send_request(invite, tcp_peer(), now());
  ASSERT_TRUE(id.ok());
  layer_.take_actions();
  EXPECT_EQ(layer_.next_deadline(), start_ + milliseconds(32000)) << "only Timer B";
  layer_.on_message(response_to(invite, 503), tcp_peer(), now());
  auto actions = layer_.take_actions();
  EXPECT_EQ(take<SendBytes>(actions).size(), 1u);  // the ACK
  EXPECT_EQ(layer_.size(), 0u) << "Timer D is zero";

  RequestSpec other;
  other.branch = "z9hG4bKother";
  auto second = layer_.send_request(build_request(other), tcp_peer(), now());
  ASSERT_TRUE(second.ok());
  layer_.take_actions();
  layer_.on_transport_error(*second, now());
  actions = layer_.take_actions();
  auto failed = take<ClientTransactionFailed>(actions);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].failure, txn::Failure::TransportError);
  EXPECT_EQ(layer_.size(), 0u);
  EXPECT_EQ(layer_.counters().transport_errors, 1u);
}

TEST_F(TransactionLayerTest, ClientInviteGivesUpWhenTheCancelGetsNoFinalResponse) {
  const std::string invite = build_request({});
  auto invite_id = layer_.send_request(invite, udp_peer(), now());
  ASSERT_TRUE(invite_id.ok());
  layer_.on_message(response_to(invite, 180), udp_peer(), now());
  layer_.take_actions();
  clock_.advance(milliseconds(5000));
  RequestSpec cancel;
  cancel.method = "CANCEL";
  const std::string cancel_bytes = build_request(cancel);
  ASSERT_TRUE(layer_.send_request(cancel_bytes, udp_peer(), now()).ok());
  layer_.take_actions();
  layer_.on_message(response_to(cancel_bytes, 200), udp_peer(), now());
  layer_.take_actions();
  run_until(milliseconds(36000));
  EXPECT_EQ(layer_.state_name(*invite_id), "Proceeding");
  run_until(milliseconds(37000));  // 9.1: 64*T1 after the CANCEL
  auto failed = take<ClientTransactionFailed>(leftovers_);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].transaction, *invite_id);
  EXPECT_EQ(layer_.size(), 0u);
}

// --- client non-INVITE ---------------------------------------------------------------------

TEST_F(TransactionLayerTest, ClientNonInviteScheduleAndCompletion) {
  RequestSpec spec;
  spec.method = "OPTIONS";
  const std::string options = build_request(spec);
  auto id = layer_.send_request(options, udp_peer(), now());
  ASSERT_TRUE(id.ok());
  layer_.take_actions();
  EXPECT_EQ(run_until(milliseconds(12000)), ms({500, 1500, 3500, 7500, 11500}));
  layer_.on_message(response_to(options, 200), udp_peer(), now());
  layer_.on_message(response_to(options, 200), udp_peer(), now());
  auto actions = layer_.take_actions();
  EXPECT_EQ(take<ResponseForTu>(actions).size(), 1u);
  EXPECT_TRUE(actions.empty());
  EXPECT_EQ(layer_.state_name(*id), "Completed");
  EXPECT_EQ(layer_.next_deadline(), start_ + milliseconds(17000));  // Timer K = T4
  EXPECT_TRUE(run_until(milliseconds(20000)).empty());
  EXPECT_EQ(layer_.size(), 0u);
}

TEST_F(TransactionLayerTest, ClientNonInviteOverTcpHasOnlyTimerFAndZeroTimerK) {
  RequestSpec spec;
  spec.method = "REGISTER";
  const std::string reg = build_request(spec);
  ASSERT_TRUE(layer_.send_request(reg, tcp_peer(), now()).ok());
  layer_.take_actions();
  EXPECT_EQ(layer_.next_deadline(), start_ + milliseconds(32000));
  layer_.on_message(response_to(reg, 401), tcp_peer(), now());
  EXPECT_EQ(take<ResponseForTu>(pending_ = layer_.take_actions()).size(), 1u);
  EXPECT_EQ(layer_.size(), 0u);
}

TEST_F(TransactionLayerTest, SendRequestRejectsWhatIsNotATransaction) {
  RequestSpec ack;
  ack.method = "ACK";
  EXPECT_FALSE(layer_.send_request(build_request(ack), udp_peer(), now()).ok());
  RequestSpec no_cookie;
  no_cookie.branch = "oldstyle1";
  EXPECT_FALSE(layer_.send_request(build_request(no_cookie), udp_peer(), now()).ok());
  RequestSpec mismatch;
  mismatch.cseq_method = "BYE";
  EXPECT_FALSE(layer_.send_request(build_request(mismatch), udp_peer(), now()).ok());
  EXPECT_FALSE(layer_.send_request(std::string("garbage"), udp_peer(), now()).ok());
  const std::string invite = build_request({});
  ASSERT_TRUE(layer_.send_request(invite, udp_peer(), now()).ok());
  EXPECT_FALSE(layer_.send_request(invite, udp_peer(), now()).ok()) << "same branch and method";
  EXPECT_EQ(layer_.size(), 1u);
}

// --- bounds and hostile input --------------------------------------------------------------

TEST(TransactionLayerCapacityTest, RefusesNewTransactionsBeyondTheCap) {
  core::ManualClock clock;
  TransactionLayerConfig config;
  config.max_transactions = 2;
  TransactionLayer layer(config);
  RequestSpec a;
  a.method = "OPTIONS";
  a.branch = "z9hG4bKa";
  RequestSpec b = a;
  b.branch = "z9hG4bKb";
  RequestSpec c = a;
  c.branch = "z9hG4bKc";
  layer.on_message(request(a), testing::tcp_peer(), clock.now());
  layer.on_message(request(b), testing::tcp_peer(), clock.now());
  layer.on_message(request(c), testing::tcp_peer(), clock.now());
  auto actions = layer.take_actions();
  auto created = take<RequestForTu>(actions);
  auto refused = take<RequestRefused>(actions);
  ASSERT_EQ(created.size(), 2u);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].request.vias().at(0).branch, "z9hG4bKc");
  EXPECT_EQ(layer.counters().refused, 1u);

  RequestSpec out;
  out.method = "OPTIONS";
  out.branch = "z9hG4bKout";
  auto sent = layer.send_request(build_request(out), testing::udp_peer(), clock.now());
  EXPECT_FALSE(sent.ok());

  // A retransmission of a live transaction is still absorbed at the cap.
  layer.on_message(request(a), testing::tcp_peer(), clock.now());
  actions = layer.take_actions();
  EXPECT_TRUE(take<RequestRefused>(actions).empty());

  // Once one ends (200 over TCP: Timer J = 0), there is room again.
  ASSERT_TRUE(layer.send_response(created[0].transaction,
                                  make_response(created[0].request, 200).finish(), 200,
                                  clock.now()).ok());
  layer.on_message(request(c), testing::tcp_peer(), clock.now());
  actions = layer.take_actions();
  EXPECT_EQ(take<RequestForTu>(actions).size(), 1u);
  EXPECT_EQ(layer.size(), 2u);
}

TEST(TransactionLayerInputTest, FaultyMessagesAreDroppedAndCounted) {
  core::ManualClock clock;
  TransactionLayer layer;
  Result<Message> bad = parse_message(
      "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
      "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: banana\r\n"
      "Content-Length: 0\r\n\r\n");
  ASSERT_TRUE(bad.ok()) << bad.error().message;
  ASSERT_NE(bad->fault(), ParseFault::None);
  layer.on_message(std::move(bad).value(), testing::udp_peer(), clock.now());
  EXPECT_TRUE(layer.take_actions().empty());
  EXPECT_EQ(layer.counters().dropped_invalid, 1u);
  EXPECT_EQ(layer.size(), 0u);
  layer.on_transport_error(12345, clock.now());  // unknown id: ignored
  EXPECT_FALSE(layer.send_response(12345, "x", 200, clock.now()).ok());
}

TEST(ResponseDestinationTest, FollowsViaAndRport) {
  Via via;
  via.port = 5070;
  const Endpoint udp = testing::udp_peer(40001);
  EXPECT_EQ(response_destination(via, udp).port, 5070) << "sent-by port";
  via.port = 0;
  EXPECT_EQ(response_destination(via, udp).port, 5060) << "default port";
  via.has_rport = true;
  EXPECT_EQ(response_destination(via, udp).port, 40001) << "rport: the source port";
  EXPECT_EQ(response_destination(via, udp).address, udp.address);
  EXPECT_EQ(response_destination(via, testing::tcp_peer(9)), testing::tcp_peer(9));
}

}  // namespace
}  // namespace hapbx::sip
