// Matching rules of the transaction layer: RFC 3261 17.1.3 (responses), 17.2.3 (requests,
// ACK to the INVITE transaction), 9.2 (CANCEL finds the INVITE it cancels) and the RFC 2543
// fallback for requests without the z9hG4bK magic cookie.
#include <gtest/gtest.h>

#include "core/clock.h"
#include "sip/ack.h"
#include "sip/transaction_key.h"
#include "sip/transaction_layer.h"
#include "transaction_layer_test_util.h"

namespace hapbx::sip {
namespace {

using testing::build_request;
using testing::parse;
using testing::request;
using testing::RequestSpec;
using testing::response_to;
using testing::take;
using testing::udp_peer;

class MatchingTest : public ::testing::Test {
 protected:
  // Feeds a request; returns the id of the transaction it created, or 0 when it created none.
  TransactionId feed(const RequestSpec& spec) {
    layer_.on_message(request(spec), udp_peer(), clock_.now());
    last_ = layer_.take_actions();
    auto created = take<RequestForTu>(last_);
    return created.empty() ? 0 : created[0].transaction;
  }
  void answer(TransactionId id, const RequestSpec& spec, int status) {
    const std::string bytes = make_response(request(spec), status, {}, "uas1").finish();
    ASSERT_TRUE(layer_.send_response(id, bytes, status, clock_.now()).ok());
    layer_.take_actions();
  }

  core::ManualClock clock_;
  TransactionLayer layer_;
  std::vector<LayerAction> last_;
};

TEST_F(MatchingTest, SameBranchDifferentMethodIsAnotherTransaction) {
  RequestSpec invite;
  const TransactionId a = feed(invite);
  RequestSpec cancel = invite;
  cancel.method = "CANCEL";
  const TransactionId b = feed(cancel);
  ASSERT_NE(a, 0u);
  ASSERT_NE(b, 0u);
  EXPECT_NE(a, b);
  EXPECT_EQ(layer_.size(), 2u);
  EXPECT_EQ(layer_.find_cancelled_invite(b), a);
  EXPECT_EQ(layer_.find_cancelled_invite(a), std::nullopt) << "an INVITE cancels nothing";
}

TEST_F(MatchingTest, CancelForAnUnknownInviteFindsNothing) {
  RequestSpec cancel;
  cancel.method = "CANCEL";
  cancel.branch = "z9hG4bKnoinvite";
  const TransactionId id = feed(cancel);
  ASSERT_NE(id, 0u);
  EXPECT_EQ(layer_.find_cancelled_invite(id), std::nullopt);
}

TEST_F(MatchingTest, SameBranchFromAnotherSentByIsAnotherTransaction) {
  RequestSpec first;
  RequestSpec other = first;
  other.via_host = "198.18.0.101";
  EXPECT_NE(feed(first), 0u);
  EXPECT_NE(feed(other), 0u);
  RequestSpec other_port = first;
  other_port.via_port = 5062;
  EXPECT_NE(feed(other_port), 0u);
  EXPECT_EQ(layer_.size(), 3u);
  RequestSpec upper = first;
  upper.via_host = "HOST.example.com";
  RequestSpec lower = first;
  lower.via_host = "host.example.com";
  EXPECT_NE(feed(upper), 0u);
  EXPECT_EQ(feed(lower), 0u) << "host names compare case-insensitively";
}

TEST_F(MatchingTest, AckMatchesTheInviteTransactionNotItsOwn) {
  RequestSpec invite;
  const TransactionId id = feed(invite);
  answer(id, invite, 486);
  RequestSpec ack = invite;
  ack.method = "ACK";
  ack.to_tag = "uas1";
  EXPECT_EQ(feed(ack), 0u);
  EXPECT_TRUE(last_.empty());
  EXPECT_EQ(layer_.state_name(id), "Confirmed");
  EXPECT_EQ(layer_.size(), 1u) << "an ACK never creates a transaction";
}

TEST_F(MatchingTest, ResponsesMatchOnBranchAndCSeqMethod) {
  const std::string invite = build_request({});
  RequestSpec cancel_spec;
  cancel_spec.method = "CANCEL";
  const std::string cancel = build_request(cancel_spec);
  auto invite_id = layer_.send_request(invite, udp_peer(), clock_.now());
  auto cancel_id = layer_.send_request(cancel, udp_peer(), clock_.now());
  ASSERT_TRUE(invite_id.ok());
  ASSERT_TRUE(cancel_id.ok()) << "the CANCEL shares the INVITE's branch: its own transaction";
  layer_.take_actions();

  layer_.on_message(response_to(cancel, 200), udp_peer(), clock_.now());
  layer_.on_message(response_to(invite, 487), udp_peer(), clock_.now());
  auto actions = layer_.take_actions();
  auto responses = take<ResponseForTu>(actions);
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0].transaction, *cancel_id);
  EXPECT_EQ(responses[0].response.status_code(), 200);
  EXPECT_EQ(responses[1].transaction, *invite_id);
  EXPECT_EQ(responses[1].response.status_code(), 487);

  // A response with the right branch but another CSeq method matches neither.
  RequestSpec bye;
  bye.method = "BYE";
  layer_.on_message(response_to(build_request(bye), 200), udp_peer(), clock_.now());
  EXPECT_TRUE(layer_.take_actions().empty());
  EXPECT_EQ(layer_.counters().stray_responses, 1u);
}

// --- RFC 2543 fallback ---------------------------------------------------------------------

RequestSpec old_invite() {
  RequestSpec spec;
  spec.branch = "";  // an RFC 2543 UA: no branch at all
  return spec;
}

TEST_F(MatchingTest, Rfc2543RetransmissionMatchesOnTheWholeTuple) {
  const RequestSpec invite = old_invite();
  const TransactionId id = feed(invite);
  ASSERT_NE(id, 0u);
  EXPECT_EQ(feed(invite), 0u) << "a retransmission";
  EXPECT_EQ(take<SendBytes>(last_).size(), 1u) << "answered with the 100 Trying";

  RequestSpec other_from = invite;
  other_from.from_tag = "someone-else";
  EXPECT_NE(feed(other_from), 0u);
  RequestSpec other_cseq = invite;
  other_cseq.cseq = 2;
  EXPECT_NE(feed(other_cseq), 0u);
  RequestSpec other_uri = invite;
  other_uri.uri = "sip:202@198.18.0.10";
  EXPECT_NE(feed(other_uri), 0u);
  RequestSpec other_call = invite;
  other_call.call_id = "call-2@198.18.0.100";
  EXPECT_NE(feed(other_call), 0u);
  RequestSpec other_to_tag = invite;
  other_to_tag.to_tag = "dialog9";
  EXPECT_NE(feed(other_to_tag), 0u);
  RequestSpec other_via = invite;
  other_via.via_port = 5099;
  EXPECT_NE(feed(other_via), 0u);
  EXPECT_EQ(layer_.size(), 7u);
}

TEST_F(MatchingTest, Rfc2543AckCarriesOurToTagAndStillMatches) {
  const RequestSpec invite = old_invite();
  const TransactionId id = feed(invite);
  answer(id, invite, 404);
  RequestSpec ack = invite;
  ack.method = "ACK";
  ack.cseq_method = "ACK";
  ack.to_tag = "uas1";
  EXPECT_EQ(feed(ack), 0u);
  EXPECT_TRUE(last_.empty());
  EXPECT_EQ(layer_.state_name(id), "Confirmed");
}

TEST_F(MatchingTest, Rfc2543AckInADialogMatchesTheReInvite) {
  RequestSpec reinvite = old_invite();
  reinvite.to_tag = "dialog9";
  reinvite.cseq = 5;
  const TransactionId id = feed(reinvite);
  answer(id, reinvite, 491);
  RequestSpec ack = reinvite;
  ack.method = "ACK";
  EXPECT_EQ(feed(ack), 0u);
  EXPECT_EQ(layer_.state_name(id), "Confirmed");
}

TEST_F(MatchingTest, Rfc2543AckForAnotherCSeqDoesNotMatch) {
  const RequestSpec invite = old_invite();
  const TransactionId id = feed(invite);
  answer(id, invite, 404);
  RequestSpec ack = invite;
  ack.method = "ACK";
  ack.to_tag = "uas1";
  ack.cseq = 9;
  feed(ack);
  EXPECT_EQ(take<AckForTu>(last_).size(), 1u) << "unmatched: up to the TU";
  EXPECT_EQ(layer_.state_name(id), "Completed");
}

TEST_F(MatchingTest, Rfc2543CancelFindsItsInvite) {
  const RequestSpec invite = old_invite();
  const TransactionId invite_id = feed(invite);
  RequestSpec cancel = invite;
  cancel.method = "CANCEL";
  const TransactionId cancel_id = feed(cancel);
  ASSERT_NE(cancel_id, 0u);
  EXPECT_EQ(layer_.find_cancelled_invite(cancel_id), invite_id);
}

TEST(TransactionKeyTest, MagicCookie) {
  EXPECT_TRUE(is_rfc3261_branch("z9hG4bK776asdhds"));
  EXPECT_FALSE(is_rfc3261_branch("z9hG4bK"));  // the cookie alone is no unique branch
  EXPECT_FALSE(is_rfc3261_branch("Z9HG4BK776asdhds"));
  EXPECT_FALSE(is_rfc3261_branch("776asdhds"));
  EXPECT_FALSE(is_rfc3261_branch(""));
}

TEST(TransactionKeyTest, ClientKeyIgnoresEverythingButBranchAndMethod) {
  RequestSpec a;
  RequestSpec b = a;
  b.via_host = "elsewhere.example.com";
  b.call_id = "other";
  b.cseq = 77;
  EXPECT_EQ(client_transaction_key(request(a)), client_transaction_key(request(b)));
  b.method = "CANCEL";
  EXPECT_NE(client_transaction_key(request(a)), client_transaction_key(request(b)));
}

TEST(AckBuilderTest, RefusesWhatIsNotAnInviteAndAFailure) {
  const std::string invite = build_request({});
  RequestSpec bye;
  bye.method = "BYE";
  EXPECT_FALSE(make_ack_for_non_2xx(parse(invite), response_to(invite, 200)).ok());
  EXPECT_FALSE(make_ack_for_non_2xx(parse(invite), response_to(invite, 180)).ok());
  EXPECT_FALSE(make_ack_for_non_2xx(request(bye), response_to(invite, 486)).ok());
  auto ack = make_ack_for_non_2xx(parse(invite), response_to(invite, 486));
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  Message parsed = parse(*ack);
  EXPECT_EQ(parsed.fault(), ParseFault::None) << parsed.fault_reason();
  EXPECT_EQ(parsed.max_forwards(), 70u);
  EXPECT_EQ(parsed.content_length(), 0u);
  EXPECT_TRUE(parsed.values(HeaderId::Route).empty()) << "no Route in, no Route out";
}

}  // namespace
}  // namespace hapbx::sip
