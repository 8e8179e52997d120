// The connect-time decision: every rule of generation_uuids.h, and that both sides agree.
#include "replica/generation_uuids.h"

#include <gtest/gtest.h>

namespace hapbx::replica {
namespace {

SyncView view(std::uint64_t current, std::uint64_t bitmap = 0, std::uint64_t h0 = 0,
              std::uint64_t bits = 0, Role role = Role::Secondary) {
  SyncView v;
  v.uuids = {current, bitmap, {h0, 0}};
  v.flags.consistent = current != 0;
  v.flags.was_up_to_date = current != 0;
  v.bitmap_bits = bits;
  v.role = role;
  return v;
}

SyncDecision mirror(SyncDecision d) {
  switch (d) {
    case SyncDecision::BitmapSource: return SyncDecision::BitmapTarget;
    case SyncDecision::BitmapTarget: return SyncDecision::BitmapSource;
    case SyncDecision::FullSource: return SyncDecision::FullTarget;
    case SyncDecision::FullTarget: return SyncDecision::FullSource;
    case SyncDecision::SplitBrainAutoSource: return SyncDecision::SplitBrainAutoTarget;
    case SyncDecision::SplitBrainAutoTarget: return SyncDecision::SplitBrainAutoSource;
    default: return d;
  }
}

// Decides from both sides and checks they agree; returns the first side's decision.
SyncDecision both(const SyncView& a, const SyncView& b, SyncPolicies p = {}) {
  const auto da = decide_sync(a, b, p, true).decision;
  const auto db = decide_sync(b, a, p, false).decision;
  EXPECT_EQ(db, mirror(da)) << to_string(da) << " vs " << to_string(db);
  return da;
}

TEST(DecideSync, FreshPairWaitsForForce) {
  EXPECT_EQ(both(view(0), view(0)), SyncDecision::BothJustCreated);
}

TEST(DecideSync, EmptySideGetsFullSync) {
  EXPECT_EQ(both(view(0x11), view(0)), SyncDecision::FullSource);
}

TEST(DecideSync, SameGenerationNoBitsIsInSync) {
  EXPECT_EQ(both(view(0x11), view(0x11)), SyncDecision::NoSync);
}

TEST(DecideSync, PeerMovedOnIsBitmapTarget) {
  // The peer was promoted alone: its bitmap generation is my current one.
  EXPECT_EQ(both(view(0x11), view(0x22, 0x11, 0, 5, Role::Primary)), SyncDecision::BitmapTarget);
}

TEST(DecideSync, CrashedPrimaryWithSameGenerationIsSource) {
  SyncView crashed = view(0x11, 0, 0, 1024);
  crashed.flags.crashed_primary = true;
  EXPECT_EQ(both(crashed, view(0x11)), SyncDecision::BitmapSource);
}

TEST(DecideSync, HistoryMatchIsFullSync) {
  EXPECT_EQ(both(view(0x11), view(0x33, 0, 0x11)), SyncDecision::FullTarget);
}

TEST(DecideSync, BothMovedOnIsSplitBrain) {
  EXPECT_EQ(both(view(0x22, 0x11, 0, 3), view(0x33, 0x11, 0, 4)), SyncDecision::SplitBrain);
}

TEST(DecideSync, UnrelatedIsRefused) {
  EXPECT_EQ(both(view(0x22, 0x21), view(0x33, 0x31)), SyncDecision::Unrelated);
}

TEST(DecideSync, DiscardZeroChangesPicksTheUnchangedSide) {
  SyncPolicies p;
  p.after_sb_0pri = SplitBrainPolicy::DiscardZeroChanges;
  EXPECT_EQ(both(view(0x22, 0x11, 0, 0), view(0x33, 0x11, 0, 4), p), SyncDecision::SplitBrainAutoTarget);
  EXPECT_EQ(both(view(0x22, 0x11, 0, 2), view(0x33, 0x11, 0, 4), p), SyncDecision::SplitBrain);
}

TEST(DecideSync, DiscardLeastChanges) {
  SyncPolicies p;
  p.after_sb_0pri = SplitBrainPolicy::DiscardLeastChanges;
  EXPECT_EQ(both(view(0x22, 0x11, 0, 2), view(0x33, 0x11, 0, 4), p), SyncDecision::SplitBrainAutoTarget);
}

TEST(DecideSync, DiscardYoungerPrimary) {
  SyncPolicies p;
  p.after_sb_0pri = SplitBrainPolicy::DiscardYoungerPrimary;
  SyncView older = view(0x22, 0x11, 0, 2), younger = view(0x33, 0x11, 0, 4);
  older.generation_started_ms = 1000;
  younger.generation_started_ms = 2000;
  EXPECT_EQ(both(older, younger, p), SyncDecision::SplitBrainAutoSource);
  p.after_sb_0pri = SplitBrainPolicy::DiscardOlderPrimary;
  EXPECT_EQ(both(older, younger, p), SyncDecision::SplitBrainAutoTarget);
}

TEST(DecideSync, DiscardSecondaryWithOnePrimary) {
  SyncPolicies p;
  p.after_sb_1pri = SplitBrainPolicy::DiscardSecondary;
  EXPECT_EQ(both(view(0x22, 0x11, 0, 2, Role::Primary), view(0x33, 0x11, 0, 4), p),
            SyncDecision::SplitBrainAutoSource);
}

TEST(DecideSync, ConsensusOnlyDiscardsTheSecondary) {
  SyncPolicies p;
  p.after_sb_0pri = SplitBrainPolicy::DiscardZeroChanges;
  p.after_sb_1pri = SplitBrainPolicy::Consensus;
  // The 0pri rule would discard the Primary (zero changes): consensus says no.
  EXPECT_EQ(both(view(0x22, 0x11, 0, 0, Role::Primary), view(0x33, 0x11, 0, 4), p), SyncDecision::SplitBrain);
  EXPECT_EQ(both(view(0x22, 0x11, 0, 4, Role::Primary), view(0x33, 0x11, 0, 0), p),
            SyncDecision::SplitBrainAutoSource);
}

TEST(DecideSync, DiscardMyDataMakesThisSideTheVictim) {
  SyncView victim = view(0x22, 0x11, 0, 9);
  victim.discard_my_data = true;
  EXPECT_EQ(both(victim, view(0x33, 0x11, 0, 4)), SyncDecision::SplitBrainAutoTarget);
}

TEST(DecideSync, InconsistentSideIsNeverSource) {
  SyncView mid_sync = view(0x11);
  mid_sync.flags.consistent = false;
  EXPECT_EQ(both(mid_sync, view(0x22, 0x11, 0, 4)), SyncDecision::BitmapTarget);
  // Even where the ids alone would make it the source.
  SyncView inconsistent_ahead = view(0x22, 0x11, 0, 4);
  inconsistent_ahead.flags.consistent = false;
  EXPECT_EQ(both(inconsistent_ahead, view(0x11)), SyncDecision::FullTarget);
}

TEST(DecideSync, ReasonNamesTheGenerations) {
  auto v = decide_sync(view(0x22, 0x11, 0, 3), view(0x33, 0x11, 0, 4), {}, true);
  EXPECT_NE(v.reason.find("0000000000000022"), std::string::npos) << v.reason;
  EXPECT_NE(v.reason.find("discard-my-data"), std::string::npos) << v.reason;
}

}  // namespace
}  // namespace hapbx::replica
