// Durable storage of registrations: `registrations.db` (SQLite) in pbxd's state directory, which
// is the replicated disk in a cluster. The contract with the daemon:
//
//   outcome = registrar.handle(...);        // in-memory table already updated
//   status  = store.apply(outcome.changes); // returns only once the changes are durable
//   send(status.ok() ? outcome.response : registrar failure response)  // and table.revert()
//
// so a pbxd killed with SIGKILL (or a node losing power, once the disk is replicated) still knows
// every registration it answered 200 OK. apply() takes a batch: the daemon collects the changes of
// every REGISTER handled in one loop iteration and commits them in one transaction (group
// commit), so the cost of the fsync is shared when many phones register at once.
//
// Durability choice (measured by the DISABLED_DurabilityCost benchmark in
// tests/unit/pbx/binding_store_test.cpp; numbers in docs): WAL journal with synchronous=FULL, so
// every commit fsyncs the WAL. synchronous=NORMAL would survive a SIGKILL of pbxd (the bytes are
// in the page cache) but not a power loss, and on the replicated disk bytes that were never
// flushed never reach the peer either: the standby would not know the phone. So FULL.
//
// Statements are prepared once at open and reused: no SQL is parsed per REGISTER.
//
// A corrupt file (not a database, failed integrity check, a table of the wrong shape) is never
// deleted and never crashes pbxd: it is moved aside as `registrations.db.corrupt-<UTC time>`
// (with its -wal/-shm), the store starts empty and open() reports it, for the daemon to log
// loudly. Registrations are soft state that phones restore by themselves within one expiry
// period, so serving calls beats refusing to start; the moved file stays for the operator.
// Errors that are not corruption (permissions, disk full, a database written by a newer pbxd)
// are returned as errors naming the file: nothing is moved.
//
// Not thread-safe: one owner (the daemon's event loop, or a dedicated writer thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "pbx/bindings.h"
#include "pbx/sqlite_state_db.h"  // StoreOpenReport

namespace hapbx::pbx {

inline constexpr const char* kRegistrationsDbName = "registrations.db";

enum class StoreDurability {
  Full,    // WAL + synchronous=FULL: each commit is on disk when apply() returns (the default)
  Normal,  // WAL + synchronous=NORMAL: survives a process crash, not a power loss (benchmarks)
};

struct BindingStoreOptions {
  StoreDurability durability = StoreDurability::Full;
};


struct StoreLoadReport {
  std::vector<Binding> bindings;  // still valid at `wall_now`; expires_at NOT set (rebase them)
  size_t expired_dropped = 0;     // rows whose wall-clock expiry had passed (deleted)
  size_t invalid_dropped = 0;     // rows that could not be read back (bad transport, port...)
};

class BindingStore {
 public:
  ~BindingStore();
  BindingStore(const BindingStore&) = delete;
  BindingStore& operator=(const BindingStore&) = delete;

  // Opens (creating if needed) `state_dir`/registrations.db. `wall_now` names a moved-aside file.
  static Result<std::unique_ptr<BindingStore>> open(const std::filesystem::path& state_dir,
                                                    std::chrono::system_clock::time_point wall_now,
                                                    BindingStoreOptions options = {});

  const StoreOpenReport& open_report() const { return open_report_; }
  const std::filesystem::path& path() const { return path_; }

  // Reads every binding, dropping (and deleting) those expired at `wall_now` (Unix seconds).
  Result<StoreLoadReport> load(int64_t wall_now);

  // Persists a batch in one transaction; returns once it is durable (per the durability option).
  // On error nothing of the batch is stored, and the error names the file.
  Status apply(std::span<const BindingChange> changes);

  size_t commits() const { return commits_; }

  struct Db;  // the connection and its prepared statements (binding_store.cpp)

 private:
  BindingStore(std::filesystem::path path, std::unique_ptr<Db> db, StoreOpenReport report);

  std::filesystem::path path_;
  std::unique_ptr<Db> db_;
  StoreOpenReport open_report_;
  size_t commits_ = 0;
};

// Puts the bindings read by load() into the table, their monotonic expiry derived from the wall
// clock (now and wall_now taken at the same instant). Returns how many fit (the table's limits
// still apply; the rest are dropped).
size_t restore_bindings(BindingTable& table, std::vector<Binding> bindings, core::TimePoint now,
                        int64_t wall_now);

// Wall-clock "now" in Unix seconds, for the daemon (the registrar takes it as input).
int64_t to_unix_seconds(std::chrono::system_clock::time_point t);

}  // namespace hapbx::pbx
