// The replication engine of one resource on one node: DRBD's state machine, pure.
//
// It takes events (an application block request, a peer message, a local I/O completion, the
// link going up or down, an admin command, the time) and returns actions (write this block
// locally, send this message, complete that request, persist the metadata, close the link).
// It never touches a socket, a file or a clock: the daemon's driver does, and the simulation
// tests run two engines against each other in one process from a seed.
//
// States (connection, see replica_types.h):
//
//   StandAlone --connect--> WFConnection --link up--> WFReportParams --Hello/Auth/Params-->
//      Connected | StartingSyncS/T --bitmaps exchanged--> SyncSource/SyncTarget --done--> Connected
//   Connected --verify--> VerifyS (the peer: VerifyT) --done--> Connected
//   any connected state --link lost / ping timeout / protocol error--> Unconnected --retry-->
//      WFConnection;  split brain, unrelated data, wrong secret, refusal --> StandAlone
//
// Contract with the driver:
//  - Actions are carried out in order. A Persist* action is durable before any later LocalIo
//    starts; LocalIo requests are executed in the order given (one FIFO per node), so write
//    ordering on the Secondary is the Primary's order, and a Flush covers every earlier write.
//  - Every LocalIo is answered exactly once by local_io_done (or never, if the node crashes).
//  - Every DeviceRequest is answered exactly once by a Complete action.
//  - Messages are sent on the current connection only; after transport_down nothing of that
//    connection arrives any more (the driver drops late bytes). After a CloseConnection action
//    the engine already considers the link down: the driver closes the socket and does not call
//    transport_down for it.
//  - tick() is called at next_timer() at the latest.
//
// Guarantees:
//  - Protocol A: a write completes when written locally and queued to the peer; B: and the peer
//    has it in memory (RecvAck); C: and the peer has written it (WriteAck). A Flush completes
//    when both sides have flushed (A: the local flush only).
//  - A write the peer has not acknowledged when the link is lost is marked in the bitmap, so the
//    next resync carries it. A write while disconnected is marked in the bitmap.
//  - Before a write to a cold 4 MiB extent, the activity log is persisted; after a Primary crash
//    (metadata says Primary at attach) only the logged extents are marked out of sync.
//  - Resync moves only what either side's bitmap marks (plus everything for a full sync),
//    at the configured rate, skipping blocks whose csums-alg digests already match.
//  - Split brain is never merged silently: resolved by the after-sb policies or left StandAlone.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "replica/activity_log.h"
#include "replica/bitmap.h"
#include "replica/device_request.h"
#include "replica/generation_uuids.h"
#include "replica/metadata.h"
#include "replica/peer_message.h"
#include "replica/replica_types.h"

namespace hapbx::replica {

using core::Duration;
using core::TimePoint;

struct EngineConfig {
  std::string resource = "r0";
  std::string node;   // this node's `on` name
  std::string peer;   // the other `on` name
  Protocol protocol = Protocol::C;
  SyncPolicies policies;
  std::uint64_t resync_rate = 250 * 1024;       // bytes per second (resync and verify)
  std::string csums_alg;                        // "" = off
  std::string verify_alg;                       // "" = verify refused
  std::string integrity_alg;                    // "" = off
  std::string auth_alg;                         // cram-hmac-alg, "" = off
  std::string shared_secret;
  Duration ping_int = std::chrono::seconds(10);
  Duration ping_timeout = std::chrono::milliseconds(500);
  Duration ack_timeout = std::chrono::seconds(6);  // `timeout`: a write the peer sits on
  Duration connect_int = std::chrono::seconds(10);
  std::uint64_t resync_chunk = 128 * 1024;      // bytes per resync / verify request
  std::uint64_t resync_window = 4u << 20;       // bytes of resync requests in flight
  // Randomness (challenges, generation ids) and wall time (generation age for
  // discard-younger/older-primary) are injected, so simulations are reproducible.
  std::function<std::uint64_t()> random64;
  std::function<std::uint64_t()> wall_ms;
};

// The persisted state the engine starts from (read by the driver from MetadataStore).
struct EngineDisk {
  Superblock superblock;
  Bitmap bitmap;
  ActivityLog activity_log{127};
};

namespace action {
struct LocalIo {
  // Barrier: no I/O; completes once everything before it in the queue (a Persist* above all) is
  // done. The engine holds a write behind it until its activity-log update is durable.
  enum class Kind { Read, Write, Flush, Zero, Barrier } kind = Kind::Read;
  std::uint64_t tag = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  Payload data;  // Write
};
struct Send { PeerMessage message; };
struct Complete {
  std::uint64_t id = 0;
  int error = 0;  // 0 or a positive errno
  Payload data;   // Read
};
struct PersistSuperblock {};   // the driver writes engine.superblock()
struct PersistBitmap {};       // the driver writes engine.bitmap()'s dirty pages
struct PersistActivityLog {};  // the driver writes engine.activity_log()
struct CloseConnection { std::string reason; };
struct Log {
  enum class Level { Info, Warning, Error } level = Level::Info;
  std::string text;
};
}  // namespace action

using Action = std::variant<action::LocalIo, action::Send, action::Complete,
                            action::PersistSuperblock, action::PersistBitmap,
                            action::PersistActivityLog, action::CloseConnection, action::Log>;

// Why the connection state last changed, for status and logs.
struct ResyncProgress {
  bool active = false;
  std::uint64_t total_bytes = 0;   // out of sync when it began
  std::uint64_t done_bytes = 0;
  std::uint64_t sent_bytes = 0;    // data that crossed the link for it (both directions)
  std::uint64_t skipped_bytes = 0; // csums matched
  TimePoint started{};
};

struct EngineCounters {
  std::uint64_t app_writes = 0, app_reads = 0, app_flushes = 0;
  std::uint64_t bytes_written = 0, bytes_read = 0;
  std::uint64_t peer_bytes_sent = 0;       // Data + ResyncData payloads sent
  std::uint64_t peer_bytes_received = 0;
  std::uint64_t resync_bytes_sent = 0;     // ResyncData payloads sent (this side as source)
  std::uint64_t resync_bytes_received = 0;
  std::uint64_t activity_log_writes = 0;
  std::uint64_t auth_failures = 0;
  std::uint64_t integrity_failures = 0;
  std::uint64_t protocol_errors = 0;
  std::uint64_t split_brains = 0;
  std::uint64_t connects = 0;
  std::uint64_t verify_out_of_sync_bytes = 0;
};

struct EngineStatus {
  std::string resource, node, peer;
  Role role = Role::Secondary;
  Role peer_role = Role::Unknown;
  ConnectionState connection = ConnectionState::StandAlone;
  DiskState disk = DiskState::Diskless;
  DiskState peer_disk = DiskState::DUnknown;
  Protocol protocol = Protocol::C;
  std::uint64_t data_size = 0;
  std::uint64_t out_of_sync_bytes = 0;
  ResyncProgress resync;
  std::uint64_t verify_done_bytes = 0, verify_total_bytes = 0;
  GenerationUuids uuids;
  std::string last_event;  // "split brain detected: ...", "authentication of peer failed", ...
  bool split_brain = false;
  std::size_t pending_requests = 0;
  // Where they wait: on the peer/disk, for activity-log slots, for a log update, behind a resync read.
  std::size_t pending_in_flight = 0, pending_for_slots = 0, pending_for_log = 0, pending_for_resync = 0;
  EngineCounters counters;
};

class ReplicaEngine {
 public:
  ReplicaEngine(EngineConfig config, EngineDisk disk, TimePoint now);

  // --- admin (hapbx replica ...): errors are the message the user sees ---
  Status connect(bool discard_my_data, TimePoint now);
  Status disconnect(TimePoint now);
  Status promote(bool force, TimePoint now);
  Status demote(TimePoint now);
  Status start_verify(TimePoint now);
  Status invalidate(TimePoint now);         // this side's data is discarded: full sync from peer
  Status invalidate_remote(TimePoint now);  // the peer's data is discarded
  bool can_promote(bool force, std::string* why) const;

  // --- application I/O on the device (Primary only) ---
  void device_request(DeviceRequest&& request, TimePoint now);

  // --- local disk ---
  void local_io_done(std::uint64_t tag, int error, Payload read_data, TimePoint now);

  // --- peer link ---
  bool wants_connection() const;  // the driver keeps connecting/accepting while true
  void transport_up(TimePoint now);
  void transport_down(std::string reason, TimePoint now);
  void message(PeerMessage&& m, TimePoint now);

  // --- time ---
  void tick(TimePoint now);
  std::optional<TimePoint> next_timer() const;

  std::vector<Action> take_actions();

  EngineStatus status(TimePoint now) const;
  const Superblock& superblock() const { return disk_.superblock; }
  const Bitmap& bitmap() const { return disk_.bitmap; }
  Bitmap& bitmap_for_persist() { return disk_.bitmap; }
  const ActivityLog& activity_log() const { return disk_.activity_log; }
  Role role() const { return role_; }
  ConnectionState connection() const { return cstate_; }
  DiskState disk_state() const { return dstate_; }
  DiskState peer_disk_state() const { return peer_disk_; }
  std::uint64_t data_size() const { return data_size_; }

 private:
  // Bookkeeping of one application write/zero in flight on the Primary.
  struct PendingWrite {
    std::uint64_t request_id = 0;
    std::uint64_t offset = 0, length = 0;
    bool local_done = false;
    bool peer_done = false;   // the protocol's condition for completing is met
    bool peer_acked = false;  // the peer has it on disk (WriteAck), or never will (marked)
    bool completed = false;   // the application has its answer
    int error = 0;
    std::vector<std::uint64_t> extents;  // pinned in the activity log
  };
  struct PendingFlush {
    std::uint64_t request_id = 0;
    TimePoint sent{};  // when the peer was asked (ack timeout)
    bool local_done = false, peer_done = false;
    int error = 0;
  };
  // What a LocalIo tag was for.
  struct IoPurpose {
    enum class Kind {
      AppWrite, AppRead, AppFlush,      // Primary, for a device request
      AlBarrier,                        // Primary: a write waits for its activity-log update
      PeerWrite, PeerFlush,             // Secondary, for a peer's Data/Zero/Flush
      ResyncRead, CsumRead,             // source answering a request
      ResyncWrite,                      // target writing resync data
      TargetCsumRead,                   // target computing its digest for a CsumRequest
      VerifyRead,                       // verify: my digest
      VerifyPeerRead,                   // verify: answering the peer's request
    } kind;
    std::uint64_t key = 0;     // seq / request id / flush id
    std::uint64_t offset = 0, length = 0;
    std::uint64_t connection = 0;  // the connection it belongs to (peer-related work)
    Bytes digest;              // CsumRead: the target's digest
  };

  // admin / lifecycle (replica_engine.cpp)
  void set_connection(ConnectionState s, std::string why);
  // Constructs the action in place (no temporary variant: GCC 12 warns on moving those).
  template <typename A>
  void emit(A&& a) {
    actions_.emplace_back(std::in_place_type<std::decay_t<A>>, std::forward<A>(a));
  }
  void log(action::Log::Level level, std::string text);
  void new_generation(const char* why);
  void persist_superblock();
  void persist_bitmap();
  void refresh_disk_flags();
  std::uint64_t next_tag() { return ++tag_counter_; }
  bool connected_state() const;
  bool replicating() const;   // writes go to the peer now
  void send(PeerMessage m);

  // link (replica_engine_link.cpp)
  void on_hello(const Hello& m, TimePoint now);
  void on_auth(const AuthResponse& m, TimePoint now);
  void on_params(const Params& m, TimePoint now);
  void send_params();
  void protocol_error(std::string what, TimePoint now);
  void refuse(std::string why, bool standalone, TimePoint now);
  void lose_connection(std::string why, bool standalone, TimePoint now);
  void start_bitmap_exchange(bool as_source, bool full, TimePoint now);
  void on_bitmap_chunk(const BitmapChunk& m, TimePoint now);
  void on_start_resync(const StartResync& m, TimePoint now);
  void send_bitmap();
  void maybe_begin_resync(TimePoint now);
  SyncView my_view() const;

  // data path (replica_engine_io.cpp)
  void app_write(DeviceRequest&& r, TimePoint now);
  void app_read(DeviceRequest&& r, TimePoint now);
  void app_flush(DeviceRequest&& r, TimePoint now);
  void start_write(DeviceRequest&& r, TimePoint now);
  void issue_write(DeviceRequest&& r, std::vector<std::uint64_t> extents, TimePoint now,
                   bool queue_head = false);
  void retry_deferred(TimePoint now);
  bool overlaps_resync_read(std::uint64_t offset, std::uint64_t length) const;
  void finish_write_if_done(std::uint64_t seq);
  void finish_flush_if_done(std::uint64_t id);
  void on_peer_data(Data&& m, TimePoint now);
  void on_peer_zero(const Zero& m, TimePoint now);
  void on_peer_flush(const Flush& m, TimePoint now);
  void on_write_ack(std::uint64_t seq, bool ok, TimePoint now);
  void on_recv_ack(std::uint64_t seq);
  void on_flush_ack(std::uint64_t id);
  void fail_peer_part_of_pending(TimePoint now);

  // resync and verify (replica_engine_resync.cpp)
  void resync_pump(TimePoint now);
  void on_resync_request(const ResyncRequest& m, TimePoint now);
  void on_csum_request(CsumRequest&& m, TimePoint now);
  void on_resync_data(ResyncData&& m, TimePoint now);
  void on_resync_in_sync(const ResyncInSync& m, TimePoint now);
  void on_resync_ack(const ResyncAck& m, TimePoint now);
  void on_resync_done(const ResyncDone& m, TimePoint now);
  void finish_resync_as_target(TimePoint now);
  void finish_resync_as_source(TimePoint now);
  void verify_pump(TimePoint now);
  void on_verify_request(const VerifyRequest& m, TimePoint now);
  void on_verify_reply(VerifyReply&& m, TimePoint now);
  void verify_compare(std::uint64_t offset, TimePoint now);
  void finish_verify(TimePoint now);
  void refill_tokens(TimePoint now);
  std::optional<TimePoint> oldest_peer_wait() const;
  void on_io_for_resync(const IoPurpose& p, int error, Payload data, TimePoint now);

  EngineConfig config_;
  EngineDisk disk_;
  std::vector<Action> actions_;

  Role role_ = Role::Secondary;
  ConnectionState cstate_ = ConnectionState::StandAlone;
  DiskState dstate_ = DiskState::Diskless;
  Role peer_role_ = Role::Unknown;
  DiskState peer_disk_ = DiskState::DUnknown;
  std::uint64_t data_size_ = 0;
  std::string last_event_;
  bool split_brain_ = false;
  bool discard_my_data_ = false;
  bool want_connection_ = false;
  TimePoint retry_at_{};

  // Per connection.
  std::uint64_t connection_id_ = 0;
  bool link_up_ = false;
  Bytes my_challenge_;
  bool hello_seen_ = false, peer_authenticated_ = false, params_sent_ = false, params_seen_ = false;
  Params peer_params_;
  TimePoint last_received_{}, ping_sent_at_{};
  bool ping_outstanding_ = false;
  std::uint64_t write_seq_ = 0;       // Primary: numbering of Data/Zero (never reset)
  std::uint64_t peer_write_seq_ = 0;  // Secondary: the last Data/Zero seq applied (gaps/duplicates
                                      // mean a broken stream: the connection is dropped)
  std::uint64_t boot_id_ = 0;
  // Bitmap exchange.
  bool bitmap_sent_ = false, bitmap_received_ = false, exchange_as_source_ = false;
  std::uint64_t bitmap_rx_next_ = 0;

  // Primary's writes in flight: seq (or a local-only id) -> state; oldest first.
  std::map<std::uint64_t, PendingWrite> writes_;
  std::map<std::uint64_t, TimePoint> unacked_since_;   // seq -> when sent (ack timeout)
  std::map<std::uint64_t, PendingFlush> flushes_;      // request id -> state
  std::deque<DeviceRequest> deferred_;                 // waiting for AL slots / resync reads
  // Writes waiting for their activity-log update to be durable (Barrier tag -> write): neither
  // the local disk nor the peer may see a write before its extent is in the on-disk log.
  struct AlWait {
    DeviceRequest request;
    std::vector<std::uint64_t> extents;
  };
  std::multimap<std::uint64_t, AlWait> al_waiting_;
  // Extents made hot whose log update is not durable yet -> the barrier that makes it so. A
  // write to such an extent waits for that barrier even though the extent is already hot.
  std::map<std::uint64_t, std::uint64_t> al_unpersisted_;
  // Writes past the activity log that overlap a resync read in flight on this SyncSource.
  std::deque<AlWait> held_for_resync_;
  std::uint64_t local_only_seq_ = 1ull << 62;          // ids for writes not sent to a peer
  std::map<std::uint64_t, IoPurpose> io_;              // LocalIo tag -> purpose
  std::uint64_t tag_counter_ = 0;

  // Resync (target drives). Ranges in flight: offset -> length.
  ResyncProgress resync_;
  std::uint64_t resync_cursor_ = 0;  // next block to consider
  std::map<std::uint64_t, std::uint64_t> resync_inflight_;
  std::map<std::uint64_t, TimePoint> resync_asked_at_;  // offset -> when requested (timeout)
  std::uint64_t resync_inflight_bytes_ = 0;
  // Source: resync reads in flight (offset -> length); application writes to these ranges
  // wait, so the resync data sent never overtakes a newer write on the link.
  std::multimap<std::uint64_t, std::uint64_t> source_read_len_;
  double tokens_ = 0;
  TimePoint tokens_at_{};
  TimePoint last_bitmap_persist_{};
  bool resync_done_sent_ = false;
  Bitmap peer_bitmap_;                 // the peer's bitmap as it arrives
  Params sent_params_;                 // what we told the peer (the decision uses it)
  TimePoint handshake_deadline_{};

  // Verify.
  std::uint64_t verify_cursor_ = 0, verify_total_ = 0, verify_done_ = 0;
  struct VerifySlot {
    Bytes mine, theirs;
    bool have_mine = false, have_theirs = false;
    std::uint64_t length = 0;
    TimePoint asked{};
  };
  std::map<std::uint64_t, VerifySlot> verify_inflight_;
  std::uint64_t verify_inflight_bytes_ = 0;
  std::uint64_t verify_found_ = 0;

  EngineCounters counters_;
};

}  // namespace hapbx::replica
