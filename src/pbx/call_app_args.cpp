// Application argument helpers (see call_app_args.h).
#include "pbx/call_app_args.h"

#include <cmath>
#include <cstdlib>

#include "pbx/dialplan_args.h"
#include "sip/uri.h"

namespace hapbx::pbx {

core::Duration seconds_arg(const std::vector<std::string>& args, size_t index,
                           core::Duration fallback) {
  if (index >= args.size()) return fallback;
  const std::string text(sip::trim(args[index]));
  if (text.empty()) return fallback;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !std::isfinite(value) || value < 0 ||
      value > 86400.0 * 7) {
    return fallback;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(value * 1000));
}

std::vector<std::string> split_list(std::string_view text, char separator) {
  std::vector<std::string> out;
  for (const auto& item : split_application_args(text, separator, /*remove_quotes=*/false)) {
    const auto trimmed = sip::trim(item);
    if (!trimmed.empty()) out.emplace_back(trimmed);
  }
  return out;
}

}  // namespace hapbx::pbx
