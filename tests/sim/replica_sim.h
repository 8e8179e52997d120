// A deterministic two-node simulation of the replication engine: two ReplicaEngines, their
// disks (data + persisted metadata), their local I/O queues, the TCP link between them and an
// application on the Primary, all driven by one random generator from a seed.
//
// What a step can do: deliver one message, complete one local I/O, submit one application
// write/flush, advance the clock, and (when asked) crash a node, cut or heal the link. A crash
// is a process death: the I/O already done stays on the disk, queued I/O and messages are lost,
// the engine restarts from what was persisted.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "replica/replica_engine.h"
#include "replica/digest.h"

namespace hapbx::replica::sim {

inline constexpr std::uint64_t kSimBlocks = 4096;  // 16 MiB of data: four activity-log extents
inline constexpr std::uint64_t kSimDataSize = kSimBlocks * kBlockSize;

// The persisted state of a node: what survives a crash.
struct SimDisk {
  std::vector<std::uint64_t> blocks = std::vector<std::uint64_t>(kSimBlocks, 0);  // a version per block
  Superblock superblock;
  Bitmap bitmap{kSimBlocks};
  ActivityLog activity_log{2};
};

// One queued local operation (Persist* carry the snapshot taken when the action was emitted).
struct SimIo {
  enum class Kind { Io, Superblock, Bitmap, ActivityLog } kind = Kind::Io;
  action::LocalIo io;
  Superblock superblock;
  Bitmap bitmap;
  ActivityLog activity_log{2};
};

struct SimNode {
  std::string name, peer;
  std::unique_ptr<ReplicaEngine> engine;
  SimDisk disk;
  std::deque<SimIo> io_queue;
  bool alive = true;
  std::vector<std::string> log;
};

struct AppWrite {
  std::uint64_t block = 0;
  std::uint64_t version = 0;
  std::string node;
};

class Simulation {
 public:
  explicit Simulation(std::uint64_t seed, Protocol protocol = Protocol::C, SyncPolicies policies = {},
                      std::string csums = "");

  SimNode& node(int i) { return nodes_[i]; }
  ReplicaEngine& engine(int i) { return *nodes_[i].engine; }
  core::TimePoint now() const { return clock_.now(); }
  std::mt19937_64& rng() { return rng_; }

  // One random step. Returns false when nothing at all was pending.
  bool step(bool allow_app_writes);
  // Runs steps until the predicate holds or the step budget runs out.
  template <typename Pred>
  bool run_until(Pred pred, int max_steps = 200000) {
    for (int i = 0; i < max_steps; ++i) {
      if (pred()) return true;
      step(false);
    }
    return pred();
  }
  bool quiet() const;  // no message, no I/O, no app request pending

  void crash(int i);
  void restart(int i);
  void cut_link();
  void heal_link();
  bool link_healthy() const { return link_ok_; }

  // The application on node i (must be Primary): writes block `block` with a new version.
  void app_write(int i, std::uint64_t block);
  std::size_t app_inflight() const { return app_inflight_.size(); }

  // Per block, the newest version acknowledged to the application (by any Primary).
  const std::map<std::uint64_t, std::uint64_t>& acked() const { return acked_; }
  std::uint64_t bytes_resynced() const;

  std::string dump() const;
  bool disks_identical() const;
  std::uint64_t version_on(int i, std::uint64_t block) const { return nodes_[i].disk.blocks[block]; }

  // Chaos on the link (duplicates, drops of messages whose loss the engine must notice).
  bool chaos = false;
  std::string secrets[2] = {"sim-secret", "sim-secret"};  // set before restart() to test auth
  int chaos_events = 0;

 private:
  EngineConfig config_for(int i);
  void pump(int i);
  void connect_if_wanted();
  void deliver(int from);
  void run_io(int i);

  std::mt19937_64 rng_;
  core::ManualClock clock_;
  Protocol protocol_;
  SyncPolicies policies_;
  std::string csums_;
  SimNode nodes_[2];
  // Messages in flight per direction (0: from node 0 to node 1).
  std::deque<PeerMessage> wire_[2];
  bool link_ok_ = true;
  bool connected_ = false;
  std::uint64_t next_version_ = 1;
  std::uint64_t next_request_ = 1;
  std::map<std::uint64_t, AppWrite> app_inflight_;  // request id -> write
  std::map<std::uint64_t, std::uint64_t> acked_;
  std::uint64_t resynced_base_[2] = {0, 0};
};

}  // namespace hapbx::replica::sim

// ---- implementation (header-only: the simulation is test code) ----------------------------
namespace hapbx::replica::sim {

inline Payload block_payload(const std::vector<std::uint64_t>& versions, std::uint64_t offset, std::uint64_t length) {
  auto bytes = std::make_shared<std::vector<std::uint8_t>>(length, 0);
  for (std::uint64_t off = 0; off < length; off += kBlockSize) {
    const std::uint64_t v = versions[(offset + off) / kBlockSize];
    for (int i = 0; i < 8; ++i) (*bytes)[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  return bytes;
}

inline std::uint64_t payload_version(const std::vector<std::uint8_t>& data, std::uint64_t off) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(data[off + i]) << (8 * i);
  return v;
}

inline Simulation::Simulation(std::uint64_t seed, Protocol protocol, SyncPolicies policies, std::string csums)
    : rng_(seed), protocol_(protocol), policies_(policies), csums_(std::move(csums)) {
  const char* names[2] = {"asterisk1", "asterisk2"};
  for (int i = 0; i < 2; ++i) {
    nodes_[i].name = names[i];
    nodes_[i].peer = names[1 - i];
    nodes_[i].disk.superblock.resource = "r0";
    nodes_[i].disk.superblock.data_size = kSimDataSize;
    nodes_[i].disk.superblock.al_slots = 2;
    restart(i);
  }
}

inline EngineConfig Simulation::config_for(int i) {
  EngineConfig c;
  c.resource = "r0";
  c.node = nodes_[i].name;
  c.peer = nodes_[i].peer;
  c.protocol = protocol_;
  c.policies = policies_;
  c.resync_rate = 64u << 20;
  c.csums_alg = csums_;
  c.verify_alg = "crc32c";
  c.auth_alg = "sha256";
  c.shared_secret = secrets[i];
  c.ping_int = std::chrono::seconds(1);
  c.ping_timeout = std::chrono::milliseconds(500);
  c.ack_timeout = std::chrono::seconds(3);
  c.connect_int = std::chrono::seconds(1);
  auto shared = std::make_shared<std::mt19937_64>(rng_());
  c.random64 = [shared] { return (*shared)(); };
  const core::ManualClock* clock = &clock_;
  c.wall_ms = [clock] {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(clock->now().time_since_epoch()).count());
  };
  return c;
}

inline void Simulation::restart(int i) {
  SimNode& n = nodes_[i];
  EngineDisk d;
  d.superblock = n.disk.superblock;
  d.bitmap = n.disk.bitmap;
  d.activity_log = n.disk.activity_log;
  n.engine = std::make_unique<ReplicaEngine>(config_for(i), std::move(d), now());
  n.alive = true;
  n.io_queue.clear();
  (void)n.engine->connect(false, now());
  pump(i);
}

inline void Simulation::crash(int i) {
  SimNode& n = nodes_[i];
  if (!n.alive) return;
  n.alive = false;
  n.io_queue.clear();
  n.engine.reset();
  for (auto it = app_inflight_.begin(); it != app_inflight_.end();) {
    if (it->second.node == n.name) it = app_inflight_.erase(it);
    else ++it;
  }
  if (connected_) {
    connected_ = false;
    wire_[0].clear();
    wire_[1].clear();
    SimNode& other = nodes_[1 - i];
    if (other.alive) {
      other.engine->transport_down("connection reset by peer", now());
      pump(1 - i);
    }
  }
}

inline void Simulation::cut_link() {
  link_ok_ = false;
  // Nobody notices at once: pings and ack timeouts find out.
}

inline void Simulation::heal_link() { link_ok_ = true; }

inline void Simulation::pump(int i) {
  SimNode& n = nodes_[i];
  if (!n.alive) return;
  for (Action& a : n.engine->take_actions()) {
    if (auto* io = std::get_if<action::LocalIo>(&a)) {
      SimIo q;
      q.io = std::move(*io);
      n.io_queue.push_back(std::move(q));
    } else if (std::holds_alternative<action::PersistSuperblock>(a)) {
      SimIo q;
      q.kind = SimIo::Kind::Superblock;
      q.superblock = n.engine->superblock();
      n.io_queue.push_back(std::move(q));
    } else if (std::holds_alternative<action::PersistBitmap>(a)) {
      SimIo q;
      q.kind = SimIo::Kind::Bitmap;
      q.bitmap = n.engine->bitmap();
      n.io_queue.push_back(std::move(q));
    } else if (std::holds_alternative<action::PersistActivityLog>(a)) {
      SimIo q;
      q.kind = SimIo::Kind::ActivityLog;
      q.activity_log = n.engine->activity_log();
      n.io_queue.push_back(std::move(q));
    } else if (auto* send = std::get_if<action::Send>(&a)) {
      if (connected_) wire_[i].push_back(std::move(send->message));
    } else if (auto* close = std::get_if<action::CloseConnection>(&a)) {
      if (connected_) {
        // A close is a FIN: what this side sent before it still arrives (unless the cable is
        // out), what the other side sends from now on is lost.
        connected_ = false;
        std::deque<PeerMessage> last_words;
        if (link_ok_) last_words.swap(wire_[i]);
        wire_[0].clear();
        wire_[1].clear();
        SimNode& other = nodes_[1 - i];
        if (other.alive) {
          for (PeerMessage& m : last_words) {
            other.engine->message(std::move(m), now());
            pump(1 - i);
          }
          other.engine->transport_down("peer closed: " + close->reason, now());
          pump(1 - i);
        }
      }
    } else if (auto* done = std::get_if<action::Complete>(&a)) {
      auto it = app_inflight_.find(done->id);
      if (it != app_inflight_.end()) {
        if (done->error == 0) {
          auto& v = acked_[it->second.block];
          v = std::max(v, it->second.version);
        }
        app_inflight_.erase(it);
      }
    } else if (auto* l = std::get_if<action::Log>(&a)) {
      n.log.push_back(l->text);
      if (n.log.size() > 200) n.log.erase(n.log.begin());
    }
  }
}

inline void Simulation::connect_if_wanted() {
  if (connected_ || !link_ok_ || !nodes_[0].alive || !nodes_[1].alive) return;
  if (!engine(0).wants_connection() || !engine(1).wants_connection()) return;
  connected_ = true;
  engine(0).transport_up(now());
  engine(1).transport_up(now());
  pump(0);
  pump(1);
}

inline void Simulation::deliver(int from) {
  PeerMessage m = std::move(wire_[from].front());
  wire_[from].pop_front();
  SimNode& to = nodes_[1 - from];
  if (!to.alive) return;
  to.engine->message(std::move(m), now());
  pump(1 - from);
}

inline void Simulation::run_io(int i) {
  SimNode& n = nodes_[i];
  SimIo q = std::move(n.io_queue.front());
  n.io_queue.pop_front();
  switch (q.kind) {
    case SimIo::Kind::Superblock: n.disk.superblock = q.superblock; return;
    case SimIo::Kind::Bitmap: n.disk.bitmap = q.bitmap; return;
    case SimIo::Kind::ActivityLog: n.disk.activity_log = q.activity_log; return;
    case SimIo::Kind::Io: break;
  }
  const auto& io = q.io;
  Payload out;
  using K = action::LocalIo::Kind;
  if (io.kind == K::Write) {
    for (std::uint64_t off = 0; off < io.length; off += kBlockSize)
      n.disk.blocks[(io.offset + off) / kBlockSize] = payload_version(*io.data, off);
  } else if (io.kind == K::Zero) {
    for (std::uint64_t off = 0; off < io.length; off += kBlockSize) n.disk.blocks[(io.offset + off) / kBlockSize] = 0;
  } else if (io.kind == K::Barrier || io.kind == K::Flush) {
    // Nothing to do: the queue is in order, and a process crash keeps what was written.
  } else if (io.kind == K::Read) {
    out = block_payload(n.disk.blocks, io.offset, io.length);
  }
  n.engine->local_io_done(io.tag, 0, std::move(out), now());
  pump(i);
}

inline void Simulation::app_write(int i, std::uint64_t block) {
  SimNode& n = nodes_[i];
  if (!n.alive || n.engine->role() != Role::Primary) return;
  for (const auto& [id, w] : app_inflight_)
    if (w.block == block) return;  // one write per block in flight, as a filesystem does
  const std::uint64_t id = next_request_++;
  const std::uint64_t version = next_version_++;
  app_inflight_[id] = AppWrite{block, version, n.name};
  DeviceRequest r;
  r.kind = DeviceRequest::Kind::Write;
  r.id = id;
  r.offset = block * kBlockSize;
  r.length = kBlockSize;
  r.data.assign(kBlockSize, 0);
  for (int b = 0; b < 8; ++b) r.data[b] = static_cast<std::uint8_t>(version >> (8 * b));
  n.engine->device_request(std::move(r), now());
  pump(i);
}

inline bool Simulation::quiet() const {
  return wire_[0].empty() && wire_[1].empty() && nodes_[0].io_queue.empty() && nodes_[1].io_queue.empty() &&
         app_inflight_.empty();
}

inline bool Simulation::step(bool allow_app_writes) {
  connect_if_wanted();
  std::vector<int> choices;  // 0,1: deliver from; 2,3: io on; 4: app write; 5: time
  for (int i = 0; i < 2; ++i) {
    if (connected_ && link_ok_ && !wire_[i].empty()) choices.push_back(i);
    if (nodes_[i].alive && !nodes_[i].io_queue.empty()) choices.push_back(2 + i);
  }
  if (allow_app_writes && app_inflight_.size() < 8) choices.push_back(4);
  // Time moves rarely while work is pending: messages and local I/O take microseconds, timers
  // milliseconds; otherwise the simulated link would look slow and trip the timeouts.
  if (choices.empty() || std::uniform_int_distribution<int>(0, 15)(rng_) == 0) choices.push_back(5);
  if (choices.empty()) choices.push_back(5);
  const int pick = choices[std::uniform_int_distribution<std::size_t>(0, choices.size() - 1)(rng_)];
  if (chaos && pick < 2 && !wire_[pick].empty() && std::uniform_int_distribution<int>(0, 30)(rng_) == 0) {
    // Duplicate or drop the next message. Data loss inside a TCP stream never happens, so this
    // tests that the engine notices a broken stream (seq gaps, unrequested answers, timeouts).
    // Only messages whose loss a timeout, a sequence number or a request map reveals are
    // dropped; any message may be duplicated.
    const PeerMessage& m = wire_[pick].front();
    const bool droppable =
        std::holds_alternative<Data>(m) || std::holds_alternative<Zero>(m) || std::holds_alternative<WriteAck>(m) ||
        std::holds_alternative<RecvAck>(m) || std::holds_alternative<FlushAck>(m) ||
        std::holds_alternative<ResyncData>(m) || std::holds_alternative<ResyncInSync>(m) ||
        std::holds_alternative<ResyncRequest>(m) || std::holds_alternative<CsumRequest>(m) ||
        std::holds_alternative<Ping>(m) || std::holds_alternative<PingAck>(m) || std::holds_alternative<Hello>(m) ||
        std::holds_alternative<AuthResponse>(m) || std::holds_alternative<Params>(m) ||
        std::holds_alternative<BitmapChunk>(m);
    ++chaos_events;
    if (!droppable || std::uniform_int_distribution<int>(0, 1)(rng_) == 0) wire_[pick].push_front(wire_[pick].front());
    else wire_[pick].pop_front();
    return true;
  }
  switch (pick) {
    case 0:
    case 1: deliver(pick); break;
    case 2:
    case 3: run_io(pick - 2); break;
    case 4:
      for (int i = 0; i < 2; ++i)
        if (nodes_[i].alive && nodes_[i].engine->role() == Role::Primary)
          app_write(i, std::uniform_int_distribution<std::uint64_t>(0, kSimBlocks - 1)(rng_));
      break;
    default: {
      clock_.advance(std::chrono::milliseconds(std::uniform_int_distribution<int>(1, 20)(rng_)));
      for (int i = 0; i < 2; ++i) {
        if (!nodes_[i].alive) continue;
        auto t = nodes_[i].engine->next_timer();
        if (t && *t <= now()) {
          nodes_[i].engine->tick(now());
          pump(i);
        }
      }
      if (connected_ && !link_ok_) {
        // A pulled cable: the bytes stop; the engines find out from their timers.
        wire_[0].clear();
        wire_[1].clear();
      }
      break;
    }
  }
  return true;
}

inline bool Simulation::disks_identical() const {
  return nodes_[0].disk.blocks == nodes_[1].disk.blocks;
}

inline std::uint64_t Simulation::bytes_resynced() const {
  std::uint64_t total = 0;
  for (const auto& n : nodes_)
    if (n.alive) total += n.engine->status(now()).counters.resync_bytes_received;
  return total;
}

inline std::string Simulation::dump() const {
  std::string out;
  for (const auto& n : nodes_) {
    out += n.name + (n.alive ? "" : " (down)") + ": ";
    if (n.alive) {
      const auto s = n.engine->status(now());
      out += std::string(to_string(s.role)) + " " + std::string(to_string(s.connection)) + " " +
             std::string(to_string(s.disk)) + "/" + std::string(to_string(s.peer_disk)) +
             " oos=" + std::to_string(s.out_of_sync_bytes / 1024) + "K uuids=" + format_uuids(s.uuids) +
             " io=" + std::to_string(n.io_queue.size()) + " pending=" + std::to_string(s.pending_in_flight) + "/" +
             std::to_string(s.pending_for_slots) + "/" + std::to_string(s.pending_for_log) + "/" +
             std::to_string(s.pending_for_resync) + " last='" + s.last_event + "'";
    }
    out += "\n";
    const std::size_t from = n.log.size() > 12 ? n.log.size() - 12 : 0;
    for (std::size_t k = from; k < n.log.size(); ++k) out += "    " + n.log[k] + "\n";
  }
  out += "wire " + std::to_string(wire_[0].size()) + "/" + std::to_string(wire_[1].size()) +
         (connected_ ? " connected" : " down") + (link_ok_ ? "" : " (cable pulled)") +
         " app=" + std::to_string(app_inflight_.size()) + "\n";
  return out;
}

}  // namespace hapbx::replica::sim
