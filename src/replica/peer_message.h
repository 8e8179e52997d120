// The messages two replicad nodes exchange over their TCP link, and their wire format.
//
// Framing: every message is a 16-byte header followed by a body:
//   magic u32 "HRPL" | version u16 | type u16 | body length u32 | reserved u32 (0)
// All integers big-endian. Strings and byte fields are a u32 length then the bytes; limits are
// checked before anything is allocated (body <= kMaxBody, strings <= 256, digests <= 64).
// A data block (Data, ResyncData) carries at most kMaxPayload bytes. Enums are one byte (their
// value, range-checked), bools one byte (0 or 1 only). The body holds exactly the fields: bytes
// left over are an error, as are an unknown type, a version other than kWireVersion and a
// non-zero reserved word. The type numbers and each body's field order are listed in
// peer_message.cpp. Encoding is canonical: encode(decode(frame)) == frame.
//
// The stream is hostile until the handshake has authenticated the peer, and still bounded after:
// decode never trusts a length, never crashes, and answers an error naming the field.
//
// Order of a connection (both sides run the same steps):
//   Hello (version, resource, node names, challenge)   -> AuthResponse (HMAC of the peer's
//   challenge with the shared secret)  -> Params (sizes, generation ids, flags, role, disk state)
//   -> BitmapChunk... (only when a bitmap-based resync follows) -> replication traffic.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/result.h"
#include "replica/generation_uuids.h"
#include "replica/replica_types.h"

namespace hapbx::replica {

inline constexpr std::uint32_t kWireMagic = 0x4852504C;  // "HRPL"
inline constexpr std::uint16_t kWireVersion = 1;
inline constexpr std::size_t kHeaderSize = 16;
inline constexpr std::size_t kMaxPayload = 1u << 20;          // one block request: 1 MiB
inline constexpr std::size_t kMaxBody = kMaxPayload + 4096;   // payload + fields
inline constexpr std::size_t kMaxStringLength = 256;   // names, algorithm names, Goodbye reason
inline constexpr std::size_t kMaxDigestLength = 64;    // digests, challenge, response
// BitmapChunk.runs: whatever fits a body beside first_block (8), the length (4) and last (1).
inline constexpr std::size_t kMaxBitmapRuns = kMaxBody - 13;

// Block data shared between the local write and the send, without a copy.
using Payload = std::shared_ptr<const std::vector<std::uint8_t>>;
using Bytes = std::vector<std::uint8_t>;

struct Hello {
  std::uint16_t version_min = kWireVersion;
  std::uint16_t version_max = kWireVersion;
  std::string resource;
  std::string node;        // the sender's `on` name
  Bytes challenge;         // 32 random bytes (empty when no cram-hmac-alg)
};

struct AuthResponse {
  Bytes response;          // digest.h auth_response(alg, secret, peer's challenge, sender's node)
};

struct Params {
  Protocol protocol = Protocol::C;
  std::uint64_t data_size = 0;         // usable bytes of the sender's data area
  std::uint64_t last_agreed_size = 0;  // the size both agreed on last time (0 = never)
  SyncView view;                       // generation ids, flags, role, bitmap weight, ...
  DiskState disk = DiskState::Diskless;
  std::string csums_alg;
  std::string verify_alg;
  std::string integrity_alg;
  std::uint64_t boot_id = 0;           // random per daemon start: tells a restarted peer
};

// One piece of the sender's bitmap, run-length encoded (see bitmap.h encode_runs).
struct BitmapChunk {
  std::uint64_t first_block = 0;
  Bytes runs;
  bool last = false;
};

// A connected peer changed role or disk state (promote, demote, detach, sync end).
struct StateUpdate {
  Role role = Role::Secondary;
  DiskState disk = DiskState::UpToDate;
};

struct UuidUpdate {
  GenerationUuids uuids;
};

// A mirrored application write. `seq` numbers writes in order on this connection.
struct Data {
  std::uint64_t seq = 0;
  std::uint64_t offset = 0;
  Payload data;
  Bytes digest;            // data-integrity-alg digest of data (empty when off)
};

// A mirrored discard / write-zeroes: the range reads as zeroes afterwards, on both sides.
struct Zero {
  std::uint64_t seq = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct RecvAck { std::uint64_t seq = 0; };   // protocol B: in the peer's memory
struct WriteAck { std::uint64_t seq = 0; };  // protocol C: on the peer's disk
struct NegAck { std::uint64_t seq = 0; };    // the peer failed to write it: out of sync

// Flush everything before this point to stable storage; the answer carries the same id.
struct Flush { std::uint64_t id = 0; };
struct FlushAck { std::uint64_t id = 0; };

// Resync, driven by the SyncTarget.
struct ResyncRequest { std::uint64_t offset = 0; std::uint64_t length = 0; };
// csums-alg: the target's digest of its own copy; the source answers InSync when it matches.
struct CsumRequest { std::uint64_t offset = 0; std::uint64_t length = 0; Bytes digest; };
struct ResyncData { std::uint64_t offset = 0; Payload data; Bytes digest; };
struct ResyncInSync { std::uint64_t offset = 0; std::uint64_t length = 0; };
// The target has written (or found in sync) this range: the source may clear its bits.
struct ResyncAck { std::uint64_t offset = 0; std::uint64_t length = 0; };
struct ResyncDone { GenerationUuids uuids; };  // target -> source: nothing left out of sync

// Online verify, driven by the VerifyS side.
struct VerifyRequest { std::uint64_t offset = 0; std::uint64_t length = 0; };
struct VerifyReply { std::uint64_t offset = 0; std::uint64_t length = 0; Bytes digest; };
struct VerifyDone {};
struct OutOfSync { std::uint64_t offset = 0; std::uint64_t length = 0; };

// Starts a resync on a connection that is already up (primary --force on a fresh pair,
// invalidate, invalidate-remote): the sender's role in it, then both exchange bitmaps.
struct StartResync { bool sender_is_source = false; bool full = false; };

struct Ping {};
struct PingAck {};

// A clean goodbye with the reason, so the peer logs it instead of guessing.
struct Goodbye { std::string reason; };

using PeerMessage =
    std::variant<Hello, AuthResponse, Params, BitmapChunk, StateUpdate, UuidUpdate, Data, Zero,
                 RecvAck, WriteAck, NegAck, Flush, FlushAck, ResyncRequest, CsumRequest,
                 ResyncData, ResyncInSync, ResyncAck, ResyncDone, VerifyRequest, VerifyReply,
                 VerifyDone, OutOfSync, Ping, PingAck, Goodbye, StartResync>;

std::string_view message_name(const PeerMessage& m);
// The type number in the frame header (stable; listed in peer_message.cpp).
std::uint16_t message_type(const PeerMessage& m);

// Appends the framed message to `out`. Strings longer than kMaxStringLength are cut to it and
// control characters in them become '?', so a string always decodes. The caller keeps payloads
// <= kMaxPayload, digests <= kMaxDigestLength and runs <= kMaxBitmapRuns: a frame that breaks a
// limit is still written, and the peer rejects it with an error naming the field. A null
// Payload is sent as an empty one (decoding always yields a non-null Payload).
void encode_message(const PeerMessage& m, Bytes& out);

// The same frame in up to three pieces, for a gathered write without copying a data block:
// head (header and the fields up to the block), the block itself (shared, not copied), tail
// (the fields after it). head + *payload + tail is byte for byte what encode_message writes.
struct EncodedFrame {
  Bytes head;
  Payload payload;  // null for messages without a block
  Bytes tail;
  std::size_t size() const { return head.size() + (payload ? payload->size() : 0) + tail.size(); }
};
void encode_message(const PeerMessage& m, EncodedFrame& frame);

// Incremental decoding of a byte stream: feed what the socket read, take whole messages.
class MessageDecoder {
 public:
  // Appends bytes. Bounded: once next() has returned nullopt, the decoder holds less than one
  // header + kMaxBody (an incomplete message), so with reads of at most N bytes between drains
  // it never holds more than that + N. A header is checked (magic, version, type, reserved and
  // the body length against kMaxBody and against the most that type's fields can hold + 4 KiB)
  // as soon as its 16 bytes are in, before any of the body is waited for. A poisoned decoder
  // drops what it is fed.
  void feed(std::span<const std::uint8_t> bytes);
  // The next whole message; nullopt when more bytes are needed; an Error (bad magic, version,
  // type, length, field) poisons the stream: the caller closes the connection. Once poisoned,
  // every call returns the same Error.
  std::optional<Result<PeerMessage>> next();
  std::size_t buffered() const { return buffer_.size() - consumed_; }
  bool failed() const { return failed_; }

 private:
  std::optional<Result<PeerMessage>> fail(Error error);

  Bytes buffer_;
  std::size_t consumed_ = 0;
  bool failed_ = false;
  Error error_;
};

// One frame (header + body) to message, for tests and the fuzzer.
Result<PeerMessage> decode_frame(std::span<const std::uint8_t> frame);

}  // namespace hapbx::replica
