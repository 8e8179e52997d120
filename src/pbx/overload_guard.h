// Load shedding for new calls. When pbxd falls behind, it is past what one core can do: taking
// more calls would only make every call late, retransmissions would pile up and calls in
// progress would fail. So while it is behind, new INVITEs get 503 with Retry-After at once
// (cheap: no dialplan, no media, no second dialog), and calls already up keep their share of
// the core. Asterisk and a plain proxy have no such guard; they collapse instead.
//
// "Behind" is measured as a lag, sampled every `period`: the larger of how late the sampling
// timer fired (the event loop is busy) and how long the oldest datagram waited in the kernel's
// socket buffer (the loop keeps turning but messages queue up before it: with a 4 MB buffer
// that is where a SIP flood waits).
//
// Hysteresis: overloaded once one sample lags `enter_lag` (far beyond what a busy but healthy
// machine shows; at 2x capacity the lag is seconds); back to normal only after `calm_for` of
// samples under `leave_lag`. Pure: the daemon feeds it the lags it measured.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/clock.h"

namespace hapbx::pbx {

struct OverloadSettings {
  core::Duration period = std::chrono::milliseconds(100);
  core::Duration enter_lag = std::chrono::milliseconds(200);
  core::Duration leave_lag = std::chrono::milliseconds(20);
  core::Duration calm_for = std::chrono::seconds(1);
};

class OverloadGuard {
 public:
  explicit OverloadGuard(OverloadSettings settings = {}) : settings_(settings) {}

  const OverloadSettings& settings() const { return settings_; }
  // One sample: the check due at `scheduled` ran at `now`. Returns whether the state changed.
  bool on_sample(core::TimePoint scheduled, core::TimePoint now) {
    return on_lag(now - scheduled, now);
  }
  // One sample of a lag measured otherwise (negative counts as none).
  bool on_lag(core::Duration lag, core::TimePoint now);
  bool overloaded() const { return overloaded_; }
  uint64_t episodes() const { return episodes_; }  // times overload was entered
  core::Duration worst_lag() const { return worst_lag_; }

 private:
  OverloadSettings settings_;
  bool overloaded_ = false;
  core::TimePoint calm_since_{};
  bool calm_ = false;
  uint64_t episodes_ = 0;
  core::Duration worst_lag_{};
};

}  // namespace hapbx::pbx
