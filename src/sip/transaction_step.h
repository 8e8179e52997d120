// What a transaction machine asks its environment to do. The four machines of RFC 3261 17
// never touch a socket, a clock or a Message: they take an event and `now`, and return these
// actions in the order they must be carried out. The transaction layer (transaction_layer.h)
// owns the bytes, the timers and the TU queue and turns the actions into real output.
#pragma once

#include <string_view>
#include <variant>
#include <vector>

#include "sip/transaction_timers.h"

namespace hapbx::sip::txn {

// Send the stored message: for a client transaction the request, for a server transaction the
// most recent response the TU gave it. `retransmission` is false for the first sending.
struct Transmit {
  bool retransmission = false;
};
// Client INVITE only: send the ACK for the non-2xx final response (17.1.1.3); built once from
// the first final response, re-sent as is for its retransmissions.
struct SendAck {};
// Server INVITE only: send a 100 Trying on the transaction's own account (17.2.1); it becomes
// the stored response.
struct SendTrying {};
// The message that caused this step goes up to the TU.
struct DeliverToTu {};
// An incoming retransmission was absorbed here and not passed up (answered or not).
struct Absorbed {};
struct ArmTimer {
  TimerId id;
  TimePoint deadline;
};
struct CancelTimer {
  TimerId id;
};
enum class Failure {
  Timeout,         // B, F (client) or H (server: the ACK never came)
  TransportError,  // the transport reported that a send failed
};
// Inform the TU that the transaction failed (17.1.1.2, 17.1.2.2, 17.2.1, 17.2.4).
struct ReportFailure {
  Failure failure;
  TimerId timer;  // which timer fired, for Timeout
};
// The machine reached Terminated; the layer forgets it (and all its timers).
struct Terminated {};

using Action = std::variant<Transmit, SendAck, SendTrying, DeliverToTu, Absorbed, ArmTimer,
                            CancelTimer, ReportFailure, Terminated>;
using Actions = std::vector<Action>;

std::string_view to_string(Failure failure);  // "timeout" / "transport error"

}  // namespace hapbx::sip::txn
