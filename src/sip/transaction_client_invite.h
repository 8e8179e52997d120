// The INVITE client transaction (RFC 3261 17.1.1, with the "Accepted" state of RFC 6026 7.2).
// A pure state machine: events in (with `now`), actions out (transaction_step.h). The layer
// holds the request bytes and the ACK; this class only decides.
//
//                               |start: Transmit, arm A (UDP), arm B
//                               V
//        Timer A fires    +-----------+
//        Retransmit,      |           |-------------- Timer B fires / transport error
//        A = 2*A          |  Calling  |               inform TU ------------------+
//        +--------------->|           |-------------+                             |
//        +----------------|           |  2xx        |                             |
//                         +-----------+  to TU      |                             |
//                   1xx to TU  |                    |                             |
//                              V                    |                             |
//          1xx to TU      +-----------+             |                             |
//          +------------->|           |-------------+                             |
//          +--------------| Proceeding|  2xx to TU  |                             |
//                         +-----------+             V                             |
//       300-699 from Calling   |             +-----------+  2xx to TU             |
//       or Proceeding:         |             | Accepted  |<---------+             |
//       ACK, to TU, arm D      |             |           |----------+             |
//                              V             +-----------+                        |
//     300-699: re-ACK     +-----------+            | Timer M fires               |
//     +------------------>|           |            |                              |
//     +-------------------| Completed |            |                              |
//                         +-----------+            |                              |
//   Timer D fires / transport error |              |                              |
//                              V                   V                              |
//                         +----------------------------+                          |
//                         |         Terminated         |<-------------------------+
//                         +----------------------------+
//
// Over a reliable transport there is no Timer A and Timer D is zero: Completed is left at once.
// Once the TU has sent a CANCEL, CancelGuard (64*T1) ends Calling/Proceeding as a timeout (9.1).
#pragma once

#include <variant>

#include "sip/transaction_step.h"
#include "sip/transaction_timers.h"

namespace hapbx::sip::txn {

class ClientInvite {
 public:
  struct Calling {
    Duration a_interval;  // the interval of the Timer A now armed (doubles on each firing)
  };
  struct Proceeding {};
  struct Accepted {};
  struct Completed {};
  struct Terminated {};
  using State = std::variant<Calling, Proceeding, Accepted, Completed, Terminated>;

  // `config` must come from TimerConfig::sanitized().
  ClientInvite(const TimerConfig& config, bool reliable);

  // The TU hands the INVITE over: send it and start the timers.
  Actions start(TimePoint now);
  // A response matched this transaction (17.1.3).
  Actions on_response(int status_code, TimePoint now);
  Actions on_timer(TimerId id, TimePoint now);
  Actions on_transport_error(TimePoint now);
  // The TU sent a CANCEL for this INVITE (9.1): without a final response within 64*T1 the
  // transaction gives up (ReportFailure Timeout, timer CancelGuard).
  Actions on_cancel_sent(TimePoint now);

  const State& state() const { return state_; }
  bool terminated() const { return std::holds_alternative<Terminated>(state_); }
  std::string_view state_name() const;

 private:
  void terminate(Actions& out);
  void complete(TimePoint now, Actions& out);

  TimerConfig config_;
  bool reliable_;
  State state_;
};

}  // namespace hapbx::sip::txn
