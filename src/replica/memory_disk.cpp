#include "replica/memory_disk.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace hapbx::replica {

MemoryDisk::MemoryDisk(std::uint64_t size, std::string name) : size_(size), name_(std::move(name)) {}

void MemoryDisk::apply(std::unordered_map<std::uint64_t, Page>& pages,
                       const std::unordered_map<std::uint64_t, Page>* base, std::uint64_t offset,
                       std::uint64_t length, const std::uint8_t* data) {
  std::uint64_t done = 0;
  while (done < length) {
    const std::uint64_t pos = offset + done;
    const std::uint64_t page = pos / kPage;
    const std::uint64_t in_page = pos % kPage;
    const std::uint64_t n = std::min(kPage - in_page, length - done);
    if (data == nullptr && in_page == 0 && n == kPage) {
      pages[page] = Page{};  // a whole zero page
    } else {
      auto it = pages.find(page);
      if (it == pages.end()) {
        Page fresh;
        if (base) {
          if (auto b = base->find(page); b != base->end()) fresh = b->second;
        }
        it = pages.emplace(page, std::move(fresh)).first;
      }
      if (it->second.empty()) it->second.assign(kPage, 0);
      if (data) {
        std::memcpy(it->second.data() + in_page, data + done, n);
      } else {
        std::memset(it->second.data() + in_page, 0, n);
      }
    }
    done += n;
  }
}

void MemoryDisk::read_locked(std::uint64_t offset, std::span<std::uint8_t> out,
                             bool durable_only) const {
  std::uint64_t done = 0;
  while (done < out.size()) {
    const std::uint64_t pos = offset + done;
    const std::uint64_t page = pos / kPage;
    const std::uint64_t in_page = pos % kPage;
    const std::uint64_t n = std::min<std::uint64_t>(kPage - in_page, out.size() - done);
    const Page* src = nullptr;
    if (!durable_only) {
      if (auto it = volatile_.find(page); it != volatile_.end()) src = &it->second;
    }
    if (src == nullptr) {
      if (auto it = durable_.find(page); it != durable_.end()) src = &it->second;
    }
    if (src == nullptr || src->empty()) {
      std::memset(out.data() + done, 0, n);
    } else {
      std::memcpy(out.data() + done, src->data() + in_page, n);
    }
    done += n;
  }
}

Status MemoryDisk::read(std::uint64_t offset, std::span<std::uint8_t> out) {
  std::lock_guard lock(mu_);
  if (std::string e = range_error(name_, "read", offset, out.size(), size_); !e.empty()) {
    return make_error(std::move(e));
  }
  if (fail_reads_) {
    return make_error(name_ + ": read of " + std::to_string(out.size()) + " bytes at offset " +
                      std::to_string(offset) + ": Input/output error (injected)");
  }
  read_locked(offset, out, false);
  return Status::Ok();
}

Status MemoryDisk::fault_for_write(const char* op, std::uint64_t offset, std::uint64_t length) {
  if (std::string e = range_error(name_, op, offset, length, size_); !e.empty()) {
    return make_error(std::move(e));
  }
  ++writes_;
  if ((fail_nth_ && *fail_nth_ == writes_) || (fail_after_ && writes_ > *fail_after_)) {
    return make_error(name_ + ": " + op + " of " + std::to_string(length) + " bytes at offset " +
                      std::to_string(offset) + ": Input/output error (injected, write #" +
                      std::to_string(writes_) + ")");
  }
  return Status::Ok();
}

Status MemoryDisk::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  std::lock_guard lock(mu_);
  if (Status s = fault_for_write("write", offset, data.size()); !s.ok()) return s;
  if (data.empty()) return Status::Ok();
  apply(volatile_, &durable_, offset, data.size(), data.data());
  pending_.push_back(Pending{offset, data.size(), {data.begin(), data.end()}});
  return Status::Ok();
}

Status MemoryDisk::zero(std::uint64_t offset, std::uint64_t length) {
  std::lock_guard lock(mu_);
  if (Status s = fault_for_write("zero", offset, length); !s.ok()) return s;
  if (length == 0) return Status::Ok();
  apply(volatile_, &durable_, offset, length, nullptr);
  pending_.push_back(Pending{offset, length, {}});
  return Status::Ok();
}

Status MemoryDisk::flush() {
  std::lock_guard lock(mu_);
  if (fail_flush_) return make_error(name_ + ": fdatasync: Input/output error (injected)");
  for (auto& [page, bytes] : volatile_) {
    if (bytes.empty()) {
      durable_.erase(page);
    } else {
      durable_[page] = std::move(bytes);
    }
  }
  volatile_.clear();
  pending_.clear();
  ++flushes_;
  return Status::Ok();
}

void MemoryDisk::fail_nth_write(std::uint64_t n) {
  std::lock_guard lock(mu_);
  fail_nth_ = n;
}

void MemoryDisk::fail_writes_after(std::uint64_t n) {
  std::lock_guard lock(mu_);
  fail_after_ = n;
}

void MemoryDisk::set_fail_reads(bool fail) {
  std::lock_guard lock(mu_);
  fail_reads_ = fail;
}

void MemoryDisk::set_fail_flush(bool fail) {
  std::lock_guard lock(mu_);
  fail_flush_ = fail;
}

void MemoryDisk::clear_faults() {
  std::lock_guard lock(mu_);
  fail_nth_.reset();
  fail_after_.reset();
  fail_reads_ = false;
  fail_flush_ = false;
}

std::uint64_t MemoryDisk::write_count() const {
  std::lock_guard lock(mu_);
  return writes_;
}

std::uint64_t MemoryDisk::flush_count() const {
  std::lock_guard lock(mu_);
  return flushes_;
}

std::size_t MemoryDisk::unflushed_writes() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

void MemoryDisk::crash() {
  crash([](std::size_t, std::uint64_t, std::uint64_t) { return std::uint64_t{0}; });
}

void MemoryDisk::crash(const KeepFn& keep) {
  std::lock_guard lock(mu_);
  volatile_.clear();
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    const Pending& w = pending_[i];
    const std::uint64_t kept = std::min(keep(i, w.offset, w.length), w.length);
    if (kept == 0) continue;
    apply(durable_, nullptr, w.offset, kept, w.data.empty() ? nullptr : w.data.data());
  }
  pending_.clear();
}

std::vector<std::uint8_t> MemoryDisk::durable_bytes(std::uint64_t offset,
                                                    std::size_t length) const {
  std::lock_guard lock(mu_);
  std::vector<std::uint8_t> out;
  if (std::string e = range_error(name_, "read", offset, length, size_); !e.empty()) return out;
  out.resize(length);
  read_locked(offset, out, true);
  return out;
}

}  // namespace hapbx::replica
