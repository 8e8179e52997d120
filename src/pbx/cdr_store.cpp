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
#include "pbx/sqlite_state_db.h"

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

}  // namespace

struct CdrStore::Db {
  sqlite3* db = nullptr;
  SqliteStatement begin, commit, rollback, insert;
  ~Db() {
    for (SqliteStatement* st : {&begin, &commit, &rollback, &insert}) st->finalize();
    sqlite3_close(db);
  }
};

namespace {

std::variant<std::unique_ptr<CdrStore::Db>, SqliteOpenFailure> try_open(const fs::path& path) {
  auto db = std::make_unique<CdrStore::Db>();
  // A report (`sqlite3 cdr.db 'SELECT ...'`) may hold a read lock for a moment.
  const SqliteSchema schema{kSchemaVersion, kCreateSql, true, 2000};
  if (auto f = sqlite_open_checked(path, db->db, schema)) return *f;
  if (auto f = sqlite_prepare_all(db->db, path,
                                  {{db->begin, "BEGIN IMMEDIATE"},
                                   {db->commit, "COMMIT"},
                                   {db->rollback, "ROLLBACK"},
                                   {db->insert, kInsertSql}})) {
    return *f;
  }
  return db;
}

void bind_text(sqlite3_stmt* st, int index, std::string_view text) {
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
  auto opened = open_recovering<Db>(path, wall_now, [&] { return try_open(path); });
  if (!opened) return opened.error();
  auto [db, report] = std::move(opened).value();
  return std::unique_ptr<CdrStore>(
      new CdrStore(path, csv_dir, settings, std::move(db), std::move(report)));
}

Status CdrStore::write_db(std::span<const CdrRecord> records) {
  auto step = [](sqlite3_stmt* st) {
    const int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc;
  };
  if (step(db_->begin.s) != SQLITE_DONE) {
    return make_error(sqlite_error(db_->db, db_path_, "beginning a transaction"));
  }
  sqlite3_stmt* st = db_->insert.s;
  const bool gmt = settings_.db_use_gmt;
  for (const CdrRecord& r : records) {
    sqlite3_clear_bindings(st);
    const std::string start = format_cdr_time(r.start, gmt);
    bind_text(st, 1, start);
    bind_text(st, 2, r.clid);
    bind_text(st, 3, r.src);
    bind_text(st, 4, r.dst);
    bind_text(st, 5, r.dcontext);
    bind_text(st, 6, r.channel);
    bind_text(st, 7, r.dstchannel);
    bind_text(st, 8, r.lastapp);
    bind_text(st, 9, r.lastdata);
    bind_text(st, 10, start);
    bind_text(st, 11, r.answer ? format_cdr_time(*r.answer, gmt) : std::string());
    bind_text(st, 12, format_cdr_time(r.end, gmt));
    sqlite3_bind_int64(st, 13, r.duration);
    sqlite3_bind_int64(st, 14, r.billsec);
    bind_text(st, 15, to_string(r.disposition));
    bind_text(st, 16, r.amaflags);
    bind_text(st, 17, r.accountcode);
    bind_text(st, 18, r.uniqueid);
    bind_text(st, 19, r.userfield);
    if (step(st) != SQLITE_DONE) {
      auto error = make_error(sqlite_error(db_->db, db_path_, "writing a CDR"));
      step(db_->rollback.s);
      return error;
    }
  }
  if (step(db_->commit.s) != SQLITE_DONE) {
    auto error = make_error(sqlite_error(db_->db, db_path_, "committing CDRs"));
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
