// The Master.csv backend: CDR lines in the exact layout of Asterisk's cdr_csv, so scripts that
// read /var/log/asterisk/cdr-csv/Master.csv read `<state_dir>/cdr-csv/Master.csv` unchanged.
//
// Column order: accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp, lastdata,
// start, answer, end, duration, billsec, disposition, amaflags[, uniqueid][, userfield].
// As cdr_csv writes them: text fields and times in double quotes with inner quotes doubled
// (commas and newlines stay inside the quotes, which is valid CSV); duration and billsec as
// bare integers; the answer time of an unanswered call as an empty, unquoted field.
//
// Files are opened, appended and fsync'd per batch (and the directory fsync'd when a file is
// created), since cdr_csv's reason to reopen on every record (a rotated file is picked up)
// holds, and the fsync makes a CDR survive a power loss like the database row does.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.h"
#include "pbx/cdr.h"
#include "pbx/cdr_config.h"

namespace hapbx::pbx {

inline constexpr const char* kCdrCsvDirName = "cdr-csv";
inline constexpr const char* kCdrCsvMasterName = "Master.csv";

// One line, ending in "\n". NUL bytes in fields are left out.
std::string format_cdr_csv_line(const CdrRecord& record, const CdrCsvSettings& csv);

// Whether `<accountcode>.csv` may be written: as cdr_csv, not with a '/' or a leading '.', and
// also not empty, not "Master" (which would put the line into Master.csv twice) and without
// control bytes.
bool is_safe_account_file_name(std::string_view accountcode);

// Appends `data` to `file` (created 0640 if missing) and fsyncs it. Errors name the file.
Status append_durably(const std::filesystem::path& file, std::string_view data);

}  // namespace hapbx::pbx
