// The B2BUA call engine, whole calls at the pure level: SIP text in through the engine's events,
// everything it does recorded by a fake environment, time from a manual clock. Covers INVITE
// authentication and the refusals before the dialplan (407/403, 404, 488, call-limit, no ports),
// a basic call end to end (the callee's INVITE, 180, 200/ACK, bridge, 2xx retransmission, BYE
// from either side, the CDR), Dial outcomes (ring timeout, busy, unregistered, Timer B,
// parallel forking), CANCEL in every state (while ringing, crossing a 200, before any
// provisional), re-INVITE hold with glare, the missing ACK, rtptimeout, the applications
// (Playback, Echo, Wait, Hangup, an unknown one) and the admin side (request_hangup,
// hangup_all, channels()).
#include "pbx/call_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "call_engine_fixture.h"

namespace hapbx::pbx::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const sip::SdpAttribute* direction_of(const sip::SdpMedia& m) {
  for (const char* name : {"sendrecv", "sendonly", "recvonly", "inactive"}) {
    if (const auto* a = m.attribute(name)) return a;
  }
  return nullptr;
}

std::string cdr_word(const CdrRecord& r) { return std::string(to_string(r.disposition)); }

// ---- before the dialplan ----

TEST_F(CallEngineTest, InviteIsChallengedThenAcceptedWithTheRightPassword) {
  CallerSide c = caller("202", "205", kPhone205);
  send_invite(c);
  const auto* first = env_.last_response_to(c.invite_transaction);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->status, 407);
  auto challenge_response = first->message();
  auto challenge = challenge_response.header(sip::HeaderId::ProxyAuthenticate);
  ASSERT_TRUE(challenge.has_value()) << first->bytes;
  EXPECT_EQ(engine_->active_calls(), 0u);
  EXPECT_TRUE(env_.requests.empty());
  EXPECT_TRUE(env_.opened.empty());

  c.cseq = 2;
  c.proxy_authorization = digest_answer(std::string(*challenge), "205", "205pass",
                                        "sip:202@198.18.0.10");
  send_invite(c);
  EXPECT_TRUE(env_.responses_to(c.invite_transaction).empty());  // no refusal this time
  EXPECT_EQ(engine_->active_calls(), 1u);
  ASSERT_EQ(invites_to(kPhone202).size(), 1u);
  EXPECT_EQ(engine_->counters().calls_rejected, 0u);
}

TEST_F(CallEngineTest, InviteWithAWrongPasswordGets403) {
  CallerSide c = caller("202", "205", kPhone205);
  send_invite(c);
  const auto* first = env_.last_response_to(c.invite_transaction);
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(first->status, 407);
  auto challenge = first->message().header(sip::HeaderId::ProxyAuthenticate);
  ASSERT_TRUE(challenge.has_value());

  c.cseq = 2;
  c.proxy_authorization = digest_answer(std::string(*first->message().header(
                                            sip::HeaderId::ProxyAuthenticate)),
                                        "205", "not-the-password", "sip:202@198.18.0.10");
  send_invite(c);
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{403});
  EXPECT_EQ(engine_->active_calls(), 0u);
  EXPECT_TRUE(env_.requests.empty());
  EXPECT_EQ(engine_->counters().calls_rejected, 1u);
}

TEST_F(CallEngineTest, UnknownExtensionGets404) {
  CallerSide c = caller("999");
  send_invite(c);
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{404});
  EXPECT_EQ(engine_->active_calls(), 0u);
  EXPECT_TRUE(env_.opened.empty());
  EXPECT_TRUE(env_.cdrs.empty());
}

// A late offer (RFC 3261 13.2.1): the caller sends no SDP. The callee is offered the caller's
// allowed codecs through the relay; the caller gets an offer in the 200 and answers in its ACK,
// which points the relay at it.
TEST_F(CallEngineTest, InviteWithoutSdpIsALateOffer) {
  CallerSide c = caller();
  send_invite(c, /*with_sdp=*/false);
  CalleeSide callee = callee_for(kPhone202);
  ASSERT_NE(callee.invite, nullptr);
  auto offer = sip::parse_sdp(callee.invite->message().body());
  ASSERT_TRUE(offer.ok());
  ASSERT_FALSE(offer->media.empty());
  EXPECT_EQ(offer->media[0].formats.front(), "0");  // 201 allows ulaw first
  respond(callee, 200, phone_sdp("198.18.0.102", 50000));
  ASSERT_EQ(env_.statuses_to(c.invite_transaction).back(), 200);
  auto ours = sip::parse_sdp(env_.last_response_to(c.invite_transaction)->message().body());
  ASSERT_TRUE(ours.ok()) << "the 200 must carry our offer";
  ASSERT_FALSE(ours->media.empty());
  EXPECT_NE(ours->media[0].port, 50000) << "the caller must be offered the relay";

  learn_tag(c);
  EXPECT_FALSE(env_.has_remote_rtp_port(40100));
  engine_->on_ack(parse(c.in_dialog_with_cseq("ACK", 1, phone_sdp(kPhone201.address, 40100))),
                  now());
  EXPECT_TRUE(env_.has_remote_rtp_port(40100)) << "the ACK's answer must reach the relay";
  EXPECT_EQ(engine_->active_calls(), 1u);
}

TEST_F(CallEngineTest, InviteWithABodyThatIsNotSdpGets415) {
  CallerSide c = caller();
  std::string text = c.invite_text(false);
  text.replace(text.find("Content-Length: 0"), 17,
               "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
  text.resize(text.size() - 4);  // the blank line now comes before the body
  c.invite_transaction = next_server_transaction();
  EXPECT_TRUE(engine_->on_request(c.invite_transaction, parse(text), c.source, now(), wall()));
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{415});
  EXPECT_TRUE(env_.requests.empty());
}

TEST_F(CallEngineTest, OfferWithoutACommonCodecGets488) {
  CallerSide c = caller();
  c.sdp = phone_sdp(kPhone201.address, 40000, "18");  // G.729 only; the peers allow ulaw/alaw
  send_invite(c);
  ASSERT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{488});
  auto response = env_.last_response_to(c.invite_transaction)->message();
  EXPECT_TRUE(response.header(sip::HeaderId::Warning).has_value());
  EXPECT_EQ(engine_->active_calls(), 0u);
  EXPECT_TRUE(env_.opened.empty());
}

TEST_F(CallEngineTest, CallLimitRefusesTheSecondCallWith486) {
  CallerSide first = caller("650", "206", kPhone206);  // Wait(100): stays up
  send_invite(first);
  EXPECT_EQ(engine_->active_calls(), 1u);
  EXPECT_EQ(engine_->calls_of_peer("206"), 1);
  CallerSide second = caller("650", "206", kPhone206);
  send_invite(second);
  EXPECT_EQ(env_.statuses_to(second.invite_transaction), std::vector<int>{486});
  EXPECT_EQ(engine_->active_calls(), 1u);
  // Another peer is not limited.
  CallerSide other = caller("650");
  send_invite(other);
  EXPECT_TRUE(env_.responses_to(other.invite_transaction).empty());
  EXPECT_EQ(engine_->active_calls(), 2u);
}

// The caller's relay stream opens only when the call needs it; with no port at all the Dial
// cannot relay, fails with CONGESTION, and the dialplan's Congestion() answers 503.
TEST_F(CallEngineTest, NoFreeRtpPortGets503) {
  env_.max_open_streams = 0;
  CallerSide c = caller();
  send_invite(c);
  EXPECT_TRUE(env_.requests.empty());
  ASSERT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{503});
  EXPECT_EQ(engine_->active_calls(), 0u);
  ASSERT_EQ(env_.cdrs.size(), 1u);
}

TEST_F(CallEngineTest, NoFreeRtpPortForTheCalleeIsCongestion) {
  env_.max_open_streams = 1;  // the caller's stream only
  CallerSide c = caller();
  send_invite(c);
  EXPECT_TRUE(env_.requests.empty());
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{503});  // Hangup(34)
  EXPECT_TRUE(env_.open.empty());
  ASSERT_EQ(env_.cdrs.size(), 1u);
}

// ---- a basic call ----

TEST_F(CallEngineTest, BasicCallInviteRingingAnswerAndBridge) {
  CallerSide c = caller();
  send_invite(c);
  ASSERT_EQ(env_.opened.size(), 2u);
  const MediaStream caller_stream = env_.opened[0];
  const MediaStream callee_stream = env_.opened[1];
  EXPECT_EQ(env_.stream_peer[caller_stream.id].address, kPhone201.address);
  EXPECT_EQ(env_.stream_peer[callee_stream.id].address, kPhone202.address);
  // The caller's stream sends to where the caller's offer asked.
  EXPECT_EQ(std::get<0>(env_.remotes[caller_stream.id]), kPhone201.address);
  EXPECT_EQ(std::get<1>(env_.remotes[caller_stream.id]), 40002);

  // The callee's INVITE: to its registered contact, a dialog of its own.
  auto invites = invites_to(kPhone202);
  ASSERT_EQ(invites.size(), 1u);
  auto invite = invites[0]->message();
  EXPECT_EQ(invite.request_uri().text, "sip:202@198.18.0.102:5060");
  EXPECT_NE(invite.call_id(), c.call_id);
  EXPECT_FALSE(invite.from().tag().empty());
  EXPECT_NE(invite.from().tag(), c.from_tag);
  EXPECT_TRUE(invite.to().tag().empty());
  EXPECT_EQ(invite.from().uri.user, "201");
  EXPECT_EQ(invite.cseq().number, 1u);
  ASSERT_TRUE(invite.max_forwards().has_value());
  EXPECT_EQ(*invite.max_forwards(), 69u);
  auto offer = parse_body_sdp(invite);
  ASSERT_EQ(offer.media.size(), 1u);
  EXPECT_EQ(offer.media[0].port, callee_stream.rtp_port);
  ASSERT_NE(offer.connection_for(offer.media[0]), nullptr);
  EXPECT_EQ(offer.connection_for(offer.media[0])->address, FakeCallEnvironment::kRelayAddress);
  EXPECT_TRUE(env_.responses_to(c.invite_transaction).empty());  // 100 is the layer's

  CalleeSide callee = callee_for(kPhone202);
  EXPECT_TRUE(respond(callee, 180));
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{180});
  EXPECT_TRUE(env_.bridges.empty());

  advance(seconds(2));
  EXPECT_TRUE(respond(callee, 200, phone_sdp("198.18.0.102", 50000)));
  // ACK to the callee, in its dialog, to its Contact.
  ASSERT_EQ(env_.stateless.size(), 1u);
  EXPECT_EQ(env_.stateless[0].to.address, kPhone202.address);
  auto ack = env_.stateless[0].message();
  EXPECT_EQ(ack.method(), sip::Method::Ack);
  EXPECT_EQ(ack.cseq().number, 1u);
  EXPECT_EQ(ack.call_id(), invite.call_id());
  EXPECT_EQ(ack.to().tag(), callee.tag);
  EXPECT_EQ(ack.request_uri().text, "sip:callee@198.18.0.102:5060");
  // 200 to the caller, its SDP pointing at the caller's relay stream.
  ASSERT_EQ(env_.statuses_to(c.invite_transaction), (std::vector<int>{180, 200}));
  auto ok = env_.last_response_to(c.invite_transaction)->message();
  EXPECT_FALSE(ok.to().tag().empty());
  EXPECT_FALSE(ok.contacts().empty());
  auto answer = parse_body_sdp(ok);
  ASSERT_EQ(answer.media.size(), 1u);
  EXPECT_EQ(answer.media[0].port, caller_stream.rtp_port);
  EXPECT_EQ(answer.connection_for(answer.media[0])->address, FakeCallEnvironment::kRelayAddress);
  // Bridged, and the callee's stream sends to the callee.
  ASSERT_EQ(env_.bridges.size(), 1u);
  EXPECT_EQ(env_.bridges[0], std::make_pair(caller_stream.id, callee_stream.id));
  EXPECT_EQ(std::get<1>(env_.remotes[callee_stream.id]), 50000);
  EXPECT_EQ(engine_->active_calls(), 1u);
}

TEST_F(CallEngineTest, TwoHundredIsRetransmittedUntilTheCallersAck) {
  CallerSide c = caller();
  send_invite(c);
  CalleeSide callee = callee_for(kPhone202);
  respond(callee, 180);
  respond(callee, 200, phone_sdp("198.18.0.102", 50000));
  ASSERT_EQ(env_.statuses_to(c.invite_transaction), (std::vector<int>{180, 200}));

  advance(milliseconds(499));
  EXPECT_EQ(env_.statuses_to(c.invite_transaction).size(), 2u);
  advance(milliseconds(1));  // T1
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), (std::vector<int>{180, 200, 200}));
  EXPECT_EQ(env_.responses_to(c.invite_transaction)[2]->bytes,
            env_.responses_to(c.invite_transaction)[1]->bytes);
  advance(milliseconds(1000));  // 2*T1 later
  EXPECT_EQ(env_.statuses_to(c.invite_transaction).size(), 4u);

  ack_from_caller(c, 1);
  advance(seconds(20));
  EXPECT_EQ(env_.statuses_to(c.invite_transaction).size(), 4u);
  EXPECT_TRUE(env_.requests_of("BYE").empty());
  EXPECT_EQ(engine_->active_calls(), 1u);
}

TEST_F(CallEngineTest, ByeFromCallerEndsBothLegsAndWritesTheCdr) {
  CallerSide c = caller();
  send_invite(c);
  CalleeSide callee = callee_for(kPhone202);
  respond(callee, 180);
  advance(seconds(3));
  respond(callee, 200, phone_sdp("198.18.0.102", 50000));
  ack_from_caller(c, 1);
  advance(seconds(42));
  EXPECT_TRUE(env_.cdrs.empty());

  const auto bye = send_from_caller(c, c.in_dialog("BYE"));
  EXPECT_EQ(env_.statuses_to(bye), std::vector<int>{200});
  auto byes = env_.requests_of("BYE");
  ASSERT_EQ(byes.size(), 1u);
  EXPECT_EQ(byes[0]->to.address, kPhone202.address);
  auto out_bye = byes[0]->message();
  auto invite = callee.invite->message();
  EXPECT_EQ(out_bye.call_id(), invite.call_id());
  EXPECT_EQ(out_bye.from().tag(), invite.from().tag());
  EXPECT_EQ(out_bye.to().tag(), callee.tag);
  EXPECT_EQ(out_bye.request_uri().text, "sip:callee@198.18.0.102:5060");
  EXPECT_GT(out_bye.cseq().number, 1u);

  ASSERT_EQ(env_.cdrs.size(), 1u);
  const CdrRecord& r = env_.cdrs[0];
  EXPECT_EQ(cdr_word(r), "ANSWERED");
  EXPECT_EQ(r.billsec, 42);
  EXPECT_EQ(r.duration, 45);
  EXPECT_EQ(r.src, "201");
  EXPECT_EQ(r.dst, "202");
  EXPECT_EQ(r.dcontext, "internal");
  EXPECT_EQ(r.clid, "\"Extension 201\" <201>");
  EXPECT_EQ(r.channel.rfind("SIP/201-", 0), 0u) << r.channel;
  EXPECT_EQ(r.dstchannel.rfind("SIP/202-", 0), 0u) << r.dstchannel;
  EXPECT_EQ(r.lastapp, "Dial");
  EXPECT_EQ(r.lastdata, "SIP/202,5");
  EXPECT_EQ(r.start, WallClock::time_point{seconds(kWallEpoch)});
  EXPECT_EQ(engine_->active_calls(), 0u);
  EXPECT_TRUE(env_.open.empty());
  EXPECT_EQ(engine_->counters().calls_processed, 1u);
  // The callee's 200 to our BYE is harmless.
  respond(callee, 200, {}, byes[0]);
  EXPECT_EQ(env_.cdrs.size(), 1u);
}

TEST_F(CallEngineTest, ByeFromCalleeEndsTheCallersDialog) {
  auto [c, callee] = establish();
  advance(seconds(10));
  const auto bye = send_from_callee(callee.request("BYE"));
  EXPECT_EQ(env_.statuses_to(bye), std::vector<int>{200});
  auto byes = env_.requests_of("BYE");
  ASSERT_EQ(byes.size(), 1u);
  EXPECT_EQ(byes[0]->to.address, kPhone201.address);
  auto to_caller = byes[0]->message();
  EXPECT_EQ(to_caller.call_id(), c.call_id);
  EXPECT_EQ(to_caller.from().tag(), c.pbx_tag);
  EXPECT_EQ(to_caller.to().tag(), c.from_tag);
  EXPECT_EQ(to_caller.request_uri().text, "sip:201@198.18.0.101:5060");  // the caller's Contact
  ASSERT_EQ(env_.cdrs.size(), 1u);
  EXPECT_EQ(cdr_word(env_.cdrs[0]), "ANSWERED");
  EXPECT_EQ(env_.cdrs[0].billsec, 10);
  EXPECT_TRUE(env_.open.empty());
  EXPECT_EQ(engine_->active_calls(), 0u);
}

// ---- Dial outcomes ----

TEST_F(CallEngineTest, RingTimeoutCancelsTheCalleeAndTheDialplanGoesOn) {
  CallerSide c = caller();
  send_invite(c);
  CalleeSide callee = callee_for(kPhone202);
  respond(callee, 180);
  advance(milliseconds(4900));
  EXPECT_TRUE(env_.requests_of("CANCEL").empty());
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{180});

  advance(milliseconds(200));
  auto cancels = env_.requests_of("CANCEL");
  ASSERT_EQ(cancels.size(), 1u);
  auto cancel = cancels[0]->message();
  auto invite = callee.invite->message();
  EXPECT_EQ(cancel.vias().front().branch, invite.vias().front().branch);
  EXPECT_EQ(cancel.cseq().number, invite.cseq().number);
  EXPECT_EQ(cancel.call_id(), invite.call_id());
  EXPECT_TRUE(cancel.to().tag().empty());
  // DIALSTATUS=NOANSWER: the dialplan went on to Hangup(19), 480 for the caller.
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), (std::vector<int>{180, 480}));
  ASSERT_EQ(env_.cdrs.size(), 1u);
  EXPECT_EQ(cdr_word(env_.cdrs[0]), "NO ANSWER");
  EXPECT_EQ(env_.cdrs[0].lastapp, "Hangup");
  EXPECT_EQ(env_.cdrs[0].lastdata, "19");
  EXPECT_EQ(env_.cdrs[0].duration, 5);
  // The callee confirms: nothing more happens.
  respond(callee, 200, {}, cancels[0]);
  respond(callee, 487);
  EXPECT_TRUE(env_.stateless.empty());
  EXPECT_TRUE(env_.requests_of("BYE").empty());
  EXPECT_TRUE(env_.open.empty());
}

TEST_F(CallEngineTest, BusyCalleeGivesDialstatusBusyAndBusyTone) {
  CallerSide c = caller();
  send_invite(c);
  CalleeSide callee = callee_for(kPhone202);
  respond(callee, 180);
  respond(callee, 486);
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), (std::vector<int>{180, 486}));
  ASSERT_EQ(env_.cdrs.size(), 1u);
  EXPECT_EQ(cdr_word(env_.cdrs[0]), "BUSY");
  EXPECT_EQ(env_.cdrs[0].lastapp, "Busy");
  EXPECT_TRUE(env_.requests_of("CANCEL").empty());
  EXPECT_TRUE(env_.stateless.empty());  // the transaction layer ACKs a 486
  EXPECT_TRUE(env_.open.empty());
}

TEST_F(CallEngineTest, UnregisteredCalleeIsChanunavailAtOnce) {
  CallerSide c = caller("204");
  send_invite(c);
  EXPECT_TRUE(env_.requests.empty());
  // CHANUNAVAIL -> Hangup(27) -> 502, without waiting for the ring timeout.
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{502});
  EXPECT_FALSE(engine_->next_deadline().has_value());
  EXPECT_EQ(engine_->active_calls(), 0u);
  ASSERT_EQ(env_.cdrs.size(), 1u);
  EXPECT_EQ(env_.cdrs[0].dstchannel, "SIP/204");
  EXPECT_EQ(env_.cdrs[0].lastdata, "27");
}

TEST_F(CallEngineTest, ClientTransactionTimeoutIsChanunavail) {
  CallerSide c = caller();
  send_invite(c);
  CalleeSide callee = callee_for(kPhone202);
  EXPECT_TRUE(engine_->on_client_failure(callee.invite->transaction, now(), wall()));
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{502});
  EXPECT_TRUE(env_.requests_of("CANCEL").empty());
  EXPECT_EQ(engine_->active_calls(), 0u);
  EXPECT_TRUE(env_.open.empty());
  EXPECT_FALSE(engine_->on_client_failure(999999, now(), wall()));
}

TEST_F(CallEngineTest, ParallelDialFirstAnswerWinsAndTheOtherIsCancelled) {
  CallerSide c = caller("700");
  send_invite(c);
  ASSERT_EQ(invites_to(kPhone202).size(), 1u);
  ASSERT_EQ(invites_to(kPhone203).size(), 1u);
  CalleeSide a = callee_for(kPhone202);
  CalleeSide b = callee_for(kPhone203);
  EXPECT_NE(a.invite->message().call_id(), b.invite->message().call_id());
  respond(a, 180);
  respond(b, 180);
  respond(b, 200, phone_sdp("198.18.0.103", 52000));

  // The winner is ACKed, the loser CANCELled.
  ASSERT_EQ(env_.stateless.size(), 1u);
  EXPECT_EQ(env_.stateless[0].to.address, kPhone203.address);
  auto cancels = env_.requests_of("CANCEL");
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0]->to.address, kPhone202.address);
  EXPECT_EQ(cancels[0]->message().call_id(), a.invite->message().call_id());
  EXPECT_EQ(env_.statuses_to(c.invite_transaction).back(), 200);
  ASSERT_EQ(env_.bridges.size(), 1u);
  const MediaStreamId caller_stream = env_.opened[0].id;
  EXPECT_EQ(env_.bridges[0].first, caller_stream);
  EXPECT_EQ(env_.stream_peer[env_.bridges[0].second].address, kPhone203.address);
  // The loser's 487 changes nothing; a late 200 from it would be hung up.
  respond(a, 200, {}, cancels[0]);
  respond(a, 487);
  EXPECT_EQ(env_.stateless.size(), 1u);
  EXPECT_TRUE(env_.requests_of("BYE").empty());
  ack_from_caller(c, 1);
  const auto bye = send_from_caller(c, c.in_dialog("BYE"));
  EXPECT_EQ(env_.statuses_to(bye), std::vector<int>{200});
  auto byes = env_.requests_of("BYE");
  ASSERT_EQ(byes.size(), 1u);
  EXPECT_EQ(byes[0]->to.address, kPhone203.address);
  ASSERT_EQ(env_.cdrs.size(), 1u);
  EXPECT_EQ(env_.cdrs[0].dstchannel.rfind("SIP/203-", 0), 0u);
  EXPECT_TRUE(env_.open.empty());
}

TEST_F(CallEngineTest, DialplanRetryingAnUnavailableTargetIsBounded) {
  // Dial(SIP/204) fails at once and Goto(1) dials again: the engine's step bound ends the call
  // (it must neither recurse once per Dial nor touch the call after the dialplan freed it).
  const auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);
  CallerSide c = caller("660");
  send_invite(c);
  spdlog::set_level(level);
  EXPECT_EQ(engine_->active_calls(), 0u);
  EXPECT_EQ(env_.statuses_to(c.invite_transaction).size(), 1u);
  EXPECT_TRUE(env_.requests.empty());
  ASSERT_EQ(env_.cdrs.size(), 1u);
  EXPECT_TRUE(env_.open.empty());
}

// ---- CANCEL ----

TEST_F(CallEngineTest, CancelFromCallerWhileRinging) {
  CallerSide c = caller();
  send_invite(c);
  CalleeSide callee = callee_for(kPhone202);
  respond(callee, 180);
  advance(seconds(2));
  const auto cancel = cancel_from_caller(c);
  EXPECT_EQ(env_.statuses_to(cancel), std::vector<int>{200});
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), (std::vector<int>{180, 487}));
  auto cancels = env_.requests_of("CANCEL");
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0]->to.address, kPhone202.address);
  ASSERT_EQ(env_.cdrs.size(), 1u);
  EXPECT_EQ(cdr_word(env_.cdrs[0]), "NO ANSWER");
  EXPECT_EQ(env_.cdrs[0].duration, 2);
  EXPECT_EQ(engine_->active_calls(), 0u);
  EXPECT_TRUE(env_.open.empty());
  // A second CANCEL (retransmission) finds no call.
  EXPECT_FALSE(engine_->on_cancel(next_server_transaction(), parse(c.cancel_text()),
                                  c.invite_transaction, now(), wall()));
}

TEST_F(CallEngineTest, CalleeAnswerCrossingTheCallersCancelIsAckedAndHungUp) {
  CallerSide c = caller();
  send_invite(c);
  CalleeSide callee = callee_for(kPhone202);
  respond(callee, 180);
  cancel_from_caller(c);
  ASSERT_EQ(env_.requests_of("CANCEL").size(), 1u);
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), (std::vector<int>{180, 487}));

  // The callee answered before our CANCEL reached it.
  respond(callee, 200, phone_sdp("198.18.0.102", 50000));
  ASSERT_EQ(env_.stateless.size(), 1u);
  auto ack = env_.stateless[0].message();
  EXPECT_EQ(ack.method(), sip::Method::Ack);
  EXPECT_EQ(ack.to().tag(), callee.tag);
  auto byes = env_.requests_of("BYE");
  ASSERT_EQ(byes.size(), 1u);
  EXPECT_EQ(byes[0]->to.address, kPhone202.address);
  EXPECT_EQ(byes[0]->message().to().tag(), callee.tag);
  // The caller is not answered after its CANCEL, and there was one CDR.
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), (std::vector<int>{180, 487}));
  EXPECT_EQ(env_.cdrs.size(), 1u);
  EXPECT_TRUE(env_.bridges.empty());
  EXPECT_TRUE(env_.open.empty());
}

TEST_F(CallEngineTest, CancelBeforeAnyProvisionalWaitsForIt) {
  for (int provisional : {100, 180}) {
    SCOPED_TRACE(provisional);
    CallerSide c = caller();
    send_invite(c);
    CalleeSide callee = callee_for(kPhone202, invites_to(kPhone202).size() - 1);
    const size_t cancels_before = env_.requests_of("CANCEL").size();
    cancel_from_caller(c);
    EXPECT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{487});
    EXPECT_EQ(env_.requests_of("CANCEL").size(), cancels_before);  // 9.1: not yet

    respond(callee, provisional);
    auto cancels = env_.requests_of("CANCEL");
    ASSERT_EQ(cancels.size(), cancels_before + 1);
    EXPECT_EQ(cancels.back()->message().vias().front().branch,
              callee.invite->message().vias().front().branch);
    // Once only, and the caller hears nothing more.
    respond(callee, 180);
    EXPECT_EQ(env_.requests_of("CANCEL").size(), cancels_before + 1);
    EXPECT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{487});
    respond(callee, 487);
  }
  EXPECT_TRUE(env_.open.empty());

  // A callee that never answers: the INVITE transaction's failure (Timer B) drops the held
  // CANCEL; nothing goes out after that.
  CallerSide c = caller();
  send_invite(c);
  CalleeSide silent = callee_for(kPhone202, invites_to(kPhone202).size() - 1);
  cancel_from_caller(c);
  const size_t requests_before = env_.requests.size();
  EXPECT_TRUE(engine_->on_client_failure(silent.invite->transaction, now(), wall()));
  EXPECT_FALSE(respond(silent, 100));
  EXPECT_EQ(env_.requests.size(), requests_before);
}

// ---- re-INVITE ----

TEST_F(CallEngineTest, HoldFromCallerIsRelayedWithTheRelayAddress) {
  auto [c, callee] = establish();
  const MediaStream caller_stream = env_.opened[0];
  const MediaStream callee_stream = env_.opened[1];
  const size_t responses_before = env_.responses.size();

  const auto reinvite = send_from_caller(
      c, c.in_dialog("INVITE", phone_sdp(kPhone201.address, 40002, "0 8", "sendonly", 2)));
  auto invites = invites_to(kPhone202);
  ASSERT_EQ(invites.size(), 2u);
  auto relayed = invites[1]->message();
  auto first = callee.invite->message();
  EXPECT_EQ(relayed.call_id(), first.call_id());
  EXPECT_EQ(relayed.to().tag(), callee.tag);
  EXPECT_EQ(relayed.from().tag(), first.from().tag());
  EXPECT_EQ(relayed.cseq().number, 2u);
  EXPECT_EQ(relayed.request_uri().text, "sip:callee@198.18.0.102:5060");
  auto offer = parse_body_sdp(relayed);
  ASSERT_EQ(offer.media.size(), 1u);
  ASSERT_NE(direction_of(offer.media[0]), nullptr);
  EXPECT_EQ(direction_of(offer.media[0])->name, "sendonly");
  EXPECT_EQ(offer.connection_for(offer.media[0])->address, FakeCallEnvironment::kRelayAddress);
  EXPECT_EQ(offer.media[0].port, callee_stream.rtp_port);
  EXPECT_EQ(env_.responses.size(), responses_before);  // the caller waits for the callee

  const size_t acks_before = env_.stateless.size();
  respond(callee, 200, phone_sdp("198.18.0.102", 50000, "0 8", "recvonly", 2), invites[1]);
  ASSERT_EQ(env_.stateless.size(), acks_before + 1);
  auto ack = env_.stateless.back().message();
  EXPECT_EQ(ack.method(), sip::Method::Ack);
  EXPECT_EQ(ack.cseq().number, 2u);
  EXPECT_EQ(ack.call_id(), first.call_id());

  ASSERT_EQ(env_.statuses_to(reinvite), std::vector<int>{200});
  auto ok = env_.last_response_to(reinvite)->message();
  auto answer = parse_body_sdp(ok);
  ASSERT_EQ(answer.media.size(), 1u);
  ASSERT_NE(direction_of(answer.media[0]), nullptr);
  EXPECT_EQ(direction_of(answer.media[0])->name, "recvonly");
  EXPECT_EQ(answer.media[0].port, caller_stream.rtp_port);
  EXPECT_EQ(answer.connection_for(answer.media[0])->address, FakeCallEnvironment::kRelayAddress);

  // The caller's ACK for the re-INVITE's 200 stops its retransmission.
  advance(milliseconds(500));
  EXPECT_EQ(env_.statuses_to(reinvite).size(), 2u);
  ack_from_caller(c, c.cseq);
  advance(seconds(10));
  EXPECT_EQ(env_.statuses_to(reinvite).size(), 2u);
  EXPECT_EQ(engine_->active_calls(), 1u);
  EXPECT_TRUE(env_.requests_of("BYE").empty());
}

TEST_F(CallEngineTest, ReinviteGlareGets491) {
  auto [c, callee] = establish();
  const auto ours = send_from_caller(
      c, c.in_dialog("INVITE", phone_sdp(kPhone201.address, 40002, "0 8", "sendonly", 2)));
  ASSERT_EQ(invites_to(kPhone202).size(), 2u);
  const auto theirs = send_from_callee(
      callee.request("INVITE", phone_sdp("198.18.0.102", 50000, "0 8", "sendonly", 2)));
  EXPECT_EQ(env_.statuses_to(theirs), std::vector<int>{491});
  // Nothing was relayed to the caller.
  EXPECT_EQ(env_.requests_of("INVITE").size(), 2u);
  // The caller's re-INVITE still completes.
  respond(callee, 200, phone_sdp("198.18.0.102", 50000, "0 8", "recvonly", 2),
          invites_to(kPhone202)[1]);
  EXPECT_EQ(env_.statuses_to(ours), std::vector<int>{200});
  EXPECT_EQ(engine_->active_calls(), 1u);
}

TEST_F(CallEngineTest, MissingAckEndsTheCallAfter64T1) {
  CallerSide c = caller();
  send_invite(c);
  CalleeSide callee = callee_for(kPhone202);
  respond(callee, 200, phone_sdp("198.18.0.102", 50000));
  advance(seconds(31));
  EXPECT_TRUE(env_.requests_of("BYE").empty());
  const size_t sent = env_.statuses_to(c.invite_transaction).size();
  EXPECT_GE(sent, 8u);  // 0.5, 1.5, 3.5, 7.5, 11.5 ... seconds
  advance(seconds(2));
  auto byes = env_.requests_of("BYE");
  ASSERT_EQ(byes.size(), 2u);
  std::vector<std::string> to;
  for (const auto* b : byes) to.push_back(b->to.address);
  std::sort(to.begin(), to.end());
  EXPECT_EQ(to, (std::vector<std::string>{kPhone201.address, kPhone202.address}));
  EXPECT_EQ(engine_->active_calls(), 0u);
  ASSERT_EQ(env_.cdrs.size(), 1u);
  EXPECT_TRUE(env_.open.empty());
  const size_t after = env_.statuses_to(c.invite_transaction).size();
  advance(seconds(10));
  EXPECT_EQ(env_.statuses_to(c.invite_transaction).size(), after);
}

// ---- rtptimeout ----

TEST_F(CallEngineTest, RtpTimeoutHangsUpASilentCall) {
  start("rtptimeout=10\n");
  auto [c, callee] = establish();
  for (const auto& s : env_.opened) {
    env_.counters[s.id].last_rtp_in = now() - std::chrono::hours(1);  // long before the call
  }
  advance(seconds(9));
  EXPECT_TRUE(env_.requests_of("BYE").empty());
  EXPECT_EQ(engine_->active_calls(), 1u);
  advance(seconds(2));
  EXPECT_EQ(env_.requests_of("BYE").size(), 2u);
  EXPECT_EQ(engine_->active_calls(), 0u);
  EXPECT_EQ(engine_->counters().media_timeouts, 1u);
  ASSERT_EQ(env_.cdrs.size(), 1u);
  EXPECT_EQ(cdr_word(env_.cdrs[0]), "ANSWERED");
}

TEST_F(CallEngineTest, RtpTimeoutSparesACallWithMedia) {
  start("rtptimeout=10\n");
  auto [c, callee] = establish();
  for (int i = 0; i < 30; ++i) {
    for (const auto& s : env_.opened) env_.counters[s.id].last_rtp_in = now();
    advance(seconds(1));
  }
  EXPECT_TRUE(env_.requests_of("BYE").empty());
  EXPECT_EQ(engine_->active_calls(), 1u);
  // Silence from now on: gone 10 s later.
  advance(seconds(12));
  EXPECT_EQ(engine_->active_calls(), 0u);
}

// ---- applications ----

TEST_F(CallEngineTest, PlaybackPlaysEachPromptThenTheDialplanGoesOn) {
  CallerSide c = caller("610");
  send_invite(c);
  ASSERT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{200});  // answered first
  ack_from_caller(c, 1);
  const MediaStreamId stream = env_.opened.at(0).id;
  ASSERT_EQ(env_.plays.size(), 1u);
  EXPECT_EQ(env_.plays[0].stream, stream);
  EXPECT_EQ(env_.plays[0].prompt, "beep");
  EXPECT_EQ(env_.plays[0].payload_type, 0);  // PCMU, the caller's first codec

  engine_->on_playback_done(stream, env_.plays[0].id + 100, true, now(), wall());  // not ours
  EXPECT_EQ(env_.plays.size(), 1u);
  engine_->on_playback_done(stream, env_.plays[0].id, true, now(), wall());
  ASSERT_EQ(env_.plays.size(), 2u);
  EXPECT_EQ(env_.plays[1].prompt, "tone/ring");
  EXPECT_TRUE(env_.requests_of("BYE").empty());

  engine_->on_playback_done(stream, env_.plays[1].id, true, now(), wall());
  // Hangup(21) on an answered call: BYE to the caller.
  auto byes = env_.requests_of("BYE");
  ASSERT_EQ(byes.size(), 1u);
  EXPECT_EQ(byes[0]->to.address, kPhone201.address);
  ASSERT_EQ(env_.cdrs.size(), 1u);
  EXPECT_EQ(env_.cdrs[0].lastapp, "Hangup");
  EXPECT_EQ(cdr_word(env_.cdrs[0]), "ANSWERED");
  EXPECT_TRUE(env_.open.empty());
}

TEST_F(CallEngineTest, PlaybackOfUnknownPromptsGoesOnAtOnce) {
  env_.failing_prompts = {"beep", "tone/ring"};
  CallerSide c = caller("610");
  send_invite(c);
  EXPECT_TRUE(env_.plays.empty());
  EXPECT_EQ(env_.requests_of("BYE").size(), 1u);
  EXPECT_EQ(engine_->active_calls(), 0u);
}

TEST_F(CallEngineTest, EchoAnswersAndEchoesTheCallersStream) {
  CallerSide c = caller("600");
  send_invite(c);
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{200});
  ASSERT_EQ(env_.echoed.size(), 1u);
  EXPECT_EQ(env_.echoed[0], env_.opened.at(0).id);
  ack_from_caller(c, 1);
  advance(seconds(60));
  EXPECT_EQ(engine_->active_calls(), 1u);
  const auto bye = send_from_caller(c, c.in_dialog("BYE"));
  EXPECT_EQ(env_.statuses_to(bye), std::vector<int>{200});
  ASSERT_EQ(env_.cdrs.size(), 1u);
  EXPECT_EQ(env_.cdrs[0].billsec, 60);
  EXPECT_TRUE(env_.open.empty());
}

TEST_F(CallEngineTest, WaitResumesAfterItsTime) {
  CallerSide c = caller("620");
  send_invite(c);
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{200});
  ack_from_caller(c, 1);
  advance(milliseconds(1900));
  EXPECT_TRUE(env_.requests_of("BYE").empty());
  advance(milliseconds(200));
  ASSERT_EQ(env_.requests_of("BYE").size(), 1u);
  ASSERT_EQ(env_.cdrs.size(), 1u);
  EXPECT_EQ(env_.cdrs[0].billsec, 2);
}

TEST_F(CallEngineTest, HangupWithCause17OnAnUnansweredCallIs486) {
  CallerSide c = caller("630");
  send_invite(c);
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{486});
  ASSERT_EQ(env_.cdrs.size(), 1u);
  EXPECT_EQ(cdr_word(env_.cdrs[0]), "BUSY");
  EXPECT_TRUE(env_.open.empty());
}

TEST_F(CallEngineTest, UnknownApplicationHangsUpCleanly) {
  CallerSide c = caller("640");
  send_invite(c);
  EXPECT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{480});
  EXPECT_EQ(engine_->active_calls(), 0u);
  EXPECT_TRUE(env_.open.empty());
  EXPECT_TRUE(env_.requests.empty());
  EXPECT_EQ(env_.cdrs.size(), 1u);
  EXPECT_FALSE(engine_->next_deadline().has_value());
}

// ---- admin ----

TEST_F(CallEngineTest, RequestHangupAllEndsEveryCall) {
  CallerSide echo = caller("600");
  send_invite(echo);
  ack_from_caller(echo, 1);
  CallerSide ringing = caller();
  send_invite(ringing);
  CalleeSide callee = callee_for(kPhone202);
  respond(callee, 180);
  ASSERT_EQ(engine_->active_calls(), 2u);

  EXPECT_EQ(engine_->request_hangup("SIP/nobody-00000099", now(), wall()), 0u);
  EXPECT_EQ(engine_->request_hangup("all", now(), wall()), 2u);
  auto byes = env_.requests_of("BYE");
  ASSERT_EQ(byes.size(), 1u);
  EXPECT_EQ(byes[0]->to.address, kPhone201.address);
  EXPECT_EQ(byes[0]->message().call_id(), echo.call_id);
  EXPECT_EQ(env_.statuses_to(ringing.invite_transaction).back(), 480);
  ASSERT_EQ(env_.requests_of("CANCEL").size(), 1u);
  EXPECT_EQ(env_.requests_of("CANCEL")[0]->to.address, kPhone202.address);
  EXPECT_EQ(engine_->active_calls(), 0u);
  EXPECT_EQ(env_.cdrs.size(), 2u);
}

TEST_F(CallEngineTest, RequestHangupOfTheCalleesChannel) {
  auto [c, callee] = establish();
  auto views = engine_->channels(now());
  ASSERT_EQ(views.size(), 2u);
  const std::string callee_channel = views[1].channel;
  EXPECT_EQ(engine_->request_hangup(callee_channel, now(), wall()), 1u);
  EXPECT_EQ(env_.requests_of("BYE").size(), 2u);
  EXPECT_EQ(engine_->active_calls(), 0u);
}

TEST_F(CallEngineTest, HangupAllClosesEveryStreamAndWritesEveryCdr) {
  establish();
  CallerSide ringing = caller("203");
  send_invite(ringing);
  CallerSide waiting = caller("650");
  send_invite(waiting);
  ASSERT_EQ(engine_->active_calls(), 3u);
  // Two streams per relayed call; the call in Wait() needs no media and holds no port.
  EXPECT_EQ(env_.open.size(), 4u);

  engine_->hangup_all(now(), wall());
  EXPECT_TRUE(env_.open.empty());
  EXPECT_EQ(env_.closed.size(), 4u);
  EXPECT_EQ(env_.cdrs.size(), 3u);
  EXPECT_EQ(engine_->active_calls(), 0u);
  EXPECT_EQ(env_.requests_of("BYE").size(), 2u);  // both sides of the bridged call
  EXPECT_EQ(env_.statuses_to(ringing.invite_transaction).back(), 480);
  EXPECT_EQ(env_.statuses_to(waiting.invite_transaction).back(), 480);
  EXPECT_EQ(engine_->counters().calls_processed, 3u);
}

TEST_F(CallEngineTest, ChannelsShowBothLegsOfACall) {
  CallerSide c = caller();
  send_invite(c);
  CalleeSide callee = callee_for(kPhone202);
  respond(callee, 180);
  auto ringing = engine_->channels(now());
  ASSERT_EQ(ringing.size(), 2u);
  EXPECT_EQ(ringing[0].state, ChannelState::Ringing);
  EXPECT_TRUE(ringing[0].bridged_to.empty());

  respond(callee, 200, phone_sdp("198.18.0.102", 50000));
  ack_from_caller(c, 1);
  advance(seconds(7));
  auto views = engine_->channels(now());
  ASSERT_EQ(views.size(), 2u);
  const ChannelView& in = views[0];
  const ChannelView& out = views[1];
  EXPECT_TRUE(in.inbound);
  EXPECT_EQ(in.channel.rfind("SIP/201-", 0), 0u);
  EXPECT_EQ(in.peer, "201");
  EXPECT_EQ(in.state, ChannelState::Up);
  EXPECT_EQ(in.context, "internal");
  EXPECT_EQ(in.exten, "202");
  EXPECT_EQ(in.application, "Dial");
  EXPECT_EQ(in.data, "SIP/202,5");
  EXPECT_EQ(in.caller_number, "201");
  EXPECT_EQ(in.caller_name, "Extension 201");
  EXPECT_EQ(in.call_id, c.call_id);
  EXPECT_EQ(in.address, sip::to_string(kPhone201));
  EXPECT_EQ(in.bridged_to, out.channel);
  EXPECT_EQ(in.duration_seconds, 7);
  EXPECT_EQ(in.rtp_local_port, env_.opened[0].rtp_port);
  EXPECT_TRUE(in.rtp.has_value());
  EXPECT_FALSE(out.inbound);
  EXPECT_EQ(out.channel.rfind("SIP/202-", 0), 0u);
  EXPECT_EQ(out.peer, "202");
  EXPECT_EQ(out.application, "AppDial");
  EXPECT_EQ(out.state, ChannelState::Up);
  EXPECT_EQ(out.bridged_to, in.channel);
  EXPECT_EQ(out.call_id, std::string(callee.invite->message().call_id()));
  EXPECT_EQ(out.rtp_local_port, env_.opened[1].rtp_port);
  EXPECT_NE(in.uniqueid, out.uniqueid);
}

}  // namespace
}  // namespace hapbx::pbx::testing

namespace hapbx::pbx::testing {
namespace {

// INFO (RFC 6086, DTMF from older phones) and UPDATE (RFC 3311) cross the bridge: a new request
// in the other dialog, its final response back to the sender.
TEST_F(CallEngineTest, InfoAndUpdateAreRelayedToTheOtherLeg) {
  auto [c, callee] = establish();
  const auto info = send_from_caller(c, c.in_dialog("INFO"));
  auto infos = env_.requests_of("INFO");
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_EQ(infos[0]->to.address, kPhone202.address);
  EXPECT_EQ(infos[0]->message().call_id(), callee.invite->message().call_id());
  EXPECT_TRUE(respond(callee, 200, {}, infos[0]));
  EXPECT_EQ(env_.statuses_to(info), std::vector<int>{200});

  const auto update = send_from_callee(
      callee.request("UPDATE", phone_sdp("198.18.0.102", 50010, "0", "sendrecv", 3)));
  auto updates = env_.requests_of("UPDATE");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0]->to.address, kPhone201.address);
  auto offer = sip::parse_sdp(updates[0]->message().body());
  ASSERT_TRUE(offer.ok());
  EXPECT_NE(offer->media.at(0).port, 50010) << "the caller must see the relay, not the callee";
  EXPECT_TRUE(engine_->on_response(
      updates[0]->transaction,
      parse(sip::make_response(updates[0]->message(), 200, {}, {})
                .body("application/sdp", phone_sdp(kPhone201.address, 40000, "0", "sendrecv", 3))
                .finish()),
      now(), wall()));
  ASSERT_EQ(env_.statuses_to(update), std::vector<int>{200});
  auto answer = sip::parse_sdp(env_.last_response_to(update)->message().body());
  ASSERT_TRUE(answer.ok());
  EXPECT_NE(answer->media.at(0).port, 40000) << "the callee must see the relay, not the caller";
}

// A callee that never answers a relayed request: the sender gets 408 when the client
// transaction gives up, and the call goes on.
TEST_F(CallEngineTest, ARelayedRequestThatTimesOutGets408) {
  auto [c, callee] = establish();
  const auto info = send_from_caller(c, c.in_dialog("INFO"));
  auto infos = env_.requests_of("INFO");
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_TRUE(engine_->on_client_failure(infos[0]->transaction, now(), wall()));
  EXPECT_EQ(env_.statuses_to(info), std::vector<int>{408});
  EXPECT_EQ(engine_->active_calls(), 1u);
}

}  // namespace
}  // namespace hapbx::pbx::testing

namespace hapbx::pbx::testing {
namespace {

// Set(GLOBAL(...)) in one call is seen by the next one, as in Asterisk.
TEST_F(CallEngineTest, GlobalsSetByOneCallAreSeenByTheNext) {
  start({},
        "[internal]\n"
        "exten => 650,1,Set(GLOBAL(SEEN)=${IF($[\"${SEEN}\" = \"\"]?first:second)})\n"
        " same => n,GotoIf($[\"${SEEN}\" = \"second\"]?busy)\n"
        " same => n,Hangup(21)\n"
        " same => n(busy),Busy()\n");
  CallerSide first = caller("650");
  send_invite(first);
  EXPECT_EQ(env_.statuses_to(first.invite_transaction).back(), 403);
  CallerSide second = caller("650");
  send_invite(second);
  EXPECT_EQ(env_.statuses_to(second.invite_transaction).back(), 486);
}

}  // namespace
}  // namespace hapbx::pbx::testing

namespace hapbx::pbx::testing {
namespace {

// While the daemon's loop is behind, a new call costs one 503 and nothing else.
TEST_F(CallEngineTest, OverloadedEngineAnswersNewCalls503WithRetryAfter) {
  engine_->set_overloaded(true);
  CallerSide c = caller();
  send_invite(c);
  ASSERT_EQ(env_.statuses_to(c.invite_transaction), std::vector<int>{503});
  EXPECT_TRUE(env_.last_response_to(c.invite_transaction)
                  ->message()
                  .header(sip::HeaderId::RetryAfter)
                  .has_value());
  EXPECT_TRUE(env_.requests.empty());
  EXPECT_TRUE(env_.open.empty());
  EXPECT_EQ(engine_->counters().overload_rejections, 1u);
  engine_->set_overloaded(false);
  CallerSide later = caller();
  send_invite(later);
  EXPECT_EQ(invites_to(kPhone202).size(), 1u);
}

}  // namespace
}  // namespace hapbx::pbx::testing

namespace hapbx::pbx::testing {
namespace {

// A re-INVITE without SDP (a session refresh) in a relayed call is answered here with our offer,
// not passed to the other side, whose media does not change; the answer comes in the ACK.
TEST_F(CallEngineTest, OfferlessReinviteIsAnsweredHereAndTheAckAnswers) {
  auto [c, callee] = establish();
  const size_t invites_before = invites_to(kPhone202).size();
  const auto reinvite = send_from_caller(c, c.in_dialog("INVITE"));
  EXPECT_EQ(invites_to(kPhone202).size(), invites_before) << "nothing relayed to 202";
  ASSERT_EQ(env_.statuses_to(reinvite), std::vector<int>{200});
  auto offer = sip::parse_sdp(env_.last_response_to(reinvite)->message().body());
  ASSERT_TRUE(offer.ok()) << "the 200 must carry our offer";
  EXPECT_FALSE(env_.has_remote_rtp_port(40500));
  engine_->on_ack(parse(c.in_dialog_with_cseq("ACK", c.cseq, phone_sdp(kPhone201.address, 40500))),
                  now());
  EXPECT_TRUE(env_.has_remote_rtp_port(40500)) << "the answer in the ACK must reach the relay";
  // No more 200 retransmissions once ACKed.
  const size_t sent = env_.responses_to(reinvite).size();
  advance(std::chrono::seconds(5));
  EXPECT_EQ(env_.responses_to(reinvite).size(), sent);
  EXPECT_EQ(engine_->active_calls(), 1u);
}

}  // namespace
}  // namespace hapbx::pbx::testing
