// The replication engine's peer link: handshake (Hello, challenge-response, Params), the sync
// decision, bitmap exchange, state updates from the peer, and losing the connection.
#include <fmt/format.h>

#include <algorithm>

#include "replica/digest.h"
#include "replica/replica_engine.h"

namespace hapbx::replica {

using Level = action::Log::Level;

namespace {
constexpr std::size_t kChallengeBytes = 32;
constexpr std::size_t kBitmapChunkBytes = 64 * 1024;
}  // namespace

bool ReplicaEngine::wants_connection() const { return want_connection_ && !link_up_; }

void ReplicaEngine::transport_up(TimePoint now) {
  if (!want_connection_ || link_up_) {
    emit(action::CloseConnection{link_up_ ? "a connection is already up" : "not connecting (StandAlone)"});
    return;
  }
  ++connection_id_;
  ++counters_.connects;
  link_up_ = true;
  hello_seen_ = peer_authenticated_ = params_sent_ = params_seen_ = false;
  bitmap_sent_ = bitmap_received_ = false;
  ping_outstanding_ = false;
  last_received_ = now;
  handshake_deadline_ = now + std::max<Duration>(config_.connect_int, std::chrono::seconds(5));
  // write_seq_ runs on across connections: it keys writes_, where writes of an old connection
  // may still wait for their local completion. The peer takes the first seq it sees as the base.
  peer_write_seq_ = 0;
  my_challenge_.clear();
  if (!config_.auth_alg.empty()) {
    while (my_challenge_.size() < kChallengeBytes) {
      std::uint64_t r = config_.random64();
      for (int i = 0; i < 8; ++i) my_challenge_.push_back(static_cast<std::uint8_t>(r >> (8 * i)));
    }
  }
  set_connection(ConnectionState::WFReportParams, "");
  send(Hello{kWireVersion, kWireVersion, config_.resource, config_.node, my_challenge_});
}

void ReplicaEngine::transport_down(std::string reason, TimePoint now) {
  if (!link_up_) return;
  lose_connection(std::move(reason), false, now);
}

void ReplicaEngine::refuse(std::string why, bool standalone, TimePoint now) {
  log(Level::Error, fmt::format("{}: {}", config_.resource, why));
  send(Goodbye{why});
  lose_connection(std::move(why), standalone, now);
}

void ReplicaEngine::protocol_error(std::string what, TimePoint now) {
  ++counters_.protocol_errors;
  refuse(fmt::format("protocol error from {}: {}", config_.peer, what), false, now);
}

void ReplicaEngine::lose_connection(std::string why, bool standalone, TimePoint now) {
  if (!link_up_) return;
  const bool was_replicating = replicating() && peer_disk_ != DiskState::Diskless;
  const ConnectionState was = cstate_;
  link_up_ = false;
  emit(action::CloseConnection{why});
  fail_peer_part_of_pending(now);
  resync_inflight_.clear();
  resync_asked_at_.clear();
  resync_inflight_bytes_ = 0;
  verify_inflight_.clear();
  verify_inflight_bytes_ = 0;
  resync_.active = false;
  ping_outstanding_ = false;
  if (was == ConnectionState::SyncTarget || was == ConnectionState::SyncSource ||
      was == ConnectionState::StartingSyncT || was == ConnectionState::StartingSyncS)
    persist_bitmap();
  if (role_ == Role::Primary && was_replicating) {
    new_generation("lost the peer while Primary");
    persist_superblock();
  }
  peer_role_ = Role::Unknown;
  peer_disk_ = DiskState::DUnknown;
  if (standalone) want_connection_ = false;
  set_connection(want_connection_ ? ConnectionState::WFConnection : ConnectionState::StandAlone, std::move(why));
  retry_deferred(now);
}

SyncView ReplicaEngine::my_view() const {
  SyncView v;
  v.uuids = disk_.superblock.uuids;
  v.flags = disk_.superblock.flags;
  v.flags.consistent = dstate_ != DiskState::Inconsistent;
  v.role = role_;
  v.bitmap_bits = disk_.bitmap.count();
  v.generation_started_ms = disk_.superblock.generation_started_ms;
  v.discard_my_data = discard_my_data_;
  return v;
}

void ReplicaEngine::send_params() {
  Params p;
  p.protocol = config_.protocol;
  p.data_size = disk_.superblock.data_size;
  p.last_agreed_size = disk_.superblock.last_agreed_size;
  p.view = my_view();
  p.disk = dstate_;
  p.csums_alg = config_.csums_alg;
  p.verify_alg = config_.verify_alg;
  p.integrity_alg = config_.integrity_alg;
  p.boot_id = boot_id_;
  sent_params_ = p;
  params_sent_ = true;
  send(std::move(p));
}

void ReplicaEngine::on_hello(const Hello& m, TimePoint now) {
  if (hello_seen_) return protocol_error("a second Hello", now);
  hello_seen_ = true;
  if (m.version_max < kWireVersion || m.version_min > kWireVersion)
    return refuse(fmt::format("the peer speaks protocol versions {}-{}, we speak {}", m.version_min,
                              m.version_max, kWireVersion), false, now);
  if (m.resource != config_.resource)
    return refuse(fmt::format("the peer at this address serves resource '{}', not '{}'", m.resource,
                              config_.resource), true, now);
  if (m.node != config_.peer)
    return refuse(fmt::format("the peer calls itself '{}', but the configuration expects '{}'", m.node,
                              config_.peer), true, now);
  if (config_.auth_alg.empty()) {
    if (!m.challenge.empty())
      return refuse("the peer requires authentication (cram-hmac-alg) and this side has none: "
                    "use the same net { } section on both nodes", false, now);
    peer_authenticated_ = true;
    send_params();
    return;
  }
  if (m.challenge.empty())
    return refuse("the peer does not authenticate (no cram-hmac-alg) but this side requires it", false, now);
  auto alg = digest_alg_from_name(config_.auth_alg);
  if (!alg) return refuse(fmt::format("unknown cram-hmac-alg '{}'", config_.auth_alg), true, now);
  send(AuthResponse{auth_response(*alg, config_.shared_secret, m.challenge, config_.node)});
}

void ReplicaEngine::on_auth(const AuthResponse& m, TimePoint now) {
  if (config_.auth_alg.empty() || peer_authenticated_ || !hello_seen_)
    return protocol_error("an unexpected AuthResponse", now);
  auto alg = digest_alg_from_name(config_.auth_alg);
  const Bytes expected = alg ? auth_response(*alg, config_.shared_secret, my_challenge_, config_.peer) : Bytes{};
  if (expected.empty() || !constant_time_equal(expected, m.response)) {
    ++counters_.auth_failures;
    return refuse(fmt::format("authentication of peer {} failed (wrong shared-secret?)", config_.peer), false, now);
  }
  peer_authenticated_ = true;
  send_params();
}

void ReplicaEngine::on_params(const Params& m, TimePoint now) {
  if (!peer_authenticated_ || !params_sent_ || params_seen_)
    return protocol_error("Params before authentication or twice", now);
  params_seen_ = true;
  peer_params_ = m;
  peer_role_ = m.view.role;
  peer_disk_ = m.disk;
  if (m.protocol != config_.protocol)
    return refuse(fmt::format("protocol mismatch: the peer uses {}, this side {}", to_string(m.protocol),
                              to_string(config_.protocol)), true, now);
  if (m.csums_alg != config_.csums_alg || m.verify_alg != config_.verify_alg ||
      m.integrity_alg != config_.integrity_alg)
    return refuse(fmt::format("digest settings differ (csums-alg '{}'/'{}', verify-alg '{}'/'{}', "
                              "data-integrity-alg '{}'/'{}'): use the same on both nodes",
                              config_.csums_alg, m.csums_alg, config_.verify_alg, m.verify_alg,
                              config_.integrity_alg, m.integrity_alg), true, now);
  if (role_ == Role::Primary && m.view.role == Role::Primary) {
    ++counters_.split_brains;
    split_brain_ = true;
    return refuse("both sides are Primary (split brain, after-sb-2pri): staying StandAlone; demote one "
                  "and connect it with --discard-my-data", true, now);
  }
  // Sizes: the smaller disk wins, unless that would cut data this side already agreed on.
  auto& sb = disk_.superblock;
  const std::uint64_t agreed = std::min(sb.data_size, m.data_size);
  const bool i_have_data = dstate_ == DiskState::UpToDate || dstate_ == DiskState::Outdated;
  if (i_have_data && sb.last_agreed_size != 0 && agreed < sb.last_agreed_size)
    return refuse(fmt::format("the peer's disk ({} KiB) is smaller than the size this side holds data "
                              "for ({} KiB): refusing, data would be cut", m.data_size / 1024,
                              sb.last_agreed_size / 1024), true, now);
  if (m.data_size != sb.data_size)
    log(Level::Warning, fmt::format("{}: disk sizes differ (this side {} KiB, peer {} KiB): using {} KiB",
                                    config_.resource, sb.data_size / 1024, m.data_size / 1024, agreed / 1024));
  data_size_ = agreed;
  if (sb.last_agreed_size != agreed) {
    sb.last_agreed_size = agreed;
    persist_superblock();
  }

  const SyncPolicies policies = config_.policies;
  const SyncVerdict v = decide_sync(sent_params_.view, m.view, policies, config_.node < config_.peer);
  log(Level::Info, fmt::format("{}: handshake with {}: {} ({})", config_.resource, config_.peer,
                               to_string(v.decision), v.reason));
  switch (v.decision) {
    case SyncDecision::NoSync:
    case SyncDecision::BothJustCreated:
      discard_my_data_ = false;
      if (v.decision == SyncDecision::NoSync && dstate_ != DiskState::Inconsistent) dstate_ = DiskState::UpToDate;
      set_connection(ConnectionState::Connected, v.reason);
      return;
    case SyncDecision::BitmapSource: return start_bitmap_exchange(true, false, now);
    case SyncDecision::BitmapTarget:
      if (role_ == Role::Primary)
        return refuse("this Primary would have to be the sync target: demote it first", true, now);
      return start_bitmap_exchange(false, false, now);
    case SyncDecision::FullSource: return start_bitmap_exchange(true, true, now);
    case SyncDecision::FullTarget:
      if (role_ == Role::Primary)
        return refuse("this Primary would have to be the sync target: demote it first", true, now);
      return start_bitmap_exchange(false, true, now);
    case SyncDecision::SplitBrainAutoSource:
    case SyncDecision::SplitBrainAutoTarget: {
      ++counters_.split_brains;
      const bool source = v.decision == SyncDecision::SplitBrainAutoSource;
      log(Level::Warning, fmt::format("{}: {}", config_.resource, v.reason));
      if (!source && role_ == Role::Primary)
        return refuse("split brain: this Primary would be discarded: demote it first", true, now);
      return start_bitmap_exchange(source, false, now);
    }
    case SyncDecision::SplitBrain:
      ++counters_.split_brains;
      split_brain_ = true;
      return refuse(v.reason, true, now);
    case SyncDecision::Unrelated: return refuse(v.reason, true, now);
  }
}

void ReplicaEngine::start_bitmap_exchange(bool as_source, bool full, TimePoint now) {
  exchange_as_source_ = as_source;
  discard_my_data_ = false;
  if (full) disk_.bitmap.set_all();
  if (!as_source) {
    dstate_ = DiskState::Inconsistent;
    persist_bitmap();
    persist_superblock();
  }
  peer_bitmap_ = Bitmap(peer_params_.data_size / kBlockSize);
  handshake_deadline_ = now + std::max<Duration>(config_.connect_int, std::chrono::seconds(5));
  bitmap_rx_next_ = 0;
  bitmap_received_ = false;
  set_connection(as_source ? ConnectionState::StartingSyncS : ConnectionState::StartingSyncT,
                 full ? "full sync" : "bitmap exchange");
  send_bitmap();
  maybe_begin_resync(now);
}

void ReplicaEngine::send_bitmap() {
  std::uint64_t next = 0;
  const std::uint64_t blocks = disk_.bitmap.blocks();
  do {
    const std::uint64_t first = next;
    Bytes runs = disk_.bitmap.encode_runs(first, kBitmapChunkBytes, &next);
    send(BitmapChunk{first, std::move(runs), next >= blocks});
  } while (next < blocks);
  bitmap_sent_ = true;
}

void ReplicaEngine::on_bitmap_chunk(const BitmapChunk& m, TimePoint now) {
  if (cstate_ != ConnectionState::StartingSyncS && cstate_ != ConnectionState::StartingSyncT)
    return protocol_error("a bitmap outside a resync start", now);
  if (bitmap_received_ || m.first_block != bitmap_rx_next_)
    return protocol_error(fmt::format("bitmap chunk at block {} (expected {})", m.first_block, bitmap_rx_next_), now);
  std::uint64_t next = 0;
  if (Status s = peer_bitmap_.merge_runs(m.first_block, m.runs, &next); !s)
    return protocol_error("bitmap: " + s.error().message, now);
  bitmap_rx_next_ = next;
  if (m.last) {
    bitmap_received_ = true;
    disk_.bitmap.merge(peer_bitmap_);
    peer_bitmap_ = Bitmap();
    persist_bitmap();
  }
  maybe_begin_resync(now);
}

void ReplicaEngine::maybe_begin_resync(TimePoint now) {
  if (!bitmap_sent_ || !bitmap_received_) return;
  bitmap_sent_ = bitmap_received_ = false;
  resync_ = ResyncProgress{};
  resync_.active = true;
  resync_.started = now;
  // Only the agreed size takes part.
  const std::uint64_t blocks = data_size_ / kBlockSize;
  std::uint64_t total = 0;
  for (auto b = disk_.bitmap.next_set(0); b && *b < blocks; b = disk_.bitmap.next_set(*b + 1)) {
    const std::uint64_t run = disk_.bitmap.run_length(*b, blocks - *b);
    total += run;
    b = *b + run - 1;
  }
  resync_.total_bytes = total * kBlockSize;
  resync_cursor_ = 0;
  resync_done_sent_ = false;
  tokens_at_ = now;
  tokens_ = static_cast<double>(config_.resync_chunk);
  last_bitmap_persist_ = now;
  if (exchange_as_source_) {
    peer_disk_ = DiskState::Inconsistent;
    set_connection(ConnectionState::SyncSource,
                   fmt::format("resync of {} KiB to {}", resync_.total_bytes / 1024, config_.peer));
  } else {
    set_connection(ConnectionState::SyncTarget,
                   fmt::format("resync of {} KiB from {}", resync_.total_bytes / 1024, config_.peer));
    resync_pump(now);
  }
}

void ReplicaEngine::on_start_resync(const StartResync& m, TimePoint now) {
  if (cstate_ != ConnectionState::Connected) return protocol_error("StartResync while not Connected", now);
  if (!m.sender_is_source && role_ != Role::Primary && dstate_ != DiskState::UpToDate)
    return refuse("the peer wants to sync from this side, but this disk is not UpToDate", false, now);
  if (m.sender_is_source && role_ == Role::Primary)
    return refuse("the peer wants to overwrite this Primary: refusing", false, now);
  if (m.sender_is_source) peer_disk_ = DiskState::UpToDate;
  start_bitmap_exchange(!m.sender_is_source, m.full, now);
}

void ReplicaEngine::message(PeerMessage&& m, TimePoint now) {
  if (!link_up_) return;
  last_received_ = now;
  // Before authentication only the handshake may pass.
  const bool handshake = std::holds_alternative<Hello>(m) || std::holds_alternative<AuthResponse>(m) ||
                         std::holds_alternative<Goodbye>(m);
  if (!handshake && !(peer_authenticated_ && (params_seen_ || std::holds_alternative<Params>(m))))
    return protocol_error(fmt::format("{} before the handshake finished", message_name(m)), now);

  std::visit(
      [&](auto&& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, Hello>) on_hello(msg, now);
        else if constexpr (std::is_same_v<T, AuthResponse>) on_auth(msg, now);
        else if constexpr (std::is_same_v<T, Params>) on_params(msg, now);
        else if constexpr (std::is_same_v<T, BitmapChunk>) on_bitmap_chunk(msg, now);
        else if constexpr (std::is_same_v<T, StartResync>) on_start_resync(msg, now);
        else if constexpr (std::is_same_v<T, StateUpdate>) {
          if (msg.role == Role::Primary && role_ == Role::Primary)
            return refuse("the peer became Primary too: two Primaries are not supported", true, now);
          peer_role_ = msg.role;
          peer_disk_ = msg.disk;
          // The target reports UpToDate right after its ResyncDone: either one ends the resync.
          if (cstate_ == ConnectionState::SyncSource && msg.disk == DiskState::UpToDate) finish_resync_as_source(now);
        } else if constexpr (std::is_same_v<T, UuidUpdate>) peer_params_.view.uuids = msg.uuids;
        else if constexpr (std::is_same_v<T, Data>) on_peer_data(std::move(msg), now);
        else if constexpr (std::is_same_v<T, Zero>) on_peer_zero(msg, now);
        else if constexpr (std::is_same_v<T, RecvAck>) on_recv_ack(msg.seq);
        else if constexpr (std::is_same_v<T, WriteAck>) on_write_ack(msg.seq, true, now);
        else if constexpr (std::is_same_v<T, NegAck>) on_write_ack(msg.seq, false, now);
        else if constexpr (std::is_same_v<T, Flush>) on_peer_flush(msg, now);
        else if constexpr (std::is_same_v<T, FlushAck>) on_flush_ack(msg.id);
        else if constexpr (std::is_same_v<T, ResyncRequest>) on_resync_request(msg, now);
        else if constexpr (std::is_same_v<T, CsumRequest>) on_csum_request(std::move(msg), now);
        else if constexpr (std::is_same_v<T, ResyncData>) on_resync_data(std::move(msg), now);
        else if constexpr (std::is_same_v<T, ResyncInSync>) on_resync_in_sync(msg, now);
        else if constexpr (std::is_same_v<T, ResyncAck>) on_resync_ack(msg, now);
        else if constexpr (std::is_same_v<T, ResyncDone>) on_resync_done(msg, now);
        else if constexpr (std::is_same_v<T, VerifyRequest>) on_verify_request(msg, now);
        else if constexpr (std::is_same_v<T, VerifyReply>) on_verify_reply(std::move(msg), now);
        else if constexpr (std::is_same_v<T, VerifyDone>) {
          if (cstate_ == ConnectionState::VerifyT) set_connection(ConnectionState::Connected, "online verify done (peer)");
        } else if constexpr (std::is_same_v<T, OutOfSync>) {
          if (msg.offset + msg.length > data_size_ || msg.offset + msg.length < msg.offset)
            return protocol_error("OutOfSync beyond the end of the disk", now);
          disk_.bitmap.set_range(msg.offset, msg.length);
        } else if constexpr (std::is_same_v<T, Ping>) send(PingAck{});
        else if constexpr (std::is_same_v<T, PingAck>) ping_outstanding_ = false;
        else if constexpr (std::is_same_v<T, Goodbye>) {
          log(Level::Warning, fmt::format("{}: the peer closed the connection: {}", config_.resource, msg.reason));
          lose_connection(fmt::format("the peer closed the connection: {}", msg.reason), false, now);
        }
      },
      std::move(m));
}

}  // namespace hapbx::replica
