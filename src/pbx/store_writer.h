// The binding store on its own thread. A commit with synchronous=FULL waits for the disk (an
// fsync, milliseconds); done on the event loop, it would stop pbxd from reading, parsing and
// answering anything meanwhile. The loop submits a batch of changes and goes on; the writer
// thread commits it and hands the result back through take_results(), announced by the
// `result_ready` callback (which the daemon turns into a post to its loop). The durability
// contract is unchanged: the daemon sends a 200 OK only once the result of its batch says ok,
// and reverting the table on failure stays on the loop thread (the table is not shared).
//
// Batches are committed one transaction each, in submission order. The changes are shared
// read-only with the loop (which keeps them to revert), never copied.
//
// Threading: submit(), take_results() and stop() are for the owner's thread; `result_ready` is
// called on the writer thread and must only hand the news over (e.g. asio::post).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/result.h"
#include "pbx/binding_store.h"
#include "pbx/bindings.h"

namespace hapbx::pbx {

using SharedChanges = std::shared_ptr<const std::vector<BindingChange>>;

struct StoreWriteResult {
  uint64_t ticket = 0;
  Status status;
};

class StoreWriter {
 public:
  // Starts the thread; `store` is used by it alone from now on (until stop()).
  StoreWriter(std::unique_ptr<BindingStore> store, std::function<void()> result_ready);
  ~StoreWriter();  // stop()
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // Queues a batch; returns its ticket (increasing from 1). After stop(), the batch is committed
  // on the caller's thread before returning, and its result is ready at once.
  uint64_t submit(SharedChanges changes);

  // Results of the batches committed since the last call, in ticket order.
  std::vector<StoreWriteResult> take_results();

  // Commits what is queued, then ends the thread. Idempotent.
  void stop();

  size_t commits() const { return commits_.load(std::memory_order_relaxed); }
  const std::filesystem::path& path() const { return store_->path(); }

 private:
  struct Job {
    uint64_t ticket;
    SharedChanges changes;
  };
  void run();
  void commit(const Job& job);

  std::unique_ptr<BindingStore> store_;
  std::function<void()> result_ready_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;                  // guarded by mutex_
  std::vector<StoreWriteResult> results_; // guarded by mutex_
  bool stopping_ = false;                 // guarded by mutex_
  uint64_t next_ticket_ = 1;              // owner's thread only
  std::atomic<size_t> commits_{0};
  std::thread thread_;
};

}  // namespace hapbx::pbx
