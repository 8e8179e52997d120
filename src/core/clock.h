// Time is injected. Protocol cores never read a clock themselves: drivers pass `now` in, and the
// drivers take it from a Clock, which is the real monotonic clock in daemons and a ManualClock in
// tests (so a test runs in microseconds what takes minutes in real time).
#pragma once

#include <chrono>

namespace hapbx::core {

using Duration = std::chrono::steady_clock::duration;
using TimePoint = std::chrono::steady_clock::time_point;
using std::chrono::milliseconds;
using std::chrono::seconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

// A clock that moves only when told to. Starts at an arbitrary non-zero point so code that
// treats TimePoint{} as "never" is not fooled.
class ManualClock final : public Clock {
 public:
  TimePoint now() const override { return now_; }
  void advance(Duration d) { now_ += d; }
  void set(TimePoint t) { now_ = t; }

 private:
  TimePoint now_ = TimePoint{} + std::chrono::hours(1000);
};

}  // namespace hapbx::core
