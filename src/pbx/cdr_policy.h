// What cdr.conf's [general] rules do to a finished call's record, before it is stored: which
// records are logged at all (enable=, unanswered=), how congestion is reported (congestion=),
// and the second counts (initiatedseconds=). Pure; the CDR writer applies it on submit, so the
// B2BUA hands over every record it makes and the rules live in one place.
#pragma once

#include <string_view>

#include "pbx/cdr.h"
#include "pbx/cdr_config.h"

namespace hapbx::pbx {

enum class CdrVerdict {
  Log,
  SkipDisabled,    // enable=no
  SkipUnanswered,  // unanswered=no and the call never reached a callee (see cdr_config.h)
};
std::string_view to_string(CdrVerdict verdict);

// Applies the rules in place (Congestion becomes Failed without congestion=yes; duration and
// billsec are recomputed from the times) and says whether the record is to be stored.
CdrVerdict apply_cdr_policy(CdrRecord& record, const CdrSettings& settings);

}  // namespace hapbx::pbx
