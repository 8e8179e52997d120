// Seeded random walks through the transaction layer: duplicated, reordered and unexpected
// messages, late or repeated TU answers, transport errors and jumps in time. The layer must
// never exceed its cap, never keep a timer for a dead transaction, and once the TU has
// answered everything and time has passed, only client INVITEs waiting on the TU
// (Proceeding: the TU's Timer C / CANCEL ends those) may remain.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "core/clock.h"
#include "sip/transaction_layer.h"
#include "transaction_layer_test_util.h"

namespace hapbx::sip {
namespace {

using std::chrono::milliseconds;
using testing::build_request;
using testing::parse;
using testing::RequestSpec;
using testing::response_to;

class RandomWalk {
 public:
  explicit RandomWalk(uint32_t seed) : rng_(seed) {
    TransactionLayerConfig config;
    config.max_transactions = 12;
    layer_ = std::make_unique<TransactionLayer>(config);
  }

  void step() {
    switch (pick(8)) {
      case 0: case 1: incoming_request(); break;
      case 2: outgoing_request(); break;
      case 3: incoming_response(); break;
      case 4: tu_answers(); break;
      case 5: transport_error(); break;
      default: advance(); break;
    }
    drain();
    ASSERT_LE(layer_->size(), 12u);
    if (layer_->next_deadline()) {
      ASSERT_GT(layer_->size(), 0u) << "a timer outlived every transaction";
    }
  }

  // The TU answers everything still open, then a long quiet time passes.
  void settle() {
    for (TransactionId id : std::set<TransactionId>(server_ids_)) {
      (void)layer_->send_response(id, "SIP/2.0 500 x\r\n\r\n", 500, clock_.now());
    }
    for (int i = 0; i < 100 && layer_->next_deadline(); ++i) {
      clock_.advance(std::chrono::minutes(1));
      layer_->on_timer(clock_.now());
    }
    drain();
  }

  void check_settled() {
    EXPECT_FALSE(layer_->next_deadline());
    for (TransactionId id : client_ids_) {
      auto state = layer_->state_name(id);
      if (state) {
        EXPECT_EQ(*state, "Proceeding") << "client transaction " << id;
      }
    }
    for (TransactionId id : server_ids_) {
      EXPECT_FALSE(layer_->state_name(id)) << "server transaction " << id << " still alive";
    }
  }

  const TransactionCounters& counters() const { return layer_->counters(); }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  RequestSpec random_spec() {
    static const char* kMethods[] = {"INVITE", "OPTIONS", "ACK", "CANCEL", "BYE"};
    static const char* kBranches[] = {"z9hG4bKa", "z9hG4bKb", "z9hG4bKc", "", "z9hG4bKd"};
    RequestSpec spec;
    spec.method = kMethods[pick(5)];
    spec.branch = kBranches[pick(5)];
    spec.to_tag = pick(2) == 0 ? "" : "uas1";
    spec.cseq = static_cast<uint32_t>(1 + pick(2));
    return spec;
  }

  Endpoint random_peer() { return pick(3) == 0 ? testing::tcp_peer() : testing::udp_peer(); }

  void incoming_request() {
    layer_->on_message(parse(build_request(random_spec())), random_peer(), clock_.now());
  }

  void outgoing_request() {
    RequestSpec spec = random_spec();
    if (spec.method == "ACK" || spec.branch.empty()) return;
    const std::string bytes = build_request(spec);
    auto id = layer_->send_request(bytes, random_peer(), clock_.now());
    if (id.ok()) {
      client_ids_.insert(*id);
      sent_.push_back(bytes);
    }
  }

  void incoming_response() {
    if (sent_.empty()) return;
    static const int kStatus[] = {100, 180, 200, 404, 487, 503};
    const std::string& request = sent_[static_cast<size_t>(pick(static_cast<int>(sent_.size())))];
    layer_->on_message(response_to(request, kStatus[pick(6)]), random_peer(), clock_.now());
  }

  void tu_answers() {
    if (server_ids_.empty()) return;
    auto it = server_ids_.begin();
    std::advance(it, pick(static_cast<int>(server_ids_.size())));
    static const int kStatus[] = {100, 180, 200, 486, 500};
    const int status = kStatus[pick(5)];
    (void)layer_->send_response(*it, "SIP/2.0 " + std::to_string(status) + " x\r\n\r\n", status,
                                clock_.now());
  }

  void transport_error() {
    if (client_ids_.empty() || pick(2) == 0) {
      if (!server_ids_.empty()) layer_->on_transport_error(*server_ids_.begin(), clock_.now());
      return;
    }
    layer_->on_transport_error(*client_ids_.rbegin(), clock_.now());
  }

  void advance() {
    clock_.advance(milliseconds(pick(3) == 0 ? 20000 : pick(3000)));
    layer_->on_timer(clock_.now());
  }

  void drain() {
    for (LayerAction& action : layer_->take_actions()) {
      if (auto* request = std::get_if<RequestForTu>(&action)) {
        server_ids_.insert(request->transaction);
      } else if (auto* ended = std::get_if<ServerTransactionTerminated>(&action)) {
        server_ids_.erase(ended->transaction);
      }
    }
  }

  std::mt19937 rng_;
  core::ManualClock clock_;
  std::unique_ptr<TransactionLayer> layer_;
  std::set<TransactionId> client_ids_;
  std::set<TransactionId> server_ids_;
  std::vector<std::string> sent_;
};

TEST(TransactionLayerRandomTest, InvariantsHoldOverSeededWalks) {
  TransactionCounters total;
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomWalk walk(seed);
    for (int i = 0; i < 300; ++i) {
      walk.step();
      if (::testing::Test::HasFatalFailure()) return;
    }
    walk.settle();
    walk.check_settled();
    const TransactionCounters& c = walk.counters();
    total.client_transactions += c.client_transactions;
    total.server_transactions += c.server_transactions;
    total.retransmissions_absorbed += c.retransmissions_absorbed;
    total.timeouts += c.timeouts;
    total.transport_errors += c.transport_errors;
    total.stray_responses += c.stray_responses;
    total.refused += c.refused;
  }
  // The walks must actually reach the paths they are meant to shake.
  EXPECT_GT(total.client_transactions, 100u);
  EXPECT_GT(total.server_transactions, 100u);
  EXPECT_GT(total.retransmissions_absorbed, 0u);
  EXPECT_GT(total.timeouts, 0u);
  EXPECT_GT(total.transport_errors, 0u);
  EXPECT_GT(total.stray_responses, 0u);
  EXPECT_GT(total.refused, 0u);
}

}  // namespace
}  // namespace hapbx::sip
