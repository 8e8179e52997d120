// SQLite persistence of bindings: open with corruption handling, load, batched apply.
#include "pbx/binding_store.h"

#include <system_error>
#include <utility>
#include <variant>

#include <fmt/format.h>

#include "pbx/sqlite_state_db.h"

namespace hapbx::pbx {
namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kCreateSql =
    "CREATE TABLE IF NOT EXISTS bindings ("
    " aor TEXT NOT NULL, contact TEXT NOT NULL,"
    " transport TEXT NOT NULL, address TEXT NOT NULL, port INTEGER NOT NULL,"
    " expires INTEGER NOT NULL,"  // Unix epoch seconds (wall clock)
    " call_id TEXT NOT NULL, cseq INTEGER NOT NULL, user_agent TEXT NOT NULL,"
    " path TEXT NOT NULL, q INTEGER NOT NULL,"
    " PRIMARY KEY (aor, contact)) WITHOUT ROWID";

constexpr const char* kColumns =
    "aor, contact, transport, address, port, expires, call_id, cseq, user_agent, path, q";

}  // namespace

struct BindingStore::Db {
  sqlite3* db = nullptr;
  SqliteStatement begin, commit, rollback, upsert, remove, select_all, delete_expired;
  ~Db() {
    // Statements first: sqlite3_close refuses to close while statements are alive.
    for (SqliteStatement* st :
         {&begin, &commit, &rollback, &upsert, &remove, &select_all, &delete_expired}) {
      st->finalize();
    }
    sqlite3_close(db);
  }
};

namespace {

// Opens and checks the file; every failure says whether it is corruption.
std::variant<std::unique_ptr<BindingStore::Db>, SqliteOpenFailure> try_open(
    const std::filesystem::path& path, StoreDurability durability) {
  auto db = std::make_unique<BindingStore::Db>();
  const SqliteSchema schema{kSchemaVersion, kCreateSql, durability == StoreDurability::Full, 0};
  if (auto f = sqlite_open_checked(path, db->db, schema)) return *f;
  // Statements reused for the life of the store.
  const std::string cols = kColumns;
  if (auto f = sqlite_prepare_all(
          db->db, path,
          {{db->begin, "BEGIN IMMEDIATE"},
           {db->commit, "COMMIT"},
           {db->rollback, "ROLLBACK"},
           {db->upsert, "INSERT OR REPLACE INTO bindings (" + cols +
                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"},
           {db->remove, "DELETE FROM bindings WHERE aor = ?1 AND contact = ?2"},
           {db->select_all, "SELECT " + cols + " FROM bindings"},
           {db->delete_expired, "DELETE FROM bindings WHERE expires <= ?1"}})) {
    return *f;
  }
  return db;
}

}  // namespace

BindingStore::BindingStore(std::filesystem::path path, std::unique_ptr<Db> db,
                           StoreOpenReport report)
    : path_(std::move(path)), db_(std::move(db)), open_report_(std::move(report)) {}

BindingStore::~BindingStore() = default;

Result<std::unique_ptr<BindingStore>> BindingStore::open(
    const std::filesystem::path& state_dir, std::chrono::system_clock::time_point wall_now,
    BindingStoreOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    return make_error(fmt::format("{}: cannot create the state directory: {}", state_dir.string(),
                                  ec.message()));
  }
  const auto path = state_dir / kRegistrationsDbName;
  auto opened = open_recovering<Db>(path, wall_now, [&] { return try_open(path, options.durability); });
  if (!opened) return opened.error();
  auto [db, report] = std::move(opened).value();
  return std::unique_ptr<BindingStore>(new BindingStore(path, std::move(db), std::move(report)));
}

Result<StoreLoadReport> BindingStore::load(int64_t wall_now) {
  StoreLoadReport report;
  sqlite3_stmt* sel = db_->select_all.s;
  sqlite3_reset(sel);
  int rc;
  while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
    auto text = [&](int col) {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(sel, col));
      return std::string(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(sel, col)));
    };
    Binding b;
    b.aor = text(0);
    b.contact = text(1);
    const std::string transport = text(2);
    b.source.address = text(3);
    const int64_t port = sqlite3_column_int64(sel, 4);
    b.expires_wall = sqlite3_column_int64(sel, 5);
    b.call_id = text(6);
    const int64_t cseq = sqlite3_column_int64(sel, 7);
    b.user_agent = text(8);
    b.path = text(9);
    const int64_t q = sqlite3_column_int64(sel, 10);
    if (b.expires_wall <= wall_now) {
      ++report.expired_dropped;
      continue;
    }
    // The file is input from outside too (edited by hand, a bad disk): check every field.
    const bool transport_ok = transport == "UDP" || transport == "TCP";
    if (!transport_ok || port <= 0 || port > 65535 || cseq < 0 || cseq > UINT32_MAX ||
        q < -1 || q > 1000 || b.aor.empty() || b.contact.empty() || b.source.address.empty()) {
      ++report.invalid_dropped;
      continue;
    }
    b.source.transport = transport == "UDP" ? sip::TransportKind::Udp : sip::TransportKind::Tcp;
    b.source.port = static_cast<uint16_t>(port);
    b.cseq = static_cast<uint32_t>(cseq);
    b.q = static_cast<int>(q);
    report.bindings.push_back(std::move(b));
  }
  sqlite3_reset(sel);
  if (rc != SQLITE_DONE) return make_error(sqlite_error(db_->db, path_, "reading bindings"));

  if (report.expired_dropped > 0) {
    sqlite3_stmt* del = db_->delete_expired.s;
    sqlite3_reset(del);
    sqlite3_bind_int64(del, 1, wall_now);
    rc = sqlite3_step(del);
    sqlite3_reset(del);
    if (rc != SQLITE_DONE) return make_error(sqlite_error(db_->db, path_, "deleting expired bindings"));
  }
  return report;
}

Status BindingStore::apply(std::span<const BindingChange> changes) {
  if (changes.empty()) return Status::Ok();
  auto step = [&](sqlite3_stmt* st) {
    const int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc;
  };
  if (step(db_->begin.s) != SQLITE_DONE) {
    return make_error(sqlite_error(db_->db, path_, "beginning a transaction"));
  }
  for (const BindingChange& change : changes) {
    const Binding& b = change.binding();
    sqlite3_stmt* st = change.is_removal() ? db_->remove.s : db_->upsert.s;
    sqlite3_clear_bindings(st);
    sqlite3_bind_text(st, 1, b.aor.data(), static_cast<int>(b.aor.size()), SQLITE_STATIC);
    sqlite3_bind_text(st, 2, b.contact.data(), static_cast<int>(b.contact.size()), SQLITE_STATIC);
    if (!change.is_removal()) {
      const std::string_view transport = sip::to_string(b.source.transport);
      sqlite3_bind_text(st, 3, transport.data(), static_cast<int>(transport.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(st, 4, b.source.address.data(), static_cast<int>(b.source.address.size()),
                        SQLITE_STATIC);
      sqlite3_bind_int(st, 5, b.source.port);
      sqlite3_bind_int64(st, 6, b.expires_wall);
      sqlite3_bind_text(st, 7, b.call_id.data(), static_cast<int>(b.call_id.size()),
                        SQLITE_STATIC);
      sqlite3_bind_int64(st, 8, b.cseq);
      sqlite3_bind_text(st, 9, b.user_agent.data(), static_cast<int>(b.user_agent.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(st, 10, b.path.data(), static_cast<int>(b.path.size()), SQLITE_STATIC);
      sqlite3_bind_int(st, 11, b.q);
    }
    if (step(st) != SQLITE_DONE) {
      auto error = make_error(sqlite_error(db_->db, path_, "writing a binding"));
      step(db_->rollback.s);
      return error;
    }
  }
  if (step(db_->commit.s) != SQLITE_DONE) {
    auto error = make_error(sqlite_error(db_->db, path_, "committing"));
    step(db_->rollback.s);
    return error;
  }
  ++commits_;
  return Status::Ok();
}

size_t restore_bindings(BindingTable& table, std::vector<Binding> bindings, core::TimePoint now,
                        int64_t wall_now) {
  size_t restored = 0;
  for (Binding& b : bindings) {
    rebase_expiry(b, now, wall_now);
    const auto put = table.put(std::move(b));
    restored += put == BindingTable::PutOutcome::Added || put == BindingTable::PutOutcome::Updated;
  }
  return restored;
}

int64_t to_unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace hapbx::pbx
