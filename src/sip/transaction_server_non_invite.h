// The non-INVITE server transaction (RFC 3261 17.2.2). A pure state machine: events in (with
// `now`), actions out (transaction_step.h). The layer holds the most recent response bytes
// the TU gave; Transmit means "send those".
//
//                         |request received: pass to TU
//                         V
//                   +-----------+   request retransmission: absorbed (nothing to send yet)
//                   |  Trying   |<------+
//                   |           |-------+
//                   +-----------+----------------------------------+
//          TU 1xx: Transmit |                                      |
//                           V                                      |
//  request: re-send   +-----------+  TU 1xx: Transmit              |
//  last provisional   |           |<------+                        | TU 200-699:
//  +----------------->| Proceeding|-------+                        | Transmit,
//  +------------------|           |--- transport error: inform TU --+-----+ arm J (64*T1 UDP,
//                     +-----------+                                |     |        0 TCP)
//          TU 200-699: Transmit, arm J                             |     |
//                           V                                      |     |
//  request: re-send   +-----------+<-------------------------------+     |
//  final response     |           |                                      |
//  +----------------->| Completed |--- transport error: inform TU ------+
//  +------------------|           |                                      |
//                     +-----------+                                      |
//                           | Timer J fires                              |
//                           V                                            |
//                     +-----------+                                      |
//                     | Terminated|<-------------------------------------+
//                     +-----------+
#pragma once

#include <variant>

#include "sip/transaction_step.h"
#include "sip/transaction_timers.h"

namespace hapbx::sip::txn {

class ServerNonInvite {
 public:
  struct Trying {};
  struct Proceeding {};
  struct Completed {};
  struct Terminated {};
  using State = std::variant<Trying, Proceeding, Completed, Terminated>;

  // `config` must come from TimerConfig::sanitized().
  ServerNonInvite(const TimerConfig& config, bool reliable);

  Actions start(TimePoint now);
  Actions on_request_retransmission(TimePoint now);
  struct TuResult {
    bool accepted = false;  // false: the transaction takes no more responses; nothing sent
    Actions actions;
  };
  TuResult on_tu_response(int status_code, TimePoint now);
  Actions on_timer(TimerId id, TimePoint now);
  Actions on_transport_error(TimePoint now);

  const State& state() const { return state_; }
  bool terminated() const { return std::holds_alternative<Terminated>(state_); }
  std::string_view state_name() const;

 private:
  void terminate(Actions& out);

  TimerConfig config_;
  bool reliable_;
  State state_;
};

}  // namespace hapbx::sip::txn
