// cdr.conf in Asterisk's syntax: which CDRs are logged and where. pbxd has two backends:
//
//   cdr.db   SQLite in the state directory (the replicated disk), always on while CDRs are
//            enabled: it replaces Asterisk's database backends (cdr_sqlite3_custom, odbc, ...)
//   Master.csv  `<state_dir>/cdr-csv/Master.csv`, only when cdr.conf has a [csv] section, as
//            Asterisk's cdr_csv loads only when [csv] is there
//
// A missing cdr.conf means the defaults: CDRs on, cdr.db only.
//
// [general]
//   enable=yes|no        default yes; no turns every backend off (even with [csv])
//   unanswered=yes|no    default no. As Asterisk 12+: a call that was never answered and never
//                        offered to a callee (no dstchannel, e.g. it ended in the dialplan
//                        before any Dial) is not logged; unanswered calls that were offered to
//                        a callee are ALWAYS logged (NO ANSWER, BUSY, FAILED), whatever this
//                        says. yes logs the former too. Records with disposition CONGESTION are
//                        kept either way (Asterisk's filter only drops dispositions below
//                        ANSWERED, and CONGESTION is above it).
//   congestion=yes|no    default no: a congested call is logged with disposition FAILED; yes
//                        logs it as CONGESTION.
//   initiatedseconds=    default no: billsec truncated; yes rounds it (see cdr.h)
//   batch=, size=, time=, scheduleronly=, safeshutdown=   accepted and checked, but pbxd
//                        writes every CDR when its call ends (CDRs ending together share one
//                        transaction), so none waits in memory for a batch: batch=yes says so.
//   usegmtime=yes|no     hapbx's own, default no: times in cdr.db in UTC instead of local time
//                        (Asterisk's database backends each have a usegmtime of their own).
//   endbeforehexten=, debug=, channeldefaultenabled=, ignorestatechanges=,
//   ignoredialchanges=, canceldispositionenabled=   accepted, not used (noted once).
// [csv]
//   usegmtime (default no), loguniqueid (no), loguserfield (no), accountlogs (yes: also
//   `<accountcode>.csv` per account), newcdrcolumns (accepted, not used).
// [sqlite3_custom], [odbc], [pgsql], [radius], [custom], [manager], ... : warned about, not
//   supported; CDRs go to cdr.db.
//
// Bad values are errors naming file:line and the fix; unknown keys and sections are warnings
// with file:line (never silently dropped).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"
#include "pbx/asterisk_config.h"

namespace hapbx::pbx {

struct CdrCsvSettings {
  bool enabled = false;  // a [csv] section exists
  bool use_gmt = false;
  bool log_uniqueid = false;
  bool log_userfield = false;
  bool account_logs = true;
};

struct CdrSettings {
  bool enabled = true;
  bool log_unanswered = false;
  bool log_congestion = false;
  bool initiated_seconds = false;
  bool db_use_gmt = false;
  CdrCsvSettings csv;
  std::vector<std::string> warnings;  // "cdr.conf:4: ..." for the daemon to log at start
};

// Builds the settings from a parsed cdr.conf. Errors are all reported at once, one per line.
Result<CdrSettings> build_cdr_settings(const ConfigFile& file);

// Reads `config_dir`/cdr.conf; a missing file gives the defaults.
Result<CdrSettings> load_cdr_settings(const std::filesystem::path& config_dir,
                                      ConfigLoader& loader);

}  // namespace hapbx::pbx
