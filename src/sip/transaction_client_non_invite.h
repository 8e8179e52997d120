// The non-INVITE client transaction (RFC 3261 17.1.2). A pure state machine: events in (with
// `now`), actions out (transaction_step.h). The layer holds the request bytes.
//
//                                |start: Transmit, arm E (UDP), arm F
//                                V
//          Timer E fires   +-----------+
//          Retransmit,     |           |----- Timer F fires / transport error: inform TU --+
//          E = min(2E, T2) |  Trying   |                                                    |
//          +-------------->|           |-------------+                                      |
//          +---------------|           |  200-699    |                                      |
//                          +-----------+  to TU      |                                      |
//                    1xx to TU  |                    |                                      |
//                               V                    |                                      |
//          Timer E fires   +-----------+             |                                      |
//          Retransmit,     |           |-------------+--- Timer F / transport error --------+
//          E = T2          | Proceeding|             |                                      |
//          +-------------->|           |  200-699    |                                      |
//          +---------------|           |  to TU      |                                      |
//       1xx to TU -------->+-----------+             |                                      |
//                                                    V                                      |
//                                              +-----------+                                |
//          final response retransmissions      |           |                                |
//          absorbed -------------------------->| Completed |  arm K (T4 UDP, 0 TCP)        |
//                                              +-----------+                                |
//                                                    | Timer K fires                        |
//                                                    V                                      |
//                                              +-----------+                                |
//                                              | Terminated|<-------------------------------+
//                                              +-----------+
//
// Over a reliable transport there is no Timer E and Timer K is zero: Completed is left at once.
#pragma once

#include <variant>

#include "sip/transaction_step.h"
#include "sip/transaction_timers.h"

namespace hapbx::sip::txn {

class ClientNonInvite {
 public:
  struct Trying {
    Duration e_interval;  // the interval of the Timer E now armed
  };
  struct Proceeding {};
  struct Completed {};
  struct Terminated {};
  using State = std::variant<Trying, Proceeding, Completed, Terminated>;

  // `config` must come from TimerConfig::sanitized().
  ClientNonInvite(const TimerConfig& config, bool reliable);

  Actions start(TimePoint now);
  Actions on_response(int status_code, TimePoint now);
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
