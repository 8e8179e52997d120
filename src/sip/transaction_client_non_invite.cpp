// The non-INVITE client transaction (RFC 3261 17.1.2): see the diagram in the header.
#include "sip/transaction_client_non_invite.h"

#include <algorithm>

namespace hapbx::sip::txn {

ClientNonInvite::ClientNonInvite(const TimerConfig& config, bool reliable)
    : config_(config), reliable_(reliable), state_(Trying{config.t1}) {}

std::string_view ClientNonInvite::state_name() const {
  static constexpr std::string_view kNames[] = {"Trying", "Proceeding", "Completed",
                                                "Terminated"};
  return kNames[state_.index()];
}

Actions ClientNonInvite::start(TimePoint now) {
  Actions out;
  // 17.1.2.2: "When entering this state, the client transaction SHOULD set timer F to fire in
  // 64*T1 seconds. The request MUST be passed to the transport layer for transmission. If an
  // unreliable transport is in use, the client transaction MUST set timer E to fire in T1."
  out.push_back(Transmit{false});
  if (!reliable_) out.push_back(ArmTimer{TimerId::E, now + config_.t1});
  out.push_back(ArmTimer{TimerId::F, now + config_.timeout_64t1()});
  return out;
}

void ClientNonInvite::terminate(Actions& out) {
  state_ = Terminated{};
  out.push_back(txn::Terminated{});
}

Actions ClientNonInvite::on_response(int status_code, TimePoint now) {
  Actions out;
  const bool provisional = status_code >= 100 && status_code <= 199;
  const bool final = status_code >= 200 && status_code <= 699;
  if (!provisional && !final) return out;

  if (std::holds_alternative<Trying>(state_) || std::holds_alternative<Proceeding>(state_)) {
    if (provisional) {
      // "If a provisional response is received while in the 'Trying' state, the response MUST
      // be passed to the TU, and then the client transaction SHOULD move to the 'Proceeding'
      // state." Timer E keeps running (its next interval becomes T2).
      state_ = Proceeding{};
      out.push_back(DeliverToTu{});
    } else {
      // "If a final response (status codes 200-699) is received while in the 'Trying' [or
      // 'Proceeding'] state, the response MUST be passed to the TU, and the client transaction
      // MUST transition to the 'Completed' state." "Once the client transaction enters the
      // 'Completed' state, it MUST set Timer K to fire in T4 seconds for unreliable transports,
      // and zero seconds for reliable transports."
      out.push_back(CancelTimer{TimerId::E});
      out.push_back(CancelTimer{TimerId::F});
      out.push_back(DeliverToTu{});
      const Duration k = config_.timer_k(reliable_);
      if (k == Duration::zero()) {
        terminate(out);
      } else {
        state_ = Completed{};
        out.push_back(ArmTimer{TimerId::K, now + k});
      }
    }
  } else if (std::holds_alternative<Completed>(state_)) {
    // "The 'Completed' state exists to buffer any additional response retransmissions that may
    // be received (which is why the client transaction remains there only for unreliable
    // transports)."
    out.push_back(Absorbed{});
  }
  return out;
}

Actions ClientNonInvite::on_timer(TimerId id, TimePoint now) {
  Actions out;
  const bool live = std::holds_alternative<Trying>(state_) ||
                    std::holds_alternative<Proceeding>(state_);
  if (live && id == TimerId::E && !reliable_) {
    // Trying: "If timer E fires while still in this state, the timer is reset, but this time
    // with a value of MIN(2*T1, T2) ... the next MIN(4*T1, T2), and so on."
    // Proceeding: "If Timer E fires while in the 'Proceeding' state, the request MUST be passed
    // to the transport layer for retransmission, and Timer E MUST be reset with a value of T2."
    out.push_back(Transmit{true});
    Duration next = config_.t2;
    if (auto* trying = std::get_if<Trying>(&state_)) {
      trying->e_interval = std::min(trying->e_interval * 2, config_.t2);
      next = trying->e_interval;
    }
    out.push_back(ArmTimer{TimerId::E, now + next});
  } else if (live && id == TimerId::F) {
    // "If Timer F fires while the client transaction is still in the 'Trying' [or 'Proceeding']
    // state, the client transaction SHOULD inform the TU about the timeout, and then it SHOULD
    // enter the 'Terminated' state."
    out.push_back(ReportFailure{Failure::Timeout, TimerId::F});
    terminate(out);
  } else if (std::holds_alternative<Completed>(state_) && id == TimerId::K) {
    // "If Timer K fires while in this state, the client transaction MUST transition to the
    // 'Terminated' state."
    terminate(out);
  }
  return out;
}

Actions ClientNonInvite::on_transport_error(TimePoint) {
  Actions out;
  // "If a fatal transport error is reported ... the client transaction SHOULD inform the TU of
  // the error, and then it SHOULD enter the 'Terminated' state."
  if (std::holds_alternative<Trying>(state_) || std::holds_alternative<Proceeding>(state_)) {
    out.push_back(ReportFailure{Failure::TransportError, TimerId::F});
    terminate(out);
  }
  return out;
}

}  // namespace hapbx::sip::txn
