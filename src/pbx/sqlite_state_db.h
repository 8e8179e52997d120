// What the SQLite files in the state directory (registrations.db, cdr.db) share: opening with
// checks (WAL, synchronous, quick_check, schema version, the tables), prepared statements that
// finalize themselves, error text naming the file, and the cure for corruption: move the file
// (with its -wal and -shm) aside as <file>.corrupt-<UTC stamp> and start a new one, reported so
// the daemon logs it loudly. A file written by a newer pbxd is refused, never moved.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/result.h"

namespace hapbx::pbx {

// A prepared statement, finalized with its owner.
struct SqliteStatement {
  sqlite3_stmt* s = nullptr;
  SqliteStatement() = default;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  ~SqliteStatement() { sqlite3_finalize(s); }
  void finalize() {
    sqlite3_finalize(s);
    s = nullptr;
  }
};

// An error while opening: `corrupt` says whether moving the file aside is the cure.
struct SqliteOpenFailure {
  bool corrupt = false;
  std::string message;
};

// Set when a corrupt file was moved aside: where it went and why (to log loudly).
struct StoreOpenReport {
  std::optional<std::filesystem::path> moved_aside;
  std::string corruption;
};

struct SqliteSchema {
  int version = 1;                 // PRAGMA user_version this pbxd writes
  const char* create_sql = "";     // CREATE ... IF NOT EXISTS
  bool full_sync = true;           // synchronous=FULL (durable at commit), else NORMAL
  int busy_timeout_ms = 0;         // 0 = none
};

// "<file>: <doing>: <sqlite's message>".
std::string sqlite_error(sqlite3* db, const std::filesystem::path& path, std::string_view doing);

// Opens (creating) `path` into `db`, which the caller owns and closes even on failure; sets WAL
// and the sync mode, runs quick_check, refuses a newer schema, creates the tables. A file that
// is not a database, fails the check, or holds a table of another shape is corrupt.
std::optional<SqliteOpenFailure> sqlite_open_checked(const std::filesystem::path& path,
                                                     sqlite3*& db, const SqliteSchema& schema);

// Prepares statements kept for the life of a store. A statement the tables cannot take (a
// foreign file with a table of our name but not our columns) counts as corruption.
struct SqlitePrepared {
  SqliteStatement& statement;
  std::string sql;
};
std::optional<SqliteOpenFailure> sqlite_prepare_all(sqlite3* db, const std::filesystem::path& path,
                                                    std::initializer_list<SqlitePrepared> list);

// Moves `path` and its -wal/-shm aside as `<path>.corrupt-<stamp>[-n]`; returns the new name.
// The -wal goes too: a stale WAL beside a fresh database must never be replayed into it.
Result<std::filesystem::path> move_corrupt_db_aside(const std::filesystem::path& path,
                                                    std::chrono::system_clock::time_point wall_now);

// Opens with `try_open`; on corruption moves the file aside (report says where and why) and
// opens a fresh one. Any other failure is an error naming the file.
// `try_open()` returns std::variant<std::unique_ptr<Db>, SqliteOpenFailure>.
template <typename Db, typename TryOpen>
Result<std::pair<std::unique_ptr<Db>, StoreOpenReport>> open_recovering(
    const std::filesystem::path& path, std::chrono::system_clock::time_point wall_now,
    TryOpen&& try_open) {
  auto first = try_open();
  if (auto* db = std::get_if<std::unique_ptr<Db>>(&first)) {
    return std::make_pair(std::move(*db), StoreOpenReport{});
  }
  const SqliteOpenFailure bad = std::get<SqliteOpenFailure>(first);
  if (!bad.corrupt) return make_error(bad.message);
  StoreOpenReport report;
  report.corruption = bad.message;
  auto aside = move_corrupt_db_aside(path, wall_now);
  if (!aside) return aside.error();
  report.moved_aside = std::move(aside).value();
  auto second = try_open();
  if (auto* db = std::get_if<std::unique_ptr<Db>>(&second)) {
    return std::make_pair(std::move(*db), std::move(report));
  }
  return make_error(std::get<SqliteOpenFailure>(second).message);
}

}  // namespace hapbx::pbx
