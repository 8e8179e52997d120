// The INVITE client transaction (RFC 3261 17.1.1, RFC 6026 7.2): see the diagram in the header.
#include "sip/transaction_client_invite.h"

namespace hapbx::sip::txn {

ClientInvite::ClientInvite(const TimerConfig& config, bool reliable)
    : config_(config), reliable_(reliable), state_(Calling{config.t1}) {}

std::string_view ClientInvite::state_name() const {
  static constexpr std::string_view kNames[] = {"Calling", "Proceeding", "Accepted", "Completed",
                                                "Terminated"};
  return kNames[state_.index()];
}

Actions ClientInvite::start(TimePoint now) {
  Actions out;
  // 17.1.1.2: "the client transaction MUST pass the request to the transport layer for
  // transmission. If an unreliable transport is being used, the client transaction MUST start
  // timer A with a value of T1 ... For any transport, the client transaction MUST start timer B
  // with a value of 64*T1 seconds."
  out.push_back(Transmit{false});
  if (!reliable_) out.push_back(ArmTimer{TimerId::A, now + config_.t1});
  out.push_back(ArmTimer{TimerId::B, now + config_.timeout_64t1()});
  return out;
}

void ClientInvite::terminate(Actions& out) {
  state_ = Terminated{};
  out.push_back(txn::Terminated{});
}

void ClientInvite::complete(TimePoint now, Actions& out) {
  // 17.1.1.2: "When in either the 'Calling' or 'Proceeding' states, reception of a response with
  // status code from 300-699 MUST cause the client transaction to transition to 'Completed'. The
  // client transaction MUST pass the received response up to the TU, and the client transaction
  // MUST generate an ACK request ... The client transaction SHOULD start timer D when it enters
  // the 'Completed' state" (zero for reliable transports: Terminated at once).
  out.push_back(CancelTimer{TimerId::A});
  out.push_back(CancelTimer{TimerId::B});
  out.push_back(CancelTimer{TimerId::CancelGuard});
  out.push_back(SendAck{});
  out.push_back(DeliverToTu{});
  const Duration d = config_.timer_d(reliable_);
  if (d == Duration::zero()) {
    terminate(out);
    return;
  }
  state_ = Completed{};
  out.push_back(ArmTimer{TimerId::D, now + d});
}

Actions ClientInvite::on_response(int status_code, TimePoint now) {
  Actions out;
  const bool provisional = status_code >= 100 && status_code <= 199;
  const bool success = status_code >= 200 && status_code <= 299;
  const bool failure = status_code >= 300 && status_code <= 699;
  if (!provisional && !success && !failure) return out;  // not a status a transaction knows

  if (std::holds_alternative<Calling>(state_) || std::holds_alternative<Proceeding>(state_)) {
    if (provisional) {
      // "If the client transaction receives a provisional response while in the 'Calling'
      // state, it transitions to the 'Proceeding' state. In the 'Proceeding' state, the client
      // transaction SHOULD NOT retransmit the request any longer. Furthermore, the provisional
      // response MUST be passed to the TU." Timer B only guards Calling: once a provisional
      // came, the TU decides how long to wait (Timer C / CANCEL).
      if (std::holds_alternative<Calling>(state_)) {
        out.push_back(CancelTimer{TimerId::A});
        out.push_back(CancelTimer{TimerId::B});
        state_ = Proceeding{};
      }
      out.push_back(DeliverToTu{});
    } else if (success) {
      // RFC 6026 7.2: "If a 2xx response is received while the client INVITE state machine is
      // in the 'Calling' or 'Proceeding' states, it MUST transition to the 'Accepted' state,
      // pass the 2xx response to the TU, and set Timer M to 64*T1."
      out.push_back(CancelTimer{TimerId::A});
      out.push_back(CancelTimer{TimerId::B});
      out.push_back(CancelTimer{TimerId::CancelGuard});
      out.push_back(DeliverToTu{});
      state_ = Accepted{};
      out.push_back(ArmTimer{TimerId::M, now + config_.timeout_64t1()});
    } else {
      complete(now, out);
    }
  } else if (std::holds_alternative<Accepted>(state_)) {
    // RFC 6026 7.2: "A 2xx response received while in the 'Accepted' state MUST be passed to the
    // TU and the machine remains in the 'Accepted' state." (retransmissions and forked 2xx
    // alike: the TU ACKs each). Anything else is absorbed.
    if (success) {
      out.push_back(DeliverToTu{});
    } else {
      out.push_back(Absorbed{});
    }
  } else if (std::holds_alternative<Completed>(state_)) {
    // 17.1.1.2: "Any retransmissions of the final response that are received while in the
    // 'Completed' state MUST cause the ACK to be re-passed to the transport layer for
    // retransmission, but the newly received response MUST NOT be passed up to the TU."
    if (failure) out.push_back(SendAck{});
    out.push_back(Absorbed{});
  }
  return out;
}

Actions ClientInvite::on_timer(TimerId id, TimePoint now) {
  Actions out;
  if (auto* calling = std::get_if<Calling>(&state_)) {
    if (id == TimerId::A && !reliable_) {
      // "When timer A fires, the client transaction MUST retransmit the request by passing it to
      // the transport layer, and MUST reset the timer with a value of 2*T1 ... each time timer A
      // fires, its value doubles" (no T2 cap for INVITE).
      out.push_back(Transmit{true});
      calling->a_interval *= 2;
      out.push_back(ArmTimer{TimerId::A, now + calling->a_interval});
    } else if (id == TimerId::B || id == TimerId::CancelGuard) {
      // "If the client transaction is still in the 'Calling' state when timer B fires, the
      // client transaction SHOULD inform the TU that a timeout has occurred."
      out.push_back(ReportFailure{Failure::Timeout, id});
      terminate(out);
    }
  } else if (std::holds_alternative<Proceeding>(state_) && id == TimerId::CancelGuard) {
    // 9.1: no final response 64*T1 after the CANCEL: "consider the original transaction
    // cancelled and ... destroy the client transaction".
    out.push_back(ReportFailure{Failure::Timeout, TimerId::CancelGuard});
    terminate(out);
  } else if (std::holds_alternative<Completed>(state_) && id == TimerId::D) {
    // "If timer D fires while the client transaction is in the 'Completed' state, the client
    // transaction MUST move to the terminated state."
    terminate(out);
  } else if (std::holds_alternative<Accepted>(state_) && id == TimerId::M) {
    // RFC 6026 7.2: "If Timer M fires and the state machine is in the 'Accepted' state, the
    // machine MUST transition to the 'Terminated' state."
    terminate(out);
  }
  // Any other timer is stale (cancelled by a transition the layer has not caught up with).
  return out;
}

Actions ClientInvite::on_transport_error(TimePoint) {
  Actions out;
  // 17.1.1.2: "If a fatal transport error is reported, the client transaction SHOULD inform the
  // TU"; the figure shows the same from Completed (a failed ACK). In Accepted the 2xx already
  // reached the TU, which owns the ACK for it; nothing to report.
  if (std::holds_alternative<Calling>(state_) || std::holds_alternative<Proceeding>(state_) ||
      std::holds_alternative<Completed>(state_)) {
    out.push_back(ReportFailure{Failure::TransportError, TimerId::B});
    terminate(out);
  }
  return out;
}

Actions ClientInvite::on_cancel_sent(TimePoint now) {
  Actions out;
  // Only before a final response: in Accepted or Completed there is nothing left to give up.
  if (std::holds_alternative<Calling>(state_) || std::holds_alternative<Proceeding>(state_)) {
    out.push_back(ArmTimer{TimerId::CancelGuard, now + config_.timeout_64t1()});
  }
  return out;
}

}  // namespace hapbx::sip::txn
