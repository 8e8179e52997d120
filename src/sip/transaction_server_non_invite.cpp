// The non-INVITE server transaction (RFC 3261 17.2.2): see the diagram in the header.
#include "sip/transaction_server_non_invite.h"

namespace hapbx::sip::txn {

ServerNonInvite::ServerNonInvite(const TimerConfig& config, bool reliable)
    : config_(config), reliable_(reliable), state_(Trying{}) {}

std::string_view ServerNonInvite::state_name() const {
  static constexpr std::string_view kNames[] = {"Trying", "Proceeding", "Completed",
                                                "Terminated"};
  return kNames[state_.index()];
}

void ServerNonInvite::terminate(Actions& out) {
  state_ = Terminated{};
  out.push_back(txn::Terminated{});
}

Actions ServerNonInvite::start(TimePoint) {
  // "The state machine is initialized in the 'Trying' state and is passed a request other than
  // INVITE or ACK when initialized. This request is passed up to the TU."
  Actions out;
  out.push_back(DeliverToTu{});
  return out;
}

Actions ServerNonInvite::on_request_retransmission(TimePoint) {
  Actions out;
  if (std::holds_alternative<Proceeding>(state_) || std::holds_alternative<Completed>(state_)) {
    // Proceeding: "If a retransmission of the request is received while in the 'Proceeding'
    // state, the most recently sent provisional response MUST be passed to the transport layer
    // for retransmission." Completed: "the server transaction MUST pass the final response to
    // the transport layer for retransmission whenever a retransmission of the request is
    // received."
    out.push_back(Transmit{true});
  }
  // Trying: "Once in the 'Trying' state, any further request retransmissions are discarded."
  if (!terminated()) out.push_back(Absorbed{});
  return out;
}

ServerNonInvite::TuResult ServerNonInvite::on_tu_response(int status_code, TimePoint now) {
  TuResult result;
  Actions& out = result.actions;
  if (status_code < 100 || status_code > 699) return result;
  if (!std::holds_alternative<Trying>(state_) && !std::holds_alternative<Proceeding>(state_)) {
    // Completed: "Any other final responses passed by the TU to the server transaction MUST be
    // discarded while in the 'Completed' state."
    return result;
  }
  result.accepted = true;
  out.push_back(Transmit{false});
  if (status_code <= 199) {
    // "While in the 'Trying' state, if the TU passes a provisional response to the server
    // transaction, the server transaction MUST enter the 'Proceeding' state." (and in
    // Proceeding: "Any further provisional responses ... MUST be passed to the transport".)
    state_ = Proceeding{};
    return result;
  }
  // "If the TU passes a final response (status codes 200-699) to the server while in the
  // 'Proceeding' [or 'Trying'] state, the transaction MUST enter the 'Completed' state, and the
  // response MUST be passed to the transport layer for transmission." "When the server
  // transaction enters the 'Completed' state, it MUST set Timer J to fire in 64*T1 seconds for
  // unreliable transports, and zero seconds for reliable transports."
  const Duration j = config_.timer_j(reliable_);
  if (j == Duration::zero()) {
    terminate(out);
  } else {
    state_ = Completed{};
    out.push_back(ArmTimer{TimerId::J, now + j});
  }
  return result;
}

Actions ServerNonInvite::on_timer(TimerId id, TimePoint) {
  Actions out;
  // "The server transaction remains in this state until Timer J fires, at which point it MUST
  // transition to the 'Terminated' state."
  if (std::holds_alternative<Completed>(state_) && id == TimerId::J) terminate(out);
  return out;
}

Actions ServerNonInvite::on_transport_error(TimePoint) {
  Actions out;
  // "If a transport error occurs while in the 'Proceeding' [or 'Completed'] state, the server
  // transaction SHOULD inform the TU of the error and transition to the 'Terminated' state."
  // 17.2.4: a failure to send a response is reported to the TU.
  if (std::holds_alternative<Proceeding>(state_) || std::holds_alternative<Completed>(state_) ||
      std::holds_alternative<Trying>(state_)) {
    out.push_back(ReportFailure{Failure::TransportError, TimerId::J});
    terminate(out);
  }
  return out;
}

}  // namespace hapbx::sip::txn
