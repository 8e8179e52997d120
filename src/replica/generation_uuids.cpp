// The connect-time decision from the two nodes' generation ids (see generation_uuids.h).
#include "replica/generation_uuids.h"

#include <fmt/format.h>

namespace hapbx::replica {
namespace {

SyncVerdict verdict(SyncDecision d, std::string reason) { return {d, std::move(reason)}; }

bool in_history(std::uint64_t id, const GenerationUuids& u) {
  return id != 0 && (u.history[0] == id || u.history[1] == id);
}

// Both sides changed since a common generation.
bool diverged_from_common(const GenerationUuids& m, const GenerationUuids& p) {
  if (m.bitmap != 0 && m.bitmap == p.bitmap) return true;
  if (m.bitmap != 0 && in_history(m.bitmap, p)) return true;
  if (p.bitmap != 0 && in_history(p.bitmap, m)) return true;
  for (auto h : m.history)
    if (in_history(h, p)) return true;
  return false;
}

// The 0pri rule: who is the victim when neither is Primary now. Returns +1 when I win (the peer
// is discarded), -1 when I am the victim, 0 when the policy cannot decide.
int zero_primary_rule(SplitBrainPolicy policy, const SyncView& mine, const SyncView& peer,
                      bool mine_sorts_first) {
  auto tie = [&] { return mine_sorts_first ? 1 : -1; };
  switch (policy) {
    case SplitBrainPolicy::DiscardYoungerPrimary:
      if (mine.generation_started_ms == peer.generation_started_ms) return 0;
      return mine.generation_started_ms > peer.generation_started_ms ? -1 : 1;
    case SplitBrainPolicy::DiscardOlderPrimary:
      if (mine.generation_started_ms == peer.generation_started_ms) return 0;
      return mine.generation_started_ms < peer.generation_started_ms ? -1 : 1;
    case SplitBrainPolicy::DiscardZeroChanges:
      if (mine.bitmap_bits == 0 && peer.bitmap_bits == 0) return tie();
      if (mine.bitmap_bits == 0) return -1;
      if (peer.bitmap_bits == 0) return 1;
      return 0;
    case SplitBrainPolicy::DiscardLeastChanges:
      if (mine.bitmap_bits == peer.bitmap_bits) return tie();
      return mine.bitmap_bits < peer.bitmap_bits ? -1 : 1;
    case SplitBrainPolicy::DiscardLocal: return -1;
    case SplitBrainPolicy::DiscardRemote: return 1;
    default: return 0;
  }
}

SyncVerdict split_brain(const SyncView& mine, const SyncView& peer, const SyncPolicies& policies,
                        bool mine_sorts_first) {
  const std::string base = fmt::format("split brain: both changed since a common generation "
                                       "(mine {}, peer {})",
                                       format_uuids(mine.uuids), format_uuids(peer.uuids));
  if (mine.discard_my_data)
    return verdict(SyncDecision::SplitBrainAutoTarget, base + "; discarding my data as asked");
  if (peer.discard_my_data)
    return verdict(SyncDecision::SplitBrainAutoSource, base + "; the peer discards its data as asked");

  const int primaries = (mine.role == Role::Primary) + (peer.role == Role::Primary);
  int outcome = 0;
  std::string policy_name;
  if (primaries == 0) {
    outcome = zero_primary_rule(policies.after_sb_0pri, mine, peer, mine_sorts_first);
    policy_name = fmt::format("after-sb-0pri {}", to_string(policies.after_sb_0pri));
  } else if (primaries == 1) {
    const bool i_am_secondary = mine.role != Role::Primary;
    policy_name = fmt::format("after-sb-1pri {}", to_string(policies.after_sb_1pri));
    if (policies.after_sb_1pri == SplitBrainPolicy::DiscardSecondary) {
      outcome = i_am_secondary ? -1 : 1;
    } else if (policies.after_sb_1pri == SplitBrainPolicy::Consensus) {
      const int zero = zero_primary_rule(policies.after_sb_0pri, mine, peer, mine_sorts_first);
      // Only when the 0pri rule would discard the Secondary.
      if ((zero == -1 && i_am_secondary) || (zero == 1 && !i_am_secondary)) outcome = zero;
    }
  } else {
    policy_name = fmt::format("after-sb-2pri {}", to_string(policies.after_sb_2pri));
  }
  if (outcome > 0)
    return verdict(SyncDecision::SplitBrainAutoSource,
                   fmt::format("{}; resolved by {}: the peer's changes are discarded", base, policy_name));
  if (outcome < 0)
    return verdict(SyncDecision::SplitBrainAutoTarget,
                   fmt::format("{}; resolved by {}: my changes are discarded", base, policy_name));
  return verdict(SyncDecision::SplitBrain,
                 fmt::format("{}; {} does not resolve it: staying StandAlone (run 'hapbx replica "
                             "connect --discard-my-data' on the node whose changes to drop)",
                             base, policy_name));
}

bool is_source(SyncDecision d) {
  return d == SyncDecision::BitmapSource || d == SyncDecision::FullSource ||
         d == SyncDecision::SplitBrainAutoSource;
}

SyncVerdict decide_by_ids(const SyncView& mine, const SyncView& peer, const SyncPolicies& policies,
                          bool mine_sorts_first) {
  const auto& m = mine.uuids;
  const auto& p = peer.uuids;
  if (m.current == 0 && p.current == 0)
    return verdict(SyncDecision::BothJustCreated,
                   "neither side has data yet: make one Primary with 'primary --force'");
  if (m.current == 0) return verdict(SyncDecision::FullTarget, "this side has no data: full sync from the peer");
  if (p.current == 0) return verdict(SyncDecision::FullSource, "the peer has no data: full sync to it");

  if (m.current == p.current) {
    if (!mine.flags.consistent && !peer.flags.consistent)
      return verdict(SyncDecision::BothJustCreated, "both sides are Inconsistent");
    if (!mine.flags.consistent) return verdict(SyncDecision::BitmapTarget, "resuming an interrupted resync (this side is the target)");
    if (!peer.flags.consistent) return verdict(SyncDecision::BitmapSource, "resuming an interrupted resync (the peer is the target)");
    const bool crashed_m = mine.flags.crashed_primary, crashed_p = peer.flags.crashed_primary;
    if (mine.bitmap_bits == 0 && peer.bitmap_bits == 0 && !crashed_m && !crashed_p)
      return verdict(SyncDecision::NoSync, "same generation, nothing out of sync");
    bool source;
    if (mine.role == Role::Primary || peer.role == Role::Primary) source = mine.role == Role::Primary;
    else if (crashed_m != crashed_p) source = crashed_m;  // the crashed Primary had the newest writes
    else if (mine.bitmap_bits != peer.bitmap_bits) source = mine.bitmap_bits > peer.bitmap_bits;
    else source = mine_sorts_first;
    return verdict(source ? SyncDecision::BitmapSource : SyncDecision::BitmapTarget,
                   "same generation: resync the blocks the bitmaps mark (activity log of a crashed Primary)");
  }
  if (p.bitmap != 0 && m.current == p.bitmap)
    return verdict(SyncDecision::BitmapTarget, "the peer moved on from my generation: bitmap-based resync from it");
  if (m.bitmap != 0 && m.bitmap == p.current)
    return verdict(SyncDecision::BitmapSource, "I moved on from the peer's generation: bitmap-based resync to it");
  if (in_history(m.current, p)) return verdict(SyncDecision::FullTarget, "the peer is generations ahead: full sync from it");
  if (in_history(p.current, m)) return verdict(SyncDecision::FullSource, "I am generations ahead: full sync to the peer");
  if (diverged_from_common(m, p)) return split_brain(mine, peer, policies, mine_sorts_first);
  return verdict(SyncDecision::Unrelated,
                 fmt::format("unrelated data (mine {}, peer {}): refusing to connect",
                             format_uuids(m), format_uuids(p)));
}

}  // namespace

SyncVerdict decide_sync(const SyncView& mine, const SyncView& peer, const SyncPolicies& policies,
                        bool mine_sorts_first) {
  if (mine.discard_my_data && peer.discard_my_data)
    return verdict(SyncDecision::Unrelated, "both sides were told to discard their data: refusing");
  SyncVerdict v = decide_by_ids(mine, peer, policies, mine_sorts_first);
  // An Inconsistent side (mid-sync, invalidated) has nothing to lose: it is the target, from
  // its bitmap when the ids allow it, else of a full sync. Never a split brain.
  if (!mine.flags.consistent && peer.flags.consistent && mine.uuids.current != 0 && peer.uuids.current != 0 &&
      v.decision != SyncDecision::BitmapTarget && v.decision != SyncDecision::NoSync)
    return verdict(SyncDecision::FullTarget, "this side is Inconsistent: full sync from the peer");
  if (mine.flags.consistent && !peer.flags.consistent && mine.uuids.current != 0 && peer.uuids.current != 0 &&
      v.decision != SyncDecision::BitmapSource && v.decision != SyncDecision::NoSync)
    return verdict(SyncDecision::FullSource, "the peer is Inconsistent: full sync to it");
  // Inconsistent data is never a source.
  if (is_source(v.decision) && !mine.flags.consistent) {
    if (peer.flags.consistent) return verdict(SyncDecision::FullTarget, "this side is Inconsistent: full sync from the peer");
    return verdict(SyncDecision::Unrelated, "both sides are Inconsistent and generations differ: refusing");
  }
  if (!is_source(v.decision) && v.decision != SyncDecision::NoSync &&
      v.decision != SyncDecision::SplitBrain && v.decision != SyncDecision::Unrelated &&
      v.decision != SyncDecision::BothJustCreated && !peer.flags.consistent) {
    if (mine.flags.consistent) return verdict(SyncDecision::FullSource, "the peer is Inconsistent: full sync to it");
    return verdict(SyncDecision::Unrelated, "both sides are Inconsistent and generations differ: refusing");
  }
  return v;
}

std::string_view to_string(SyncDecision d) {
  switch (d) {
    case SyncDecision::NoSync: return "no-sync";
    case SyncDecision::BitmapSource: return "bitmap-source";
    case SyncDecision::BitmapTarget: return "bitmap-target";
    case SyncDecision::FullSource: return "full-source";
    case SyncDecision::FullTarget: return "full-target";
    case SyncDecision::SplitBrain: return "split-brain";
    case SyncDecision::SplitBrainAutoSource: return "split-brain-auto-source";
    case SyncDecision::SplitBrainAutoTarget: return "split-brain-auto-target";
    case SyncDecision::Unrelated: return "unrelated";
    case SyncDecision::BothJustCreated: return "both-just-created";
  }
  return "?";
}

std::string format_uuid(std::uint64_t id) { return fmt::format("{:016X}", id); }

std::string format_uuids(const GenerationUuids& u) {
  return fmt::format("{}:{}:{}:{}", format_uuid(u.current), format_uuid(u.bitmap),
                     format_uuid(u.history[0]), format_uuid(u.history[1]));
}

}  // namespace hapbx::replica
