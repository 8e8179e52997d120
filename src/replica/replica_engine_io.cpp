// The replication engine's data path: application requests on the Primary (mirrored to the
// peer, acknowledged per protocol A/B/C, logged in the activity log, marked in the bitmap when
// the peer cannot have them), the Secondary's side of it, and local I/O completions.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include "replica/digest.h"
#include "replica/replica_engine.h"

namespace hapbx::replica {

using Level = action::Log::Level;
using Kind = action::LocalIo::Kind;

namespace {
bool range_ok(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
  return offset <= size && length <= size - offset;
}

Bytes integrity_digest(const std::string& alg_name, const Payload& data) {
  if (alg_name.empty() || !data) return {};
  auto alg = digest_alg_from_name(alg_name);
  return alg ? digest(*alg, *data) : Bytes{};
}
}  // namespace

void ReplicaEngine::device_request(DeviceRequest&& r, TimePoint now) {
  auto fail = [&](int error) { emit(action::Complete{r.id, error, nullptr}); };
  if (role_ != Role::Primary) return fail(EROFS);
  if (r.kind != DeviceRequest::Kind::Flush && !range_ok(r.offset, r.length, data_size_)) return fail(EINVAL);
  if (dstate_ != DiskState::UpToDate) return fail(EIO);
  switch (r.kind) {
    case DeviceRequest::Kind::Read: return app_read(std::move(r), now);
    case DeviceRequest::Kind::Flush: return app_flush(std::move(r), now);
    case DeviceRequest::Kind::Write:
      if (r.data.size() != r.length) return fail(EINVAL);
      [[fallthrough]];
    case DeviceRequest::Kind::Zero: return app_write(std::move(r), now);
  }
}

void ReplicaEngine::app_read(DeviceRequest&& r, TimePoint) {
  ++counters_.app_reads;
  counters_.bytes_read += r.length;
  const std::uint64_t tag = next_tag();
  io_[tag] = IoPurpose{IoPurpose::Kind::AppRead, r.id, r.offset, r.length, 0, {}};
  emit(action::LocalIo{Kind::Read, tag, r.offset, r.length, nullptr});
}

void ReplicaEngine::app_flush(DeviceRequest&& r, TimePoint now) {
  ++counters_.app_flushes;
  PendingFlush f;
  f.request_id = r.id;
  f.peer_done = true;
  if (replicating() && peer_disk_ != DiskState::Diskless) {
    send(Flush{r.id});
    f.sent = now;
    f.peer_done = config_.protocol == Protocol::A;
  }
  flushes_[r.id] = f;
  const std::uint64_t tag = next_tag();
  io_[tag] = IoPurpose{IoPurpose::Kind::AppFlush, r.id, 0, 0, 0, {}};
  emit(action::LocalIo{Kind::Flush, tag, 0, 0, nullptr});
}

bool ReplicaEngine::overlaps_resync_read(std::uint64_t offset, std::uint64_t length) const {
  for (const auto& [start, len] : source_read_len_)
    if (start < offset + length && offset < start + len) return true;
  return false;
}

void ReplicaEngine::app_write(DeviceRequest&& r, TimePoint now) {
  // Order is kept: once anything waits, later writes wait behind it.
  if (!deferred_.empty() || overlaps_resync_read(r.offset, r.length)) {
    deferred_.push_back(std::move(r));
    return;
  }
  start_write(std::move(r), now);
}

void ReplicaEngine::start_write(DeviceRequest&& r, TimePoint now) {
  // Activity log first: every extent the write touches must be hot (and persisted) before the
  // data may reach the disk.
  std::vector<std::uint64_t> extents;
  const std::uint64_t first = r.offset / kExtentSize;
  const std::uint64_t last = r.length ? (r.offset + r.length - 1) / kExtentSize : first;
  bool added = false, evicted = false;
  for (std::uint64_t e = first; e <= last; ++e) {
    const auto t = disk_.activity_log.touch_and_pin(e);
    if (t == ActivityLog::Touch::Full) {
      for (std::uint64_t p : extents) disk_.activity_log.unpin(p);
      deferred_.push_front(std::move(r));
      return;
    }
    if (t == ActivityLog::Touch::Added) {
      added = true;
      if (disk_.activity_log.last_change().evicted) evicted = true;
    }
    extents.push_back(e);
  }
  // The write may reach neither disk before its extents are durable in the log: if the peer
  // had it and this Primary crashed, the extent would be missing from the log that drives the
  // resync.
  std::uint64_t wait_for = 0;
  if (added) {
    // An evicted extent's bitmap bits must be on disk before the log forgets the extent.
    if (evicted) persist_bitmap();
    emit(action::PersistActivityLog{});
    ++counters_.activity_log_writes;
    wait_for = next_tag();
    io_[wait_for] = IoPurpose{IoPurpose::Kind::AlBarrier, 0, r.offset, r.length, 0, {}};
    emit(action::LocalIo{Kind::Barrier, wait_for, 0, 0, nullptr});
    for (std::uint64_t e : extents) al_unpersisted_[e] = wait_for;
  } else {
    for (std::uint64_t e : extents) {
      auto it = al_unpersisted_.find(e);
      if (it != al_unpersisted_.end()) wait_for = std::max(wait_for, it->second);
    }
  }
  if (wait_for != 0) {
    al_waiting_.emplace(wait_for, AlWait{std::move(r), std::move(extents)});
    return;
  }
  issue_write(std::move(r), std::move(extents), now);
}

void ReplicaEngine::issue_write(DeviceRequest&& r, std::vector<std::uint64_t> extents, TimePoint now,
                                bool queue_head) {
  // A resync read of this range is queued: sending the write now would let the older block
  // read for the resync overtake it on the link. Wait for the read (behind earlier waiters).
  if ((!queue_head && !held_for_resync_.empty()) || overlaps_resync_read(r.offset, r.length)) {
    held_for_resync_.push_back(AlWait{std::move(r), std::move(extents)});
    return;
  }
  const bool zero = r.kind == DeviceRequest::Kind::Zero;
  ++counters_.app_writes;
  counters_.bytes_written += r.length;
  Payload payload;
  if (!zero) payload = std::make_shared<const std::vector<std::uint8_t>>(std::move(r.data));

  PendingWrite w;
  w.request_id = r.id;
  w.offset = r.offset;
  w.length = r.length;
  w.extents = std::move(extents);
  std::uint64_t seq;
  if (replicating() && peer_disk_ != DiskState::Diskless) {
    seq = ++write_seq_;
    if (zero) send(Zero{seq, r.offset, r.length});
    else send(Data{seq, r.offset, payload, integrity_digest(config_.integrity_alg, payload)});
    unacked_since_[seq] = now;
    w.peer_done = config_.protocol == Protocol::A;
  } else {
    seq = ++local_only_seq_;
    disk_.bitmap.set_range(r.offset, r.length);
    w.peer_done = true;
    w.peer_acked = true;
  }
  writes_[seq] = std::move(w);
  const std::uint64_t tag = next_tag();
  io_[tag] = IoPurpose{IoPurpose::Kind::AppWrite, seq, r.offset, r.length, 0, {}};
  emit(action::LocalIo{zero ? Kind::Zero : Kind::Write, tag, r.offset, r.length, std::move(payload)});
}

void ReplicaEngine::retry_deferred(TimePoint now) {
  while (!held_for_resync_.empty()) {
    AlWait& front = held_for_resync_.front();
    if (role_ != Role::Primary) {
      for (std::uint64_t e : front.extents) disk_.activity_log.unpin(e);
      emit(action::Complete{front.request.id, EROFS, nullptr});
      held_for_resync_.pop_front();
      continue;
    }
    if (overlaps_resync_read(front.request.offset, front.request.length)) return;
    AlWait w = std::move(front);
    held_for_resync_.pop_front();
    issue_write(std::move(w.request), std::move(w.extents), now, true);
  }
  while (!deferred_.empty()) {
    DeviceRequest& front = deferred_.front();
    if (role_ != Role::Primary) {
      emit(action::Complete{front.id, EROFS, nullptr});
      deferred_.pop_front();
      continue;
    }
    if (overlaps_resync_read(front.offset, front.length)) return;
    DeviceRequest r = std::move(front);
    deferred_.pop_front();
    const std::size_t before = deferred_.size();
    start_write(std::move(r), now);
    if (deferred_.size() > before) return;  // went back: the activity log is full
  }
}

void ReplicaEngine::finish_write_if_done(std::uint64_t seq) {
  auto it = writes_.find(seq);
  if (it == writes_.end()) return;
  PendingWrite& w = it->second;
  if (w.local_done && w.peer_done && !w.completed) {
    w.completed = true;
    emit(action::Complete{w.request_id, w.error, nullptr});
  }
  // The entry stays (extents pinned) until the peer has the data on disk, so a crash of this
  // Primary meanwhile still finds the extent in the activity log.
  if (w.completed && w.peer_acked) {
    for (std::uint64_t e : w.extents) disk_.activity_log.unpin(e);
    writes_.erase(it);
  }
}

void ReplicaEngine::finish_flush_if_done(std::uint64_t id) {
  auto it = flushes_.find(id);
  if (it == flushes_.end()) return;
  if (it->second.local_done && it->second.peer_done) {
    emit(action::Complete{id, it->second.error, nullptr});
    flushes_.erase(it);
  }
}

void ReplicaEngine::on_recv_ack(std::uint64_t seq) {
  if (config_.protocol != Protocol::B) return;
  auto it = writes_.find(seq);
  if (it == writes_.end()) return;
  it->second.peer_done = true;
  finish_write_if_done(seq);
}

void ReplicaEngine::on_write_ack(std::uint64_t seq, bool ok, TimePoint) {
  unacked_since_.erase(seq);
  auto it = writes_.find(seq);
  if (it == writes_.end()) return;
  if (!ok) {
    // The peer could not write it: the block is out of sync, the next resync carries it.
    disk_.bitmap.set_range(it->second.offset, it->second.length);
    log(Level::Warning, fmt::format("{}: the peer failed to write {} KiB at {}: marked out of sync",
                                    config_.resource, it->second.length / 1024, it->second.offset));
  }
  it->second.peer_done = true;
  it->second.peer_acked = true;
  finish_write_if_done(seq);
}

void ReplicaEngine::on_flush_ack(std::uint64_t id) {
  auto it = flushes_.find(id);
  if (it == flushes_.end()) return;
  it->second.peer_done = true;
  finish_flush_if_done(id);
}

void ReplicaEngine::fail_peer_part_of_pending(TimePoint) {
  // Writes the peer has not confirmed on its disk may be missing there: mark them.
  std::vector<std::uint64_t> seqs;
  for (auto& [seq, w] : writes_) {
    if (!w.peer_acked) disk_.bitmap.set_range(w.offset, w.length);
    w.peer_done = true;
    w.peer_acked = true;
    seqs.push_back(seq);
  }
  unacked_since_.clear();
  for (std::uint64_t seq : seqs) finish_write_if_done(seq);
  std::vector<std::uint64_t> ids;
  for (auto& [id, f] : flushes_) {
    f.peer_done = true;
    ids.push_back(id);
  }
  for (std::uint64_t id : ids) finish_flush_if_done(id);
}

// --- the Secondary's side ------------------------------------------------------------------

void ReplicaEngine::on_peer_data(Data&& m, TimePoint now) {
  if (role_ == Role::Primary) return protocol_error("Data sent to a Primary", now);
  if (!m.data || !range_ok(m.offset, m.data->size(), data_size_) || m.data->empty())
    return protocol_error(fmt::format("Data seq {} outside the disk", m.seq), now);
  if (peer_write_seq_ != 0 && m.seq != peer_write_seq_ + 1)
    return protocol_error(fmt::format("write seq {} after {}", m.seq, peer_write_seq_), now);
  peer_write_seq_ = m.seq;
  if (!config_.integrity_alg.empty()) {
    const Bytes d = integrity_digest(config_.integrity_alg, m.data);
    if (!constant_time_equal(d, m.digest)) {
      ++counters_.integrity_failures;
      return refuse(fmt::format("data-integrity-alg {} mismatch on a write of {} bytes at {}: "
                                "dropping the connection", config_.integrity_alg, m.data->size(), m.offset),
                    false, now);
    }
  }
  counters_.peer_bytes_received += m.data->size();
  if (config_.protocol == Protocol::B) send(RecvAck{m.seq});
  const std::uint64_t tag = next_tag();
  io_[tag] = IoPurpose{IoPurpose::Kind::PeerWrite, m.seq, m.offset, m.data->size(), connection_id_, {}};
  emit(action::LocalIo{Kind::Write, tag, m.offset, m.data->size(), std::move(m.data)});
}

void ReplicaEngine::on_peer_zero(const Zero& m, TimePoint now) {
  if (role_ == Role::Primary) return protocol_error("Zero sent to a Primary", now);
  if (!range_ok(m.offset, m.length, data_size_)) return protocol_error("Zero outside the disk", now);
  if (peer_write_seq_ != 0 && m.seq != peer_write_seq_ + 1)
    return protocol_error(fmt::format("write seq {} after {}", m.seq, peer_write_seq_), now);
  peer_write_seq_ = m.seq;
  if (config_.protocol == Protocol::B) send(RecvAck{m.seq});
  const std::uint64_t tag = next_tag();
  io_[tag] = IoPurpose{IoPurpose::Kind::PeerWrite, m.seq, m.offset, m.length, connection_id_, {}};
  emit(action::LocalIo{Kind::Zero, tag, m.offset, m.length, nullptr});
}

void ReplicaEngine::on_peer_flush(const Flush& m, TimePoint) {
  const std::uint64_t tag = next_tag();
  io_[tag] = IoPurpose{IoPurpose::Kind::PeerFlush, m.id, 0, 0, connection_id_, {}};
  emit(action::LocalIo{Kind::Flush, tag, 0, 0, nullptr});
}

// --- local completions ---------------------------------------------------------------------

void ReplicaEngine::local_io_done(std::uint64_t tag, int error, Payload data, TimePoint now) {
  auto it = io_.find(tag);
  if (it == io_.end()) return;
  IoPurpose p = std::move(it->second);
  io_.erase(it);
  const bool same_connection = link_up_ && p.connection == connection_id_;
  if (error != 0 && dstate_ != DiskState::Failed) {
    log(Level::Error, fmt::format("{}: local I/O error {} at offset {} ({} bytes): the disk is failed "
                                  "(on-io-error detach)", config_.resource, error, p.offset, p.length));
    dstate_ = DiskState::Failed;
    if (replicating()) send(StateUpdate{role_, dstate_});
  }
  switch (p.kind) {
    case IoPurpose::Kind::AppWrite: {
      auto w = writes_.find(p.key);
      if (w != writes_.end()) {
        w->second.local_done = true;
        if (error) w->second.error = EIO;
      }
      finish_write_if_done(p.key);
      retry_deferred(now);
      return;
    }
    case IoPurpose::Kind::AlBarrier: {
      for (auto e = al_unpersisted_.begin(); e != al_unpersisted_.end();) {
        if (e->second <= tag) e = al_unpersisted_.erase(e);
        else ++e;
      }
      auto [first, last] = al_waiting_.equal_range(tag);
      std::vector<AlWait> ready;
      for (auto w = first; w != last; ++w) ready.push_back(std::move(w->second));
      al_waiting_.erase(first, last);
      for (AlWait& wait : ready) {
        if (error || role_ != Role::Primary) {
          for (std::uint64_t e : wait.extents) disk_.activity_log.unpin(e);
          emit(action::Complete{wait.request.id, error ? EIO : EROFS, nullptr});
          continue;
        }
        issue_write(std::move(wait.request), std::move(wait.extents), now);
      }
      return;
    }
    case IoPurpose::Kind::AppRead:
      emit(action::Complete{p.key, error ? EIO : 0, error ? nullptr : std::move(data)});
      return;
    case IoPurpose::Kind::AppFlush: {
      auto f = flushes_.find(p.key);
      if (f != flushes_.end()) {
        f->second.local_done = true;
        if (error) f->second.error = EIO;
      }
      finish_flush_if_done(p.key);
      return;
    }
    case IoPurpose::Kind::PeerWrite:
      if (same_connection) {
        if (error) send(NegAck{p.key});
        else send(WriteAck{p.key});
      }
      return;
    case IoPurpose::Kind::PeerFlush:
      if (same_connection) send(FlushAck{p.key});
      return;
    default:
      on_io_for_resync(p, error, std::move(data), now);
      return;
  }
}

}  // namespace hapbx::replica
