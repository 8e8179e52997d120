// The replication engine's resync (the SyncTarget asks for out-of-sync blocks at the configured
// rate; with csums-alg it sends its own digest first and the source answers "in sync" when they
// match) and online verify (the VerifyS side compares digests of every chunk of the disk).
#include <fmt/format.h>

#include <algorithm>

#include "replica/digest.h"
#include "replica/replica_engine.h"

namespace hapbx::replica {

using Level = action::Log::Level;
using Kind = action::LocalIo::Kind;

namespace {
Bytes digest_of(const std::string& alg_name, const Payload& data) {
  auto alg = digest_alg_from_name(alg_name);
  if (!alg || !data) return {};
  return digest(*alg, *data);
}
}  // namespace

void ReplicaEngine::refill_tokens(TimePoint now) {
  if (now <= tokens_at_) return;
  const double seconds = std::chrono::duration<double>(now - tokens_at_).count();
  const double cap = std::max(static_cast<double>(config_.resync_chunk),
                              static_cast<double>(config_.resync_rate) / 10.0);
  tokens_ = std::min(cap, tokens_ + seconds * static_cast<double>(config_.resync_rate));
  tokens_at_ = now;
}

void ReplicaEngine::resync_pump(TimePoint now) {
  if (cstate_ != ConnectionState::SyncTarget || !link_up_) return;
  refill_tokens(now);
  const std::uint64_t blocks = data_size_ / kBlockSize;
  const std::uint64_t chunk_blocks = std::max<std::uint64_t>(config_.resync_chunk / kBlockSize, 1);
  while (resync_inflight_bytes_ < config_.resync_window && tokens_ >= static_cast<double>(config_.resync_chunk)) {
    auto next = disk_.bitmap.next_set(resync_cursor_);
    if (!next || *next >= blocks) break;
    const std::uint64_t run = disk_.bitmap.run_length(*next, std::min(chunk_blocks, blocks - *next));
    const std::uint64_t offset = *next * kBlockSize, length = run * kBlockSize;
    resync_cursor_ = *next + run;
    tokens_ -= static_cast<double>(length);
    resync_inflight_[offset] = length;
    resync_asked_at_[offset] = now;
    resync_inflight_bytes_ += length;
    if (!config_.csums_alg.empty()) {
      const std::uint64_t tag = next_tag();
      io_[tag] = IoPurpose{IoPurpose::Kind::TargetCsumRead, 0, offset, length, connection_id_, {}};
      emit(action::LocalIo{Kind::Read, tag, offset, length, nullptr});
    } else {
      send(ResyncRequest{offset, length});
    }
  }
  if (resync_inflight_.empty()) {
    auto left = disk_.bitmap.next_set(0);
    if (!left || *left >= blocks) finish_resync_as_target(now);
    else if (resync_cursor_ > *left) resync_cursor_ = 0;  // bits set again behind the cursor
  }
}

void ReplicaEngine::finish_resync_as_target(TimePoint now) {
  if (resync_done_sent_) return;
  resync_done_sent_ = true;
  auto& sb = disk_.superblock;
  auto& u = sb.uuids;
  const std::uint64_t source_current = peer_params_.view.uuids.current;
  if (u.current != source_current) {
    u.history[1] = u.history[0];
    u.history[0] = u.current;
  }
  u.current = source_current;
  u.bitmap = 0;
  sb.generation_started_ms = peer_params_.view.generation_started_ms;
  sb.flags.crashed_primary = false;
  sb.flags.full_sync_pending = false;
  dstate_ = DiskState::UpToDate;
  peer_disk_ = DiskState::UpToDate;
  persist_bitmap();
  persist_superblock();
  const double secs = std::chrono::duration<double>(now - resync_.started).count();
  resync_.active = false;
  set_connection(ConnectionState::Connected,
                 fmt::format("resync done: {} KiB in {:.1f} s ({} KiB skipped by csums)",
                             resync_.done_bytes / 1024, secs, resync_.skipped_bytes / 1024));
  send(ResyncDone{u});
  send(StateUpdate{role_, dstate_});
}

void ReplicaEngine::on_resync_done(const ResyncDone& m, TimePoint now) {
  if (cstate_ == ConnectionState::Connected) return;  // already finished from its StateUpdate
  if (cstate_ != ConnectionState::SyncSource) return protocol_error("ResyncDone while not SyncSource", now);
  if (m.uuids.current != disk_.superblock.uuids.current)
    log(Level::Warning, fmt::format("{}: the target finished on generation {}, this side is on {}",
                                    config_.resource, format_uuid(m.uuids.current),
                                    format_uuid(disk_.superblock.uuids.current)));
  finish_resync_as_source(now);
}

void ReplicaEngine::finish_resync_as_source(TimePoint now) {
  auto& sb = disk_.superblock;
  auto& u = sb.uuids;
  if (u.bitmap != 0) {
    u.history[1] = u.history[0];
    u.history[0] = u.bitmap;
    u.bitmap = 0;
  }
  sb.flags.crashed_primary = false;
  if (disk_.bitmap.count() != 0)
    log(Level::Warning, fmt::format("{}: {} KiB still marked after the resync (failed peer writes): "
                                    "they go in the next resync", config_.resource,
                                    disk_.bitmap.count() * kBlockSize / 1024));
  peer_disk_ = DiskState::UpToDate;
  persist_bitmap();
  persist_superblock();
  const double secs = std::chrono::duration<double>(now - resync_.started).count();
  resync_.active = false;
  set_connection(ConnectionState::Connected,
                 fmt::format("resync done: {} KiB sent in {:.1f} s", resync_.sent_bytes / 1024, secs));
}

void ReplicaEngine::on_resync_request(const ResyncRequest& m, TimePoint now) {
  if (cstate_ != ConnectionState::SyncSource) return protocol_error("ResyncRequest while not SyncSource", now);
  if (m.length == 0 || m.length > kMaxPayload || m.offset + m.length > data_size_ || m.offset + m.length < m.offset)
    return protocol_error("ResyncRequest outside the disk", now);
  const std::uint64_t tag = next_tag();
  io_[tag] = IoPurpose{IoPurpose::Kind::ResyncRead, 0, m.offset, m.length, connection_id_, {}};
  source_read_len_.emplace(m.offset, m.length);
  emit(action::LocalIo{Kind::Read, tag, m.offset, m.length, nullptr});
}

void ReplicaEngine::on_csum_request(CsumRequest&& m, TimePoint now) {
  if (cstate_ != ConnectionState::SyncSource) return protocol_error("CsumRequest while not SyncSource", now);
  if (m.length == 0 || m.length > kMaxPayload || m.offset + m.length > data_size_ || m.offset + m.length < m.offset)
    return protocol_error("CsumRequest outside the disk", now);
  const std::uint64_t tag = next_tag();
  io_[tag] = IoPurpose{IoPurpose::Kind::CsumRead, 0, m.offset, m.length, connection_id_, std::move(m.digest)};
  source_read_len_.emplace(m.offset, m.length);
  emit(action::LocalIo{Kind::Read, tag, m.offset, m.length, nullptr});
}

void ReplicaEngine::on_resync_data(ResyncData&& m, TimePoint now) {
  if (cstate_ != ConnectionState::SyncTarget) return protocol_error("ResyncData while not SyncTarget", now);
  auto it = resync_inflight_.find(m.offset);
  if (it == resync_inflight_.end() || !m.data || m.data->size() != it->second)
    return protocol_error(fmt::format("ResyncData at {} that was not requested", m.offset), now);
  if (!config_.integrity_alg.empty() && !constant_time_equal(digest_of(config_.integrity_alg, m.data), m.digest)) {
    ++counters_.integrity_failures;
    return refuse(fmt::format("data-integrity-alg mismatch on resync data at {}", m.offset), false, now);
  }
  counters_.peer_bytes_received += m.data->size();
  counters_.resync_bytes_received += m.data->size();
  resync_.sent_bytes += m.data->size();
  const std::uint64_t tag = next_tag();
  io_[tag] = IoPurpose{IoPurpose::Kind::ResyncWrite, 0, m.offset, m.data->size(), connection_id_, {}};
  emit(action::LocalIo{Kind::Write, tag, m.offset, m.data->size(), std::move(m.data)});
}

void ReplicaEngine::on_resync_in_sync(const ResyncInSync& m, TimePoint now) {
  if (cstate_ != ConnectionState::SyncTarget) return protocol_error("ResyncInSync while not SyncTarget", now);
  auto it = resync_inflight_.find(m.offset);
  if (it == resync_inflight_.end() || it->second != m.length)
    return protocol_error(fmt::format("ResyncInSync at {} that was not requested", m.offset), now);
  disk_.bitmap.clear_range(m.offset, m.length);
  resync_inflight_bytes_ -= it->second;
  resync_asked_at_.erase(m.offset);
  resync_inflight_.erase(it);
  resync_.done_bytes += m.length;
  resync_.skipped_bytes += m.length;
  send(ResyncAck{m.offset, m.length});
  resync_pump(now);
}

void ReplicaEngine::on_resync_ack(const ResyncAck& m, TimePoint now) {
  if (cstate_ != ConnectionState::SyncSource) return protocol_error("ResyncAck while not SyncSource", now);
  if (m.offset + m.length > data_size_ || m.offset + m.length < m.offset)
    return protocol_error("ResyncAck outside the disk", now);
  disk_.bitmap.clear_range(m.offset, m.length);
  resync_.done_bytes += m.length;
}

void ReplicaEngine::on_io_for_resync(const IoPurpose& p, int error, Payload data, TimePoint now) {
  const bool same_connection = link_up_ && p.connection == connection_id_;
  switch (p.kind) {
    case IoPurpose::Kind::ResyncRead:
    case IoPurpose::Kind::CsumRead: {
      // This read no longer holds back application writes to its range.
      for (auto it = source_read_len_.find(p.offset); it != source_read_len_.end() && it->first == p.offset; ++it) {
        if (it->second == p.length) {
          source_read_len_.erase(it);
          break;
        }
      }
      if (same_connection && cstate_ == ConnectionState::SyncSource) {
        if (error) {
          // Nothing good to send: the target keeps the bits, the next resync retries.
          refuse(fmt::format("local read error during resync at {}", p.offset), false, now);
        } else if (p.kind == IoPurpose::Kind::CsumRead && !p.digest.empty() &&
                   constant_time_equal(digest_of(config_.csums_alg, data), p.digest)) {
          send(ResyncInSync{p.offset, p.length});
        } else {
          Bytes d = config_.integrity_alg.empty() ? Bytes{} : digest_of(config_.integrity_alg, data);
          send(ResyncData{p.offset, std::move(data), std::move(d)});
        }
      }
      retry_deferred(now);
      return;
    }
    case IoPurpose::Kind::TargetCsumRead:
      if (same_connection && cstate_ == ConnectionState::SyncTarget) {
        send(CsumRequest{p.offset, p.length, error ? Bytes{} : digest_of(config_.csums_alg, data)});
      }
      return;
    case IoPurpose::Kind::ResyncWrite: {
      if (!same_connection || cstate_ != ConnectionState::SyncTarget) return;
      auto it = resync_inflight_.find(p.offset);
      if (it != resync_inflight_.end()) {
        resync_inflight_bytes_ -= it->second;
        resync_asked_at_.erase(p.offset);
        resync_inflight_.erase(it);
      }
      if (error) return;  // the disk is failed now; the bits stay
      disk_.bitmap.clear_range(p.offset, p.length);
      resync_.done_bytes += p.length;
      send(ResyncAck{p.offset, p.length});
      resync_pump(now);
      return;
    }
    case IoPurpose::Kind::VerifyRead: {
      auto it = verify_inflight_.find(p.offset);
      if (it == verify_inflight_.end() || !same_connection) return;
      it->second.mine = error ? Bytes{} : digest_of(config_.verify_alg, data);
      it->second.have_mine = true;
      verify_compare(p.offset, now);
      return;
    }
    case IoPurpose::Kind::VerifyPeerRead:
      if (same_connection)
        send(VerifyReply{p.offset, p.length, error ? Bytes{} : digest_of(config_.verify_alg, data)});
      return;
    default: return;
  }
}

// --- online verify -------------------------------------------------------------------------

void ReplicaEngine::verify_pump(TimePoint now) {
  if (cstate_ != ConnectionState::VerifyS || !link_up_) return;
  refill_tokens(now);
  while (verify_cursor_ < data_size_ && verify_inflight_bytes_ < config_.resync_window &&
         tokens_ >= static_cast<double>(config_.resync_chunk)) {
    const std::uint64_t length = std::min(config_.resync_chunk, data_size_ - verify_cursor_);
    const std::uint64_t offset = verify_cursor_;
    verify_cursor_ += length;
    tokens_ -= static_cast<double>(length);
    VerifySlot slot;
    slot.length = length;
    slot.asked = now;
    verify_inflight_[offset] = slot;
    verify_inflight_bytes_ += length;
    send(VerifyRequest{offset, length});
    const std::uint64_t tag = next_tag();
    io_[tag] = IoPurpose{IoPurpose::Kind::VerifyRead, 0, offset, length, connection_id_, {}};
    emit(action::LocalIo{Kind::Read, tag, offset, length, nullptr});
  }
  if (verify_cursor_ >= data_size_ && verify_inflight_.empty()) finish_verify(now);
}

void ReplicaEngine::on_verify_request(const VerifyRequest& m, TimePoint now) {
  if (cstate_ == ConnectionState::Connected) set_connection(ConnectionState::VerifyT, "online verify started by the peer");
  if (cstate_ != ConnectionState::VerifyT) return protocol_error("VerifyRequest while busy", now);
  if (m.length == 0 || m.length > kMaxPayload || m.offset + m.length > data_size_ || m.offset + m.length < m.offset)
    return protocol_error("VerifyRequest outside the disk", now);
  const std::uint64_t tag = next_tag();
  io_[tag] = IoPurpose{IoPurpose::Kind::VerifyPeerRead, 0, m.offset, m.length, connection_id_, {}};
  emit(action::LocalIo{Kind::Read, tag, m.offset, m.length, nullptr});
}

void ReplicaEngine::on_verify_reply(VerifyReply&& m, TimePoint now) {
  auto it = verify_inflight_.find(m.offset);
  if (cstate_ != ConnectionState::VerifyS || it == verify_inflight_.end() || it->second.length != m.length)
    return protocol_error("VerifyReply that was not requested", now);
  it->second.theirs = std::move(m.digest);
  it->second.have_theirs = true;
  verify_compare(m.offset, now);
}

void ReplicaEngine::verify_compare(std::uint64_t offset, TimePoint now) {
  auto it = verify_inflight_.find(offset);
  if (it == verify_inflight_.end() || !it->second.have_mine || !it->second.have_theirs) return;
  const VerifySlot& slot = it->second;
  if (slot.mine.empty() || !constant_time_equal(slot.mine, slot.theirs)) {
    disk_.bitmap.set_range(offset, slot.length);
    send(OutOfSync{offset, slot.length});
    verify_found_ += slot.length;
    counters_.verify_out_of_sync_bytes += slot.length;
    log(Level::Warning, fmt::format("{}: online verify: {} KiB at offset {} differ", config_.resource,
                                    slot.length / 1024, offset));
  }
  verify_done_ += slot.length;
  verify_inflight_bytes_ -= slot.length;
  verify_inflight_.erase(it);
  verify_pump(now);
}

void ReplicaEngine::finish_verify(TimePoint) {
  send(VerifyDone{});
  persist_bitmap();
  set_connection(ConnectionState::Connected,
                 verify_found_ == 0
                     ? std::string("online verify done: no difference")
                     : fmt::format("online verify done: {} KiB out of sync (disconnect and connect to "
                                   "resync them)", verify_found_ / 1024));
}

}  // namespace hapbx::replica
