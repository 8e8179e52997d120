// Data generation identifiers and the decision they drive when two nodes connect.
//
// Every node keeps, in its metadata:
//   current  - the generation its data is in now;
//   bitmap   - the generation its bitmap counts changes from (0 = bitmap tracks nothing);
//   history  - the two generations before that.
// A Primary that loses its peer (or is promoted without one) starts a new generation:
// bitmap = current (if bitmap was 0), current = fresh id, and from then on every write sets
// bitmap bits. A finished resync makes the target take the source's current id; the source
// moves its bitmap id into history.
//
// On connect, comparing the two sets says what to do (see decide_sync):
//   equal current ids                 -> in sync, resync only what either bitmap holds
//                                        (activity-log extents of a crashed Primary);
//   my current == peer's bitmap id    -> the peer moved on: I am SyncTarget, bitmap-based;
//   my bitmap id == peer's current    -> I am SyncSource, bitmap-based;
//   my current in peer's history      -> the peer is far ahead: full sync, I am target;
//   same bitmap id, different current -> both moved on: split brain (after-sb policies);
//   a side that never had data        -> full sync from the other side;
//   nothing in common                 -> unrelated data: refuse, stay StandAlone.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "replica/replica_types.h"

namespace hapbx::replica {

struct GenerationUuids {
  std::uint64_t current = 0;
  std::uint64_t bitmap = 0;
  std::array<std::uint64_t, 2> history{};

  bool operator==(const GenerationUuids&) const = default;
};

// Persisted flags (names after DRBD's MDF_* meaning, not its bit values).
struct MetadataFlags {
  bool consistent = false;       // the data is a consistent image (not mid-sync)
  bool was_up_to_date = false;   // UpToDate at last update (not Outdated/Inconsistent)
  bool primary = false;          // Primary at last update: set on promote, cleared on clean demote
  bool crashed_primary = false;  // attached with `primary` still set: the Primary crashed
  bool peer_outdated = false;    // we know the peer's data is older than ours
  bool full_sync_pending = false;// `invalidate` or initial sync: everything is out of sync

  bool operator==(const MetadataFlags&) const = default;
};

// A side's view, as exchanged in the handshake.
struct SyncView {
  GenerationUuids uuids;
  MetadataFlags flags;
  Role role = Role::Secondary;
  std::uint64_t bitmap_bits = 0;    // blocks marked out of sync
  std::uint64_t generation_started_ms = 0;  // wall time the current generation began (younger/older)
  bool discard_my_data = false;     // admin asked this side to be the victim
};

enum class SyncDecision {
  NoSync,           // same data, empty bitmaps
  BitmapSource,     // I send the union of both bitmaps
  BitmapTarget,     // I receive the union of both bitmaps
  FullSource,       // I send everything
  FullTarget,       // I receive everything
  SplitBrain,       // both changed since the common generation: policies decide
  SplitBrainAutoSource,  // split brain resolved by policy: I win (the peer is discarded)
  SplitBrainAutoTarget,  // split brain resolved by policy: I am the victim
  Unrelated,        // no common history: refuse
  BothJustCreated,  // neither side has data yet: wait for `primary --force`
};

struct SyncPolicies {
  SplitBrainPolicy after_sb_0pri = SplitBrainPolicy::Disconnect;
  SplitBrainPolicy after_sb_1pri = SplitBrainPolicy::Disconnect;
  SplitBrainPolicy after_sb_2pri = SplitBrainPolicy::Disconnect;
};

struct SyncVerdict {
  SyncDecision decision = SyncDecision::Unrelated;
  std::string reason;  // one line for the log and status: "split brain: both changed since 3f2a..."
};

// The pure comparison. Symmetric: decide_sync(a, b) and decide_sync(b, a) agree (one side source,
// the other target; both split brain; ...). Resolves split brain by the policies where they
// allow it, else returns SplitBrain (the caller goes StandAlone).
// `mine_sorts_first` (this node's name sorts before the peer's) breaks ties the same way on
// both sides. discard-local / discard-remote name a side, so they are meant for configurations
// that differ between the two nodes.
SyncVerdict decide_sync(const SyncView& mine, const SyncView& peer, const SyncPolicies& policies,
                        bool mine_sorts_first);

std::string_view to_string(SyncDecision d);
std::string format_uuid(std::uint64_t id);  // 16 hex digits, as drbdadm show-gi prints
std::string format_uuids(const GenerationUuids& u);  // "CUR:BM:H1:H2"

}  // namespace hapbx::replica
