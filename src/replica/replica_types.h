// The vocabulary of the replicated disk, shared by the config, the metadata, the peer protocol,
// the engine and the status commands. Names follow DRBD's (`drbdadm status`, /proc/drbd), since
// that is what our users read and script against.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace hapbx::replica {

// The unit of the bitmap and of resync: one bit covers one 4 KiB block of the data area.
inline constexpr std::uint64_t kBlockSize = 4096;
// The unit of the activity log: writes mark whole 4 MiB extents "hot".
inline constexpr std::uint64_t kExtentSize = 4u << 20;

// When a write is acknowledged to the application.
enum class Protocol : std::uint8_t {
  A,  // written locally and queued to the peer
  B,  // written locally and received (in memory) by the peer
  C,  // written locally and written to the peer's disk
};

enum class Role : std::uint8_t { Unknown, Secondary, Primary };

enum class ConnectionState : std::uint8_t {
  StandAlone,     // not trying to connect (admin disconnect, auth failure, split brain, ...)
  Disconnecting,  // tearing the connection down
  Unconnected,    // between connection attempts
  WFConnection,   // waiting for the peer's TCP connection
  WFReportParams, // TCP up: authenticating and exchanging parameters
  Connected,      // in sync, writes mirrored
  StartingSyncS,  // about to become SyncSource (bitmaps being exchanged)
  StartingSyncT,  // about to become SyncTarget
  SyncSource,     // sending resync data
  SyncTarget,     // receiving resync data
  VerifyS,        // online verify, this side drives
  VerifyT,        // online verify, the peer drives
};

enum class DiskState : std::uint8_t {
  Diskless,      // no backing disk attached
  Attaching,     // reading metadata
  Failed,        // I/O error, detached (on-io-error detach)
  Inconsistent,  // mid-sync or never synced: must not be used for reads
  Outdated,      // consistent but known to be older than the peer's
  DUnknown,      // (peer only) not connected, unknown
  Consistent,    // consistent, newest unknown (not connected yet)
  UpToDate,      // the newest data
};

// What each after-sb-* policy may say (DRBD 8 names).
enum class SplitBrainPolicy : std::uint8_t {
  Disconnect,
  DiscardYoungerPrimary,
  DiscardOlderPrimary,
  DiscardZeroChanges,
  DiscardLeastChanges,
  DiscardLocal,      // "discard-local": this node is always the victim
  DiscardRemote,     // "discard-remote": the peer is always the victim
  Consensus,         // after-sb-1pri: apply the 0pri result if it picks the Secondary
  DiscardSecondary,  // after-sb-1pri: the Secondary is the victim
  CallPrimaryLost,   // accepted for compatibility, acts as disconnect (documented)
  Violently,         // after-sb-*: "violently" accepted, acts as disconnect (documented)
};

// A connection that carries replication (handshake done): Connected, a resync or a verify.
bool is_connected(ConnectionState c);

std::string_view to_string(Protocol p);
std::string_view to_string(Role r);
std::string_view to_string(ConnectionState c);
std::string_view to_string(DiskState d);
std::string_view to_string(SplitBrainPolicy p);

std::optional<Protocol> protocol_from_string(std::string_view s);
std::optional<SplitBrainPolicy> split_brain_policy_from_string(std::string_view s);

}  // namespace hapbx::replica
