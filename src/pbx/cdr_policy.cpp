// The cdr.conf rules applied to one record: see cdr_policy.h.
#include "pbx/cdr_policy.h"

namespace hapbx::pbx {

std::string_view to_string(CdrVerdict verdict) {
  switch (verdict) {
    case CdrVerdict::Log: return "log";
    case CdrVerdict::SkipDisabled: return "skipped: CDRs are disabled (cdr.conf enable=no)";
    case CdrVerdict::SkipUnanswered:
      return "skipped: unanswered and never offered to a callee (cdr.conf unanswered=no)";
  }
  return "log";
}

CdrVerdict apply_cdr_policy(CdrRecord& record, const CdrSettings& settings) {
  if (!settings.enabled) return CdrVerdict::SkipDisabled;
  // Asterisk's cdr.c maps the congestion hangup cause to FAILED unless congestion=yes.
  if (record.disposition == CdrDisposition::Congestion && !settings.log_congestion) {
    record.disposition = CdrDisposition::Failed;
  }
  cdr_compute_durations(record, settings.initiated_seconds);
  // Asterisk drops records whose disposition is below ANSWERED (NO ANSWER, FAILED, BUSY) when
  // they have no B party; CONGESTION ranks above ANSWERED there, so it is kept.
  const bool below_answered = record.disposition != CdrDisposition::Answered &&
                              record.disposition != CdrDisposition::Congestion;
  if (!settings.log_unanswered && below_answered &&
      (record.channel.empty() || record.dstchannel.empty())) {
    return CdrVerdict::SkipUnanswered;
  }
  return CdrVerdict::Log;
}

}  // namespace hapbx::pbx
