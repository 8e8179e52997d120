// The INVITE server transaction (RFC 3261 17.2.1, with the "Accepted" state of RFC 6026 7.1).
// A pure state machine: events in (with `now`), actions out (transaction_step.h). The layer
// holds the most recent response bytes the TU gave; Transmit means "send those".
//
//                     |INVITE: pass to TU; 100 Trying at once (or arm Trying, see TimerConfig)
//                     V
//   INVITE       +------------+  TU 101-199: Transmit
//   re-send last |            |<-----------------+
//   response     | Proceeding |------------------+
//   +----------->|            |--------------------------------------------+
//   +------------|            |  TU 2xx: Transmit, arm L                   |
//                +------------+                                            V
//         TU 300-699:  |   | transport error: inform TU            +------------+  TU 2xx:
//         Transmit,    |   +----------------------------+          |  Accepted  |  Transmit
//         arm G (UDP), |                                |          |            |<--------+
//         arm H        V                                |          |            |---------+
//                +------------+  INVITE: re-send        |          +------------+ INVITE:
//   Timer G:     |            |  response               |     ACK: to TU | Timer L  absorbed
//   Retransmit,  | Completed  |<------+                 |                |
//   G=min(2G,T2) |            |-------+                 |                |
//   +----------->|            |--- Timer H / transport  |                |
//   +------------|            |    error: inform TU ----+                |
//                +------------+                         |                |
//                     | ACK: arm I (T4 UDP, 0 TCP)      |                |
//                     V                                 |                |
//                +------------+  ACK: absorbed          |                |
//                | Confirmed  |<------+                 |                |
//                |            |-------+                 |                |
//                +------------+                         |                |
//                     | Timer I                         V                V
//                     +---------------------------> Terminated <---------+
//
// Over a reliable transport there is no Timer G and Timer I is zero: Confirmed is left at once.
#pragma once

#include <variant>

#include "sip/transaction_step.h"
#include "sip/transaction_timers.h"

namespace hapbx::sip::txn {

class ServerInvite {
 public:
  struct Proceeding {
    bool has_response = false;  // a response (100 Trying or the TU's) is stored to re-send
  };
  struct Accepted {};
  struct Completed {
    Duration g_interval;
  };
  struct Confirmed {};
  struct Terminated {};
  using State = std::variant<Proceeding, Accepted, Completed, Confirmed, Terminated>;

  // `config` must come from TimerConfig::sanitized().
  ServerInvite(const TimerConfig& config, bool reliable);

  // The INVITE arrived and created this transaction (the layer passes it to the TU).
  Actions start(TimePoint now);
  // The INVITE came again (a retransmission matched by 17.2.3).
  Actions on_request_retransmission(TimePoint now);
  // An ACK matched this transaction.
  Actions on_ack(TimePoint now);
  // The TU sends a response. `accepted` is false when the state takes no more responses (the
  // caller reports that as an error to the TU; nothing is sent).
  struct TuResult {
    bool accepted = false;
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
