// CDR record rules: disposition words, durations, caller id and AMA flag text. See cdr.h.
#include "pbx/cdr.h"

#include <ctime>

#include "pbx/config_diagnostics.h"

namespace hapbx::pbx {

std::string_view to_string(CdrDisposition disposition) {
  switch (disposition) {
    case CdrDisposition::Answered: return "ANSWERED";
    case CdrDisposition::NoAnswer: return "NO ANSWER";
    case CdrDisposition::Busy: return "BUSY";
    case CdrDisposition::Failed: return "FAILED";
    case CdrDisposition::Congestion: return "CONGESTION";
  }
  return "FAILED";
}

std::optional<CdrDisposition> parse_cdr_disposition(std::string_view text) {
  for (CdrDisposition d : {CdrDisposition::Answered, CdrDisposition::NoAnswer,
                           CdrDisposition::Busy, CdrDisposition::Failed,
                           CdrDisposition::Congestion}) {
    if (to_string(d) == text) return d;
  }
  return std::nullopt;
}

namespace {

// Whole milliseconds from `from` to `to`, rounded down (Asterisk's ast_tvdiff_ms).
int64_t diff_ms(std::chrono::system_clock::time_point from, std::chrono::system_clock::time_point to) {
  return std::chrono::floor<std::chrono::milliseconds>(to - from).count();
}

}  // namespace

CdrDurations cdr_durations(const CdrRecord& record, bool initiated_seconds) {
  CdrDurations d;
  const int64_t total_ms = diff_ms(record.start, record.end);
  d.duration = total_ms > 0 ? total_ms / 1000 : 0;
  if (record.answer) {
    const int64_t ms = diff_ms(*record.answer, record.end);
    if (ms > 0) d.billsec = ms / 1000 + (initiated_seconds && ms % 1000 >= 500 ? 1 : 0);
  }
  return d;
}

void cdr_compute_durations(CdrRecord& record, bool initiated_seconds) {
  const CdrDurations d = cdr_durations(record, initiated_seconds);
  record.duration = d.duration;
  record.billsec = d.billsec;
}

std::string cdr_clid(std::string_view name, std::string_view number) {
  if (!name.empty() && !number.empty()) {
    return "\"" + std::string(name) + "\" <" + std::string(number) + ">";
  }
  return std::string(!name.empty() ? name : number);
}

std::string cdr_amaflags(std::string_view sip_conf_value) {
  if (iequals(sip_conf_value, "billing")) return "BILLING";
  if (iequals(sip_conf_value, "omit")) return "OMIT";
  return "DOCUMENTATION";
}

std::string format_cdr_time(std::chrono::system_clock::time_point t, bool gmt) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
  const auto tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  if ((gmt ? gmtime_r(&tt, &tm) : localtime_r(&tt, &tm)) == nullptr) return "";
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return std::string(buf, n);
}

}  // namespace hapbx::pbx
