// The binding store's writer thread: a queue of batches in, commit results out.
#include "pbx/store_writer.h"

#include <utility>

namespace hapbx::pbx {

StoreWriter::StoreWriter(std::unique_ptr<BindingStore> store, std::function<void()> result_ready)
    : store_(std::move(store)), result_ready_(std::move(result_ready)) {
  thread_ = std::thread([this] { run(); });
}

StoreWriter::~StoreWriter() { stop(); }

uint64_t StoreWriter::submit(SharedChanges changes) {
  const uint64_t ticket = next_ticket_++;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      jobs_.push_back(Job{ticket, std::move(changes)});
      wake_.notify_one();
      return ticket;
    }
  }
  // The thread is gone (shutdown): commit here, so nothing submitted is ever lost.
  commit(Job{ticket, std::move(changes)});
  return ticket;
}

std::vector<StoreWriteResult> StoreWriter::take_results() {
  std::lock_guard lock(mutex_);
  return std::exchange(results_, {});
}

void StoreWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void StoreWriter::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, and everything queued is committed
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    commit(job);  // the disk wait happens here, with the queue open to the loop
    if (result_ready_) result_ready_();
    lock.lock();
  }
}

void StoreWriter::commit(const Job& job) {
  Status status = job.changes ? store_->apply(*job.changes) : Status::Ok();
  if (status && job.changes && !job.changes->empty()) commits_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  results_.push_back(StoreWriteResult{job.ticket, std::move(status)});
}

}  // namespace hapbx::pbx
