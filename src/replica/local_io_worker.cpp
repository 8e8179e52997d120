// The local disk's worker thread (see local_io_worker.h).
#include "replica/local_io_worker.h"

#include <cerrno>
#include <vector>

#include <spdlog/spdlog.h>

namespace hapbx::replica {

LocalIoWorker::LocalIoWorker(std::string name, BackingDisk& disk, PostToLoop post_to_loop,
                             std::size_t max_jobs, std::uint64_t max_bytes)
    : name_(std::move(name)), disk_(disk), post_(std::move(post_to_loop)), max_jobs_(max_jobs),
      max_bytes_(max_bytes), thread_([this] { loop(); }) {}

LocalIoWorker::~LocalIoWorker() { stop(); }

bool LocalIoWorker::submit_io(LocalIoJob job, Completion done) {
  const std::uint64_t bytes = job.kind == LocalIoJob::Kind::Write && job.data ? job.data->size() : 0;
  std::lock_guard lock(mutex_);
  if (stopping_ || jobs_.size() >= max_jobs_ || bytes_ + bytes > max_bytes_) return false;
  jobs_.push_back(Job{[this, job = std::move(job), done = std::move(done)]() mutable {
                        Payload data;
                        const int error = execute(job, &data);
                        post_([done = std::move(done), tag = job.tag, error,
                               data = std::move(data)]() mutable { done(tag, error, std::move(data)); });
                      },
                      bytes});
  bytes_ += bytes;
  wake_.notify_one();
  return true;
}

void LocalIoWorker::submit_task(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  jobs_.push_back(Job{std::move(task), 0});
  wake_.notify_one();
}

std::size_t LocalIoWorker::queued() const {
  std::lock_guard lock(mutex_);
  return jobs_.size() + (running_job_ ? 1 : 0);
}

std::uint64_t LocalIoWorker::queued_bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

void LocalIoWorker::drain() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return (jobs_.empty() && !running_job_) || !thread_.joinable(); });
}

void LocalIoWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void LocalIoWorker::loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) {
      if (stopping_) break;
      continue;
    }
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    running_job_ = true;
    lock.unlock();
    job.run();
    lock.lock();
    running_job_ = false;
    bytes_ -= std::min(bytes_, job.bytes);
    if (jobs_.empty()) idle_.notify_all();
  }
  idle_.notify_all();
}

int LocalIoWorker::execute(const LocalIoJob& job, Payload* read_data) {
  Status status;
  switch (job.kind) {
    case LocalIoJob::Kind::Read: {
      if (job.length > kMaxPayload) return EINVAL;
      auto buffer = std::make_shared<std::vector<std::uint8_t>>(job.length);
      status = disk_.read(job.offset, std::span<std::uint8_t>(*buffer));
      if (status) *read_data = std::move(buffer);
      break;
    }
    case LocalIoJob::Kind::Write:
      if (!job.data) return EINVAL;
      status = disk_.write(job.offset, std::span<const std::uint8_t>(*job.data));
      break;
    case LocalIoJob::Kind::Flush:
      status = disk_.flush();
      break;
    case LocalIoJob::Kind::Zero:
      status = disk_.zero(job.offset, job.length);
      break;
    case LocalIoJob::Kind::Barrier:
      break;
  }
  if (!status) {
    spdlog::error("{}: local disk I/O failed: {}", name_, status.error().message);
    return EIO;
  }
  return 0;
}

}  // namespace hapbx::replica
