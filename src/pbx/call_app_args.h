// Reading application arguments as the dialplan hands them to the call engine (already
// substituted and split on commas): seconds with decimals, '&'-separated lists, option letters.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace hapbx::pbx {

// args[index] as seconds ("20", "2.5"); `fallback` when absent, empty, negative, not a number
// or longer than a week.
core::Duration seconds_arg(const std::vector<std::string>& args, size_t index,
                           core::Duration fallback);
// "SIP/201&SIP/202" -> {"SIP/201", "SIP/202"}: dialplan_args.h's splitting (quotes, () and []
// protect separators), items trimmed, empty ones dropped.
std::vector<std::string> split_list(std::string_view text, char separator);

}  // namespace hapbx::pbx
