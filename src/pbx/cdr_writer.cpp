// The CDR writer thread: records in, batch results out. See cdr_writer.h.
#include "pbx/cdr_writer.h"

#include <algorithm>
#include <utility>

namespace hapbx::pbx {

Result<std::unique_ptr<CdrWriter>> CdrWriter::open(const std::filesystem::path& state_dir,
                                                   CdrSettings settings,
                                                   std::function<void()> result_ready,
                                                   std::chrono::system_clock::time_point wall_now) {
  std::unique_ptr<CdrStore> store;
  if (settings.enabled) {
    auto opened = CdrStore::open(state_dir, settings, wall_now);
    if (!opened.ok()) return opened.error();
    store = std::move(opened).value();
  }
  return std::unique_ptr<CdrWriter>(
      new CdrWriter(std::move(settings), std::move(store), std::move(result_ready)));
}

CdrWriter::CdrWriter(CdrSettings settings, std::unique_ptr<CdrStore> store,
                     std::function<void()> result_ready)
    : settings_(std::move(settings)),
      store_(std::move(store)),
      result_ready_(std::move(result_ready)) {
  if (store_) thread_ = std::thread([this] { run(); });
}

CdrWriter::~CdrWriter() { stop(); }

const CdrStoreOpenReport& CdrWriter::open_report() const {
  static const CdrStoreOpenReport kNone;
  return store_ ? store_->open_report() : kNone;
}

size_t CdrWriter::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

CdrVerdict CdrWriter::submit(CdrRecord&& record) {
  const CdrVerdict verdict = apply_cdr_policy(record, settings_);
  if (verdict != CdrVerdict::Log || !store_) return verdict;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(record));
      wake_.notify_one();
      return verdict;
    }
  }
  // The thread is gone (shutdown): store here, so nothing submitted is ever lost.
  std::vector<CdrRecord> one;
  one.push_back(std::move(record));
  store_batch(std::move(one));
  return verdict;
}

std::vector<CdrBatchResult> CdrWriter::take_results() {
  std::lock_guard lock(mutex_);
  return std::exchange(results_, {});
}

void CdrWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void CdrWriter::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued is stored
    // Everything that queued up while the last batch waited for the disk goes in one batch.
    std::vector<CdrRecord> batch;
    const size_t n = std::min(queue_.size(), kMaxBatch);
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    store_batch(std::move(batch));
    if (result_ready_) result_ready_();
    lock.lock();
  }
}

void CdrWriter::store_batch(std::vector<CdrRecord> batch) {
  CdrBatchResult result = store_->write(batch);
  if (result.db.ok()) stored_.fetch_add(result.records, std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  results_.push_back(std::move(result));
}

}  // namespace hapbx::pbx
