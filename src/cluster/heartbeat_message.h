// The heartbeat datagram of clusterd: who sends it (node, per-boot generation, sequence), what
// the sender sees (the nodes it hears, the resource group it holds and in what state, how many
// ping nodes it reaches, whether it is leaving), signed with one authkeys key.
//
// Wire format (version 1), integers big-endian, one UDP datagram of at most kMaxDatagram bytes:
//
//   offset  size  field
//   0       4     magic "HXHB"
//   4       1     version = 1
//   5       1     auth key index (1..15): the authkeys key that signed it
//   6       2     body length n
//   8       n     body:
//                   u8 cluster length (0 = none, ≤ kMaxName), cluster id
//                   u8 node length (1..kMaxName), node name
//                   u64 generation, u64 sequence
//                   fields until the end of the body, each: u8 type, u8 length, value
//   8+n     s     signature over bytes [0, 8+n): HMAC with the key of that index (md5 16, sha1
//                 20, sha256 32 bytes) or, for crc, the CRC-32 (4 bytes); s is exactly the
//                 method's size, so the datagram ends there.
//
// Fields (type: value):
//   1 HeardNode: u8 flags (bit 0: up at the sender), u64 the generation of that node the sender
//                last heard, node name (one field per node, ≤ kMaxHeard). Echoing the
//                receiver's generation proves the datagram is fresh (see membership.h).
//   2 Resources: u8 ResourceState, then the resource group name (0..kMaxName bytes)
//   3 PingNodes: u8 reachable, u8 configured (reachable ≤ configured)
//   4 Leaving:   empty; the sender is shutting down gracefully
// A receiver skips field types it does not know (a newer sender may add some), but refuses a
// known field that is malformed or repeated (HeardNode excepted).
//
// Names (cluster, node, group, heard nodes) are printable ASCII without spaces, so a hostile
// packet cannot put control characters into logs.
//
// decode() treats its input as hostile: every length is checked against what is left, and the
// signature is verified (constant time) before the body is parsed. Its errors say why, and
// DecodeFailure classifies them for the counters (forged and misconfigured peers show up as
// UnknownKey / BadSignature).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/auth_key.h"
#include "cluster/heartbeat_signature.h"
#include "core/result.h"

namespace hapbx::cluster {

inline constexpr std::size_t kMaxDatagram = 1400;
inline constexpr std::size_t kMaxName = 64;
inline constexpr std::size_t kMaxHeard = 32;
inline constexpr std::uint8_t kHeartbeatVersion = 1;

// What the sender does with its resource group.
enum class ResourceState : std::uint8_t {
  None = 0,      // holds nothing
  Starting = 1,
  Running = 2,
  Stopping = 3,
  Failed = 4,    // a start or stop failed; see the sender's logs
};
std::string_view to_string(ResourceState s);

struct ResourceReport {
  ResourceState state = ResourceState::None;
  std::string group;  // may be empty (the node's only group)
  bool operator==(const ResourceReport&) const = default;
};

struct PingReport {
  std::uint8_t reachable = 0;
  std::uint8_t configured = 0;
  bool operator==(const PingReport&) const = default;
};

// The sender's claim on the resource group, as its resource manager announces it (the values of
// resource_manager_types.h's GroupClaim; the codec only carries them).
struct ClaimReport {
  std::uint8_t claim = 0;
  bool ping_ok = true;
  bool wants_group = false;
  bool ready = true;  // could start the group now (false: e.g. its disk is still resyncing)
  bool operator==(const ClaimReport&) const = default;
};

struct HeardNode {
  std::string node;
  std::uint64_t generation = 0;  // the generation of `node` the sender heard last
  bool up = false;               // `node` is up at the sender
  bool operator==(const HeardNode&) const = default;
};

struct HeartbeatMessage {
  std::string cluster;                 // "" = none
  std::string node;                    // the sender
  std::uint64_t generation = 0;        // chosen at daemon start, increases across restarts
  std::uint64_t sequence = 0;          // +1 per datagram the sender sends (any medium)
  std::vector<HeardNode> hears;        // nodes whose heartbeats the sender has heard
  std::optional<ResourceReport> resources;
  std::optional<PingReport> ping;
  std::optional<ClaimReport> claim;
  bool leaving = false;
  int key_index = 0;                   // decode(): the key that verified it; ignored by encode()
  bool operator==(const HeartbeatMessage&) const = default;
};

enum class DecodeFailure {
  None,
  TooShort,      // shorter than a header + smallest signature
  TooLong,       // more than kMaxDatagram bytes
  BadMagic,      // not a heartbeat (another protocol on the port)
  BadVersion,
  UnknownKey,    // the key index is not in our authkeys
  BadSignature,  // wrong secret or method, tampered, or truncated
  Malformed,     // signed correctly but the body does not parse (a bug or a newer peer)
};
std::string_view to_string(DecodeFailure f);

// The datagram for `message`, signed with `key` (whose index it carries). Fails, naming the
// field, when the message does not fit the format (a name too long or not printable, too many
// heard nodes, ping reachable > configured, over kMaxDatagram, a key index outside 1..15).
Result<Bytes> encode(const HeartbeatMessage& message, const AuthKey& key);

// The message of a datagram, verified with the key of its index among `keys`. On failure the
// error names why, and `*failure` (if given) classifies it.
Result<HeartbeatMessage> decode(std::span<const std::uint8_t> datagram,
                                const std::vector<AuthKey>& keys,
                                DecodeFailure* failure = nullptr);

// A generation for a daemon starting now: the wall-clock time in milliseconds in the high 44
// bits and 20 random bits below, so a restarted node's generation is higher than its last one
// (as membership requires) as long as the wall clock does not go back, and two starts in the
// same millisecond still differ.
std::uint64_t make_generation(std::uint64_t unix_time_ms, std::uint64_t random);

}  // namespace hapbx::cluster
