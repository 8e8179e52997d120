// cdr.db (SQLite) and the CSV files: open with corruption handling, batched writes. See
// cdr_store.h for the contract.
#include "pbx/cdr_store.h"

#include <sqlite3.h>

#include <ctime>
#include <map>
#include <system_error>
#include <utility>
#include <variant>

#include <fmt/format.h>

#include "pbx/cdr_csv.h"

namespace hapbx::pbx {

namespace fs = std::filesystem;

namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kCreateSql =
    "CREATE TABLE IF NOT EXISTS cdr ("
    " AcctId INTEGER PRIMARY KEY,"
    " calldate TEXT NOT NULL, clid TEXT NOT NULL, src TEXT NOT NULL, dst TEXT NOT NULL,"
    " dcontext TEXT NOT NULL, channel TEXT NOT NULL, dstchannel TEXT NOT NULL,"
    " lastapp TEXT NOT NULL, lastdata TEXT NOT NULL,"
    " start TEXT NOT NULL, answer TEXT NOT NULL, \"end\" TEXT NOT NULL,"
    " duration INTEGER NOT NULL, billsec INTEGER NOT NULL,"
    " disposition TEXT NOT NULL, amaflags TEXT NOT NULL, accountcode TEXT NOT NULL,"
    " uniqueid TEXT NOT NULL, userfield TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS cdr_calldate ON cdr (calldate);"
    "CREATE INDEX IF NOT EXISTS cdr_uniqueid ON cdr (uniqueid)";

constexpr const char* kInsertSql =
    "INSERT INTO cdr (calldate, clid, src, dst, dcontext, channel, dstchannel, lastapp, "
    "lastdata, start, answer, \"end\", duration, billsec, disposition, amaflags, accountcode, "
    "uniqueid, userfield) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
    "?15, ?16, ?17, ?18, ?19)";

struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s); }
};

bool is_corruption(int code) {
  const int primary = code & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

std::string utc_stamp(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

struct CdrStore::Db {
  sqlite3* db = nullptr;
  Stmt begin, commit, rollback, insert;
  ~Db() {
    for (Stmt* st : {&begin, &commit, &rollback, &insert}) {
      sqlite3_finalize(st->s);
      st->s = nullptr;
    }
    sqlite3_close(db);
  }
};

namespace {

struct OpenFailure {
  bool corrupt = false;
  std::string message;
};

std::string db_error(sqlite3* db, const fs::path& path, std::string_view doing) {
  return fmt::format("{}: {}: {}", path.string(), doing, db ? sqlite3_errmsg(db) : "out of memory");
}

OpenFailure failure(sqlite3* db, int code, const fs::path& path, std::string_view doing) {
  return OpenFailure{is_corruption(code), db_error(db, path, doing)};
}

std::optional<OpenFailure> exec(sqlite3* db, const fs::path& path, const char* sql) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return failure(db, rc, path, sql);
  return std::nullopt;
}

std::optional<OpenFailure> prepare(sqlite3* db, const fs::path& path, Stmt& st, const char* sql) {
  const int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st.s, nullptr);
  if (rc != SQLITE_OK) return failure(db, rc, path, "preparing statements");
  return std::nullopt;
}

std::variant<std::unique_ptr<CdrStore::Db>, OpenFailure> try_open(const fs::path& path) {
  auto db = std::make_unique<CdrStore::Db>();
  int rc = sqlite3_open_v2(path.c_str(), &db->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) return failure(db->db, rc, path, "cannot open");
  sqlite3_extended_result_codes(db->db, 1);
  // A report (`sqlite3 cdr.db 'SELECT ...'`) may hold a read lock for a moment.
  sqlite3_busy_timeout(db->db, 2000);

  // The first statement that reads the header: a file that is not a database fails here.
  if (auto f = exec(db->db, path, "PRAGMA journal_mode=WAL")) return *f;
  if (auto f = exec(db->db, path, "PRAGMA synchronous=FULL")) return *f;
  {
    Stmt check;
    if (auto f = prepare(db->db, path, check, "PRAGMA quick_check")) return *f;
    rc = sqlite3_step(check.s);
    if (rc != SQLITE_ROW) return failure(db->db, rc, path, "integrity check");
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(check.s, 0));
    const std::string verdict = text ? text : "";
    if (verdict != "ok") {
      return OpenFailure{true, fmt::format("{}: integrity check failed: {}", path.string(),
                                           verdict)};
    }
  }
  int version = 0;
  {
    Stmt v;
    if (auto f = prepare(db->db, path, v, "PRAGMA user_version")) return *f;
    if (sqlite3_step(v.s) == SQLITE_ROW) version = sqlite3_column_int(v.s, 0);
  }
  if (version > kSchemaVersion) {
    return OpenFailure{false, fmt::format("{}: written by a newer pbxd (schema version {}, this "
                                          "one knows {}): upgrade pbxd or move the file away",
                                          path.string(), version, kSchemaVersion)};
  }
  if (auto f = exec(db->db, path, kCreateSql)) {
    // A `cdr` table of another shape (its columns are not ours) fails the index creation.
    f->corrupt = f->corrupt || (sqlite3_errcode(db->db) & 0xff) == SQLITE_ERROR;
    return *f;
  }
  if (version == 0) {
    if (auto f = exec(db->db, path, "PRAGMA user_version=1")) return *f;
  }
  struct {
    Stmt& st;
    const char* sql;
  } statements[] = {
      {db->begin, "BEGIN IMMEDIATE"},
      {db->commit, "COMMIT"},
      {db->rollback, "ROLLBACK"},
      {db->insert, kInsertSql},
  };
  for (auto& [st, sql] : statements) {
    if (auto f = prepare(db->db, path, st, sql)) {
      // A `cdr` table of another shape (missing columns) cannot take our rows.
      f->corrupt = f->corrupt || (sqlite3_errcode(db->db) & 0xff) == SQLITE_ERROR;
      return *f;
    }
  }
  return db;
}

// Moves `path` and its -wal/-shm aside as `<path>.corrupt-<stamp>[-n]`; returns the new name.
Result<fs::path> move_aside(const fs::path& path, std::chrono::system_clock::time_point wall_now) {
  std::error_code ec;
  fs::path aside = path;
  aside += ".corrupt-" + utc_stamp(wall_now);
  for (int n = 1; fs::exists(aside, ec); ++n) {
    aside = path;
    aside += fmt::format(".corrupt-{}-{}", utc_stamp(wall_now), n);
  }
  // The -wal goes too: a stale WAL beside a fresh database must never be replayed into it.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    fs::path from = path;
    from += suffix;
    if (!fs::exists(from, ec)) continue;
    fs::path to = aside;
    to += suffix;
    fs::rename(from, to, ec);
    if (ec) {
      return make_error(fmt::format("{} (corrupt) could not be moved aside to {}: {}",
                                    from.string(), to.string(), ec.message()));
    }
  }
  return aside;
}

void bind(sqlite3_stmt* st, int index, std::string_view text) {
  sqlite3_bind_text(st, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

}  // namespace

CdrStore::CdrStore(fs::path db_path, fs::path csv_dir, CdrSettings settings,
                   std::unique_ptr<Db> db, CdrStoreOpenReport report)
    : db_path_(std::move(db_path)),
      csv_dir_(std::move(csv_dir)),
      settings_(std::move(settings)),
      db_(std::move(db)),
      open_report_(std::move(report)) {}

CdrStore::~CdrStore() = default;

Result<std::unique_ptr<CdrStore>> CdrStore::open(const fs::path& state_dir,
                                                 const CdrSettings& settings,
                                                 std::chrono::system_clock::time_point wall_now) {
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) {
    return make_error(fmt::format("{}: cannot create the state directory: {}", state_dir.string(),
                                  ec.message()));
  }
  const fs::path csv_dir = state_dir / kCdrCsvDirName;
  if (settings.csv.enabled) {
    fs::create_directories(csv_dir, ec);
    if (ec) {
      return make_error(fmt::format("{}: cannot create the CSV CDR directory: {} (cdr.conf has "
                                    "[csv])", csv_dir.string(), ec.message()));
    }
  }
  const fs::path path = state_dir / kCdrDbName;
  auto first = try_open(path);
  if (auto* db = std::get_if<std::unique_ptr<Db>>(&first)) {
    return std::unique_ptr<CdrStore>(new CdrStore(path, csv_dir, settings, std::move(*db), {}));
  }
  const OpenFailure bad = std::get<OpenFailure>(first);
  if (!bad.corrupt) return make_error(bad.message);

  CdrStoreOpenReport report;
  report.corruption = bad.message;
  auto aside = move_aside(path, wall_now);
  if (!aside.ok()) return aside.error();
  report.moved_aside = aside.value();
  auto second = try_open(path);
  if (auto* db = std::get_if<std::unique_ptr<Db>>(&second)) {
    return std::unique_ptr<CdrStore>(
        new CdrStore(path, csv_dir, settings, std::move(*db), std::move(report)));
  }
  return make_error(std::get<OpenFailure>(second).message);
}

Status CdrStore::write_db(std::span<const CdrRecord> records) {
  auto step = [](sqlite3_stmt* st) {
    const int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc;
  };
  if (step(db_->begin.s) != SQLITE_DONE) {
    return make_error(db_error(db_->db, db_path_, "beginning a transaction"));
  }
  sqlite3_stmt* st = db_->insert.s;
  const bool gmt = settings_.db_use_gmt;
  for (const CdrRecord& r : records) {
    sqlite3_clear_bindings(st);
    const std::string start = format_cdr_time(r.start, gmt);
    bind(st, 1, start);
    bind(st, 2, r.clid);
    bind(st, 3, r.src);
    bind(st, 4, r.dst);
    bind(st, 5, r.dcontext);
    bind(st, 6, r.channel);
    bind(st, 7, r.dstchannel);
    bind(st, 8, r.lastapp);
    bind(st, 9, r.lastdata);
    bind(st, 10, start);
    bind(st, 11, r.answer ? format_cdr_time(*r.answer, gmt) : std::string());
    bind(st, 12, format_cdr_time(r.end, gmt));
    sqlite3_bind_int64(st, 13, r.duration);
    sqlite3_bind_int64(st, 14, r.billsec);
    bind(st, 15, to_string(r.disposition));
    bind(st, 16, r.amaflags);
    bind(st, 17, r.accountcode);
    bind(st, 18, r.uniqueid);
    bind(st, 19, r.userfield);
    if (step(st) != SQLITE_DONE) {
      auto error = make_error(db_error(db_->db, db_path_, "writing a CDR"));
      step(db_->rollback.s);
      return error;
    }
  }
  if (step(db_->commit.s) != SQLITE_DONE) {
    auto error = make_error(db_error(db_->db, db_path_, "committing CDRs"));
    step(db_->rollback.s);
    return error;
  }
  return Status::Ok();
}

Status CdrStore::write_csv(std::span<const CdrRecord> records, std::vector<std::string>& lines,
                           bool& master_ok) {
  std::string master;
  std::map<std::string, std::string> per_account;  // accountcode -> its lines
  std::vector<std::string> refused;
  lines.reserve(records.size());
  for (const CdrRecord& r : records) {
    lines.push_back(format_cdr_csv_line(r, settings_.csv));
    master += lines.back();
    if (!settings_.csv.account_logs || r.accountcode.empty()) continue;
    if (is_safe_account_file_name(r.accountcode)) {
      per_account[r.accountcode] += lines.back();
    } else {
      refused.push_back(r.accountcode);
    }
  }
  std::string errors;
  auto note = [&errors](const std::string& message) {
    if (!errors.empty()) errors += "; ";
    errors += message;
  };
  // The directory may have been removed by hand since open: recreate rather than lose lines.
  std::error_code ec;
  fs::create_directories(csv_dir_, ec);
  Status m = append_durably(csv_dir_ / kCdrCsvMasterName, master);
  master_ok = m.ok();
  if (!m.ok()) note(m.error().message);
  for (const auto& [account, text] : per_account) {
    Status a = append_durably(csv_dir_ / (account + ".csv"), text);
    if (!a.ok()) note(a.error().message);
  }
  for (const std::string& account : refused) {
    note(fmt::format("accountcode '{}' is not a safe file name, so no account file was written "
                     "for it (the CDR is in {})",
                     account.substr(0, 60), kCdrCsvMasterName));
  }
  if (errors.empty()) return Status::Ok();
  return make_error(errors);
}

CdrBatchResult CdrStore::write(std::span<const CdrRecord> records) {
  CdrBatchResult result;
  result.records = records.size();
  if (records.empty()) return result;
  result.first_uniqueid = records.front().uniqueid;
  result.db = write_db(records);
  std::vector<std::string> lines;
  bool master_ok = false;
  if (settings_.csv.enabled) result.csv = write_csv(records, lines, master_ok);
  if (!result.db.ok() && !master_ok) {
    // For the log: every column, so the record can be re-entered by hand.
    CdrCsvSettings full = settings_.csv;
    full.log_uniqueid = full.log_userfield = true;
    for (const CdrRecord& r : records) result.unsaved.push_back(format_cdr_csv_line(r, full));
  }
  return result;
}

}  // namespace hapbx::pbx
