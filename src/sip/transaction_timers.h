// The RFC 3261 section 17 transaction timers (Table 4) and their base values. Every duration
// the four transaction machines use is derived here, so the schedule is written down once and a
// test can read it. RFC 6026 adds L (server INVITE "Accepted") and M (client INVITE "Accepted").
#pragma once

#include <chrono>
#include <string_view>

#include "core/clock.h"

namespace hapbx::sip {

using core::Duration;
using core::TimePoint;

// One name per timer of RFC 3261 Table 4 plus RFC 6026 L and M, and two more:
// - Trying: the optional delay before a server INVITE transaction sends 100 Trying on its own
//   (17.2.1: "unless it knows that the TU will generate a provisional or final response within
//   200 ms");
// - CancelGuard: 64*T1 after a CANCEL for a client INVITE went out, the INVITE is given up if
//   no final response came (9.1: "If no final response is received for the original request in
//   64*T1 seconds after the CANCEL was sent, the client SHOULD then consider the original
//   transaction cancelled and SHOULD destroy the client transaction").
enum class TimerId { A, B, D, E, F, G, H, I, J, K, L, M, Trying, CancelGuard };
inline constexpr int kTimerCount = 14;
std::string_view to_string(TimerId id);  // "A", "B", ..., "Trying"

struct TimerConfig {
  Duration t1 = std::chrono::milliseconds(500);  // RTT estimate
  Duration t2 = std::chrono::seconds(4);         // cap on non-INVITE / response retransmit interval
  Duration t4 = std::chrono::seconds(5);         // how long a message may live in the network
  // Delay before an INVITE server transaction sends 100 Trying itself; 0 = at once.
  Duration trying_delay = Duration::zero();

  // A config with every value clamped to something the machines can run on: T1 and T2 at least
  // 1 ms (a zero T1 would retransmit in a loop), T2 >= T1, T4 and trying_delay not negative.
  // Config files are hostile input; the machines only ever see a sanitized config.
  TimerConfig sanitized() const;

  // Table 4, for unreliable (UDP) and reliable (TCP) transports.
  Duration timeout_64t1() const { return 64 * t1; }  // B, F, H, J (unreliable), L, M
  Duration timer_d(bool reliable) const;  // >= 32 s unreliable, 0 reliable
  Duration timer_i(bool reliable) const;  // T4 unreliable, 0 reliable
  Duration timer_j(bool reliable) const;  // 64*T1 unreliable, 0 reliable
  Duration timer_k(bool reliable) const;  // T4 unreliable, 0 reliable
};

}  // namespace hapbx::sip
