// CdrStore: the row a CDR makes in cdr.db (every column), Master.csv lines byte for byte as
// cdr_csv writes them (quotes, commas and newlines in clid; bare integers; empty answer),
// account files, a corrupt cdr.db moved aside, rows kept across reopen, and a failed database
// write that still reaches the CSV and reports records stored nowhere.
#include "pbx/cdr_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <sstream>

#include "pbx/cdr_csv.h"
#include "support/temp_dir.h"

namespace hapbx::pbx {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::TempDir;
using Clock = std::chrono::system_clock;

const Clock::time_point kT0 = Clock::time_point{} + seconds(1'700'000'000);  // 2023-11-14 22:13:20 UTC

CdrRecord answered_call() {
  CdrRecord r;
  r.start = kT0;
  r.answer = kT0 + seconds(5);
  r.end = kT0 + seconds(65) + milliseconds(400);
  r.clid = "\"Alice\" <201>";
  r.src = "201";
  r.dst = "202";
  r.dcontext = "internal";
  r.channel = "SIP/201-00000001";
  r.dstchannel = "SIP/202-00000002";
  r.lastapp = "Dial";
  r.lastdata = "SIP/202,30";
  r.duration = 65;
  r.billsec = 60;
  r.disposition = CdrDisposition::Answered;
  r.accountcode = "sales";
  r.uniqueid = "1700000000.1";
  r.userfield = "note";
  return r;
}

CdrSettings gmt_settings(bool csv) {
  CdrSettings s;
  s.db_use_gmt = true;
  s.csv.enabled = csv;
  s.csv.use_gmt = true;
  return s;
}

std::unique_ptr<CdrStore> open_store(const fs::path& dir, const CdrSettings& settings) {
  auto opened = CdrStore::open(dir, settings, kT0);
  EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.error().message);
  return opened.ok() ? std::move(opened).value() : nullptr;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every row of cdr.db, columns joined with '|'.
std::vector<std::string> rows(const fs::path& dir) {
  std::vector<std::string> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2((dir / kCdrDbName).c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open cdr.db";
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* st = nullptr;
  const char* sql =
      "SELECT calldate, clid, src, dst, dcontext, channel, dstchannel, lastapp, lastdata, start, "
      "answer, \"end\", duration, billsec, disposition, amaflags, accountcode, uniqueid, "
      "userfield, typeof(duration), typeof(billsec) FROM cdr ORDER BY AcctId";
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  while (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      if (i > 0) row += '|';
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
      row += t ? t : "NULL";
    }
    out.push_back(row);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

void exec_sql(const fs::path& dir, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / kCdrDbName).c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST(CdrStore, RowHoldsEveryAsteriskColumn) {
  TempDir dir("cdr");
  auto store = open_store(dir.path(), gmt_settings(false));
  ASSERT_TRUE(store);
  const CdrRecord r = answered_call();
  const CdrBatchResult result = store->write(std::span(&r, 1));
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.records, 1u);
  EXPECT_EQ(result.first_uniqueid, "1700000000.1");
  EXPECT_TRUE(result.unsaved.empty());
  store.reset();
  EXPECT_EQ(rows(dir.path()),
            std::vector<std::string>{
                "2023-11-14 22:13:20|\"Alice\" <201>|201|202|internal|SIP/201-00000001|"
                "SIP/202-00000002|Dial|SIP/202,30|2023-11-14 22:13:20|2023-11-14 22:13:25|"
                "2023-11-14 22:14:25|65|60|ANSWERED|DOCUMENTATION|sales|1700000000.1|note|"
                "integer|integer"});
  EXPECT_FALSE(fs::exists(dir.path() / kCdrCsvDirName));  // no [csv], no CSV
}

TEST(CdrStore, DatabaseIsWalWithTheCdrTable) {
  TempDir dir("cdr");
  auto store = open_store(dir.path(), gmt_settings(false));
  ASSERT_TRUE(store);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() / kCdrDbName).c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(CdrStore, UnansweredCallHasEmptyAnswer) {
  TempDir dir("cdr");
  auto store = open_store(dir.path(), gmt_settings(true));
  ASSERT_TRUE(store);
  CdrRecord r = answered_call();
  r.answer.reset();
  r.billsec = 0;
  r.disposition = CdrDisposition::NoAnswer;
  r.accountcode.clear();
  ASSERT_TRUE(store->write(std::span(&r, 1)).ok());
  store.reset();
  const auto all = rows(dir.path());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_NE(all[0].find("|2023-11-14 22:13:20||2023-11-14 22:14:25|65|0|NO ANSWER|"),
            std::string::npos) << all[0];
  EXPECT_EQ(read_file(dir.path() / kCdrCsvDirName / kCdrCsvMasterName),
            "\"\",\"201\",\"202\",\"internal\",\"\"\"Alice\"\" <201>\",\"SIP/201-00000001\","
            "\"SIP/202-00000002\",\"Dial\",\"SIP/202,30\",\"2023-11-14 22:13:20\",,"
            "\"2023-11-14 22:14:25\",65,0,\"NO ANSWER\",\"DOCUMENTATION\"\n");
}

TEST(CdrStore, CsvLineQuotingAsCdrCsv) {
  CdrRecord r = answered_call();
  r.clid = "\"O\"\"Brien, Pat\nx\" <201>";
  r.lastdata = "SIP/202,30,tT";
  CdrCsvSettings csv;
  csv.use_gmt = true;
  EXPECT_EQ(format_cdr_csv_line(r, csv),
            "\"sales\",\"201\",\"202\",\"internal\",\"\"\"O\"\"\"\"Brien, Pat\nx\"\" <201>\","
            "\"SIP/201-00000001\",\"SIP/202-00000002\",\"Dial\",\"SIP/202,30,tT\","
            "\"2023-11-14 22:13:20\",\"2023-11-14 22:13:25\",\"2023-11-14 22:14:25\",65,60,"
            "\"ANSWERED\",\"DOCUMENTATION\"\n");
  csv.log_uniqueid = true;
  csv.log_userfield = true;
  const std::string line = format_cdr_csv_line(r, csv);
  EXPECT_TRUE(line.ends_with(",\"ANSWERED\",\"DOCUMENTATION\",\"1700000000.1\",\"note\"\n"))
      << line;
  csv.log_uniqueid = false;
  const std::string no_uid = format_cdr_csv_line(r, csv);
  EXPECT_TRUE(no_uid.ends_with(",\"ANSWERED\",\"DOCUMENTATION\",\"note\"\n")) << no_uid;
  r.userfield = std::string("a\0b", 3);  // NUL bytes are left out
  const std::string no_nul = format_cdr_csv_line(r, csv);
  EXPECT_TRUE(no_nul.ends_with(",\"DOCUMENTATION\",\"ab\"\n")) << no_nul;
}

TEST(CdrStore, CsvGoesToMasterAndTheAccountFile) {
  TempDir dir("cdr");
  CdrSettings settings = gmt_settings(true);
  auto store = open_store(dir.path(), settings);
  ASSERT_TRUE(store);
  std::vector<CdrRecord> batch{answered_call(), answered_call(), answered_call()};
  batch[1].accountcode = "support";
  batch[2].accountcode.clear();
  const CdrBatchResult result = store->write(batch);
  EXPECT_TRUE(result.ok()) << result.csv.error().message;
  const fs::path csv_dir = dir.path() / kCdrCsvDirName;
  const std::string line0 = format_cdr_csv_line(batch[0], settings.csv);
  const std::string line1 = format_cdr_csv_line(batch[1], settings.csv);
  const std::string line2 = format_cdr_csv_line(batch[2], settings.csv);
  EXPECT_EQ(read_file(csv_dir / kCdrCsvMasterName), line0 + line1 + line2);
  EXPECT_EQ(read_file(csv_dir / "sales.csv"), line0);
  EXPECT_EQ(read_file(csv_dir / "support.csv"), line1);
  EXPECT_EQ(rows(dir.path()).size(), 3u);

  // Appended, never rewritten.
  ASSERT_TRUE(store->write(std::span(batch.data(), 1)).ok());
  EXPECT_EQ(read_file(csv_dir / kCdrCsvMasterName), line0 + line1 + line2 + line0);
  EXPECT_EQ(read_file(csv_dir / "sales.csv"), line0 + line0);
}

TEST(CdrStore, AccountLogsOffWritesOnlyMaster) {
  TempDir dir("cdr");
  CdrSettings settings = gmt_settings(true);
  settings.csv.account_logs = false;
  auto store = open_store(dir.path(), settings);
  ASSERT_TRUE(store);
  const CdrRecord r = answered_call();
  ASSERT_TRUE(store->write(std::span(&r, 1)).ok());
  EXPECT_TRUE(fs::exists(dir.path() / kCdrCsvDirName / kCdrCsvMasterName));
  EXPECT_FALSE(fs::exists(dir.path() / kCdrCsvDirName / "sales.csv"));
}

TEST(CdrStore, UnsafeAccountCodesNeverNameAFile) {
  EXPECT_TRUE(is_safe_account_file_name("sales"));
  EXPECT_TRUE(is_safe_account_file_name("acct-42_x"));
  for (std::string bad : {"", "../etc/passwd", "a/b", ".hidden", "Master", "a\nb"}) {
    EXPECT_FALSE(is_safe_account_file_name(bad)) << bad;
  }
  TempDir dir("cdr");
  auto store = open_store(dir.path(), gmt_settings(true));
  ASSERT_TRUE(store);
  CdrRecord r = answered_call();
  r.accountcode = "../escape";
  const CdrBatchResult result = store->write(std::span(&r, 1));
  EXPECT_TRUE(result.db.ok());
  ASSERT_FALSE(result.csv.ok());
  EXPECT_EQ(result.csv.error().message,
            "accountcode '../escape' is not a safe file name, so no account file was written for "
            "it (the CDR is in Master.csv)");
  EXPECT_TRUE(result.unsaved.empty());
  EXPECT_FALSE(fs::exists(dir.path() / "escape.csv"));
  EXPECT_FALSE(read_file(dir.path() / kCdrCsvDirName / kCdrCsvMasterName).empty());
}

TEST(CdrStore, ReopenKeepsRows) {
  TempDir dir("cdr");
  {
    auto store = open_store(dir.path(), gmt_settings(false));
    ASSERT_TRUE(store);
    const CdrRecord r = answered_call();
    ASSERT_TRUE(store->write(std::span(&r, 1)).ok());
  }
  {
    auto store = open_store(dir.path(), gmt_settings(false));
    ASSERT_TRUE(store);
    EXPECT_FALSE(store->open_report().moved_aside);
    CdrRecord r = answered_call();
    r.uniqueid = "1700000000.2";
    ASSERT_TRUE(store->write(std::span(&r, 1)).ok());
  }
  const auto all = rows(dir.path());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_NE(all[0].find("|1700000000.1|"), std::string::npos);
  EXPECT_NE(all[1].find("|1700000000.2|"), std::string::npos);
}

TEST(CdrStore, CorruptDatabaseIsMovedAsideAndAFreshOneStarted) {
  TempDir dir("cdr");
  {
    std::ofstream out(dir.path() / kCdrDbName, std::ios::binary);
    out << std::string(8192, 'x');  // not a database
  }
  auto opened = CdrStore::open(dir.path(), gmt_settings(false), kT0);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto& store = opened.value();
  const CdrStoreOpenReport& report = store->open_report();
  ASSERT_TRUE(report.moved_aside);
  EXPECT_EQ(report.moved_aside->filename(), "cdr.db.corrupt-20231114T221320Z");
  EXPECT_NE(report.corruption.find("cdr.db"), std::string::npos) << report.corruption;
  EXPECT_EQ(read_file(*report.moved_aside), std::string(8192, 'x'));  // the evidence is kept
  const CdrRecord r = answered_call();
  EXPECT_TRUE(store->write(std::span(&r, 1)).ok());
  store.reset();
  EXPECT_EQ(rows(dir.path()).size(), 1u);
}

TEST(CdrStore, TableOfAnotherShapeIsMovedAside) {
  TempDir dir("cdr");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir.path() / kCdrDbName).c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE cdr (x INTEGER)", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = open_store(dir.path(), gmt_settings(false));
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->open_report().moved_aside);
}

TEST(CdrStore, NewerSchemaIsAnErrorAndNothingIsMoved) {
  TempDir dir("cdr");
  { auto store = open_store(dir.path(), gmt_settings(false)); }
  exec_sql(dir.path(), "PRAGMA user_version=7");
  auto opened = CdrStore::open(dir.path(), gmt_settings(false), kT0);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message.find("newer pbxd"), std::string::npos)
      << opened.error().message;
  EXPECT_TRUE(fs::exists(dir.path() / kCdrDbName));
}

TEST(CdrStore, FailedDatabaseWriteStillWritesCsvAndSaysSo) {
  TempDir dir("cdr");
  auto store = open_store(dir.path(), gmt_settings(true));
  ASSERT_TRUE(store);
  exec_sql(dir.path(),
           "CREATE TRIGGER refuse BEFORE INSERT ON cdr BEGIN SELECT RAISE(ABORT, 'disk says no'); "
           "END");
  const CdrRecord r = answered_call();
  const CdrBatchResult result = store->write(std::span(&r, 1));
  ASSERT_FALSE(result.db.ok());
  EXPECT_NE(result.db.error().message.find("cdr.db: writing a CDR: disk says no"),
            std::string::npos) << result.db.error().message;
  EXPECT_TRUE(result.csv.ok());
  EXPECT_TRUE(result.unsaved.empty());  // it is in Master.csv
  EXPECT_FALSE(read_file(dir.path() / kCdrCsvDirName / kCdrCsvMasterName).empty());
}

TEST(CdrStore, RecordsStoredNowhereComeBackAsLines) {
  TempDir dir("cdr");
  auto store = open_store(dir.path(), gmt_settings(false));  // no CSV
  ASSERT_TRUE(store);
  exec_sql(dir.path(),
           "CREATE TRIGGER refuse BEFORE INSERT ON cdr BEGIN SELECT RAISE(ABORT, 'no'); END");
  std::vector<CdrRecord> batch{answered_call(), answered_call()};
  const CdrBatchResult result = store->write(batch);
  EXPECT_FALSE(result.db.ok());
  ASSERT_EQ(result.unsaved.size(), 2u);
  EXPECT_NE(result.unsaved[0].find("\"1700000000.1\",\"note\"\n"), std::string::npos)
      << result.unsaved[0];
  // Nothing of the failed batch is in the database.
  exec_sql(dir.path(), "DROP TRIGGER refuse");
  EXPECT_TRUE(rows(dir.path()).empty());
}

TEST(CdrStore, CsvFailureIsReportedAndTheRowIsStillStored) {
  TempDir dir("cdr");
  auto store = open_store(dir.path(), gmt_settings(true));
  ASSERT_TRUE(store);
  const fs::path csv_dir = dir.path() / kCdrCsvDirName;
  fs::remove_all(csv_dir);
  { std::ofstream(csv_dir) << "in the way"; }  // a file where the directory should be
  const CdrRecord r = answered_call();
  const CdrBatchResult result = store->write(std::span(&r, 1));
  EXPECT_TRUE(result.db.ok());
  ASSERT_FALSE(result.csv.ok());
  EXPECT_NE(result.csv.error().message.find("Master.csv: cannot open for appending"),
            std::string::npos) << result.csv.error().message;
  EXPECT_TRUE(result.unsaved.empty());
  store.reset();
  EXPECT_EQ(rows(dir.path()).size(), 1u);
}

TEST(CdrStore, RemovedCsvDirectoryIsRecreated) {
  TempDir dir("cdr");
  auto store = open_store(dir.path(), gmt_settings(true));
  ASSERT_TRUE(store);
  fs::remove_all(dir.path() / kCdrCsvDirName);
  const CdrRecord r = answered_call();
  EXPECT_TRUE(store->write(std::span(&r, 1)).ok());
  EXPECT_TRUE(fs::exists(dir.path() / kCdrCsvDirName / kCdrCsvMasterName));
}

}  // namespace
}  // namespace hapbx::pbx
