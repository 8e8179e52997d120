// The replication engine: construction, admin commands, state bookkeeping, timers and status.
// The data path is in replica_engine_io.cpp, the link in replica_engine_link.cpp, resync and
// verify in replica_engine_resync.cpp.
#include "replica/replica_engine.h"

#include <fmt/format.h>

#include <algorithm>

namespace hapbx::replica {

using Level = action::Log::Level;

ReplicaEngine::ReplicaEngine(EngineConfig config, EngineDisk disk, TimePoint now)
    : config_(std::move(config)), disk_(std::move(disk)) {
  if (!config_.random64) {
    std::uint64_t state = 0x9E3779B97F4A7C15ull;
    config_.random64 = [state]() mutable { return state = state * 6364136223846793005ull + 1442695040888963407ull; };
  }
  if (!config_.wall_ms) config_.wall_ms = [] { return std::uint64_t{0}; };
  boot_id_ = config_.random64();
  data_size_ = disk_.superblock.data_size;
  auto& sb = disk_.superblock;
  if (!sb.flags.consistent) dstate_ = DiskState::Inconsistent;
  else dstate_ = sb.flags.was_up_to_date ? DiskState::UpToDate : DiskState::Outdated;
  if (sb.flags.full_sync_pending) disk_.bitmap.set_all();
  if (sb.flags.primary) {
    // The Primary went away without demoting: writes in the logged extents may have reached
    // one disk and not the other. Mark them, so the next resync makes both sides agree.
    std::uint64_t marked = 0;
    for (std::uint64_t extent : disk_.activity_log.hot_extents())
      marked += disk_.bitmap.set_range(extent * kExtentSize, kExtentSize);
    sb.flags.primary = false;
    sb.flags.crashed_primary = true;
    disk_.activity_log.clear();
    log(Level::Warning,
        fmt::format("{}: the Primary crashed last time: {} KiB of the activity log marked out of sync",
                    config_.resource, marked * kBlockSize / 1024));
    persist_bitmap();
    emit(action::PersistActivityLog{});
    persist_superblock();
  }
  tokens_at_ = now;
  last_bitmap_persist_ = now;
}

void ReplicaEngine::log(Level level, std::string text) { emit(action::Log{level, std::move(text)}); }

void ReplicaEngine::set_connection(ConnectionState s, std::string why) {
  if (s == cstate_) return;
  log(Level::Info, fmt::format("{}: {} -> {}{}{}", config_.resource, to_string(cstate_), to_string(s),
                               why.empty() ? "" : ": ", why));
  cstate_ = s;
  if (!why.empty()) last_event_ = std::move(why);
}

void ReplicaEngine::persist_superblock() {
  auto& sb = disk_.superblock;
  sb.bitmap_bits = disk_.bitmap.count();
  sb.flags.consistent = dstate_ != DiskState::Inconsistent;
  sb.flags.was_up_to_date = dstate_ == DiskState::UpToDate;
  emit(action::PersistSuperblock{});
}

void ReplicaEngine::persist_bitmap() { emit(action::PersistBitmap{}); }

void ReplicaEngine::new_generation(const char* why) {
  auto& u = disk_.superblock.uuids;
  if (u.bitmap == 0) {
    u.bitmap = u.current;
  } else {
    u.history[1] = u.history[0];
    u.history[0] = u.current;
  }
  u.current = config_.random64() | 1;  // never 0: 0 means "no data"
  disk_.superblock.generation_started_ms = config_.wall_ms();
  log(Level::Info, fmt::format("{}: new data generation {} ({})", config_.resource,
                               format_uuids(u), why));
}

bool ReplicaEngine::connected_state() const { return is_connected(cstate_); }

bool ReplicaEngine::replicating() const { return link_up_ && connected_state(); }

void ReplicaEngine::send(PeerMessage m) {
  if (const auto* d = std::get_if<Data>(&m); d && d->data) counters_.peer_bytes_sent += d->data->size();
  if (const auto* r = std::get_if<ResyncData>(&m); r && r->data) {
    counters_.peer_bytes_sent += r->data->size();
    counters_.resync_bytes_sent += r->data->size();
    resync_.sent_bytes += r->data->size();
  }
  emit(action::Send{std::move(m)});
}

std::vector<Action> ReplicaEngine::take_actions() {
  std::vector<Action> out;
  out.swap(actions_);
  return out;
}

// --- admin ---------------------------------------------------------------------------------

Status ReplicaEngine::connect(bool discard_my_data, TimePoint) {
  if (link_up_) return make_error(fmt::format("{} is already {}", config_.resource, to_string(cstate_)));
  want_connection_ = true;
  discard_my_data_ = discard_my_data;
  split_brain_ = false;
  set_connection(ConnectionState::WFConnection,
                 discard_my_data ? "connect (this side's data will be discarded on split brain)" : "connect");
  return {};
}

Status ReplicaEngine::disconnect(TimePoint now) {
  want_connection_ = false;
  discard_my_data_ = false;
  if (link_up_) {
    send(Goodbye{"disconnected by the administrator"});
    lose_connection("disconnected by the administrator", true, now);
  } else {
    set_connection(ConnectionState::StandAlone, "disconnect");
  }
  return {};
}

bool ReplicaEngine::can_promote(bool force, std::string* why) const {
  auto fail = [&](std::string text) {
    if (why) *why = std::move(text);
    return false;
  };
  if (role_ == Role::Primary) return true;
  if (dstate_ == DiskState::Failed || dstate_ == DiskState::Diskless)
    return fail(fmt::format("{}: no usable disk ({})", config_.resource, to_string(dstate_)));
  if (link_up_ && peer_role_ == Role::Primary)
    return fail(fmt::format("{}: the peer {} is Primary; two Primaries are not supported "
                            "(demote it first, or disconnect if it is gone)", config_.resource, config_.peer));
  if (cstate_ == ConnectionState::SyncTarget || cstate_ == ConnectionState::StartingSyncT)
    return fail(fmt::format("{}: resync from the peer in progress ({:.1f}% done): wait for it to finish",
                            config_.resource,
                            resync_.total_bytes ? 100.0 * resync_.done_bytes / resync_.total_bytes : 0.0));
  if (dstate_ != DiskState::UpToDate) {
    if (!force)
      return fail(fmt::format("{}: the disk is {}; only an UpToDate disk can become Primary "
                              "(use 'primary --force' to declare this side's data the good one)",
                              config_.resource, to_string(dstate_)));
    if (link_up_ && peer_disk_ == DiskState::UpToDate)
      return fail(fmt::format("{}: the peer's disk is UpToDate: let it sync this side instead of forcing",
                              config_.resource));
  }
  return true;
}

Status ReplicaEngine::promote(bool force, TimePoint now) {
  std::string why;
  if (!can_promote(force, &why)) {
    // Refused because the peer is Primary: is it still there? The cluster asks us to promote
    // when it believes the peer dead; a powered-off peer's link looks up until the next ping
    // (ping-int, seconds). Ping now: a dead peer's link drops after ping-timeout and the retry
    // succeeds; a live one (its clusterd died, its guard is demoting it) answers, and we wait.
    if (link_up_ && peer_role_ == Role::Primary && !ping_outstanding_) {
      send(Ping{});
      ping_outstanding_ = true;
      ping_sent_at_ = now;
    }
    return make_error(why);
  }
  if (role_ == Role::Primary) return {};
  auto& sb = disk_.superblock;
  bool start_full_sync = false;
  if (dstate_ != DiskState::UpToDate) {
    // primary --force: this side's data becomes the reference.
    // A full sync follows, so no bitmap generation: the old one goes to history, where a peer
    // still on it finds it (full sync from us instead of "unrelated data").
    auto& u = sb.uuids;
    if (u.current != 0) {
      u.history[1] = u.history[0];
      u.history[0] = u.current;
    }
    u.bitmap = 0;
    u.current = config_.random64() | 1;
    sb.generation_started_ms = config_.wall_ms();
    dstate_ = DiskState::UpToDate;
    sb.flags.full_sync_pending = false;
    disk_.bitmap.clear_all();
    start_full_sync = replicating();
  } else if (!replicating() || peer_disk_ != DiskState::UpToDate) {
    new_generation("promoted without an UpToDate peer");
  }
  role_ = Role::Primary;
  sb.flags.primary = true;
  sb.flags.crashed_primary = false;
  persist_bitmap();
  persist_superblock();
  last_event_ = force ? "promoted (forced)" : "promoted";
  log(Level::Info, fmt::format("{}: role Secondary -> Primary{}", config_.resource, force ? " (forced)" : ""));
  if (replicating()) {
    send(UuidUpdate{sb.uuids});
    send(StateUpdate{role_, dstate_});
    if (start_full_sync) {
      disk_.bitmap.set_all();
      send(StartResync{true, true});
      start_bitmap_exchange(true, true, now);
    }
  }
  return {};
}

Status ReplicaEngine::demote(TimePoint) {
  if (role_ != Role::Primary) return {};
  const std::size_t pending =
      writes_.size() + flushes_.size() + deferred_.size() + al_waiting_.size() + held_for_resync_.size();
  if (pending != 0)
    return make_error(fmt::format("{}: {} request(s) still in flight; try again", config_.resource, pending));
  role_ = Role::Secondary;
  auto& sb = disk_.superblock;
  sb.flags.primary = false;
  disk_.activity_log.clear();
  persist_bitmap();
  emit(action::PersistActivityLog{});
  persist_superblock();
  last_event_ = "demoted";
  log(Level::Info, fmt::format("{}: role Primary -> Secondary", config_.resource));
  if (replicating()) send(StateUpdate{role_, dstate_});
  return {};
}

Status ReplicaEngine::invalidate(TimePoint now) {
  if (role_ == Role::Primary) return make_error(fmt::format("{}: demote before invalidating this side", config_.resource));
  if (connected_state() && cstate_ != ConnectionState::Connected)
    return make_error(fmt::format("{}: busy ({})", config_.resource, to_string(cstate_)));
  if (replicating() && peer_disk_ != DiskState::UpToDate)
    return make_error(fmt::format("{}: the peer's disk is {}: nothing to sync from", config_.resource, to_string(peer_disk_)));
  disk_.bitmap.set_all();
  dstate_ = DiskState::Inconsistent;
  disk_.superblock.flags.full_sync_pending = true;
  persist_bitmap();
  persist_superblock();
  last_event_ = "invalidated: full sync from the peer";
  if (replicating()) {
    send(StateUpdate{role_, dstate_});
    send(StartResync{false, true});
    start_bitmap_exchange(false, true, now);
  }
  return {};
}

Status ReplicaEngine::invalidate_remote(TimePoint now) {
  if (!replicating() || cstate_ != ConnectionState::Connected)
    return make_error(fmt::format("{}: must be Connected (now {})", config_.resource, to_string(cstate_)));
  if (peer_role_ == Role::Primary) return make_error(fmt::format("{}: the peer is Primary", config_.resource));
  if (dstate_ != DiskState::UpToDate)
    return make_error(fmt::format("{}: this side is {}: it cannot be the source", config_.resource, to_string(dstate_)));
  disk_.bitmap.set_all();
  persist_bitmap();
  last_event_ = "invalidate-remote: full sync to the peer";
  send(StartResync{true, true});
  start_bitmap_exchange(true, true, now);
  return {};
}

Status ReplicaEngine::start_verify(TimePoint now) {
  if (config_.verify_alg.empty())
    return make_error(fmt::format("{}: no verify-alg configured (syncer {{ verify-alg sha1; }})", config_.resource));
  if (cstate_ != ConnectionState::Connected)
    return make_error(fmt::format("{}: must be Connected to verify (now {})", config_.resource, to_string(cstate_)));
  if (dstate_ != DiskState::UpToDate || peer_disk_ != DiskState::UpToDate)
    return make_error(fmt::format("{}: both disks must be UpToDate to verify", config_.resource));
  verify_cursor_ = 0;
  verify_total_ = data_size_;
  verify_done_ = 0;
  verify_found_ = 0;
  verify_inflight_.clear();
  verify_inflight_bytes_ = 0;
  set_connection(ConnectionState::VerifyS, "online verify started");
  tokens_at_ = now;
  tokens_ = static_cast<double>(config_.resync_chunk);
  verify_pump(now);
  return {};
}

// --- time ----------------------------------------------------------------------------------

void ReplicaEngine::tick(TimePoint now) {
  if (link_up_) {
    const bool starting = cstate_ == ConnectionState::StartingSyncS || cstate_ == ConnectionState::StartingSyncT;
    if ((!params_seen_ || starting) && now >= handshake_deadline_) {
      lose_connection(starting ? "the peer did not send its bitmap in time"
                               : "the peer did not complete the handshake in time", false, now);
      return;
    }
    if (auto oldest = oldest_peer_wait(); oldest && now - *oldest >= config_.ack_timeout) {
      lose_connection("the peer did not answer a request in time", false, now);
      return;
    }
    if (ping_outstanding_ && now - ping_sent_at_ >= config_.ping_timeout) {
      lose_connection("PingAck did not arrive in time", false, now);
      return;
    }
    if (!ping_outstanding_ && now - last_received_ >= config_.ping_int) {
      send(Ping{});
      ping_outstanding_ = true;
      ping_sent_at_ = now;
    }
  }
  if (cstate_ == ConnectionState::SyncTarget) resync_pump(now);
  if (cstate_ == ConnectionState::VerifyS) verify_pump(now);
  if ((cstate_ == ConnectionState::SyncTarget || cstate_ == ConnectionState::SyncSource) &&
      now - last_bitmap_persist_ >= std::chrono::seconds(1)) {
    persist_bitmap();
    last_bitmap_persist_ = now;
  }
  retry_deferred(now);
}

std::optional<TimePoint> ReplicaEngine::next_timer() const {
  std::optional<TimePoint> at;
  auto consider = [&](TimePoint t) {
    if (!at || t < *at) at = t;
  };
  if (link_up_) {
    if (!params_seen_ || cstate_ == ConnectionState::StartingSyncS || cstate_ == ConnectionState::StartingSyncT)
      consider(handshake_deadline_);
    if (ping_outstanding_) consider(ping_sent_at_ + config_.ping_timeout);
    else consider(last_received_ + config_.ping_int);
    if (auto oldest = oldest_peer_wait()) consider(*oldest + config_.ack_timeout);
  }
  if (cstate_ == ConnectionState::SyncTarget || cstate_ == ConnectionState::VerifyS) {
    const double missing = static_cast<double>(config_.resync_chunk) - tokens_;
    const double rate = static_cast<double>(std::max<std::uint64_t>(config_.resync_rate, 1));
    auto wait = std::chrono::duration_cast<Duration>(
        std::chrono::duration<double>(std::max(missing, 0.0) / rate));
    consider(tokens_at_ + std::max(wait, Duration(std::chrono::milliseconds(1))));
  }
  if (cstate_ == ConnectionState::SyncTarget || cstate_ == ConnectionState::SyncSource)
    consider(last_bitmap_persist_ + std::chrono::seconds(1));
  return at;
}

// The oldest thing this side waits for from the peer: an ack of a write or flush, an answer to
// a resync or verify request. A peer that sits on one longer than `timeout` is treated as gone.
std::optional<TimePoint> ReplicaEngine::oldest_peer_wait() const {
  std::optional<TimePoint> oldest;
  auto consider = [&](TimePoint t) {
    if (!oldest || t < *oldest) oldest = t;
  };
  if (!unacked_since_.empty()) consider(unacked_since_.begin()->second);  // in send order
  for (const auto& [id, f] : flushes_)
    if (!f.peer_done) consider(f.sent);
  for (const auto& [offset, at] : resync_asked_at_) consider(at);
  for (const auto& [offset, slot] : verify_inflight_)
    if (!slot.have_theirs) consider(slot.asked);
  return oldest;
}

EngineStatus ReplicaEngine::status(TimePoint) const {
  EngineStatus s;
  s.resource = config_.resource;
  s.node = config_.node;
  s.peer = config_.peer;
  s.role = role_;
  s.peer_role = link_up_ ? peer_role_ : Role::Unknown;
  s.connection = cstate_;
  s.disk = dstate_;
  s.peer_disk = link_up_ ? peer_disk_ : DiskState::DUnknown;
  s.protocol = config_.protocol;
  s.data_size = data_size_;
  s.out_of_sync_bytes = disk_.bitmap.count() * kBlockSize;
  s.resync = resync_;
  s.verify_done_bytes = verify_done_;
  s.verify_total_bytes = verify_total_;
  s.uuids = disk_.superblock.uuids;
  s.last_event = last_event_;
  s.split_brain = split_brain_;
  s.pending_requests =
      writes_.size() + flushes_.size() + deferred_.size() + al_waiting_.size() + held_for_resync_.size();
  s.pending_in_flight = writes_.size() + flushes_.size();
  s.pending_for_slots = deferred_.size();
  s.pending_for_log = al_waiting_.size();
  s.pending_for_resync = held_for_resync_.size();
  s.counters = counters_;
  return s;
}

}  // namespace hapbx::replica
