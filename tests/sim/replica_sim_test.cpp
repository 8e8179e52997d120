// The replication engine in a deterministic two-node simulation, over many seeds: crashes at
// random steps, pulled cables, split brain, broken streams. The properties checked:
//  - protocol C (and B for a Primary crash): every write acknowledged to the application is on
//    the node promoted after the Primary crashed;
//  - after recovery both disks are identical;
//  - a resync after a short outage moves only what changed;
//  - split brain is never merged silently.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "replica_sim.h"

namespace hapbx::replica::sim {
namespace {

// Seeds per property: HAPBX_SIM_SCALE=10 runs ten times as many (a soak, outside make test).
std::uint64_t seeds(std::uint64_t base) {
  const char* scale = std::getenv("HAPBX_SIM_SCALE");
  const std::uint64_t factor = scale ? std::max<std::uint64_t>(1, std::strtoull(scale, nullptr, 10)) : 1;
#if defined(__SANITIZE_ADDRESS__)
  base = std::max<std::uint64_t>(base / 5, 20);  // ASan+UBSan runs each step ~10x slower
#endif
  return base * factor;
}

bool in_sync(Simulation& s) {
  for (int i = 0; i < 2; ++i) {
    if (!s.node(i).alive) return false;
    const auto st = s.engine(i).status(s.now());
    if (st.connection != ConnectionState::Connected || st.disk != DiskState::UpToDate ||
        st.peer_disk != DiskState::UpToDate)
      return false;
  }
  return s.quiet();
}

// A fresh pair made consistent: node 0 forced Primary, the full initial sync done.
void initial_sync(Simulation& s) {
  ASSERT_TRUE(s.run_until([&] {
    return s.engine(0).connection() == ConnectionState::Connected &&
           s.engine(1).connection() == ConnectionState::Connected;
  })) << s.dump();
  ASSERT_TRUE(s.engine(0).promote(true, s.now())) << s.dump();
  ASSERT_TRUE(s.run_until([&] { return in_sync(s); })) << s.dump();
}

void run_writes(Simulation& s, int steps) {
  for (int k = 0; k < steps; ++k) s.step(true);
}

void check_acked_present(Simulation& s, int node) {
  for (const auto& [block, version] : s.acked())
    ASSERT_GE(s.version_on(node, block), version) << "block " << block << " lost an acknowledged write\n" << s.dump();
}

TEST(ReplicaSim, InitialFullSyncCopiesEverything) {
  Simulation s(1);
  initial_sync(s);
  EXPECT_TRUE(s.disks_identical());
  EXPECT_EQ(s.engine(1).status(s.now()).counters.resync_bytes_received, kSimDataSize);
  EXPECT_EQ(s.engine(0).role(), Role::Primary);
}

TEST(ReplicaSim, WritesAreMirroredInOrder) {
  Simulation s(2);
  initial_sync(s);
  run_writes(s, 3000);
  ASSERT_TRUE(s.run_until([&] { return in_sync(s); })) << s.dump();
  EXPECT_TRUE(s.disks_identical());
  EXPECT_GT(s.acked().size(), 50u);
  check_acked_present(s, 1);
  EXPECT_EQ(s.engine(0).status(s.now()).out_of_sync_bytes, 0u);
}

void primary_crash_round(std::uint64_t seed, Protocol protocol, const std::string& csums) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  Simulation s(seed, protocol, {}, csums);
  initial_sync(s);
  if (testing::Test::HasFatalFailure()) return;
  run_writes(s, std::uniform_int_distribution<int>(1, 1500)(s.rng()));
  s.crash(0);
  // The survivor finishes what it already received, then is promoted.
  ASSERT_TRUE(s.run_until([&] { return s.node(1).io_queue.empty(); })) << s.dump();
  std::string why;
  ASSERT_TRUE(s.engine(1).can_promote(false, &why)) << why << "\n" << s.dump();
  ASSERT_TRUE(s.engine(1).promote(false, s.now()));
  check_acked_present(s, 1);
  if (testing::Test::HasFatalFailure()) return;
  // Life goes on on the new Primary; then the old one comes back and resyncs.
  std::set<std::uint64_t> written_after;
  for (int k = 0; k < 40; ++k) {
    const auto block = std::uniform_int_distribution<std::uint64_t>(0, kSimBlocks - 1)(s.rng());
    written_after.insert(block);
    s.app_write(1, block);
    s.step(false);
  }
  s.restart(0);
  ASSERT_TRUE(s.run_until([&] { return in_sync(s); })) << s.dump();
  EXPECT_TRUE(s.disks_identical()) << s.dump();
  check_acked_present(s, 0);
  // Only the crashed Primary's activity log (2 extents of 4 MiB) plus the new writes move.
  const std::uint64_t moved = s.engine(0).status(s.now()).counters.resync_bytes_received;
  EXPECT_LE(moved, 2 * kExtentSize + written_after.size() * kBlockSize) << s.dump();
}

TEST(ReplicaSim, ProtocolCPrimaryCrashLosesNoAcknowledgedWrite) {
  for (std::uint64_t seed = 1000; seed < 1000 + seeds(1000); ++seed) {
    primary_crash_round(seed, Protocol::C, "");
    if (HasFatalFailure()) return;
  }
}

TEST(ReplicaSim, ProtocolBPrimaryCrashLosesNoAcknowledgedWrite) {
  // B: acknowledged once in the peer's memory; the peer process lives on and writes it.
  for (std::uint64_t seed = 20000; seed < 20000 + seeds(200); ++seed) {
    primary_crash_round(seed, Protocol::B, "");
    if (HasFatalFailure()) return;
  }
}

TEST(ReplicaSim, CsumsSkipBlocksThatAlreadyMatch) {
  Simulation s(7, Protocol::C, {}, "sha1");
  initial_sync(s);
  run_writes(s, 500);
  ASSERT_TRUE(s.run_until([&] { return s.quiet(); }));
  s.crash(0);
  s.restart(0);  // came back as a crashed Primary: its activity log is marked out of sync
  ASSERT_TRUE(s.run_until([&] { return in_sync(s); })) << s.dump();
  const auto st = s.engine(1).status(s.now());
  const auto st0 = s.engine(0).status(s.now());
  // Everything matched: the digests crossed the link, no data did.
  EXPECT_EQ(st.counters.resync_bytes_received + st0.counters.resync_bytes_received, 0u) << s.dump();
  EXPECT_TRUE(s.disks_identical());
}

TEST(ReplicaSim, SecondaryCrashIsResyncedFromTheBitmap) {
  for (std::uint64_t seed = 30000; seed < 30000 + seeds(200); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Simulation s(seed);
    initial_sync(s);
    run_writes(s, 300);
    s.crash(1);
    std::set<std::uint64_t> changed;
    for (int k = 0; k < 30; ++k) {
      const auto block = std::uniform_int_distribution<std::uint64_t>(0, kSimBlocks - 1)(s.rng());
      changed.insert(block);
      s.app_write(0, block);
      s.step(false);
    }
    ASSERT_TRUE(s.run_until([&] { return s.quiet(); })) << s.dump();
    s.restart(1);
    ASSERT_TRUE(s.run_until([&] { return in_sync(s); })) << s.dump();
    EXPECT_TRUE(s.disks_identical());
    check_acked_present(s, 1);
    const std::uint64_t moved = s.engine(1).status(s.now()).counters.resync_bytes_received;
    EXPECT_LE(moved, (changed.size() + 8) * kBlockSize);  // + the writes in flight at the crash
    EXPECT_GE(moved, changed.size() * kBlockSize);
  }
}

TEST(ReplicaSim, PulledCableResyncMovesOnlyWhatChanged) {
  Simulation s(11);
  initial_sync(s);
  run_writes(s, 200);
  ASSERT_TRUE(s.run_until([&] { return s.quiet(); }));
  s.cut_link();
  std::set<std::uint64_t> changed;
  for (int k = 0; k < 64; ++k) {
    const auto block = std::uniform_int_distribution<std::uint64_t>(0, kSimBlocks - 1)(s.rng());
    changed.insert(block);
    s.app_write(0, block);
    s.step(false);
  }
  // The Primary notices (ping timeout) and keeps working alone.
  ASSERT_TRUE(s.run_until([&] { return s.engine(0).connection() == ConnectionState::WFConnection && s.quiet(); }))
      << s.dump();
  EXPECT_EQ(s.engine(0).status(s.now()).out_of_sync_bytes, changed.size() * kBlockSize);
  const std::uint64_t before = s.engine(1).status(s.now()).counters.resync_bytes_received;
  s.heal_link();
  ASSERT_TRUE(s.run_until([&] { return in_sync(s); })) << s.dump();
  EXPECT_TRUE(s.disks_identical());
  EXPECT_EQ(s.engine(1).status(s.now()).counters.resync_bytes_received - before, changed.size() * kBlockSize);
}

// Both sides Primary while the cable was out: the classic split brain.
Simulation split_brain_pair(std::uint64_t seed, SyncPolicies policies, bool writes_on_second) {
  Simulation s(seed, Protocol::C, policies);
  initial_sync(s);
  s.cut_link();
  s.run_until([&] {
    return s.engine(0).connection() == ConnectionState::WFConnection &&
           s.engine(1).connection() == ConnectionState::WFConnection && s.quiet();
  });
  EXPECT_TRUE(s.engine(1).promote(false, s.now()));
  for (int k = 0; k < 20; ++k) {
    s.app_write(0, static_cast<std::uint64_t>(k));
    if (writes_on_second) s.app_write(1, static_cast<std::uint64_t>(100 + k));
    s.step(false);
  }
  s.run_until([&] { return s.quiet(); });
  return s;
}

TEST(ReplicaSim, SplitBrainIsDetectedAndNeverMerged) {
  Simulation s = split_brain_pair(21, {}, true);
  ASSERT_TRUE(s.engine(1).demote(s.now()));
  s.heal_link();
  ASSERT_TRUE(s.run_until([&] {
    return s.engine(0).connection() == ConnectionState::StandAlone &&
           s.engine(1).connection() == ConnectionState::StandAlone;
  })) << s.dump();
  EXPECT_TRUE(s.engine(0).status(s.now()).split_brain);
  EXPECT_TRUE(s.engine(1).status(s.now()).split_brain);
  EXPECT_FALSE(s.disks_identical());
  // The admin picks the victim.
  ASSERT_TRUE(s.engine(1).connect(true, s.now()));
  ASSERT_TRUE(s.engine(0).connect(false, s.now()));
  ASSERT_TRUE(s.run_until([&] { return in_sync(s); })) << s.dump();
  EXPECT_TRUE(s.disks_identical());
  EXPECT_EQ(s.version_on(1, 100), s.version_on(0, 100));  // the victim's write is gone
  EXPECT_EQ(s.engine(0).role(), Role::Primary);
}

TEST(ReplicaSim, SplitBrainDiscardSecondaryResolvesAutomatically) {
  SyncPolicies p;
  p.after_sb_1pri = SplitBrainPolicy::DiscardSecondary;
  Simulation s = split_brain_pair(22, p, true);
  ASSERT_TRUE(s.engine(1).demote(s.now()));
  s.heal_link();
  ASSERT_TRUE(s.run_until([&] { return in_sync(s); })) << s.dump();
  EXPECT_TRUE(s.disks_identical());
  EXPECT_GE(s.engine(0).status(s.now()).counters.split_brains, 1u);
}

TEST(ReplicaSim, SplitBrainDiscardZeroChangesPicksTheIdleSide) {
  SyncPolicies p;
  p.after_sb_0pri = SplitBrainPolicy::DiscardZeroChanges;
  Simulation s = split_brain_pair(23, p, false);
  ASSERT_TRUE(s.engine(0).demote(s.now()));
  ASSERT_TRUE(s.engine(1).demote(s.now()));
  s.heal_link();
  ASSERT_TRUE(s.run_until([&] {
    return s.engine(0).connection() == ConnectionState::Connected &&
           s.engine(1).connection() == ConnectionState::Connected && s.quiet() &&
           s.engine(1).disk_state() == DiskState::UpToDate;
  })) << s.dump();
  EXPECT_TRUE(s.disks_identical());
  check_acked_present(s, 1);
}

TEST(ReplicaSim, WrongSecretNeverConnects) {
  Simulation s(31);
  s.secrets[1] = "not-the-secret";
  s.restart(1);
  s.run_until([] { return false; }, 3000);
  EXPECT_NE(s.engine(0).connection(), ConnectionState::Connected);
  EXPECT_GT(s.engine(0).status(s.now()).counters.auth_failures + s.engine(1).status(s.now()).counters.auth_failures, 0u);
  EXPECT_EQ(s.engine(1).status(s.now()).counters.peer_bytes_received, 0u);
}

TEST(ReplicaSim, VerifyFindsACorruptBlock) {
  Simulation s(41);
  initial_sync(s);
  s.node(1).disk.blocks[777] = 0xBAD;
  ASSERT_TRUE(s.engine(0).start_verify(s.now()));
  ASSERT_TRUE(s.run_until([&] { return s.engine(0).connection() == ConnectionState::Connected && s.quiet(); }))
      << s.dump();
  const auto st = s.engine(0).status(s.now());
  EXPECT_GT(st.out_of_sync_bytes, 0u);
  EXPECT_LE(st.out_of_sync_bytes, 128u * 1024);
  EXPECT_EQ(s.engine(1).status(s.now()).out_of_sync_bytes, st.out_of_sync_bytes);
  // Disconnect and connect: the marked chunk is resynced from the Primary.
  ASSERT_TRUE(s.engine(0).disconnect(s.now()));
  ASSERT_TRUE(s.engine(0).connect(false, s.now()));
  ASSERT_TRUE(s.run_until([&] { return in_sync(s); })) << s.dump();
  EXPECT_TRUE(s.disks_identical());
}

TEST(ReplicaSim, BrokenStreamsAndFailuresConverge) {
  int chaos_events = 0, protocol_errors = 0;
  for (std::uint64_t seed = 50000; seed < 50000 + seeds(200); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Simulation s(seed);
    initial_sync(s);
    if (HasFatalFailure()) return;
    s.chaos = true;
    auto& rng = s.rng();
    for (int k = 0; k < 3000; ++k) {
      s.step(true);
      const int event = std::uniform_int_distribution<int>(0, 999)(rng);
      if (event == 0) s.cut_link();
      else if (event == 1) s.heal_link();
      else if (event == 2) s.crash(1);
      else if (event == 3 && !s.node(1).alive) s.restart(1);
    }
    s.chaos = false;
    chaos_events += s.chaos_events;
    for (int i = 0; i < 2; ++i)
      if (s.node(i).alive) protocol_errors += static_cast<int>(s.engine(i).status(s.now()).counters.protocol_errors);
    s.heal_link();
    if (!s.node(1).alive) s.restart(1);
    ASSERT_TRUE(s.run_until([&] { return in_sync(s); }, 400000)) << s.dump();
    EXPECT_TRUE(s.disks_identical()) << s.dump();
    check_acked_present(s, 1);
  }
  // The chaos happened, and the engines noticed some of it as broken streams.
  EXPECT_GT(chaos_events, 40);
  EXPECT_GT(protocol_errors, 0);
}

}  // namespace
}  // namespace hapbx::replica::sim

namespace hapbx::replica::sim {
namespace {

TEST(ReplicaSim, InvalidateAndInvalidateRemoteResyncEverything) {
  Simulation s(61);
  initial_sync(s);
  run_writes(s, 300);
  ASSERT_TRUE(s.run_until([&] { return in_sync(s); })) << s.dump();
  // The Secondary throws its data away: a full sync from the Primary, no data lost.
  s.node(1).disk.blocks[12] = 0xBAD;
  const std::uint64_t before = s.engine(1).status(s.now()).counters.resync_bytes_received;
  ASSERT_TRUE(s.engine(1).invalidate(s.now()));
  ASSERT_TRUE(s.run_until([&] { return in_sync(s); })) << s.dump();
  EXPECT_EQ(s.engine(1).status(s.now()).counters.resync_bytes_received - before, kSimDataSize);
  EXPECT_TRUE(s.disks_identical());
  // The Primary declares the peer's data bad.
  s.node(1).disk.blocks[13] = 0xBAD;
  ASSERT_TRUE(s.engine(0).invalidate_remote(s.now()));
  ASSERT_TRUE(s.run_until([&] { return in_sync(s); })) << s.dump();
  EXPECT_TRUE(s.disks_identical());
  check_acked_present(s, 1);
  // A Primary cannot be invalidated.
  EXPECT_FALSE(s.engine(0).invalidate(s.now()));
}

}  // namespace
}  // namespace hapbx::replica::sim
