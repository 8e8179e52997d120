// Timer names and Table 4 durations for the transaction machines (RFC 3261 17, RFC 6026).
#include "sip/transaction_timers.h"

#include <algorithm>

namespace hapbx::sip {

std::string_view to_string(TimerId id) {
  switch (id) {
    case TimerId::A: return "A";
    case TimerId::B: return "B";
    case TimerId::D: return "D";
    case TimerId::E: return "E";
    case TimerId::F: return "F";
    case TimerId::G: return "G";
    case TimerId::H: return "H";
    case TimerId::I: return "I";
    case TimerId::J: return "J";
    case TimerId::K: return "K";
    case TimerId::L: return "L";
    case TimerId::M: return "M";
    case TimerId::Trying: return "Trying";
    case TimerId::CancelGuard: return "CancelGuard";
  }
  return "?";
}

TimerConfig TimerConfig::sanitized() const {
  const Duration min_tick = std::chrono::milliseconds(1);
  TimerConfig out = *this;
  out.t1 = std::max(t1, min_tick);
  out.t2 = std::max({t2, min_tick, out.t1});
  out.t4 = std::max(t4, Duration::zero());
  out.trying_delay = std::max(trying_delay, Duration::zero());
  return out;
}

// 17.1.1.2: "Timer D ... MUST be set to a value of at least 32 seconds for unreliable transports,
// and a value of zero seconds for reliable transports." 32 s also covers 64*T1 when T1 is raised.
Duration TimerConfig::timer_d(bool reliable) const {
  if (reliable) return Duration::zero();
  return std::max<Duration>(std::chrono::seconds(32), timeout_64t1());
}

Duration TimerConfig::timer_i(bool reliable) const { return reliable ? Duration::zero() : t4; }
Duration TimerConfig::timer_j(bool reliable) const {
  return reliable ? Duration::zero() : timeout_64t1();
}
Duration TimerConfig::timer_k(bool reliable) const { return reliable ? Duration::zero() : t4; }

}  // namespace hapbx::sip
