// Test harness for the pure transaction machines: it plays the layer's part (a timer table and
// a ManualClock) so a test can run a machine through minutes of timers in microseconds and read
// back when each transmission happened.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "sip/transaction_step.h"

namespace hapbx::sip::testing {

using std::chrono::milliseconds;

template <typename Machine>
class MachineHarness {
 public:
  template <typename... Args>
  explicit MachineHarness(Args&&... args) : machine(std::forward<Args>(args)...),
                                            start_(clock.now()) {}

  // Applies a step's actions the way the layer would and returns them for inspection.
  txn::Actions apply(txn::Actions actions) {
    for (const txn::Action& action : actions) {
      if (const auto* arm = std::get_if<txn::ArmTimer>(&action)) {
        armed[arm->id] = arm->deadline;
      } else if (const auto* cancel = std::get_if<txn::CancelTimer>(&action)) {
        armed.erase(cancel->id);
      } else if (const auto* transmit = std::get_if<txn::Transmit>(&action)) {
        transmits.push_back(elapsed());
        if (transmit->retransmission) ++retransmissions;
      } else if (std::holds_alternative<txn::SendAck>(action)) {
        acks.push_back(elapsed());
      } else if (std::holds_alternative<txn::SendTrying>(action)) {
        tryings.push_back(elapsed());
      } else if (std::holds_alternative<txn::DeliverToTu>(action)) {
        ++delivered;
      } else if (std::holds_alternative<txn::Absorbed>(action)) {
        ++absorbed;
      } else if (const auto* failure = std::get_if<txn::ReportFailure>(&action)) {
        failures.push_back({*failure, elapsed()});
      } else if (std::holds_alternative<txn::Terminated>(action)) {
        armed.clear();
        terminated_at = elapsed();
      }
    }
    return actions;
  }

  // Fires the earliest armed timer (advancing the clock to it); false when none is armed.
  bool fire_next() {
    if (armed.empty()) return false;
    auto earliest = armed.begin();
    for (auto it = armed.begin(); it != armed.end(); ++it) {
      if (it->second < earliest->second) earliest = it;
    }
    const TimerId id = earliest->first;
    clock.set(earliest->second);
    armed.erase(earliest);
    apply(machine.on_timer(id, clock.now()));
    return true;
  }

  // Fires timers until none is armed or `limit` timers fired (guards against a runaway loop).
  int run_timers(int limit = 1000) {
    int fired = 0;
    while (fired < limit && fire_next()) ++fired;
    return fired;
  }

  // Fires every timer due by `offset` from the start, then moves the clock there.
  void run_until(milliseconds offset) {
    const TimePoint target = start_ + offset;
    for (;;) {
      std::optional<TimePoint> next;
      for (const auto& [id, deadline] : armed) {
        if (!next || deadline < *next) next = deadline;
      }
      if (!next || *next > target) break;
      fire_next();
    }
    clock.set(target);
  }

  std::optional<TimePoint> deadline(TimerId id) const {
    auto it = armed.find(id);
    if (it == armed.end()) return std::nullopt;
    return it->second;
  }
  std::optional<milliseconds> deadline_offset(TimerId id) const {
    auto d = deadline(id);
    if (!d) return std::nullopt;
    return std::chrono::duration_cast<milliseconds>(*d - start_);
  }

  milliseconds elapsed() const {
    return std::chrono::duration_cast<milliseconds>(clock.now() - start_);
  }
  TimePoint now() const { return clock.now(); }

  core::ManualClock clock;
  Machine machine;
  std::map<TimerId, TimePoint> armed;
  std::vector<milliseconds> transmits;
  std::vector<milliseconds> acks;
  std::vector<milliseconds> tryings;
  int retransmissions = 0;
  int delivered = 0;
  int absorbed = 0;
  std::vector<std::pair<txn::ReportFailure, milliseconds>> failures;
  std::optional<milliseconds> terminated_at;

 private:
  TimePoint start_;
};

// Milliseconds list helper: ms({0, 500, 1500}).
inline std::vector<milliseconds> ms(std::initializer_list<long> values) {
  std::vector<milliseconds> out;
  for (long v : values) out.emplace_back(v);
  return out;
}

}  // namespace hapbx::sip::testing
