// CDRs written off the event loop. Storing a CDR waits for the disk (an fsync for cdr.db, one
// per CSV file): on the loop, that would stall signalling for every call that ends. The loop
// submits each finished record and goes on; the writer thread stores what has queued up, many
// records in one transaction when calls end together, and hands each batch's result back
// through take_results(), announced by the `result_ready` callback (which the daemon turns
// into a post to its loop, where it logs failures and unsaved records).
//
// submit() applies the cdr.conf rules first (pbx/cdr_policy.h): a record those rules drop is
// not queued, and the verdict says why. stop() stores everything queued before it returns, and
// a submit() after stop() stores on the caller's thread, so a record handed over is never lost
// at shutdown.
//
// Threading: submit(), take_results() and stop() are for the owner's thread; `result_ready` is
// called on the writer thread and must only hand the news over (e.g. asio::post).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/result.h"
#include "pbx/cdr.h"
#include "pbx/cdr_config.h"
#include "pbx/cdr_policy.h"
#include "pbx/cdr_store.h"

namespace hapbx::pbx {

class CdrWriter {
 public:
  // Records per transaction at most; more queued records make several batches.
  static constexpr size_t kMaxBatch = 256;

  // Opens the store (unless enable=no: then nothing is opened and every submit() is
  // SkipDisabled) and starts the thread. See CdrStore::open for errors and the corrupt-file
  // report.
  static Result<std::unique_ptr<CdrWriter>> open(const std::filesystem::path& state_dir,
                                                 CdrSettings settings,
                                                 std::function<void()> result_ready,
                                                 std::chrono::system_clock::time_point wall_now);
  ~CdrWriter();  // stop()
  CdrWriter(const CdrWriter&) = delete;
  CdrWriter& operator=(const CdrWriter&) = delete;

  // Applies the cdr.conf rules and queues the record when they say Log.
  CdrVerdict submit(CdrRecord&& record);

  // Results of the batches stored since the last call, in order.
  std::vector<CdrBatchResult> take_results();

  // Stores what is queued, then ends the thread. Idempotent.
  void stop();

  const CdrSettings& settings() const { return settings_; }
  // Empty report when nothing was moved aside (or CDRs are disabled).
  const CdrStoreOpenReport& open_report() const;
  size_t stored() const { return stored_.load(std::memory_order_relaxed); }  // in cdr.db
  size_t queued() const;

 private:
  CdrWriter(CdrSettings settings, std::unique_ptr<CdrStore> store,
            std::function<void()> result_ready);
  void run();
  void store_batch(std::vector<CdrRecord> batch);

  CdrSettings settings_;
  std::unique_ptr<CdrStore> store_;  // null when CDRs are disabled
  std::function<void()> result_ready_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<CdrRecord> queue_;         // guarded by mutex_
  std::vector<CdrBatchResult> results_;  // guarded by mutex_
  bool stopping_ = false;               // guarded by mutex_
  std::atomic<size_t> stored_{0};
  std::thread thread_;
};

}  // namespace hapbx::pbx
