// Shared opening, checking and corruption handling of pbxd's SQLite files (see
// sqlite_state_db.h).
#include "pbx/sqlite_state_db.h"

#include <ctime>
#include <system_error>

#include <fmt/format.h>

namespace hapbx::pbx {
namespace {

namespace fs = std::filesystem;

bool is_corruption(int code) {
  const int primary = code & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

SqliteOpenFailure failure(sqlite3* db, int code, const fs::path& path, std::string_view doing) {
  return SqliteOpenFailure{is_corruption(code), sqlite_error(db, path, doing)};
}

std::optional<SqliteOpenFailure> exec(sqlite3* db, const fs::path& path, const char* sql) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return failure(db, rc, path, sql);
  return std::nullopt;
}

std::optional<SqliteOpenFailure> prepare(sqlite3* db, const fs::path& path, SqliteStatement& st,
                                         std::string_view sql) {
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &st.s, nullptr);
  if (rc != SQLITE_OK) return failure(db, rc, path, "preparing statements");
  return std::nullopt;
}

// A table of our name but another shape makes our statements fail with a plain SQL error.
bool wrong_shape(sqlite3* db) { return (sqlite3_errcode(db) & 0xff) == SQLITE_ERROR; }

std::string utc_stamp(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

std::string sqlite_error(sqlite3* db, const fs::path& path, std::string_view doing) {
  return fmt::format("{}: {}: {}", path.string(), doing, db ? sqlite3_errmsg(db) : "out of memory");
}

std::optional<SqliteOpenFailure> sqlite_open_checked(const fs::path& path, sqlite3*& db,
                                                     const SqliteSchema& schema) {
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) return failure(db, rc, path, "cannot open");
  sqlite3_extended_result_codes(db, 1);
  if (schema.busy_timeout_ms > 0) sqlite3_busy_timeout(db, schema.busy_timeout_ms);

  // journal_mode is the first statement that reads the header: a file that is not a database
  // fails here with SQLITE_NOTADB.
  if (auto f = exec(db, path, "PRAGMA journal_mode=WAL")) return f;
  if (auto f = exec(db, path,
                    schema.full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL")) {
    return f;
  }

  // quick_check: O(size), a few ms for tens of thousands of rows; run once at start.
  {
    SqliteStatement check;
    if (auto f = prepare(db, path, check, "PRAGMA quick_check")) return f;
    rc = sqlite3_step(check.s);
    if (rc != SQLITE_ROW) return failure(db, rc, path, "integrity check");
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(check.s, 0));
    const std::string verdict = text ? text : "";
    if (verdict != "ok") {
      return SqliteOpenFailure{true, fmt::format("{}: integrity check failed: {}", path.string(),
                                                 verdict)};
    }
  }

  int version = 0;
  {
    SqliteStatement v;
    if (auto f = prepare(db, path, v, "PRAGMA user_version")) return f;
    if (sqlite3_step(v.s) == SQLITE_ROW) version = sqlite3_column_int(v.s, 0);
  }
  if (version > schema.version) {
    return SqliteOpenFailure{false,
                             fmt::format("{}: written by a newer pbxd (schema version {}, this "
                                         "one knows {}): upgrade pbxd or move the file away",
                                         path.string(), version, schema.version)};
  }
  if (auto f = exec(db, path, schema.create_sql)) {
    f->corrupt = f->corrupt || wrong_shape(db);  // e.g. an index on columns the table lacks
    return f;
  }
  if (version == 0) {
    const std::string set_version = fmt::format("PRAGMA user_version={}", schema.version);
    if (auto f = exec(db, path, set_version.c_str())) return f;
  }
  return std::nullopt;
}

std::optional<SqliteOpenFailure> sqlite_prepare_all(sqlite3* db, const fs::path& path,
                                                    std::initializer_list<SqlitePrepared> list) {
  for (const auto& p : list) {
    if (auto f = prepare(db, path, p.statement, p.sql)) {
      f->corrupt = f->corrupt || wrong_shape(db);
      return f;
    }
  }
  return std::nullopt;
}

Result<fs::path> move_corrupt_db_aside(const fs::path& path,
                                       std::chrono::system_clock::time_point wall_now) {
  std::error_code ec;
  fs::path aside = path;
  aside += ".corrupt-" + utc_stamp(wall_now);
  for (int n = 1; fs::exists(aside, ec); ++n) {
    aside = path;
    aside += fmt::format(".corrupt-{}-{}", utc_stamp(wall_now), n);
  }
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

}  // namespace hapbx::pbx
