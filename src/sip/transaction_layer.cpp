// The SIP transaction layer: matching, the per-transaction bytes and timers, and the action
// queue around the four pure machines (RFC 3261 17). See transaction_layer.h for the contract.
#include "sip/transaction_layer.h"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "sip/ack.h"
#include "sip/message_writer.h"
#include "sip/transaction_client_invite.h"
#include "sip/transaction_client_non_invite.h"
#include "sip/transaction_key.h"
#include "sip/transaction_server_invite.h"
#include "sip/transaction_server_non_invite.h"

namespace hapbx::sip {

namespace {
constexpr uint16_t kDefaultSipPort = 5060;
}  // namespace

// A client transaction: the request it sends (raw() is the bytes), where to, and the ACK for a
// non-2xx once built.
// Constructors rather than aggregates: the variant in Entry builds them in place from a
// parenthesised list, which clang before 16 cannot do for aggregates.
struct ClientData {
  template <typename Machine>
  ClientData(Machine m, Message r, Endpoint d)
      : machine(std::move(m)), request(std::move(r)), destination(std::move(d)) {}

  std::variant<txn::ClientInvite, txn::ClientNonInvite> machine;
  Message request;
  Endpoint destination;
  std::string ack;
};

// A server transaction: the last response the TU gave (what Transmit re-sends), where responses
// go, a 100 Trying prepared while the INVITE was at hand, and for a CANCEL the keys of the INVITE
// it cancels.
struct ServerData {
  template <typename Machine>
  ServerData(Machine m, Endpoint d) : machine(std::move(m)), response_destination(std::move(d)) {}

  std::variant<txn::ServerInvite, txn::ServerNonInvite> machine;
  Endpoint response_destination;
  std::string last_response;
  std::string trying;
  std::vector<std::string> cancelled_invite_keys;
};

struct TransactionLayer::Entry {
  // Built in place: moving the data in trips GCC 12's -Wmaybe-uninitialized inside variant.
  template <typename Data, typename... Args>
  Entry(std::string k, std::in_place_type_t<Data> type, Args&&... args)
      : data(type, std::forward<Args>(args)...), key(std::move(k)) {}

  std::variant<ClientData, ServerData> data;
  std::string key;  // in client_index_ or server_index_
  std::array<std::optional<TimePoint>, kTimerCount> timers{};

  bool is_client() const { return std::holds_alternative<ClientData>(data); }
};

Endpoint response_destination(const Via& top_via, const Endpoint& source) {
  // 18.2.2: "If the "sent-protocol" is a reliable transport protocol ... the response MUST be
  // sent using the existing connection". Otherwise "the server MUST send the response to the
  // address in the "received" parameter, using the port indicated in the "sent-by" value, or
  // using port 5060 if none is specified explicitly" - and the received address is the source
  // address. RFC 3581 4: with rport, "the response MUST be sent ... to the source port".
  Endpoint destination = source;
  if (source.transport == TransportKind::Tcp) return destination;
  if (!top_via.has_rport) destination.port = top_via.port != 0 ? top_via.port : kDefaultSipPort;
  return destination;
}

TransactionLayer::TransactionLayer(TransactionLayerConfig config) : config_(std::move(config)) {
  config_.timers = config_.timers.sanitized();
}

TransactionLayer::~TransactionLayer() = default;

std::vector<LayerAction> TransactionLayer::take_actions() {
  std::vector<LayerAction> out;
  out.swap(actions_);
  return out;
}

std::optional<TimePoint> TransactionLayer::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return std::get<0>(*deadlines_.begin());
}

std::optional<std::string_view> TransactionLayer::state_name(TransactionId transaction) const {
  auto it = transactions_.find(transaction);
  if (it == transactions_.end()) return std::nullopt;
  return std::visit(
      [](const auto& data) {
        return std::visit([](const auto& machine) { return machine.state_name(); },
                          data.machine);
      },
      it->second->data);
}

// --- timers --------------------------------------------------------------------------------

void TransactionLayer::arm(Entry& entry, TransactionId id, TimerId timer, TimePoint deadline) {
  cancel(entry, id, timer);
  entry.timers[static_cast<size_t>(timer)] = deadline;
  deadlines_.emplace(deadline, id, static_cast<int>(timer));
}

void TransactionLayer::cancel(Entry& entry, TransactionId id, TimerId timer) {
  auto& slot = entry.timers[static_cast<size_t>(timer)];
  if (!slot) return;
  deadlines_.erase(Deadline{*slot, id, static_cast<int>(timer)});
  slot.reset();
}

void TransactionLayer::on_timer(TimePoint now) {
  while (!deadlines_.empty() && std::get<0>(*deadlines_.begin()) <= now) {
    // Plain copies, not a structured binding: the lambdas below capture them, which clang
    // before 16 does not allow for bindings.
    const TimePoint deadline = std::get<0>(*deadlines_.begin());
    const TransactionId id = std::get<1>(*deadlines_.begin());
    const int timer_index = std::get<2>(*deadlines_.begin());
    deadlines_.erase(deadlines_.begin());
    auto it = transactions_.find(id);
    if (it == transactions_.end()) continue;  // cannot happen: erase() drops the timers too
    const auto timer = static_cast<TimerId>(timer_index);
    it->second->timers[static_cast<size_t>(timer_index)].reset();
    // Each timer fires at its own deadline, not at `now`, so a late wake-up of the driver does
    // not stretch the retransmission schedule that follows.
    txn::Actions actions = std::visit(
        [&](auto& data) {
          return std::visit([&](auto& machine) { return machine.on_timer(timer, deadline); },
                            data.machine);
        },
        it->second->data);
    apply(id, std::move(actions));
  }
}

// --- carrying out machine actions ----------------------------------------------------------

void TransactionLayer::apply(TransactionId id, txn::Actions actions, Message* incoming,
                             const Endpoint* source, Delivery delivery) {
  auto it = transactions_.find(id);
  if (it == transactions_.end()) return;
  Entry& entry = *it->second;
  bool terminated = false;
  for (txn::Action& action : actions) {
    if (const auto* transmit = std::get_if<txn::Transmit>(&action)) {
      if (transmit->retransmission) ++counters_.retransmissions_sent;
      if (auto* client = std::get_if<ClientData>(&entry.data)) {
        actions_.push_back(
            SendBytes{client->destination, std::string(client->request.raw()), id});
      } else {
        auto& server = std::get<ServerData>(entry.data);
        actions_.push_back(SendBytes{server.response_destination, server.last_response, id});
      }
    } else if (std::holds_alternative<txn::SendAck>(action)) {
      auto* client = std::get_if<ClientData>(&entry.data);
      if (client == nullptr) continue;
      if (client->ack.empty() && incoming != nullptr) {
        Result<std::string> ack = make_ack_for_non_2xx(client->request, *incoming);
        if (ack.ok()) client->ack = std::move(ack).value();
      }
      // No ACK can be built only if our own INVITE is broken; the transaction still completes.
      if (!client->ack.empty()) actions_.push_back(SendBytes{client->destination, client->ack, id});
    } else if (std::holds_alternative<txn::SendTrying>(action)) {
      auto* server = std::get_if<ServerData>(&entry.data);
      if (server == nullptr) continue;
      server->last_response = server->trying;
      actions_.push_back(SendBytes{server->response_destination, server->last_response, id});
    } else if (std::holds_alternative<txn::DeliverToTu>(action)) {
      if (incoming == nullptr || source == nullptr) continue;
      switch (delivery) {
        case Delivery::Request:
          actions_.push_back(RequestForTu{id, std::move(*incoming), *source});
          break;
        case Delivery::Response:
          actions_.push_back(ResponseForTu{id, std::move(*incoming), *source});
          break;
        case Delivery::Ack:
          actions_.push_back(AckForTu{std::move(*incoming), *source, id});
          break;
      }
      incoming = nullptr;  // moved out: at most one delivery per step
    } else if (std::holds_alternative<txn::Absorbed>(action)) {
      ++counters_.retransmissions_absorbed;
    } else if (const auto* arm_timer = std::get_if<txn::ArmTimer>(&action)) {
      arm(entry, id, arm_timer->id, arm_timer->deadline);
    } else if (const auto* cancel_timer = std::get_if<txn::CancelTimer>(&action)) {
      cancel(entry, id, cancel_timer->id);
    } else if (const auto* failure = std::get_if<txn::ReportFailure>(&action)) {
      if (failure->failure == txn::Failure::Timeout) {
        ++counters_.timeouts;
      } else {
        ++counters_.transport_errors;
      }
      if (entry.is_client()) {
        actions_.push_back(ClientTransactionFailed{id, failure->failure});
      } else {
        actions_.push_back(ServerTransactionFailed{id, failure->failure});
      }
    } else if (std::holds_alternative<txn::Terminated>(action)) {
      terminated = true;
    }
  }
  if (terminated) {
    if (!entry.is_client()) actions_.push_back(ServerTransactionTerminated{id});
    erase(id);
  }
}

void TransactionLayer::erase(TransactionId id) {
  auto it = transactions_.find(id);
  if (it == transactions_.end()) return;
  Entry& entry = *it->second;
  for (size_t i = 0; i < entry.timers.size(); ++i) {
    if (entry.timers[i]) deadlines_.erase(Deadline{*entry.timers[i], id, static_cast<int>(i)});
  }
  auto& index = entry.is_client() ? client_index_ : server_index_;
  auto indexed = index.find(entry.key);
  if (indexed != index.end() && indexed->second == id) index.erase(indexed);
  transactions_.erase(it);
}

// --- client side -----------------------------------------------------------------------------

Result<TransactionId> TransactionLayer::send_request(std::string bytes,
                                                     const Endpoint& destination,
                                                     TimePoint now) {
  Result<Message> parsed = parse_message(std::move(bytes));
  if (!parsed.ok()) {
    return make_error("transaction layer: the request to send does not parse: " +
                      parsed.error().message);
  }
  return send_request(std::move(parsed).value(), destination, now);
}

Result<TransactionId> TransactionLayer::send_request(Message&& request,
                                                     const Endpoint& destination,
                                                     TimePoint now) {
  if (!request.is_request() || request.fault() != ParseFault::None) {
    return make_error("transaction layer: not a valid request" +
                      (request.fault_reason().empty()
                           ? std::string()
                           : ": " + std::string(request.fault_reason())));
  }
  if (request.method() == Method::Ack) {
    return make_error("transaction layer: ACK is not a transaction; use send_stateless()");
  }
  if (request.vias().empty() || !is_rfc3261_branch(request.vias().front().branch)) {
    return make_error(
        "transaction layer: the request needs a top Via with a z9hG4bK branch (new_branch())");
  }
  if (request.cseq().method_text != request.method_text()) {
    return make_error(fmt::format("transaction layer: CSeq method '{}' differs from '{}'",
                                  request.cseq().method_text, request.method_text()));
  }
  std::string key = client_transaction_key(request);
  if (client_index_.count(key) != 0) {
    return make_error(fmt::format("transaction layer: a {} transaction with branch {} exists",
                                  request.method_text(), request.vias().front().branch));
  }
  if (transactions_.size() >= config_.max_transactions) {
    ++counters_.refused;
    return make_error(fmt::format(
        "transaction layer: {} transactions live (max_transactions); try again later",
        transactions_.size()));
  }

  const bool reliable = destination.transport == TransportKind::Tcp;
  const std::string cancelled_invite_key =
      request.method() == Method::Cancel
          ? client_transaction_key(request.vias().front().branch, to_string(Method::Invite))
          : std::string();
  const TransactionId id = next_id_++;
  auto entry = std::make_unique<Entry>(key, std::in_place_type<ClientData>,
                                       txn::ClientNonInvite(config_.timers, reliable),
                                       std::move(request), destination);
  auto& data = std::get<ClientData>(entry->data);
  if (data.request.method() == Method::Invite) {
    data.machine = txn::ClientInvite(config_.timers, reliable);
  }
  txn::Actions actions =
      std::visit([&](auto& machine) { return machine.start(now); }, data.machine);
  client_index_.emplace(std::move(key), id);
  transactions_.emplace(id, std::move(entry));
  ++counters_.client_transactions;
  apply(id, std::move(actions));
  if (!cancelled_invite_key.empty()) {
    // 9.1: the INVITE this CANCEL is for gives up 64*T1 from now if no final response comes.
    auto invite = client_index_.find(cancelled_invite_key);
    if (invite != client_index_.end()) {
      auto& target = std::get<ClientData>(transactions_.at(invite->second)->data);
      if (auto* machine = std::get_if<txn::ClientInvite>(&target.machine)) {
        apply(invite->second, machine->on_cancel_sent(now));
      }
    }
  }
  return id;
}

void TransactionLayer::on_response(Message&& response, const Endpoint& source, TimePoint now) {
  auto indexed = client_index_.find(client_transaction_key(response));
  if (indexed == client_index_.end()) {
    ++counters_.stray_responses;
    // 13.2.2.4 / 17.1.1.2: 2xx retransmissions for an INVITE whose transaction is gone are for
    // the TU, which must ACK each one. Anything else is a stray: "the response MUST be
    // discarded" (17.1.3 does not create transactions for responses).
    const int status = response.status_code();
    if (response.cseq().method == Method::Invite && status >= 200 && status <= 299) {
      actions_.push_back(StrayResponseForTu{std::move(response), source});
    }
    return;
  }
  const TransactionId id = indexed->second;
  Entry& entry = *transactions_.at(id);
  auto& client = std::get<ClientData>(entry.data);
  const int status = response.status_code();
  txn::Actions actions =
      std::visit([&](auto& machine) { return machine.on_response(status, now); }, client.machine);
  apply(id, std::move(actions), &response, &source, Delivery::Response);
}

// --- server side -----------------------------------------------------------------------------

Status TransactionLayer::send_response(TransactionId transaction, std::string bytes,
                                       int status_code, TimePoint now) {
  auto it = transactions_.find(transaction);
  if (it == transactions_.end() || it->second->is_client()) {
    return make_error(fmt::format(
        "transaction layer: no server transaction {} (it has terminated or never existed)",
        transaction));
  }
  auto& server = std::get<ServerData>(it->second->data);
  bool accepted = false;
  txn::Actions actions;
  std::string_view state;
  std::visit(
      [&](auto& machine) {
        auto result = machine.on_tu_response(status_code, now);
        accepted = result.accepted;
        actions = std::move(result.actions);
        state = machine.state_name();
      },
      server.machine);
  if (!accepted) {
    return make_error(fmt::format(
        "transaction layer: server transaction {} in state {} cannot send a {} response",
        transaction, state, status_code));
  }
  server.last_response = std::move(bytes);
  apply(transaction, std::move(actions));
  return Status::Ok();
}

Status TransactionLayer::send_final_and_forget(TransactionId transaction, std::string bytes) {
  auto it = transactions_.find(transaction);
  if (it == transactions_.end() || it->second->is_client()) {
    return make_error(fmt::format(
        "transaction layer: no server transaction {} (it has terminated or never existed)",
        transaction));
  }
  auto& server = std::get<ServerData>(it->second->data);
  if (!std::holds_alternative<txn::ServerNonInvite>(server.machine)) {
    // An INVITE's final response must be retransmitted until ACKed: never stateless.
    return make_error(fmt::format(
        "transaction layer: server transaction {} is an INVITE; it cannot answer statelessly",
        transaction));
  }
  actions_.emplace_back(SendBytes{server.response_destination, std::move(bytes), 0});
  erase(transaction);
  ++counters_.stateless_finals;
  return Status::Ok();
}

void TransactionLayer::send_stateless(const Endpoint& destination, std::string bytes) {
  actions_.push_back(SendBytes{destination, std::move(bytes), 0});
}

void TransactionLayer::on_request(Message&& request, const Endpoint& source, TimePoint now) {
  if (request.method() == Method::Ack) {
    // 17.2.3: an ACK matches the INVITE server transaction; one that matches none is the ACK
    // for a 2xx (a new branch, 17.1.1.3 does not apply to it) and belongs to the dialog.
    for (const std::string& key : invite_keys_for(request)) {
      auto indexed = server_index_.find(key);
      if (indexed == server_index_.end()) continue;
      const TransactionId id = indexed->second;
      auto& server = std::get<ServerData>(transactions_.at(id)->data);
      if (auto* invite = std::get_if<txn::ServerInvite>(&server.machine)) {
        txn::Actions actions = invite->on_ack(now);
        apply(id, std::move(actions), &request, &source, Delivery::Ack);
        return;
      }
    }
    ++counters_.unmatched_acks;
    actions_.push_back(AckForTu{std::move(request), source, 0});
    return;
  }

  std::string key = server_transaction_key(request);
  if (auto indexed = server_index_.find(key); indexed != server_index_.end()) {
    const TransactionId id = indexed->second;
    auto& server = std::get<ServerData>(transactions_.at(id)->data);
    txn::Actions actions = std::visit(
        [&](auto& machine) { return machine.on_request_retransmission(now); }, server.machine);
    apply(id, std::move(actions), &request, &source, Delivery::Request);
    return;
  }

  if (transactions_.size() >= config_.max_transactions) {
    ++counters_.refused;
    actions_.push_back(RequestRefused{std::move(request), source});
    return;
  }

  const bool reliable = source.transport == TransportKind::Tcp;
  const TransactionId id = next_id_++;
  auto entry = std::make_unique<Entry>(key, std::in_place_type<ServerData>,
                                       txn::ServerNonInvite(config_.timers, reliable),
                                       response_destination(request.vias().front(), source));
  auto& data = std::get<ServerData>(entry->data);
  if (request.method() == Method::Invite) {
    data.machine = txn::ServerInvite(config_.timers, reliable);
    // Built now, while the INVITE is at hand: the request goes up to the TU in this step.
    data.trying = make_response(request, 100).finish();
  } else if (request.method() == Method::Cancel) {
    data.cancelled_invite_keys = invite_keys_for(request);
  }
  txn::Actions actions =
      std::visit([&](auto& machine) { return machine.start(now); }, data.machine);
  server_index_.emplace(std::move(key), id);
  transactions_.emplace(id, std::move(entry));
  ++counters_.server_transactions;
  apply(id, std::move(actions), &request, &source, Delivery::Request);
}

void TransactionLayer::on_message(Message&& message, const Endpoint& source, TimePoint now) {
  if (message.fault() != ParseFault::None || message.vias().empty()) {
    ++counters_.dropped_invalid;
    return;
  }
  if (message.is_request()) {
    on_request(std::move(message), source, now);
  } else {
    on_response(std::move(message), source, now);
  }
}

void TransactionLayer::on_transport_error(TransactionId transaction, TimePoint now) {
  auto it = transactions_.find(transaction);
  if (it == transactions_.end()) return;  // already gone: nothing left to fail
  txn::Actions actions = std::visit(
      [&](auto& data) {
        return std::visit([&](auto& machine) { return machine.on_transport_error(now); },
                          data.machine);
      },
      it->second->data);
  apply(transaction, std::move(actions));
}

std::optional<TransactionId> TransactionLayer::find_cancelled_invite(TransactionId cancel) const {
  auto it = transactions_.find(cancel);
  if (it == transactions_.end()) return std::nullopt;
  const auto* server = std::get_if<ServerData>(&it->second->data);
  if (server == nullptr) return std::nullopt;
  for (const std::string& key : server->cancelled_invite_keys) {
    auto indexed = server_index_.find(key);
    if (indexed == server_index_.end()) continue;
    const auto& target = std::get<ServerData>(transactions_.at(indexed->second)->data);
    if (std::holds_alternative<txn::ServerInvite>(target.machine)) return indexed->second;
  }
  return std::nullopt;
}

}  // namespace hapbx::sip
