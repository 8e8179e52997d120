// Event-loop lag hysteresis (see overload_guard.h).
#include "pbx/overload_guard.h"

#include <algorithm>

namespace hapbx::pbx {

bool OverloadGuard::on_lag(core::Duration measured, core::TimePoint now) {
  const core::Duration lag = std::max(core::Duration::zero(), measured);
  worst_lag_ = std::max(worst_lag_, lag);
  if (!overloaded_) {
    if (lag < settings_.enter_lag) return false;
    overloaded_ = true;
    calm_ = false;
    ++episodes_;
    return true;
  }
  if (lag >= settings_.leave_lag) {
    calm_ = false;
    return false;
  }
  if (!calm_) {
    calm_ = true;
    calm_since_ = now;
    return false;
  }
  if (now - calm_since_ < settings_.calm_for) return false;
  overloaded_ = false;
  calm_ = false;
  return true;
}

}  // namespace hapbx::pbx
