// The local disk of one resource, driven from its own thread: a FIFO of jobs executed strictly in
// order, so that the engine's contract holds (a Persist* is durable before any later LocalIo
// starts; LocalIo requests run in the order given; a Flush covers every earlier write).
//
// Jobs:
//  - submit_io(): one engine LocalIo (Read / Write / Flush / Zero) against the BackingDisk; its
//    completion (tag, errno, read data) is handed to `post_to_loop`, which runs it on the daemon
//    loop (where the engine's local_io_done is called).
//  - submit_task(): any other ordered work, e.g. a metadata write whose bytes the loop thread
//    snapshotted when the engine asked for it. Tasks are never refused.
//
// Bounded memory: the FUSE side never has more than the kernel's in-flight limit outstanding and
// the peer side is bounded by the engine's windows, but the queue is capped anyway
// (max_jobs / max_bytes of write payload): an I/O submitted over the cap is refused (submit_io
// returns false; the caller fails it with EIO and logs it).
//
// Threads: submit_* and queued() from the loop thread (any thread, in fact: they lock); the
// worker thread runs the jobs; stop() (and the destructor) finishes the queued jobs and joins.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "replica/backing_disk.h"
#include "replica/peer_message.h"

namespace hapbx::replica {

struct LocalIoJob {
  // The same values as action::LocalIo::Kind (static_assert in the .cpp). Barrier does no I/O:
  // it completes when every earlier job (a metadata write above all) has.
  enum class Kind { Read, Write, Flush, Zero, Barrier } kind = Kind::Read;
  std::uint64_t tag = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  Payload data;  // Write
};

class LocalIoWorker {
 public:
  using Completion = std::function<void(std::uint64_t tag, int error, Payload data)>;
  using PostToLoop = std::function<void(std::function<void()>)>;

  LocalIoWorker(std::string name, BackingDisk& disk, PostToLoop post_to_loop,
                std::size_t max_jobs = 8192, std::uint64_t max_bytes = 256u << 20);
  ~LocalIoWorker();
  LocalIoWorker(const LocalIoWorker&) = delete;
  LocalIoWorker& operator=(const LocalIoWorker&) = delete;

  // False when the queue is at its cap (nothing was queued).
  bool submit_io(LocalIoJob job, Completion done);
  void submit_task(std::function<void()> task);

  std::size_t queued() const;
  std::uint64_t queued_bytes() const;
  // Blocks until every job queued so far has run (shutdown and detach only).
  void drain();
  void stop();

 private:
  struct Job {
    std::function<void()> run;
    std::uint64_t bytes = 0;
  };
  void loop();
  int execute(const LocalIoJob& job, Payload* read_data);

  std::string name_;
  BackingDisk& disk_;
  PostToLoop post_;
  std::size_t max_jobs_;
  std::uint64_t max_bytes_;
  mutable std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<Job> jobs_;
  std::uint64_t bytes_ = 0;
  bool running_job_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hapbx::replica
