// The SIP transaction layer (RFC 3261 17): one per SIP stack. It matches messages to
// transactions, runs the four pure machines (transaction_client_*.h, transaction_server_*.h),
// keeps the bytes they (re)send and their timers, and queues what the transport and the TU
// must do. It does no I/O and reads no clock: the driver feeds it received messages, TU
// requests and `now`, drains take_actions(), and arms one real timer for next_deadline().
//
// Contract with the environment (the driver):
// - on_message() only gets messages that passed ingress validation (fault() == None); a
//   faulty request is answered 400/513 statelessly before it gets here. Faulty ones are
//   dropped and counted, never trusted.
// - Messages may be lost, duplicated and reordered; retransmissions are absorbed here.
// - Actions come out in the order they must be performed. SendBytes that fail to go out are
//   reported back with on_transport_error(transaction).
// - Memory is bounded: transactions are removed when they terminate, and at most
//   `max_transactions` live at once. A new request beyond that is handed up as RequestRefused
//   (the TU answers 503 statelessly); send_request() then fails.
//
// Threading: not thread-safe; owned by one event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/result.h"
#include "sip/endpoint.h"
#include "sip/message.h"
#include "sip/transaction_step.h"
#include "sip/transaction_timers.h"

namespace hapbx::sip {

// Unique within one layer, never reused; 0 means "none".
using TransactionId = uint64_t;

struct TransactionLayerConfig {
  TimerConfig timers;
  size_t max_transactions = 20000;  // client and server together
};

// Readable for `sip show` status output.
struct TransactionCounters {
  uint64_t client_transactions = 0;       // created
  uint64_t server_transactions = 0;       // created
  uint64_t retransmissions_sent = 0;      // requests and responses sent again (timers or echo)
  uint64_t retransmissions_absorbed = 0;  // received duplicates handled without the TU
  uint64_t timeouts = 0;                  // Timer B, F or H
  uint64_t transport_errors = 0;
  uint64_t stray_responses = 0;           // matched no transaction (2xx to INVITE go to TU)
  uint64_t unmatched_acks = 0;            // ACKs outside any transaction (ACK for 2xx): to TU
  uint64_t refused = 0;                   // requests refused at the max_transactions cap
  uint64_t dropped_invalid = 0;           // faulty messages that should not have come here
  uint64_t stateless_finals = 0;          // answered by send_final_and_forget()
};

// --- what the layer asks of its environment ------------------------------------------------

// Give these bytes to the transport. `transaction` (0 for stateless sends) is what a failed
// send is reported back with.
struct SendBytes {
  Endpoint destination;
  std::string bytes;
  TransactionId transaction = 0;
};
// A new request, with the server transaction the TU answers it through (send_response()).
struct RequestForTu {
  TransactionId transaction;
  Message request;
  Endpoint source;
};
// A response for a client transaction of the TU (provisional, final, and for INVITE every 2xx
// received while the transaction lives, retransmissions and forks included: the TU ACKs them).
struct ResponseForTu {
  TransactionId transaction;
  Message response;
  Endpoint source;
};
// An ACK the transactions do not absorb: the ACK for a 2xx, which belongs to the dialog
// (13.3.1.4). `transaction` is the INVITE server transaction it matched in its Accepted state,
// 0 when it matched none (the usual case: the ACK for a 2xx has a new branch).
struct AckForTu {
  Message ack;
  Endpoint source;
  TransactionId transaction = 0;
};
// A 2xx to an INVITE that matched no transaction: a late retransmission of a 2xx (its client
// transaction is gone) that the TU must ACK again (13.2.2.4). Other stray responses are dropped.
struct StrayResponseForTu {
  Message response;
  Endpoint source;
};
// A new request that would exceed max_transactions: no transaction was made. The TU should
// answer 503 (statelessly: send_stateless()) or drop it.
struct RequestRefused {
  Message request;
  Endpoint source;
};
// A client transaction failed: Timer B/F (timeout, the TU acts as if 408 came) or transport.
struct ClientTransactionFailed {
  TransactionId transaction;
  txn::Failure failure;
};
// A server transaction failed: Timer H (the ACK never came) or transport error.
struct ServerTransactionFailed {
  TransactionId transaction;
  txn::Failure failure;
};
// A server transaction ended (after a failure report, if any); its id is no longer valid.
struct ServerTransactionTerminated {
  TransactionId transaction;
};

using LayerAction =
    std::variant<SendBytes, RequestForTu, ResponseForTu, AckForTu, StrayResponseForTu,
                 RequestRefused, ClientTransactionFailed, ServerTransactionFailed,
                 ServerTransactionTerminated>;

class TransactionLayer {
 public:
  explicit TransactionLayer(TransactionLayerConfig config = {});
  ~TransactionLayer();
  TransactionLayer(const TransactionLayer&) = delete;
  TransactionLayer& operator=(const TransactionLayer&) = delete;

  // A message from the transport.
  void on_message(Message&& message, const Endpoint& source, TimePoint now);

  // Starts a client transaction for a request the TU built (with MessageWriter): it must have
  // a top Via whose branch starts with z9hG4bK (new_branch()) and a CSeq naming its method.
  // ACK is not a transaction: send it with send_stateless(). Errors: unparseable or invalid
  // request, a transaction with that branch and method already exists, or the layer is full.
  Result<TransactionId> send_request(std::string bytes, const Endpoint& destination,
                                     TimePoint now);
  Result<TransactionId> send_request(Message&& request, const Endpoint& destination,
                                     TimePoint now);

  // The TU answers the request of server transaction `transaction`. `bytes` is the whole
  // response (make_response() in message_writer.h), `status_code` its status. Errors: no
  // such transaction (it terminated) or its state takes no more responses (a final was sent).
  Status send_response(TransactionId transaction, std::string bytes, int status_code,
                       TimePoint now);

  // Answers a non-INVITE server transaction with a final response and forgets the transaction
  // at once, as a stateless UAS would (RFC 3261 8.2.7). For answers that are harmless to
  // compute again when the request is retransmitted (a 401 challenge: the retransmission
  // gets a fresh one), so that a registration storm does not hold a Completed transaction
  // (Timer J, 32 s over UDP) for every challenge. Errors: no such server transaction, or an
  // INVITE one (its final responses must be retransmitted until ACKed).
  Status send_final_and_forget(TransactionId transaction, std::string bytes);
  // Bytes outside any transaction (ACK for 2xx, stateless 503): queued as SendBytes.
  void send_stateless(const Endpoint& destination, std::string bytes);

  // The transport could not send something queued for `transaction`.
  void on_transport_error(TransactionId transaction, TimePoint now);

  // Timers: the earliest deadline armed (nullopt: none); on_timer() fires all due by `now`.
  std::optional<TimePoint> next_deadline() const;
  void on_timer(TimePoint now);

  // Everything queued since the last call, in order.
  std::vector<LayerAction> take_actions();

  // For a CANCEL's server transaction: the INVITE server transaction it cancels (9.2), if it
  // is still alive.
  std::optional<TransactionId> find_cancelled_invite(TransactionId cancel) const;

  // Status output and tests.
  const TransactionCounters& counters() const { return counters_; }
  size_t size() const { return transactions_.size(); }
  // "Calling", "Proceeding", ... ; nullopt when no such transaction lives.
  std::optional<std::string_view> state_name(TransactionId transaction) const;

 private:
  struct Entry;
  using Deadline = std::tuple<TimePoint, TransactionId, int>;  // when, which, TimerId
  enum class Delivery { Request, Response, Ack };

  void on_request(Message&& request, const Endpoint& source, TimePoint now);
  void on_response(Message&& response, const Endpoint& source, TimePoint now);
  // Carries out a machine's actions for `id`. `incoming` is the message that caused the step
  // (moved out by DeliverToTu), `delivery` what DeliverToTu makes of it.
  void apply(TransactionId id, txn::Actions actions, Message* incoming = nullptr,
             const Endpoint* source = nullptr, Delivery delivery = Delivery::Request);
  void arm(Entry& entry, TransactionId id, TimerId timer, TimePoint deadline);
  void cancel(Entry& entry, TransactionId id, TimerId timer);
  void erase(TransactionId id);

  TransactionLayerConfig config_;
  TransactionCounters counters_;
  TransactionId next_id_ = 1;
  std::unordered_map<TransactionId, std::unique_ptr<Entry>> transactions_;
  std::unordered_map<std::string, TransactionId> client_index_;
  std::unordered_map<std::string, TransactionId> server_index_;
  std::set<Deadline> deadlines_;
  std::vector<LayerAction> actions_;
};

// Where a server transaction sends its responses (RFC 3261 18.2.2 with RFC 3581): over TCP the
// connection the request came on; over UDP the source address, and the source port when the
// top Via has ;rport, else the sent-by port (5060 when absent).
Endpoint response_destination(const Via& top_via, const Endpoint& source);

}  // namespace hapbx::sip
