// StoreWriter: batches committed on the writer thread come back in ticket order and are on
// disk; a failed commit is reported (nothing stored); stop() commits what is queued; a submit
// after stop() commits on the caller's thread.
#include "pbx/store_writer.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace hapbx::pbx {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

using testing::TempDir;

const auto kWall = std::chrono::system_clock::time_point{} + seconds(1'800'000'000);
constexpr int64_t kWallSecs = 1'800'000'000;

SharedChanges one_upsert(const std::string& aor) {
  Binding b;
  b.aor = aor;
  b.contact = "sip:" + aor + "@198.18.0.1:5060";
  b.source = sip::Endpoint{sip::TransportKind::Udp, "198.18.0.1", 5060, 0};
  b.expires_wall = kWallSecs + 600;
  b.call_id = "call-" + aor;
  b.cseq = 1;
  auto changes = std::make_shared<std::vector<BindingChange>>();
  changes->push_back(BindingChange{std::nullopt, std::move(b)});
  return changes;
}

std::unique_ptr<BindingStore> open_store(const fs::path& dir) {
  auto opened = BindingStore::open(dir, kWall);
  EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.error().message);
  return opened.ok() ? std::move(opened).value() : nullptr;
}

std::vector<std::string> stored_aors(const fs::path& dir) {
  auto store = open_store(dir);
  std::vector<std::string> out;
  if (!store) return out;
  auto loaded = store->load(kWallSecs);
  EXPECT_TRUE(loaded.ok());
  if (!loaded.ok()) return out;
  for (const auto& b : loaded->bindings) out.push_back(b.aor);
  std::sort(out.begin(), out.end());
  return out;
}

// Collects results as the owner's loop would, waiting on the announcement with a deadline.
class Collector {
 public:
  std::function<void()> notifier() {
    return [this] {
      std::lock_guard lock(mutex_);
      ++announced_;
      cv_.notify_all();
    };
  }
  // Takes results until `count` have arrived or 10 s have passed.
  std::vector<StoreWriteResult> wait_for(StoreWriter& writer, size_t count) {
    std::vector<StoreWriteResult> all;
    const auto deadline = std::chrono::steady_clock::now() + seconds(10);
    for (;;) {
      for (auto& r : writer.take_results()) all.push_back(std::move(r));
      if (all.size() >= count) return all;
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
};

TEST(StoreWriter, CommitsBatchesInTicketOrderOnItsThread) {
  TempDir dir("store");
  Collector collector;
  StoreWriter writer(open_store(dir.path()), collector.notifier());
  const uint64_t a = writer.submit(one_upsert("alice"));
  const uint64_t b = writer.submit(one_upsert("bob"));
  const uint64_t c = writer.submit(one_upsert("carol"));
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);

  const auto results = collector.wait_for(writer, 3);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].ticket, a);
  EXPECT_EQ(results[1].ticket, b);
  EXPECT_EQ(results[2].ticket, c);
  for (const auto& r : results) EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(writer.commits(), 3u);
  writer.stop();
  EXPECT_EQ(stored_aors(dir.path()), (std::vector<std::string>{"alice", "bob", "carol"}));
}

TEST(StoreWriter, FailedCommitIsReportedAndStoresNothing) {
  TempDir dir("store");
  Collector collector;
  StoreWriter writer(open_store(dir.path()), collector.notifier());
  // Another connection holds the write lock: the writer's BEGIN IMMEDIATE fails (SQLITE_BUSY).
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() / kRegistrationsDbName).string().c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  const uint64_t ticket = writer.submit(one_upsert("alice"));
  auto results = collector.wait_for(writer, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].ticket, ticket);
  ASSERT_FALSE(results[0].status.ok());
  EXPECT_NE(results[0].status.error().message.find(kRegistrationsDbName), std::string::npos)
      << results[0].status.error().message;
  EXPECT_EQ(writer.commits(), 0u);

  // Once the lock is gone the next batch goes through.
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  writer.submit(one_upsert("bob"));
  results = collector.wait_for(writer, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].status.ok());
  writer.stop();
  EXPECT_EQ(stored_aors(dir.path()), (std::vector<std::string>{"bob"}));
}

TEST(StoreWriter, StopCommitsTheQueueAndLaterSubmitsCommitAtOnce) {
  TempDir dir("store");
  StoreWriter writer(open_store(dir.path()), nullptr);
  for (const char* aor : {"a1", "a2", "a3", "a4", "a5"}) writer.submit(one_upsert(aor));
  writer.stop();
  auto results = writer.take_results();
  ASSERT_EQ(results.size(), 5u);
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].ticket, i + 1);
    EXPECT_TRUE(results[i].status.ok());
  }

  const uint64_t late = writer.submit(one_upsert("a6"));
  results = writer.take_results();  // no waiting: committed on this thread
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].ticket, late);
  EXPECT_TRUE(results[0].status.ok());
  writer.stop();  // idempotent
  EXPECT_EQ(stored_aors(dir.path()),
            (std::vector<std::string>{"a1", "a2", "a3", "a4", "a5", "a6"}));
}

}  // namespace
}  // namespace hapbx::pbx
