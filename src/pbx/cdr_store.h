// Durable CDR storage: `cdr.db` (SQLite) in pbxd's state directory, which is the replicated
// disk in a cluster, plus Master.csv when cdr.conf has [csv] (pbx/cdr_csv.h).
//
// cdr.db has one table, `cdr`, with Asterisk's column names so that reports written for an
// Asterisk CDR table work on it:
//   AcctId INTEGER PRIMARY KEY (insertion order), calldate TEXT, clid, src, dst, dcontext,
//   channel, dstchannel, lastapp, lastdata, start, answer, "end", duration INTEGER,
//   billsec INTEGER, disposition TEXT ("ANSWERED", "NO ANSWER", ...), amaflags TEXT,
//   accountcode, uniqueid, userfield
// Times (calldate = start) are 'YYYY-MM-DD HH:MM:SS' in local time, or UTC with [general]
// usegmtime=yes; `answer` is '' for an unanswered call, as Asterisk's CDR(answer) gives. Every
// text column is NOT NULL ('' when unknown). `end` is an SQL keyword: quote it ("end") in
// queries.
//
// Durability: WAL with synchronous=FULL and one transaction per batch, so write() returns once
// the batch is on disk; the statement is prepared once at open. A CDR is billing data, so
// never lost silently: when the database write fails the CSV lines are still written (if
// configured) and the result says what failed; a record that reached neither backend is
// returned as its CSV line (`unsaved`) for the daemon to put into its log.
//
// A corrupt cdr.db (not a database, failed quick_check, a `cdr` table of another shape) is
// never deleted: it is moved aside as `cdr.db.corrupt-<UTC time>` with its -wal/-shm, a fresh
// one is started, and open_report() says so for the daemon to log loudly. Other errors
// (permissions, a newer schema) are open() errors naming the file.
//
// Not thread-safe: one owner (the CDR writer thread).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "pbx/cdr.h"
#include "pbx/cdr_config.h"
#include "pbx/sqlite_state_db.h"

namespace hapbx::pbx {

inline constexpr const char* kCdrDbName = "cdr.db";

// Where a corrupt cdr.db went and why it was judged corrupt.
using CdrStoreOpenReport = StoreOpenReport;

struct CdrBatchResult {
  size_t records = 0;
  std::string first_uniqueid;  // to name the batch in a log line
  Status db;                   // failed: none of the batch is in cdr.db
  Status csv;                  // failed: a CSV file was not written (details in the message)
  // The records stored nowhere (database failed, and CSV off or Master.csv failed too), each
  // as a Master.csv line with uniqueid and userfield, for the daemon's log.
  std::vector<std::string> unsaved;
  bool ok() const { return db.ok() && csv.ok(); }
};

class CdrStore {
 public:
  ~CdrStore();
  CdrStore(const CdrStore&) = delete;
  CdrStore& operator=(const CdrStore&) = delete;

  // Opens (creating) `state_dir`/cdr.db and, with [csv], the cdr-csv directory. `wall_now`
  // names a moved-aside file.
  static Result<std::unique_ptr<CdrStore>> open(const std::filesystem::path& state_dir,
                                                const CdrSettings& settings,
                                                std::chrono::system_clock::time_point wall_now);

  // Stores the records: one database transaction, then the CSV files. Records are written as
  // given (the writer has applied the cdr.conf rules already).
  CdrBatchResult write(std::span<const CdrRecord> records);

  const CdrStoreOpenReport& open_report() const { return open_report_; }
  const std::filesystem::path& db_path() const { return db_path_; }
  const std::filesystem::path& csv_dir() const { return csv_dir_; }

  struct Db;  // the connection and its prepared statements (cdr_store.cpp)

 private:
  CdrStore(std::filesystem::path db_path, std::filesystem::path csv_dir, CdrSettings settings,
           std::unique_ptr<Db> db, CdrStoreOpenReport report);
  Status write_db(std::span<const CdrRecord> records);
  Status write_csv(std::span<const CdrRecord> records, std::vector<std::string>& lines,
                   bool& master_ok);

  std::filesystem::path db_path_;
  std::filesystem::path csv_dir_;
  CdrSettings settings_;
  std::unique_ptr<Db> db_;
  CdrStoreOpenReport open_report_;
};

}  // namespace hapbx::pbx
