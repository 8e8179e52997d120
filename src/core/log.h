// Logging for the daemons: spdlog to stderr (the daemons run in the foreground under systemd or
// the lab, which keep the stream), one named logger per daemon. Also a rate limiter for log
// lines a remote peer can trigger at will (unparseable packets, failed logins), so a flood
// cannot fill the disk or drown the useful lines.
#pragma once

#include <cstdint>
#include <string_view>

#include <spdlog/spdlog.h>

#include "core/clock.h"

namespace hapbx::core {

// Installs the default logger, named after the daemon, writing to stderr.
// level: "trace", "debug", "info", "warning", "error".
void init_logging(std::string_view daemon_name, std::string_view level = "info");

// Allows `burst` lines per `interval`; counts what it suppressed so the next allowed line can say
// how many were dropped. Pure: time is passed in.
class LogRateLimiter {
 public:
  LogRateLimiter(int burst, Duration interval) : burst_(burst), interval_(interval) {}

  // True when the caller may log now. `suppressed` receives how many lines were held back since
  // the last allowed one.
  bool allow(TimePoint now, uint64_t& suppressed);

 private:
  int burst_;
  Duration interval_;
  TimePoint window_start_{};
  int used_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace hapbx::core
