// One ReplicaEngine against a scripted peer: the handshake's refusals, each protocol's moment of
// acknowledgement, flushes, the resync rate and the activity-log barrier. (Two real engines
// against each other, with crashes, are in tests/sim.)
#include "replica/replica_engine.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "replica/digest.h"

namespace hapbx::replica {
namespace {

constexpr std::uint64_t kSize = 64u << 20;

class EngineHarness {
 public:
  explicit EngineHarness(EngineConfig c = base_config(), bool consistent = true) {
    EngineDisk d;
    d.superblock.resource = "r0";
    d.superblock.data_size = kSize;
    d.superblock.al_slots = 4;
    if (consistent) {
      d.superblock.uuids.current = 0x1111;
      d.superblock.flags.consistent = true;
      d.superblock.flags.was_up_to_date = true;
    }
    d.bitmap = Bitmap(kSize / kBlockSize);
    d.activity_log = ActivityLog(4);
    engine = std::make_unique<ReplicaEngine>(std::move(c), std::move(d), clock.now());
  }

  static EngineConfig base_config() {
    EngineConfig c;
    c.node = "asterisk1";
    c.peer = "asterisk2";
    c.ping_int = std::chrono::seconds(10);
    c.ack_timeout = std::chrono::seconds(6);
    return c;
  }

  // Runs actions: local I/O completes at once (reads give zeroes), sends are collected.
  void run() {
    for (int round = 0; round < 100; ++round) {
      auto actions = engine->take_actions();
      if (actions.empty()) return;
      for (auto& a : actions) {
        if (auto* io = std::get_if<action::LocalIo>(&a)) {
          if (hold_io) {
            held.push_back(*io);
            continue;
          }
          complete_io(*io);
        } else if (auto* s = std::get_if<action::Send>(&a)) {
          sent.push_back(std::move(s->message));
        } else if (auto* c = std::get_if<action::Complete>(&a)) {
          completed.push_back(*c);
        } else if (std::holds_alternative<action::CloseConnection>(a)) {
          closed = true;
        } else if (std::holds_alternative<action::PersistActivityLog>(a)) {
          ++al_persists;
        }
      }
    }
  }
  void complete_io(const action::LocalIo& io) {
    Payload data;
    if (io.kind == action::LocalIo::Kind::Read)
      data = std::make_shared<const std::vector<std::uint8_t>>(io.length, 0);
    engine->local_io_done(io.tag, 0, data, clock.now());
  }
  void release_held() {
    auto h = std::move(held);
    held.clear();
    for (auto& io : h) complete_io(io);
    run();
  }

  // Link up and the peer's side of the handshake (no authentication unless configured).
  void handshake(Params peer, Bytes response = {}) {
    ASSERT_TRUE(engine->connect(false, clock.now()));
    engine->transport_up(clock.now());
    run();
    engine->message(Hello{kWireVersion, kWireVersion, "r0", "asterisk2", {}}, clock.now());
    run();
    if (!response.empty()) {
      engine->message(AuthResponse{response}, clock.now());
      run();
    }
    engine->message(std::move(peer), clock.now());
    run();
  }

  static Params peer_params(std::uint64_t current = 0x1111, std::uint64_t size = kSize) {
    Params p;
    p.data_size = size;
    p.view.uuids.current = current;
    p.view.flags.consistent = true;
    p.view.flags.was_up_to_date = true;
    p.view.role = Role::Secondary;
    p.disk = DiskState::UpToDate;
    return p;
  }

  DeviceRequest write(std::uint64_t id, std::uint64_t offset, std::uint64_t length = 4096) {
    DeviceRequest r;
    r.kind = DeviceRequest::Kind::Write;
    r.id = id;
    r.offset = offset;
    r.length = length;
    r.data.assign(length, 0x5A);
    return r;
  }

  template <typename T>
  std::vector<T> sent_of() const {
    std::vector<T> out;
    for (const auto& m : sent)
      if (auto* t = std::get_if<T>(&m)) out.push_back(*t);
    return out;
  }
  bool completed_ok(std::uint64_t id) const {
    for (const auto& c : completed)
      if (c.id == id && c.error == 0) return true;
    return false;
  }

  core::ManualClock clock;
  std::unique_ptr<ReplicaEngine> engine;
  std::vector<PeerMessage> sent;
  std::vector<action::Complete> completed;
  std::vector<action::LocalIo> held;
  bool hold_io = false;
  bool closed = false;
  int al_persists = 0;
};

TEST(ReplicaEngine, SameGenerationConnectsWithoutResync) {
  EngineHarness h;
  h.handshake(EngineHarness::peer_params());
  EXPECT_EQ(h.engine->connection(), ConnectionState::Connected);
  EXPECT_EQ(h.engine->peer_disk_state(), DiskState::UpToDate);
  EXPECT_FALSE(h.closed);
}

TEST(ReplicaEngine, WrongResourceOrNodeIsRefusedStandAlone) {
  EngineHarness h;
  ASSERT_TRUE(h.engine->connect(false, h.clock.now()));
  h.engine->transport_up(h.clock.now());
  h.run();
  h.engine->message(Hello{kWireVersion, kWireVersion, "r0", "mallory", {}}, h.clock.now());
  h.run();
  EXPECT_TRUE(h.closed);
  EXPECT_EQ(h.engine->connection(), ConnectionState::StandAlone);
  EXPECT_NE(h.engine->status(h.clock.now()).last_event.find("'mallory'"), std::string::npos);
}

TEST(ReplicaEngine, WrongSecretIsRefusedAndNothingElsePasses) {
  EngineConfig c = EngineHarness::base_config();
  c.auth_alg = "sha1";
  c.shared_secret = "right";
  EngineHarness h(c);
  ASSERT_TRUE(h.engine->connect(false, h.clock.now()));
  h.engine->transport_up(h.clock.now());
  h.run();
  const Bytes challenge = h.sent_of<Hello>().at(0).challenge;
  ASSERT_EQ(challenge.size(), 32u);
  // Data before authentication is a protocol error, not a write.
  h.engine->message(Data{1, 0, std::make_shared<const std::vector<std::uint8_t>>(4096, 1), {}}, h.clock.now());
  h.run();
  EXPECT_TRUE(h.closed);
  EXPECT_TRUE(h.sent_of<WriteAck>().empty());

  EngineHarness h2(c);
  ASSERT_TRUE(h2.engine->connect(false, h2.clock.now()));
  h2.engine->transport_up(h2.clock.now());
  h2.run();
  const Bytes ch2 = h2.sent_of<Hello>().at(0).challenge;
  h2.engine->message(Hello{kWireVersion, kWireVersion, "r0", "asterisk2", Bytes(32, 7)}, h2.clock.now());
  h2.run();
  h2.engine->message(AuthResponse{auth_response(DigestAlg::Sha1, "wrong", ch2, "asterisk2")}, h2.clock.now());
  h2.run();
  EXPECT_TRUE(h2.closed);
  EXPECT_EQ(h2.engine->status(h2.clock.now()).counters.auth_failures, 1u);
  EXPECT_TRUE(h2.sent_of<Params>().empty());  // nothing about the data was said
}

TEST(ReplicaEngine, RightSecretConnects) {
  EngineConfig c = EngineHarness::base_config();
  c.auth_alg = "sha256";
  c.shared_secret = "s3cret";
  EngineHarness h(c);
  ASSERT_TRUE(h.engine->connect(false, h.clock.now()));
  h.engine->transport_up(h.clock.now());
  h.run();
  const Bytes mine = h.sent_of<Hello>().at(0).challenge;
  h.engine->message(Hello{kWireVersion, kWireVersion, "r0", "asterisk2", Bytes(32, 9)}, h.clock.now());
  h.run();
  // Our answer to the peer's challenge is the expected HMAC.
  EXPECT_EQ(h.sent_of<AuthResponse>().at(0).response,
            auth_response(DigestAlg::Sha256, "s3cret", Bytes(32, 9), "asterisk1"));
  h.engine->message(AuthResponse{auth_response(DigestAlg::Sha256, "s3cret", mine, "asterisk2")}, h.clock.now());
  h.run();
  h.engine->message(EngineHarness::peer_params(), h.clock.now());
  h.run();
  EXPECT_EQ(h.engine->connection(), ConnectionState::Connected);
}

TEST(ReplicaEngine, ProtocolMismatchIsRefused) {
  EngineHarness h;
  Params p = EngineHarness::peer_params();
  p.protocol = Protocol::A;
  h.handshake(p);
  EXPECT_EQ(h.engine->connection(), ConnectionState::StandAlone);
  EXPECT_NE(h.engine->status(h.clock.now()).last_event.find("protocol mismatch"), std::string::npos);
}

TEST(ReplicaEngine, SmallerPeerDiskIsUsedOrRefusedWhenDataWouldBeCut) {
  {
    EngineHarness h;
    h.handshake(EngineHarness::peer_params(0x1111, kSize / 2));
    EXPECT_EQ(h.engine->connection(), ConnectionState::Connected);
    EXPECT_EQ(h.engine->data_size(), kSize / 2);
  }
  {
    EngineHarness h;
    // This side already agreed on the full size once: the half-size peer would cut data.
    EngineDisk d;
    d.superblock.resource = "r0";
    d.superblock.data_size = kSize;
    d.superblock.last_agreed_size = kSize;
    d.superblock.uuids.current = 0x1111;
    d.superblock.flags.consistent = d.superblock.flags.was_up_to_date = true;
    d.bitmap = Bitmap(kSize / kBlockSize);
    h.engine = std::make_unique<ReplicaEngine>(EngineHarness::base_config(), std::move(d), h.clock.now());
    h.handshake(EngineHarness::peer_params(0x1111, kSize / 2));
    EXPECT_EQ(h.engine->connection(), ConnectionState::StandAlone);
    EXPECT_NE(h.engine->status(h.clock.now()).last_event.find("data would be cut"), std::string::npos);
  }
}

void expect_ack_point(Protocol protocol) {
  EngineConfig c = EngineHarness::base_config();
  c.protocol = protocol;
  EngineHarness h(c);
  Params p = EngineHarness::peer_params();
  p.protocol = protocol;
  h.handshake(p);
  ASSERT_TRUE(h.engine->promote(false, h.clock.now()));
  h.run();
  h.engine->device_request(h.write(7, 8192), h.clock.now());
  h.run();
  const auto data = h.sent_of<Data>();
  ASSERT_EQ(data.size(), 1u);
  if (protocol == Protocol::A) {
    EXPECT_TRUE(h.completed_ok(7)) << "A: local write + queued is enough";
    return;
  }
  EXPECT_FALSE(h.completed_ok(7));
  h.engine->message(RecvAck{data[0].seq}, h.clock.now());
  h.run();
  if (protocol == Protocol::B) {
    EXPECT_TRUE(h.completed_ok(7)) << "B: in the peer's memory";
    return;
  }
  EXPECT_FALSE(h.completed_ok(7)) << "C waits for the peer's disk";
  h.engine->message(WriteAck{data[0].seq}, h.clock.now());
  h.run();
  EXPECT_TRUE(h.completed_ok(7));
}

TEST(ReplicaEngine, ProtocolAAcknowledgesWhenQueued) { expect_ack_point(Protocol::A); }
TEST(ReplicaEngine, ProtocolBAcknowledgesOnRecvAck) { expect_ack_point(Protocol::B); }
TEST(ReplicaEngine, ProtocolCAcknowledgesOnWriteAck) { expect_ack_point(Protocol::C); }

TEST(ReplicaEngine, FlushWaitsForThePeersFlush) {
  EngineHarness h;
  h.handshake(EngineHarness::peer_params());
  ASSERT_TRUE(h.engine->promote(false, h.clock.now()));
  h.run();
  DeviceRequest f;
  f.kind = DeviceRequest::Kind::Flush;
  f.id = 9;
  h.engine->device_request(std::move(f), h.clock.now());
  h.run();
  ASSERT_EQ(h.sent_of<Flush>().size(), 1u);
  EXPECT_FALSE(h.completed_ok(9));
  h.engine->message(FlushAck{9}, h.clock.now());
  h.run();
  EXPECT_TRUE(h.completed_ok(9));
}

TEST(ReplicaEngine, UnacknowledgedWritesAreMarkedWhenTheLinkGoes) {
  EngineHarness h;
  h.handshake(EngineHarness::peer_params());
  ASSERT_TRUE(h.engine->promote(false, h.clock.now()));
  h.run();
  h.engine->device_request(h.write(1, 0), h.clock.now());
  h.engine->device_request(h.write(2, 1 << 20, 8192), h.clock.now());
  h.run();
  h.engine->message(WriteAck{h.sent_of<Data>().at(0).seq}, h.clock.now());
  h.run();
  EXPECT_EQ(h.engine->bitmap().count(), 0u);
  h.engine->transport_down("cable", h.clock.now());
  h.run();
  EXPECT_TRUE(h.completed_ok(2));             // the application is not kept waiting
  EXPECT_EQ(h.engine->bitmap().count(), 2u);  // the 8 KiB the peer never confirmed
  // A new generation: the peer's data is now behind.
  EXPECT_EQ(h.engine->superblock().uuids.bitmap, 0x1111u);
  EXPECT_NE(h.engine->superblock().uuids.current, 0x1111u);
}

TEST(ReplicaEngine, WriteToAColdExtentWaitsForTheActivityLog) {
  EngineHarness h;
  h.handshake(EngineHarness::peer_params());
  ASSERT_TRUE(h.engine->promote(false, h.clock.now()));
  h.run();
  h.hold_io = true;
  h.engine->device_request(h.write(1, 5 * kExtentSize / 4), h.clock.now());
  h.run();
  EXPECT_EQ(h.al_persists, 1);
  // Neither the peer nor the local disk has the write before the barrier behind the log update.
  EXPECT_TRUE(h.sent_of<Data>().empty());
  ASSERT_EQ(h.held.size(), 1u);
  EXPECT_EQ(h.held[0].kind, action::LocalIo::Kind::Barrier);
  // A second write to the same (now hot, not yet durable) extent waits too.
  h.engine->device_request(h.write(2, 5 * kExtentSize / 4 + 4096), h.clock.now());
  h.run();
  EXPECT_TRUE(h.sent_of<Data>().empty());
  h.hold_io = false;
  h.release_held();
  EXPECT_EQ(h.sent_of<Data>().size(), 2u);
}

TEST(ReplicaEngine, ResyncRequestsFollowTheRate) {
  EngineConfig c = EngineHarness::base_config();
  c.resync_rate = 1u << 20;  // 1 MiB/s
  EngineHarness h(c);
  // The peer moved on from our generation: we are SyncTarget of its bitmap.
  Params p = EngineHarness::peer_params(0x2222);
  p.view.uuids.bitmap = 0x1111;
  p.view.bitmap_bits = kSize / kBlockSize;
  h.handshake(p);
  ASSERT_EQ(h.engine->connection(), ConnectionState::StartingSyncT);
  Bitmap all(kSize / kBlockSize);
  all.set_all();
  std::uint64_t next = 0;
  h.engine->message(BitmapChunk{0, all.encode_runs(0, 1 << 16, &next), true}, h.clock.now());
  h.run();
  ASSERT_EQ(h.engine->connection(), ConnectionState::SyncTarget);
  // Answer every request at once, then let 2 s pass in small steps.
  std::size_t answered = 0;
  auto answer = [&] {
    auto reqs = h.sent_of<ResyncRequest>();
    for (; answered < reqs.size(); ++answered) {
      h.engine->message(ResyncData{reqs[answered].offset,
                                   std::make_shared<const std::vector<std::uint8_t>>(reqs[answered].length, 3), {}},
                        h.clock.now());
      h.run();
    }
  };
  answer();
  for (int i = 0; i < 200; ++i) {
    h.clock.advance(std::chrono::milliseconds(10));
    h.engine->tick(h.clock.now());
    h.run();
    answer();
  }
  std::uint64_t requested = 0;
  for (const auto& r : h.sent_of<ResyncRequest>()) requested += r.length;
  // 2 s at 1 MiB/s, plus the initial burst of one tenth of a second's worth.
  EXPECT_GE(requested, 2u << 20);
  EXPECT_LE(requested, (2u << 20) + (256u << 10));
  EXPECT_GT(h.engine->status(h.clock.now()).resync.done_bytes, 0u);
}

TEST(ReplicaEngine, PrimaryRefusedWhilePeerIsPrimaryOrDiskNotUpToDate) {
  EngineHarness h(EngineHarness::base_config(), false);
  std::string why;
  EXPECT_FALSE(h.engine->can_promote(false, &why));
  EXPECT_NE(why.find("--force"), std::string::npos) << why;
  EngineHarness h2;
  Params p = EngineHarness::peer_params();
  h2.handshake(p);
  h2.engine->message(StateUpdate{Role::Primary, DiskState::UpToDate}, h2.clock.now());
  h2.run();
  EXPECT_FALSE(h2.engine->promote(false, h2.clock.now()));
}

// The cluster promotes us when it believes the peer dead; replicad still sees a Primary peer on a
// link that looks up. The refused promotion pings the peer at once: a dead one's link drops
// after ping-timeout and the retry succeeds; a live one answers and stays Primary.
TEST(ReplicaEngine, RefusedPromotionChecksThePeerAtOnce) {
  for (bool peer_answers : {false, true}) {
    EngineHarness h;
    h.handshake(EngineHarness::peer_params());
    h.engine->message(StateUpdate{Role::Primary, DiskState::UpToDate}, h.clock.now());
    h.run();
    EXPECT_FALSE(h.engine->promote(false, h.clock.now()));
    h.run();
    ASSERT_EQ(h.sent_of<Ping>().size(), 1u) << "no immediate ping";
    EXPECT_FALSE(h.engine->promote(false, h.clock.now()));
    h.run();
    EXPECT_EQ(h.sent_of<Ping>().size(), 1u) << "one ping outstanding at a time";
    if (peer_answers) {
      h.engine->message(PingAck{}, h.clock.now());
      h.run();
    }
    h.clock.advance(std::chrono::milliseconds(600));
    h.engine->tick(h.clock.now());
    h.run();
    if (peer_answers) {
      EXPECT_FALSE(h.closed);
      EXPECT_FALSE(h.engine->promote(false, h.clock.now())) << "the live peer is still Primary";
    } else {
      EXPECT_TRUE(h.closed);
      EXPECT_TRUE(h.engine->promote(false, h.clock.now())) << "the dead peer's link dropped";
    }
  }
}

TEST(ReplicaEngine, SilentPeerIsDroppedAfterPingTimeout) {
  EngineHarness h;
  h.handshake(EngineHarness::peer_params());
  h.clock.advance(std::chrono::seconds(10));
  h.engine->tick(h.clock.now());
  h.run();
  EXPECT_EQ(h.sent_of<Ping>().size(), 1u);
  h.clock.advance(std::chrono::milliseconds(600));
  h.engine->tick(h.clock.now());
  h.run();
  EXPECT_TRUE(h.closed);
  EXPECT_EQ(h.engine->connection(), ConnectionState::WFConnection);
}

}  // namespace
}  // namespace hapbx::replica

namespace hapbx::replica {
namespace {

TEST(ReplicaEngine, LocalWriteErrorFailsTheDiskAndTheRequest) {
  EngineHarness h;
  h.handshake(EngineHarness::peer_params());
  ASSERT_TRUE(h.engine->promote(false, h.clock.now()));
  h.run();
  h.hold_io = true;
  h.engine->device_request(h.write(5, 0), h.clock.now());
  h.run();
  h.release_held();  // the barrier (activity log) completes fine
  h.run();
  // Now the write itself: answer it with EIO.
  ASSERT_FALSE(h.held.empty());
  const auto io = h.held.back();
  h.held.clear();
  ASSERT_EQ(io.kind, action::LocalIo::Kind::Write);
  h.engine->local_io_done(io.tag, EIO, nullptr, h.clock.now());
  h.hold_io = false;
  h.run();
  h.engine->message(WriteAck{h.sent_of<Data>().at(0).seq}, h.clock.now());
  h.run();
  bool failed = false;
  for (const auto& c : h.completed)
    if (c.id == 5) failed = c.error == EIO;
  EXPECT_TRUE(failed);
  EXPECT_EQ(h.engine->disk_state(), DiskState::Failed);
  // The peer is told (on-io-error detach), and nothing more is accepted.
  EXPECT_FALSE(h.sent_of<StateUpdate>().empty());
  h.engine->device_request(h.write(6, 4096), h.clock.now());
  h.run();
  EXPECT_FALSE(h.completed_ok(6));
}

}  // namespace
}  // namespace hapbx::replica
