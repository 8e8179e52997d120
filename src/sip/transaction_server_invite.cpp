// The INVITE server transaction (RFC 3261 17.2.1, RFC 6026 7.1): see the diagram in the header.
#include "sip/transaction_server_invite.h"

#include <algorithm>

namespace hapbx::sip::txn {

ServerInvite::ServerInvite(const TimerConfig& config, bool reliable)
    : config_(config), reliable_(reliable), state_(Proceeding{}) {}

std::string_view ServerInvite::state_name() const {
  static constexpr std::string_view kNames[] = {"Proceeding", "Accepted", "Completed",
                                                "Confirmed", "Terminated"};
  return kNames[state_.index()];
}

void ServerInvite::terminate(Actions& out) {
  state_ = Terminated{};
  out.push_back(txn::Terminated{});
}

Actions ServerInvite::start(TimePoint now) {
  Actions out;
  // 17.2.1: "The server transaction MUST generate a 100 (Trying) response unless it knows that
  // the TU will generate a provisional or final response within 200 ms, in which case it MAY
  // generate a 100 (Trying) response." With trying_delay 0 we always send it at once; with a
  // delay the TU gets that long to answer first.
  out.push_back(DeliverToTu{});
  if (config_.trying_delay == Duration::zero()) {
    out.push_back(SendTrying{});
    state_ = Proceeding{true};
  } else {
    out.push_back(ArmTimer{TimerId::Trying, now + config_.trying_delay});
  }
  return out;
}

Actions ServerInvite::on_request_retransmission(TimePoint) {
  Actions out;
  if (auto* proceeding = std::get_if<Proceeding>(&state_)) {
    // "If a request retransmission is received while in the 'Proceeding' state, the most
    // recent provisional response that was received from the TU MUST be passed to the transport
    // layer for retransmission." (None yet: absorbed silently.)
    if (proceeding->has_response) out.push_back(Transmit{true});
    out.push_back(Absorbed{});
  } else if (std::holds_alternative<Completed>(state_)) {
    // "while in the 'Completed' state, if a request retransmission is received, the server
    // SHOULD pass the response to the transport for retransmission."
    out.push_back(Transmit{true});
    out.push_back(Absorbed{});
  } else if (std::holds_alternative<Accepted>(state_) ||
             std::holds_alternative<Confirmed>(state_)) {
    // RFC 6026 7.1: "the server transaction MUST NOT generate 2xx retransmissions on its own.
    // Any retransmission of an INVITE received while in the 'Accepted' state MUST be absorbed";
    // 17.2.1: Confirmed absorbs what is still in flight.
    out.push_back(Absorbed{});
  }
  return out;
}

Actions ServerInvite::on_ack(TimePoint now) {
  Actions out;
  if (std::holds_alternative<Completed>(state_)) {
    // "If an ACK is received while the server transaction is in the 'Completed' state, the
    // server transaction MUST transition to the 'Confirmed' state. As Timer G is ignored in this
    // state, any retransmissions of the response will cease." "When this state is entered,
    // timer I is set to fire in T4 seconds for unreliable transports, and zero seconds for
    // reliable transports." The ACK itself is not passed to the TU.
    out.push_back(CancelTimer{TimerId::G});
    out.push_back(CancelTimer{TimerId::H});
    const Duration i = config_.timer_i(reliable_);
    if (i == Duration::zero()) {
      terminate(out);
    } else {
      state_ = Confirmed{};
      out.push_back(ArmTimer{TimerId::I, now + i});
    }
  } else if (std::holds_alternative<Accepted>(state_)) {
    // RFC 6026 7.1: "If an ACK is received while the INVITE server transaction is in the
    // 'Accepted' state, then the ACK must be passed up to the TU." (It belongs to the dialog.)
    out.push_back(DeliverToTu{});
  } else {
    // Confirmed: "the purpose of the 'Confirmed' state is to absorb any additional ACK
    // messages that arrive". An ACK before any final response is meaningless: dropped.
    out.push_back(Absorbed{});
  }
  return out;
}

ServerInvite::TuResult ServerInvite::on_tu_response(int status_code, TimePoint now) {
  TuResult result;
  Actions& out = result.actions;
  if (status_code < 100 || status_code > 699) return result;
  if (std::holds_alternative<Proceeding>(state_)) {
    result.accepted = true;
    out.push_back(CancelTimer{TimerId::Trying});  // the TU answered first: no 100 of our own
    out.push_back(Transmit{false});
    if (status_code <= 199) {
      // "The TU passes any number of provisional responses to the server transaction. So long
      // as the server transaction is in the 'Proceeding' state, each of these MUST be passed to
      // the transport layer for transmission."
      state_ = Proceeding{true};
    } else if (status_code <= 299) {
      // RFC 6026 7.1: "If, while in the 'Proceeding' state, the TU passes a 2xx response to the
      // server transaction, the server transaction MUST pass this response to the transport
      // layer for transmission. ... The server transaction MUST then transition to the
      // 'Accepted' state" and starts Timer L at 64*T1.
      state_ = Accepted{};
      out.push_back(ArmTimer{TimerId::L, now + config_.timeout_64t1()});
    } else {
      // "While in the 'Proceeding' state, if the TU passes a response with status code from 300
      // to 699 to the server transaction, the response MUST be passed to the transport layer
      // for transmission, and the state machine MUST enter the 'Completed' state. For
      // unreliable transports, timer G is set to fire in T1 seconds ... When the 'Completed'
      // state is entered, timer H MUST be set to fire in 64*T1 seconds for all transports."
      state_ = Completed{config_.t1};
      if (!reliable_) out.push_back(ArmTimer{TimerId::G, now + config_.t1});
      out.push_back(ArmTimer{TimerId::H, now + config_.timeout_64t1()});
    }
  } else if (std::holds_alternative<Accepted>(state_) && status_code >= 200 &&
             status_code <= 299) {
    // RFC 6026 7.1: "Any retransmission of the 2xx response passed from the TU to the
    // transaction while in the 'Accepted' state MUST be passed to the transport layer for
    // transmission." (The UAS core retransmits its 2xx per 13.3.1.4.)
    result.accepted = true;
    out.push_back(Transmit{true});
  }
  return result;
}

Actions ServerInvite::on_timer(TimerId id, TimePoint now) {
  Actions out;
  if (auto* proceeding = std::get_if<Proceeding>(&state_)) {
    if (id == TimerId::Trying && !proceeding->has_response) {
      out.push_back(SendTrying{});
      proceeding->has_response = true;
    }
  } else if (auto* completed = std::get_if<Completed>(&state_)) {
    if (id == TimerId::G && !reliable_) {
      // "If timer G fires, the response is passed to the transport layer once more for
      // retransmission, and timer G is set to fire in MIN(2*T1, T2) seconds. From then on,
      // when timer G fires, the timer is doubled, unless that value exceeds T2".
      out.push_back(Transmit{true});
      completed->g_interval = std::min(completed->g_interval * 2, config_.t2);
      out.push_back(ArmTimer{TimerId::G, now + completed->g_interval});
    } else if (id == TimerId::H) {
      // "If timer H fires while in the 'Completed' state, it implies that the ACK was never
      // received. In this case, the server transaction MUST transition to the 'Terminated'
      // state, and MUST indicate to the TU that a transaction failure has occurred."
      out.push_back(ReportFailure{Failure::Timeout, TimerId::H});
      terminate(out);
    }
  } else if (std::holds_alternative<Confirmed>(state_) && id == TimerId::I) {
    // "Once timer I fires, the server MUST transition to the 'Terminated' state."
    terminate(out);
  } else if (std::holds_alternative<Accepted>(state_) && id == TimerId::L) {
    // RFC 6026 7.1: "If Timer L fires while the INVITE server transaction is in the 'Accepted'
    // state, the transaction MUST transition to the 'Terminated' state."
    terminate(out);
  }
  return out;
}

Actions ServerInvite::on_transport_error(TimePoint) {
  Actions out;
  // 17.2.4 / figure 7: a failure to send a response in Proceeding or Completed informs the TU
  // and ends the transaction. In Accepted (RFC 6026) the error is only reported: the 2xx is the
  // TU's to retransmit, and the transaction lives on to absorb INVITE retransmissions.
  if (std::holds_alternative<Proceeding>(state_) || std::holds_alternative<Completed>(state_)) {
    out.push_back(ReportFailure{Failure::TransportError, TimerId::H});
    terminate(out);
  } else if (std::holds_alternative<Accepted>(state_)) {
    out.push_back(ReportFailure{Failure::TransportError, TimerId::L});
  }
  return out;
}

}  // namespace hapbx::sip::txn
