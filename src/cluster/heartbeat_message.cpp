// Encoding and hostile-input decoding of heartbeat datagrams (format in heartbeat_message.h).
#include "cluster/heartbeat_message.h"

#include <algorithm>
#include <string>

namespace hapbx::cluster {
namespace {

constexpr std::uint8_t kMagic[4] = {'H', 'X', 'H', 'B'};
constexpr std::size_t kHeaderSize = 8;
constexpr std::size_t kMinSignature = 4;  // crc

enum FieldType : std::uint8_t {
  kHeardNode = 1,
  kResources = 2,
  kPingNodes = 3,
  kLeaving = 4,
  kClaim = 5,  // u8 claim, u8 flags (bit 0 ping_ok, bit 1 wants_group, bit 2 not ready)
};
constexpr std::uint8_t kMaxClaim = 31;

bool valid_name_chars(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// "" when `s` is a valid name (empty allowed only if `may_be_empty`), else why not.
std::string name_problem(std::string_view what, std::string_view s, bool may_be_empty) {
  if (s.empty() && !may_be_empty) return std::string(what) + " is empty";
  if (s.size() > kMaxName) {
    return std::string(what) + " is " + std::to_string(s.size()) + " bytes (at most " +
           std::to_string(kMaxName) + ")";
  }
  if (!valid_name_chars(s)) return std::string(what) + " has a space or a non-printable byte";
  return {};
}

void put_u8(Bytes& out, std::uint8_t v) { out.push_back(v); }
void put_u16(Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void put_u64(Bytes& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
void put_str8(Bytes& out, std::string_view s) {
  put_u8(out, static_cast<std::uint8_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}
void put_field(Bytes& out, std::uint8_t type, std::span<const std::uint8_t> value) {
  put_u8(out, type);
  put_u8(out, static_cast<std::uint8_t>(value.size()));
  out.insert(out.end(), value.begin(), value.end());
}

// A bounded reader over the body; every read checks what is left.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}
  std::size_t left() const { return data_.size() - pos_; }
  bool u8(std::uint8_t& v) {
    if (left() < 1) return false;
    v = data_[pos_++];
    return true;
  }
  bool u64(std::uint64_t& v) {
    if (left() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | data_[pos_++];
    return true;
  }
  bool bytes(std::size_t n, std::span<const std::uint8_t>& v) {
    if (left() < n) return false;
    v = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool str8(std::string& v) {
    std::uint8_t n = 0;
    std::span<const std::uint8_t> b;
    if (!u8(n) || !bytes(n, b)) return false;
    v.assign(b.begin(), b.end());
    return true;
  }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

Error fail(DecodeFailure kind, DecodeFailure* out, std::string text) {
  if (out != nullptr) *out = kind;
  return make_error("heartbeat: " + std::string(to_string(kind)) + ": " + std::move(text));
}

// Parses a verified body into `m`; "" on success, else what is wrong.
std::string parse_body(std::span<const std::uint8_t> body, HeartbeatMessage& m) {
  Reader r(body);
  if (!r.str8(m.cluster)) return "cluster id runs past the body";
  if (auto p = name_problem("cluster id", m.cluster, true); !p.empty()) return p;
  if (!r.str8(m.node)) return "node name runs past the body";
  if (auto p = name_problem("node name", m.node, false); !p.empty()) return p;
  if (!r.u64(m.generation) || !r.u64(m.sequence)) return "generation/sequence run past the body";
  bool seen_resources = false, seen_ping = false, seen_leaving = false;
  while (r.left() > 0) {
    std::uint8_t type = 0, length = 0;
    std::span<const std::uint8_t> value;
    if (!r.u8(type) || !r.u8(length)) return "field header runs past the body";
    if (!r.bytes(length, value)) {
      return "field type " + std::to_string(type) + " of length " + std::to_string(length) +
             " runs past the body (" + std::to_string(r.left()) + " bytes left)";
    }
    const std::string_view text(reinterpret_cast<const char*>(value.data()), value.size());
    switch (type) {
      case kHeardNode: {
        if (m.hears.size() >= kMaxHeard) {
          return "more than " + std::to_string(kMaxHeard) + " heard nodes";
        }
        if (value.size() < 9) return "heard node field is " + std::to_string(value.size()) + " bytes";
        if ((value[0] & ~1u) != 0) return "heard node field has unknown flags";
        HeardNode h;
        h.up = (value[0] & 1u) != 0;
        for (std::size_t i = 1; i < 9; ++i) h.generation = (h.generation << 8) | value[i];
        h.node.assign(text.substr(9));
        if (auto p = name_problem("heard node name", h.node, false); !p.empty()) return p;
        m.hears.push_back(std::move(h));
        break;
      }
      case kResources: {
        if (seen_resources) return "resources field repeated";
        seen_resources = true;
        if (value.empty()) return "resources field is empty";
        if (value[0] > static_cast<std::uint8_t>(ResourceState::Failed)) {
          return "unknown resource state " + std::to_string(value[0]);
        }
        ResourceReport rep{static_cast<ResourceState>(value[0]), std::string(text.substr(1))};
        if (auto p = name_problem("resource group", rep.group, true); !p.empty()) return p;
        m.resources = std::move(rep);
        break;
      }
      case kPingNodes: {
        if (seen_ping) return "ping field repeated";
        seen_ping = true;
        if (value.size() != 2) return "ping field is " + std::to_string(value.size()) + " bytes (2)";
        if (value[0] > value[1]) return "ping field: reachable > configured";
        m.ping = PingReport{value[0], value[1]};
        break;
      }
      case kClaim: {
        if (m.claim) return "claim field repeated";
        if (value.size() != 2) return "claim field is " + std::to_string(value.size()) + " bytes (2)";
        if (value[0] > kMaxClaim || (value[1] & ~7u) != 0) return "claim field out of range";
        m.claim = ClaimReport{value[0], (value[1] & 1u) != 0, (value[1] & 2u) != 0, (value[1] & 4u) == 0};
        break;
      }
      case kLeaving: {
        if (seen_leaving) return "leaving field repeated";
        seen_leaving = true;
        if (!value.empty()) return "leaving field has a value";
        m.leaving = true;
        break;
      }
      default:
        break;  // a newer sender's field: skipped
    }
  }
  return {};
}

}  // namespace

std::string_view to_string(ResourceState s) {
  switch (s) {
    case ResourceState::None: return "none";
    case ResourceState::Starting: return "starting";
    case ResourceState::Running: return "running";
    case ResourceState::Stopping: return "stopping";
    case ResourceState::Failed: return "failed";
  }
  return "?";
}

std::string_view to_string(DecodeFailure f) {
  switch (f) {
    case DecodeFailure::None: return "ok";
    case DecodeFailure::TooShort: return "too short";
    case DecodeFailure::TooLong: return "too long";
    case DecodeFailure::BadMagic: return "bad magic";
    case DecodeFailure::BadVersion: return "unsupported version";
    case DecodeFailure::UnknownKey: return "unknown key index";
    case DecodeFailure::BadSignature: return "bad signature";
    case DecodeFailure::Malformed: return "malformed";
  }
  return "?";
}

Result<Bytes> encode(const HeartbeatMessage& m, const AuthKey& key) {
  auto refuse = [](std::string why) { return make_error("heartbeat encode: " + why); };
  if (key.index < 1 || key.index > 15) {
    return refuse("key index " + std::to_string(key.index) + " is outside 1..15");
  }
  if (auto p = name_problem("cluster id", m.cluster, true); !p.empty()) return refuse(p);
  if (auto p = name_problem("node name", m.node, false); !p.empty()) return refuse(p);
  if (m.hears.size() > kMaxHeard) {
    return refuse(std::to_string(m.hears.size()) + " heard nodes (at most " +
                  std::to_string(kMaxHeard) + ")");
  }
  Bytes out;
  out.reserve(256);
  out.insert(out.end(), std::begin(kMagic), std::end(kMagic));
  put_u8(out, kHeartbeatVersion);
  put_u8(out, static_cast<std::uint8_t>(key.index));
  put_u16(out, 0);  // body length, patched below
  put_str8(out, m.cluster);
  put_str8(out, m.node);
  put_u64(out, m.generation);
  put_u64(out, m.sequence);
  for (const HeardNode& h : m.hears) {
    if (auto p = name_problem("heard node name", h.node, false); !p.empty()) return refuse(p);
    Bytes value{static_cast<std::uint8_t>(h.up ? 1 : 0)};
    put_u64(value, h.generation);
    value.insert(value.end(), h.node.begin(), h.node.end());
    put_field(out, kHeardNode, value);
  }
  if (m.resources) {
    if (auto p = name_problem("resource group", m.resources->group, true); !p.empty()) {
      return refuse(p);
    }
    Bytes value{static_cast<std::uint8_t>(m.resources->state)};
    value.insert(value.end(), m.resources->group.begin(), m.resources->group.end());
    put_field(out, kResources, value);
  }
  if (m.ping) {
    if (m.ping->reachable > m.ping->configured) return refuse("ping reachable > configured");
    const std::uint8_t value[2] = {m.ping->reachable, m.ping->configured};
    put_field(out, kPingNodes, value);
  }
  if (m.claim) {
    if (m.claim->claim > kMaxClaim) return refuse("claim out of range");
    const std::uint8_t value[2] = {m.claim->claim,
                                   static_cast<std::uint8_t>((m.claim->ping_ok ? 1 : 0) | (m.claim->wants_group ? 2 : 0) |
                                                         (m.claim->ready ? 0 : 4))};
    put_field(out, kClaim, value);
  }
  if (m.leaving) put_field(out, kLeaving, {});
  const std::size_t body = out.size() - kHeaderSize;
  if (out.size() + signature_size(key.method) > kMaxDatagram) {
    return refuse("datagram would be " + std::to_string(out.size() + signature_size(key.method)) +
                  " bytes (at most " + std::to_string(kMaxDatagram) + ")");
  }
  out[6] = static_cast<std::uint8_t>(body >> 8);
  out[7] = static_cast<std::uint8_t>(body);
  const Bytes signature = sign(key, out);
  if (signature.size() != signature_size(key.method)) return refuse("signing failed (OpenSSL)");
  out.insert(out.end(), signature.begin(), signature.end());
  return out;
}

Result<HeartbeatMessage> decode(std::span<const std::uint8_t> d, const std::vector<AuthKey>& keys,
                                DecodeFailure* failure) {
  if (failure != nullptr) *failure = DecodeFailure::None;
  if (d.size() > kMaxDatagram) {
    return fail(DecodeFailure::TooLong, failure,
                std::to_string(d.size()) + " bytes (at most " + std::to_string(kMaxDatagram) + ")");
  }
  if (d.size() >= 4 && !std::equal(std::begin(kMagic), std::end(kMagic), d.begin())) {
    return fail(DecodeFailure::BadMagic, failure, "not a heartbeat datagram");
  }
  if (d.size() < kHeaderSize + kMinSignature) {
    return fail(DecodeFailure::TooShort, failure,
                std::to_string(d.size()) + " bytes (a header and a signature need " +
                    std::to_string(kHeaderSize + kMinSignature) + ")");
  }
  if (d[4] != kHeartbeatVersion) {
    return fail(DecodeFailure::BadVersion, failure,
                "version " + std::to_string(d[4]) + " (this node speaks " +
                    std::to_string(kHeartbeatVersion) + ")");
  }
  const int index = d[5];
  const auto key = std::find_if(keys.begin(), keys.end(),
                                [index](const AuthKey& k) { return k.index == index; });
  if (key == keys.end()) {
    return fail(DecodeFailure::UnknownKey, failure,
                "key index " + std::to_string(index) + " is not in authkeys");
  }
  const std::size_t body = (std::size_t{d[6]} << 8) | d[7];
  const std::size_t signed_size = kHeaderSize + body;
  const std::size_t want = signature_size(key->method);
  if (signed_size > d.size() || d.size() - signed_size != want) {
    return fail(DecodeFailure::BadSignature, failure,
                "body length " + std::to_string(body) + " leaves " +
                    (signed_size > d.size() ? std::string("no")
                                            : std::to_string(d.size() - signed_size)) +
                    " bytes of signature in a " + std::to_string(d.size()) + "-byte datagram (" +
                    std::string(to_string(key->method)) + " key " + std::to_string(index) +
                    " signs with " + std::to_string(want) + ")");
  }
  if (!verify_signature(*key, d.first(signed_size), d.subspan(signed_size))) {
    return fail(DecodeFailure::BadSignature, failure,
                std::string(to_string(key->method)) + " signature does not match key " +
                    std::to_string(index));
  }
  HeartbeatMessage m;
  if (std::string why = parse_body(d.subspan(kHeaderSize, body), m); !why.empty()) {
    return fail(DecodeFailure::Malformed, failure, why);
  }
  m.key_index = index;
  return m;
}

std::uint64_t make_generation(std::uint64_t unix_time_ms, std::uint64_t random) {
  return (unix_time_ms << 20) | (random & 0xFFFFFu);
}

}  // namespace hapbx::cluster
