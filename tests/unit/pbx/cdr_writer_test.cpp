// CdrWriter: records stored on its thread come back as batch results; records that queue up
// while a batch is on its way to disk share the next transaction; stop() stores everything
// queued; a submit() after stop() stores at once; the cdr.conf rules apply on submit; a
// disabled writer touches no file.
#include "pbx/cdr_writer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <numeric>

#include "support/temp_dir.h"

namespace hapbx::pbx {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using testing::TempDir;
using Clock = std::chrono::system_clock;

const Clock::time_point kT0 = Clock::time_point{} + seconds(1'700'000'000);

CdrRecord record(int n) {
  CdrRecord r;
  r.start = kT0;
  r.answer = kT0 + seconds(2);
  r.end = kT0 + seconds(10);
  r.channel = "SIP/201-" + std::to_string(n);
  r.dstchannel = "SIP/202-" + std::to_string(n);
  r.disposition = CdrDisposition::Answered;
  r.uniqueid = "1700000000." + std::to_string(n);
  return r;
}

std::vector<std::string> stored_uniqueids(const fs::path& dir) {
  std::vector<std::string> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2((dir / kCdrDbName).c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT uniqueid FROM cdr ORDER BY AcctId", -1, &st, nullptr) ==
        SQLITE_OK) {
      while (sqlite3_step(st) == SQLITE_ROW) {
        out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
      }
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

size_t total_records(const std::vector<CdrBatchResult>& results) {
  return std::accumulate(results.begin(), results.end(), size_t{0},
                         [](size_t n, const CdrBatchResult& r) { return n + r.records; });
}

// Collects results as the owner's loop would, waiting on the announcement with a deadline.
class Collector {
 public:
  std::function<void()> notifier() {
    return [this] {
      std::unique_lock lock(mutex_);
      ++announced_;
      cv_.notify_all();
      // A test may hold the writer thread here, as a slow disk would.
      cv_.wait(lock, [this] { return !hold_; });
    };
  }
  void hold(bool on) {
    std::lock_guard lock(mutex_);
    hold_ = on;
    cv_.notify_all();
  }
  bool wait_announced(size_t count) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, seconds(10), [&] { return announced_ >= count; });
  }
  // Takes results until `records` records are accounted for or 10 s have passed.
  std::vector<CdrBatchResult> wait_for(CdrWriter& writer, size_t records) {
    std::vector<CdrBatchResult> all;
    const auto deadline = std::chrono::steady_clock::now() + seconds(10);
    for (;;) {
      for (auto& r : writer.take_results()) all.push_back(std::move(r));
      if (total_records(all) >= records) return all;
      std::unique_lock lock(mutex_);
      if (!cv_.wait_until(lock, deadline, [&] { return announced_ > seen_; })) return all;
      seen_ = announced_;
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  size_t announced_ = 0;
  size_t seen_ = 0;
  bool hold_ = false;
};

std::unique_ptr<CdrWriter> open_writer(const fs::path& dir, CdrSettings settings,
                                       std::function<void()> ready) {
  auto opened = CdrWriter::open(dir, std::move(settings), std::move(ready), kT0);
  EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.error().message);
  return opened.ok() ? std::move(opened).value() : nullptr;
}

TEST(CdrWriter, StoresOnItsThreadAndReportsBack) {
  TempDir dir("cdrw");
  Collector collector;
  auto writer = open_writer(dir.path(), CdrSettings{}, collector.notifier());
  ASSERT_TRUE(writer);
  EXPECT_EQ(writer->submit(record(1)), CdrVerdict::Log);
  EXPECT_EQ(writer->submit(record(2)), CdrVerdict::Log);
  const auto results = collector.wait_for(*writer, 2);
  EXPECT_EQ(total_records(results), 2u);
  for (const auto& r : results) EXPECT_TRUE(r.ok());
  EXPECT_EQ(writer->stored(), 2u);
  writer->stop();
  EXPECT_EQ(stored_uniqueids(dir.path()),
            (std::vector<std::string>{"1700000000.1", "1700000000.2"}));
}

TEST(CdrWriter, RecordsQueuedDuringAWriteShareTheNextTransaction) {
  TempDir dir("cdrw");
  Collector collector;
  auto writer = open_writer(dir.path(), CdrSettings{}, collector.notifier());
  ASSERT_TRUE(writer);
  collector.hold(true);  // the thread stops in the announcement of its first batch
  writer->submit(record(0));
  ASSERT_TRUE(collector.wait_announced(1));
  for (int i = 1; i <= 10; ++i) writer->submit(record(i));
  EXPECT_EQ(writer->queued(), 10u);
  collector.hold(false);
  const auto results = collector.wait_for(*writer, 11);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].records, 1u);
  EXPECT_EQ(results[1].records, 10u);
  EXPECT_EQ(results[1].first_uniqueid, "1700000000.1");
  writer->stop();
  EXPECT_EQ(stored_uniqueids(dir.path()).size(), 11u);
}

TEST(CdrWriter, StopDrainsTheQueueAndLaterSubmitsStoreAtOnce) {
  TempDir dir("cdrw");
  Collector collector;
  auto writer = open_writer(dir.path(), CdrSettings{}, collector.notifier());
  ASSERT_TRUE(writer);
  collector.hold(true);
  writer->submit(record(0));
  ASSERT_TRUE(collector.wait_announced(1));
  for (int i = 1; i <= 300; ++i) writer->submit(record(i));  // more than one batch's worth
  collector.hold(false);
  writer->stop();
  auto results = writer->take_results();
  EXPECT_EQ(total_records(results), 301u);
  for (const auto& r : results) EXPECT_LE(r.records, CdrWriter::kMaxBatch);
  EXPECT_EQ(writer->queued(), 0u);

  EXPECT_EQ(writer->submit(record(301)), CdrVerdict::Log);
  results = writer->take_results();  // no waiting: stored on this thread
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].ok());
  writer->stop();  // idempotent
  const auto ids = stored_uniqueids(dir.path());
  ASSERT_EQ(ids.size(), 302u);
  EXPECT_EQ(ids.front(), "1700000000.0");
  EXPECT_EQ(ids.back(), "1700000000.301");
}

TEST(CdrWriter, DestructorDrainsToo) {
  TempDir dir("cdrw");
  {
    auto writer = open_writer(dir.path(), CdrSettings{}, nullptr);
    ASSERT_TRUE(writer);
    for (int i = 0; i < 20; ++i) writer->submit(record(i));
  }
  EXPECT_EQ(stored_uniqueids(dir.path()).size(), 20u);
}

TEST(CdrWriter, AppliesTheRulesOnSubmit) {
  TempDir dir("cdrw");
  auto writer = open_writer(dir.path(), CdrSettings{}, nullptr);
  ASSERT_TRUE(writer);
  CdrRecord lone = record(1);
  lone.dstchannel.clear();
  lone.answer.reset();
  lone.disposition = CdrDisposition::NoAnswer;
  EXPECT_EQ(writer->submit(std::move(lone)), CdrVerdict::SkipUnanswered);
  writer->stop();
  EXPECT_TRUE(writer->take_results().empty());
  EXPECT_TRUE(stored_uniqueids(dir.path()).empty());
}

TEST(CdrWriter, DisabledWritesNothingAnywhere) {
  TempDir dir("cdrw");
  CdrSettings settings;
  settings.enabled = false;
  settings.csv.enabled = true;
  auto writer = open_writer(dir.path() / "state", settings, nullptr);
  ASSERT_TRUE(writer);
  EXPECT_EQ(writer->submit(record(1)), CdrVerdict::SkipDisabled);
  writer->stop();
  EXPECT_FALSE(fs::exists(dir.path() / "state"));
  EXPECT_FALSE(writer->open_report().moved_aside);
}

TEST(CdrWriter, ReportsTheCorruptFileItMovedAside) {
  TempDir dir("cdrw");
  { std::ofstream(dir.path() / kCdrDbName) << std::string(4096, 'z'); }
  auto writer = open_writer(dir.path(), CdrSettings{}, nullptr);
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->open_report().moved_aside);
  EXPECT_TRUE(fs::exists(*writer->open_report().moved_aside));
}

TEST(CdrWriter, OpenErrorsAreReturned) {
  TempDir dir("cdrw");
  { std::ofstream(dir.path() / "state") << "a file, not a directory"; }
  auto opened = CdrWriter::open(dir.path() / "state", CdrSettings{}, nullptr, kT0);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message.find("state"), std::string::npos) << opened.error().message;
}

}  // namespace
}  // namespace hapbx::pbx
