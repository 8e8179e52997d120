// An in-memory BackingDisk with fault injection and a power-loss model, for the unit tests and
// the deterministic simulation of a two-node cluster.
//
// Model: every write()/zero() goes to a volatile layer (what reads see) and to an ordered log of
// unflushed writes; a successful flush() makes them durable. crash() is a power loss: the volatile
// layer is dropped and the durable content is what remains; crash(keep) lets the test decide, for
// each unflushed write in order, how many of its leading bytes reached the medium (0 = lost,
// all = survived, in between = torn), which models reordered and torn writes.
// The disk keeps working after a crash (the "reboot"): faults stay armed until clear_faults().
// Storage is sparse (4 KiB pages, unwritten pages read as zeroes), so a 1 TiB disk is cheap.
// Thread-safe (one mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "replica/backing_disk.h"

namespace hapbx::replica {

class MemoryDisk final : public BackingDisk {
 public:
  explicit MemoryDisk(std::uint64_t size, std::string name = "memory-disk");

  std::uint64_t size() const override { return size_; }
  Status read(std::uint64_t offset, std::span<std::uint8_t> out) override;
  Status write(std::uint64_t offset, std::span<const std::uint8_t> data) override;
  Status flush() override;
  Status zero(std::uint64_t offset, std::uint64_t length) override;
  int fd() const override { return -1; }
  const std::string& path() const override { return name_; }

  // Faults. Writes are counted from creation, 1-based, write() and zero() alike, failed ones too.
  void fail_nth_write(std::uint64_t n);    // that one write fails with EIO, nothing is written
  void fail_writes_after(std::uint64_t n); // every write after the n-th fails (the disk died)
  void set_fail_reads(bool fail);
  void set_fail_flush(bool fail);          // flush fails, the writes stay volatile
  void clear_faults();

  std::uint64_t write_count() const;
  std::uint64_t flush_count() const;       // successful flushes
  std::size_t unflushed_writes() const;

  // Power loss, see the header comment.
  using KeepFn =
      std::function<std::uint64_t(std::size_t index, std::uint64_t offset, std::uint64_t length)>;
  void crash();
  void crash(const KeepFn& keep);

  // What a crash now would leave (ignores faults), for test assertions.
  std::vector<std::uint8_t> durable_bytes(std::uint64_t offset, std::size_t length) const;

 private:
  static constexpr std::uint64_t kPage = 4096;
  using Page = std::vector<std::uint8_t>;  // kPage bytes, or empty = all zeroes
  struct Pending {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::vector<std::uint8_t> data;  // empty for zero()
  };

  Status fault_for_write(const char* op, std::uint64_t offset, std::uint64_t length);
  // Copies bytes (or zeroes when data is null) into a page map at offset.
  static void apply(std::unordered_map<std::uint64_t, Page>& pages,
                    const std::unordered_map<std::uint64_t, Page>* base, std::uint64_t offset,
                    std::uint64_t length, const std::uint8_t* data);
  void read_locked(std::uint64_t offset, std::span<std::uint8_t> out, bool durable_only) const;

  const std::uint64_t size_;
  const std::string name_;
  mutable std::mutex mu_;
  std::unordered_map<std::uint64_t, Page> durable_;
  std::unordered_map<std::uint64_t, Page> volatile_;  // pages written since the last flush
  std::vector<Pending> pending_;
  std::uint64_t writes_ = 0;
  std::uint64_t flushes_ = 0;
  std::optional<std::uint64_t> fail_nth_;
  std::optional<std::uint64_t> fail_after_;
  bool fail_reads_ = false;
  bool fail_flush_ = false;
};

}  // namespace hapbx::replica
