// Logger setup and the log rate limiter. See log.h.
#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <string>

namespace hapbx::core {

void init_logging(std::string_view daemon_name, std::string_view level) {
  auto logger = spdlog::stderr_color_mt(std::string(daemon_name));
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %n[%P] %^%l%$: %v");
  logger->set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_default_logger(logger);
}

bool LogRateLimiter::allow(TimePoint now, uint64_t& suppressed) {
  if (window_start_ == TimePoint{} || now - window_start_ >= interval_) {
    window_start_ = now;
    used_ = 0;
  }
  if (used_ < burst_) {
    ++used_;
    suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }
  ++suppressed_;
  suppressed = 0;
  return false;
}

}  // namespace hapbx::core
