// The replication link's wire format: encoding, decoding and the stream decoder (contracts in
// peer_message.h).
//
// Frame header (16 bytes, big-endian):
//   0 magic u32 = 0x4852504C "HRPL" | 4 version u16 = kWireVersion | 6 type u16
//   8 body length u32 | 12 reserved u32 = 0
//
// Type numbers are the PeerMessage variant index + 1 (0 is never a type). They are part of the
// protocol: never reorder the variant, only append to it (the static_asserts below pin them).
//    1 Hello          u16 version_min, u16 version_max, str resource, str node, bytes challenge
//    2 AuthResponse   bytes response
//    3 Params         u8 protocol, u64 data_size, u64 last_agreed_size,
//                     view: uuids (u64 current, u64 bitmap, u64 history[0], u64 history[1]),
//                           flags (bool consistent, was_up_to_date, primary, crashed_primary,
//                                  peer_outdated, full_sync_pending),
//                           u8 role, u64 bitmap_bits, u64 generation_started_ms,
//                           bool discard_my_data,
//                     u8 disk, str csums_alg, str verify_alg, str integrity_alg, u64 boot_id
//    4 BitmapChunk    u64 first_block, bytes runs (<= kMaxBitmapRuns), bool last
//    5 StateUpdate    u8 role, u8 disk
//    6 UuidUpdate     uuids
//    7 Data           u64 seq, u64 offset, payload, bytes digest
//    8 Zero           u64 seq, u64 offset, u64 length
//    9 RecvAck        u64 seq
//   10 WriteAck       u64 seq
//   11 NegAck         u64 seq
//   12 Flush          u64 id
//   13 FlushAck       u64 id
//   14 ResyncRequest  u64 offset, u64 length
//   15 CsumRequest    u64 offset, u64 length, bytes digest
//   16 ResyncData     u64 offset, payload, bytes digest
//   17 ResyncInSync   u64 offset, u64 length
//   18 ResyncAck      u64 offset, u64 length
//   19 ResyncDone     uuids
//   20 VerifyRequest  u64 offset, u64 length
//   21 VerifyReply    u64 offset, u64 length, bytes digest
//   22 VerifyDone     (empty)
//   23 OutOfSync      u64 offset, u64 length
//   24 Ping           (empty)
//   25 PingAck        (empty)
//   26 Goodbye        str reason
//   27 StartResync    bool sender_is_source, bool full
// str: u32 length (<= kMaxStringLength) + bytes, no control characters (< 0x20, 0x7F).
// bytes: u32 length (<= kMaxDigestLength unless noted) + bytes. payload: u32 length
// (<= kMaxPayload) + bytes. bool: u8 0 or 1. Enums: u8, Protocol 0..2 (A, B, C), Role 0..2
// (Unknown, Secondary, Primary), DiskState 0..7 (Diskless ... UpToDate, as in replica_types.h).
// Hello also requires version_min <= version_max.
//
// The decoder checks a header against the most its type can hold (computed from the field list
// and limits) plus kBodySlack, and against kMaxBody, before waiting for the body: a Ping cannot
// make it buffer a megabyte. The slack lets a field that breaks its own limit (a 65-byte digest)
// be reported by name rather than as a body that is too long.
#include "replica/peer_message.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <type_traits>
#include <utility>

namespace hapbx::replica {

namespace {

constexpr std::size_t kTypeCount = 27;
constexpr std::size_t kBodySlack = 4096;
static_assert(std::variant_size_v<PeerMessage> == kTypeCount,
              "a new message type needs a name, a number and its fields here");

constexpr std::array<std::string_view, kTypeCount> kNames = {
    "Hello",        "AuthResponse", "Params",       "BitmapChunk",   "StateUpdate",
    "UuidUpdate",   "Data",         "Zero",         "RecvAck",       "WriteAck",
    "NegAck",       "Flush",        "FlushAck",     "ResyncRequest", "CsumRequest",
    "ResyncData",   "ResyncInSync", "ResyncAck",    "ResyncDone",    "VerifyRequest",
    "VerifyReply",  "VerifyDone",   "OutOfSync",    "Ping",          "PingAck",
    "Goodbye",      "StartResync"};

template <typename T, std::size_t I = 0>
constexpr std::uint16_t type_of() {
  if constexpr (std::is_same_v<T, std::variant_alternative_t<I, PeerMessage>>) {
    return static_cast<std::uint16_t>(I + 1);
  } else {
    return type_of<T, I + 1>();
  }
}

// The wire numbers are protocol: these fail to compile if the variant is reordered.
static_assert(type_of<Hello>() == 1 && type_of<AuthResponse>() == 2 && type_of<Params>() == 3 &&
              type_of<BitmapChunk>() == 4 && type_of<StateUpdate>() == 5 &&
              type_of<UuidUpdate>() == 6 && type_of<Data>() == 7 && type_of<Zero>() == 8 &&
              type_of<RecvAck>() == 9 && type_of<WriteAck>() == 10 && type_of<NegAck>() == 11 &&
              type_of<Flush>() == 12 && type_of<FlushAck>() == 13 &&
              type_of<ResyncRequest>() == 14 && type_of<CsumRequest>() == 15 &&
              type_of<ResyncData>() == 16 && type_of<ResyncInSync>() == 17 &&
              type_of<ResyncAck>() == 18 && type_of<ResyncDone>() == 19 &&
              type_of<VerifyRequest>() == 20 && type_of<VerifyReply>() == 21 &&
              type_of<VerifyDone>() == 22 && type_of<OutOfSync>() == 23 && type_of<Ping>() == 24 &&
              type_of<PingAck>() == 25 && type_of<Goodbye>() == 26 &&
              type_of<StartResync>() == 27);

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7F; }

void put_be(Bytes& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::uint64_t get_be(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// ---- The three walkers over a message's fields -------------------------------------------------
// fields(io, message) lists a body's fields once; the Writer appends them, the Reader parses them
// (with a sticky first error), the Sizer adds up the most they can take.

class Writer {
 public:
  explicit Writer(Bytes& out, EncodedFrame* split = nullptr) : out_(&out), split_(split) {}

  void u8(std::uint8_t v, const char*) { out_->push_back(v); }
  void u16(std::uint16_t v, const char*) { put_be(*out_, v, 2); }
  void u64(std::uint64_t v, const char*) { put_be(*out_, v, 8); }
  void boolean(bool v, const char*) { out_->push_back(v ? 1 : 0); }
  template <typename E>
  void enumeration(E v, const char*, E) {
    out_->push_back(static_cast<std::uint8_t>(v));
  }
  void string(const std::string& s, const char*, std::size_t limit) {
    const std::size_t n = std::min(s.size(), limit);
    put_be(*out_, n, 4);
    for (std::size_t i = 0; i < n; ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      out_->push_back(is_control(c) ? static_cast<std::uint8_t>('?') : c);
    }
  }
  void bytes(const Bytes& b, const char*, std::size_t) {
    put_be(*out_, b.size(), 4);
    out_->insert(out_->end(), b.begin(), b.end());
  }
  void payload(const Payload& p, const char*) {
    if (!p) {
      put_be(*out_, 0, 4);
      return;
    }
    put_be(*out_, p->size(), 4);
    if (split_) {
      // Gather mode: the block stays where it is; the fields after it go to the tail.
      split_->payload = p;
      out_ = &split_->tail;
      return;
    }
    out_->insert(out_->end(), p->begin(), p->end());
  }

 private:
  Bytes* out_;
  EncodedFrame* split_;
};

class Reader {
 public:
  Reader(std::span<const std::uint8_t> body, std::string_view message)
      : body_(body), message_(message) {}

  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }

  void u8(std::uint8_t& v, const char* name) { v = static_cast<std::uint8_t>(integer(1, name)); }
  void u16(std::uint16_t& v, const char* name) {
    v = static_cast<std::uint16_t>(integer(2, name));
  }
  void u64(std::uint64_t& v, const char* name) { v = integer(8, name); }
  void boolean(bool& v, const char* name) {
    const std::uint64_t raw = integer(1, name);
    if (failed_) return;
    if (raw > 1) return fail(fmt::format("{} is {}, expected 0 or 1", name, raw));
    v = raw == 1;
  }
  template <typename E>
  void enumeration(E& v, const char* name, E max) {
    const std::uint64_t raw = integer(1, name);
    if (failed_) return;
    if (raw > static_cast<std::uint64_t>(max)) {
      return fail(fmt::format("{} {} out of range (0..{})", name, raw,
                              static_cast<unsigned>(max)));
    }
    v = static_cast<E>(raw);
  }
  void string(std::string& s, const char* name, std::size_t limit) {
    const std::uint8_t* p = counted(name, limit);
    if (p == nullptr) return;
    for (std::size_t i = 0; i < last_length_; ++i) {
      if (is_control(p[i])) {
        return fail(fmt::format("{} has control character 0x{:02X} at {}", name, p[i], i));
      }
    }
    s.assign(reinterpret_cast<const char*>(p), last_length_);
  }
  void bytes(Bytes& b, const char* name, std::size_t limit) {
    const std::uint8_t* p = counted(name, limit);
    if (p == nullptr) return;
    b.assign(p, p + last_length_);
  }
  void payload(Payload& out, const char* name) {
    const std::uint8_t* p = counted(name, kMaxPayload);
    if (p == nullptr) return;
    out = std::make_shared<std::vector<std::uint8_t>>(p, p + last_length_);  // one allocation
  }

  void finish() {
    if (!failed_ && pos_ != body_.size()) {
      fail(fmt::format("{} trailing bytes after the last field", body_.size() - pos_));
    }
  }
  void fail(std::string what) {
    if (failed_) return;
    failed_ = true;
    error_ = fmt::format("{}: {}", message_, what);
  }

 private:
  std::uint64_t integer(int size, const char* name) {
    if (failed_) return 0;
    const std::size_t left = body_.size() - pos_;
    if (left < static_cast<std::size_t>(size)) {
      fail(fmt::format("truncated at {} (needs {} bytes, {} left)", name, size, left));
      return 0;
    }
    const std::uint64_t v = get_be(body_.data() + pos_, size);
    pos_ += static_cast<std::size_t>(size);
    return v;
  }
  // A u32 length (checked against `limit`, then against what is left) and the bytes it counts:
  // a pointer to them (nullptr on error), their count in last_length_.
  const std::uint8_t* counted(const char* name, std::size_t limit) {
    if (failed_) return nullptr;
    const std::size_t left = body_.size() - pos_;
    if (left < 4) {
      fail(fmt::format("truncated at {} length (needs 4 bytes, {} left)", name, left));
      return nullptr;
    }
    const std::uint64_t n = get_be(body_.data() + pos_, 4);
    pos_ += 4;
    if (n > limit) {
      fail(fmt::format("{} length {} exceeds {}", name, n, limit));
      return nullptr;
    }
    if (n > left - 4) {
      fail(fmt::format("{} length {} but only {} bytes left", name, n, left - 4));
      return nullptr;
    }
    const std::uint8_t* p = body_.data() + pos_;
    pos_ += static_cast<std::size_t>(n);
    last_length_ = static_cast<std::size_t>(n);
    return p;
  }

  std::span<const std::uint8_t> body_;
  std::string_view message_;
  std::size_t pos_ = 0;
  std::size_t last_length_ = 0;
  bool failed_ = false;
  std::string error_;
};

class Sizer {
 public:
  std::size_t total = 0;

  void u8(std::uint8_t, const char*) { total += 1; }
  void u16(std::uint16_t, const char*) { total += 2; }
  void u64(std::uint64_t, const char*) { total += 8; }
  void boolean(bool, const char*) { total += 1; }
  template <typename E>
  void enumeration(E, const char*, E) {
    total += 1;
  }
  void string(const std::string&, const char*, std::size_t limit) { total += 4 + limit; }
  void bytes(const Bytes&, const char*, std::size_t limit) { total += 4 + limit; }
  void payload(const Payload&, const char*) { total += 4 + kMaxPayload; }
};

// ---- The field lists (the order is the wire order; keep the table at the top in step) ----------

template <typename Io>
void uuid_fields(Io& io, GenerationUuids& u, const char* current, const char* bitmap,
                 const char* h0, const char* h1) {
  io.u64(u.current, current);
  io.u64(u.bitmap, bitmap);
  io.u64(u.history[0], h0);
  io.u64(u.history[1], h1);
}

template <typename Io>
void fields(Io& io, Hello& m) {
  io.u16(m.version_min, "version_min");
  io.u16(m.version_max, "version_max");
  io.string(m.resource, "resource", kMaxStringLength);
  io.string(m.node, "node", kMaxStringLength);
  io.bytes(m.challenge, "challenge", kMaxDigestLength);
}
template <typename Io>
void fields(Io& io, AuthResponse& m) {
  io.bytes(m.response, "response", kMaxDigestLength);
}
template <typename Io>
void fields(Io& io, Params& m) {
  io.enumeration(m.protocol, "protocol", Protocol::C);
  io.u64(m.data_size, "data_size");
  io.u64(m.last_agreed_size, "last_agreed_size");
  uuid_fields(io, m.view.uuids, "view.uuids.current", "view.uuids.bitmap", "view.uuids.history[0]",
              "view.uuids.history[1]");
  io.boolean(m.view.flags.consistent, "view.flags.consistent");
  io.boolean(m.view.flags.was_up_to_date, "view.flags.was_up_to_date");
  io.boolean(m.view.flags.primary, "view.flags.primary");
  io.boolean(m.view.flags.crashed_primary, "view.flags.crashed_primary");
  io.boolean(m.view.flags.peer_outdated, "view.flags.peer_outdated");
  io.boolean(m.view.flags.full_sync_pending, "view.flags.full_sync_pending");
  io.enumeration(m.view.role, "view.role", Role::Primary);
  io.u64(m.view.bitmap_bits, "view.bitmap_bits");
  io.u64(m.view.generation_started_ms, "view.generation_started_ms");
  io.boolean(m.view.discard_my_data, "view.discard_my_data");
  io.enumeration(m.disk, "disk", DiskState::UpToDate);
  io.string(m.csums_alg, "csums_alg", kMaxStringLength);
  io.string(m.verify_alg, "verify_alg", kMaxStringLength);
  io.string(m.integrity_alg, "integrity_alg", kMaxStringLength);
  io.u64(m.boot_id, "boot_id");
}
template <typename Io>
void fields(Io& io, BitmapChunk& m) {
  io.u64(m.first_block, "first_block");
  io.bytes(m.runs, "runs", kMaxBitmapRuns);
  io.boolean(m.last, "last");
}
template <typename Io>
void fields(Io& io, StateUpdate& m) {
  io.enumeration(m.role, "role", Role::Primary);
  io.enumeration(m.disk, "disk", DiskState::UpToDate);
}
template <typename Io>
void fields(Io& io, UuidUpdate& m) {
  uuid_fields(io, m.uuids, "uuids.current", "uuids.bitmap", "uuids.history[0]",
              "uuids.history[1]");
}
template <typename Io>
void fields(Io& io, Data& m) {
  io.u64(m.seq, "seq");
  io.u64(m.offset, "offset");
  io.payload(m.data, "payload");
  io.bytes(m.digest, "digest", kMaxDigestLength);
}
template <typename Io>
void fields(Io& io, Zero& m) {
  io.u64(m.seq, "seq");
  io.u64(m.offset, "offset");
  io.u64(m.length, "length");
}
template <typename Io>
void fields(Io& io, RecvAck& m) { io.u64(m.seq, "seq"); }
template <typename Io>
void fields(Io& io, WriteAck& m) { io.u64(m.seq, "seq"); }
template <typename Io>
void fields(Io& io, NegAck& m) { io.u64(m.seq, "seq"); }
template <typename Io>
void fields(Io& io, Flush& m) { io.u64(m.id, "id"); }
template <typename Io>
void fields(Io& io, FlushAck& m) { io.u64(m.id, "id"); }

template <typename Io, typename M>
void range_fields(Io& io, M& m) {
  io.u64(m.offset, "offset");
  io.u64(m.length, "length");
}
template <typename Io>
void fields(Io& io, ResyncRequest& m) { range_fields(io, m); }
template <typename Io>
void fields(Io& io, CsumRequest& m) {
  range_fields(io, m);
  io.bytes(m.digest, "digest", kMaxDigestLength);
}
template <typename Io>
void fields(Io& io, ResyncData& m) {
  io.u64(m.offset, "offset");
  io.payload(m.data, "payload");
  io.bytes(m.digest, "digest", kMaxDigestLength);
}
template <typename Io>
void fields(Io& io, ResyncInSync& m) { range_fields(io, m); }
template <typename Io>
void fields(Io& io, ResyncAck& m) { range_fields(io, m); }
template <typename Io>
void fields(Io& io, ResyncDone& m) {
  uuid_fields(io, m.uuids, "uuids.current", "uuids.bitmap", "uuids.history[0]",
              "uuids.history[1]");
}
template <typename Io>
void fields(Io& io, VerifyRequest& m) { range_fields(io, m); }
template <typename Io>
void fields(Io& io, VerifyReply& m) {
  range_fields(io, m);
  io.bytes(m.digest, "digest", kMaxDigestLength);
}
template <typename Io>
void fields(Io&, VerifyDone&) {}
template <typename Io>
void fields(Io& io, OutOfSync& m) { range_fields(io, m); }
template <typename Io>
void fields(Io&, Ping&) {}
template <typename Io>
void fields(Io&, PingAck&) {}
template <typename Io>
void fields(Io& io, Goodbye& m) {
  io.string(m.reason, "reason", kMaxStringLength);
}
template <typename Io>
void fields(Io& io, StartResync& m) {
  io.boolean(m.sender_is_source, "sender_is_source");
  io.boolean(m.full, "full");
}

// Checks across fields, after they parsed.
template <typename T>
void check(Reader&, const T&) {}
void check(Reader& r, const Hello& m) {
  if (m.version_min > m.version_max) {
    r.fail(fmt::format("version_min {} exceeds version_max {}", m.version_min, m.version_max));
  }
}

// ---- Per-type tables ---------------------------------------------------------------------------

template <std::size_t I>
Result<PeerMessage> decode_as(std::span<const std::uint8_t> body) {
  std::variant_alternative_t<I, PeerMessage> m;
  Reader r(body, kNames[I]);
  fields(r, m);
  r.finish();
  if (!r.failed()) check(r, m);
  if (r.failed()) return make_error(r.error());
  return PeerMessage(std::in_place_index<I>, std::move(m));
}

using DecodeFn = Result<PeerMessage> (*)(std::span<const std::uint8_t>);

template <std::size_t... I>
constexpr std::array<DecodeFn, sizeof...(I)> make_decoders(std::index_sequence<I...>) {
  return {&decode_as<I>...};
}

constexpr std::array<DecodeFn, kTypeCount> kDecoders =
    make_decoders(std::make_index_sequence<kTypeCount>{});

template <std::size_t I>
std::size_t max_body_of() {
  std::variant_alternative_t<I, PeerMessage> m;
  Sizer s;
  fields(s, m);
  return std::min(s.total + kBodySlack, kMaxBody);
}

template <std::size_t... I>
std::array<std::size_t, sizeof...(I)> make_max_bodies(std::index_sequence<I...>) {
  return {max_body_of<I>()...};
}

// The longest body the header check lets through, by variant index.
const std::array<std::size_t, kTypeCount>& max_bodies() {
  static const std::array<std::size_t, kTypeCount> table =
      make_max_bodies(std::make_index_sequence<kTypeCount>{});
  return table;
}

struct Header {
  std::size_t index = 0;  // variant index (type - 1)
  std::size_t body_length = 0;
};

// Checks the 16 bytes at `p`; nothing of the body is needed.
Result<Header> parse_header(const std::uint8_t* p) {
  const auto magic = static_cast<std::uint32_t>(get_be(p, 4));
  const auto version = static_cast<std::uint16_t>(get_be(p + 4, 2));
  const auto type = static_cast<std::uint16_t>(get_be(p + 6, 2));
  const auto length = static_cast<std::uint32_t>(get_be(p + 8, 4));
  const auto reserved = static_cast<std::uint32_t>(get_be(p + 12, 4));
  if (magic != kWireMagic) {
    return make_error(fmt::format(
        "frame header: bad magic 0x{:08X} (expected 0x{:08X} \"HRPL\"; not a replicad peer?)",
        magic, kWireMagic));
  }
  if (version != kWireVersion) {
    return make_error(fmt::format("frame header: unsupported version {} (this side speaks {})",
                                  version, kWireVersion));
  }
  if (type == 0 || type > kTypeCount) {
    return make_error(fmt::format("frame header: unknown message type {}", type));
  }
  const std::size_t index = type - 1u;
  if (reserved != 0) {
    return make_error(fmt::format("{}: reserved header word is 0x{:08X}, expected 0",
                                  kNames[index], reserved));
  }
  const std::size_t max = max_bodies()[index];
  if (length > max) {
    return make_error(fmt::format("{}: body length {} exceeds {}", kNames[index], length, max));
  }
  return Header{index, length};
}

}  // namespace

std::string_view message_name(const PeerMessage& m) { return kNames[m.index()]; }

std::uint16_t message_type(const PeerMessage& m) {
  return static_cast<std::uint16_t>(m.index() + 1);
}

namespace {
void encode_into(const PeerMessage& m, Bytes& out, EncodedFrame* split) {
  const std::size_t start = out.size();
  put_be(out, kWireMagic, 4);
  put_be(out, kWireVersion, 2);
  put_be(out, message_type(m), 2);
  put_be(out, 0, 4);  // body length, patched below
  put_be(out, 0, 4);  // reserved
  std::visit(
      [&out, split](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        Writer w(out, split);
        // The Writer only reads: the field lists take a mutable reference for the Reader's sake.
        fields(w, const_cast<T&>(msg));
      },
      m);
  std::size_t body = out.size() - start - kHeaderSize;
  if (split) body += (split->payload ? split->payload->size() : 0) + split->tail.size();
  for (int i = 0; i < 4; ++i) {
    out[start + 8 + static_cast<std::size_t>(i)] =
        static_cast<std::uint8_t>(static_cast<std::uint32_t>(body) >> (8 * (3 - i)));
  }
}
}  // namespace

void encode_message(const PeerMessage& m, Bytes& out) { encode_into(m, out, nullptr); }

void encode_message(const PeerMessage& m, EncodedFrame& frame) {
  frame.head.clear();
  frame.payload.reset();
  frame.tail.clear();
  encode_into(m, frame.head, &frame);
}

Result<PeerMessage> decode_frame(std::span<const std::uint8_t> frame) {
  if (frame.size() < kHeaderSize) {
    return make_error(fmt::format("frame: {} bytes, shorter than the {}-byte header",
                                  frame.size(), kHeaderSize));
  }
  auto header = parse_header(frame.data());
  if (!header.ok()) return header.error();
  const std::size_t body = frame.size() - kHeaderSize;
  if (body != header->body_length) {
    return make_error(fmt::format("{}: frame has {} body bytes, the header says {}",
                                  kNames[header->index], body, header->body_length));
  }
  return kDecoders[header->index](frame.subspan(kHeaderSize));
}

void MessageDecoder::feed(std::span<const std::uint8_t> bytes) {
  if (failed_ || bytes.empty()) return;
  // Compact once the consumed prefix is at least as large as what is left: each byte is moved
  // at most about once, however the stream is split.
  if (consumed_ > 0 && consumed_ >= buffer_.size() - consumed_) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

std::optional<Result<PeerMessage>> MessageDecoder::next() {
  if (failed_) return Result<PeerMessage>(error_);
  const std::size_t available = buffer_.size() - consumed_;
  if (available < kHeaderSize) return std::nullopt;
  const std::uint8_t* p = buffer_.data() + consumed_;
  auto header = parse_header(p);
  if (!header.ok()) return fail(header.error());
  const std::size_t total = kHeaderSize + header->body_length;
  if (available < total) return std::nullopt;
  auto message = kDecoders[header->index](std::span<const std::uint8_t>(p + kHeaderSize,
                                                                        header->body_length));
  if (!message.ok()) return fail(message.error());
  consumed_ += total;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  return message;
}

std::optional<Result<PeerMessage>> MessageDecoder::fail(Error error) {
  failed_ = true;
  error_ = std::move(error);
  Bytes().swap(buffer_);  // release the memory: nothing more is decoded
  consumed_ = 0;
  return Result<PeerMessage>(error_);
}

}  // namespace hapbx::replica
