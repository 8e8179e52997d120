// The replication link's wire format: round trips of every message, the stream decoder however
// the bytes are split, every limit and malformed field named in its error, poisoning and the
// decoder's memory bound.
#include "replica/peer_message.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <tuple>

namespace hapbx::replica {
namespace {

// ---- Field-by-field equality, written here independently of the codec's field lists -----------

bool same_payload(const Payload& a, const Payload& b) {
  const std::size_t na = a ? a->size() : 0;
  const std::size_t nb = b ? b->size() : 0;
  if (na != nb) return false;
  return na == 0 || *a == *b;
}

auto tie_view(const SyncView& v) {
  return std::tie(v.uuids, v.flags, v.role, v.bitmap_bits, v.generation_started_ms,
                  v.discard_my_data);
}

bool same(const Hello& a, const Hello& b) {
  return std::tie(a.version_min, a.version_max, a.resource, a.node, a.challenge) ==
         std::tie(b.version_min, b.version_max, b.resource, b.node, b.challenge);
}
bool same(const AuthResponse& a, const AuthResponse& b) { return a.response == b.response; }
bool same(const Params& a, const Params& b) {
  return std::tie(a.protocol, a.data_size, a.last_agreed_size, a.disk, a.csums_alg, a.verify_alg,
                  a.integrity_alg, a.boot_id) ==
             std::tie(b.protocol, b.data_size, b.last_agreed_size, b.disk, b.csums_alg,
                      b.verify_alg, b.integrity_alg, b.boot_id) &&
         tie_view(a.view) == tie_view(b.view);
}
bool same(const BitmapChunk& a, const BitmapChunk& b) {
  return std::tie(a.first_block, a.runs, a.last) == std::tie(b.first_block, b.runs, b.last);
}
bool same(const StateUpdate& a, const StateUpdate& b) {
  return a.role == b.role && a.disk == b.disk;
}
bool same(const UuidUpdate& a, const UuidUpdate& b) { return a.uuids == b.uuids; }
bool same(const Data& a, const Data& b) {
  return a.seq == b.seq && a.offset == b.offset && same_payload(a.data, b.data) &&
         a.digest == b.digest;
}
bool same(const Zero& a, const Zero& b) {
  return std::tie(a.seq, a.offset, a.length) == std::tie(b.seq, b.offset, b.length);
}
bool same(const RecvAck& a, const RecvAck& b) { return a.seq == b.seq; }
bool same(const WriteAck& a, const WriteAck& b) { return a.seq == b.seq; }
bool same(const NegAck& a, const NegAck& b) { return a.seq == b.seq; }
bool same(const Flush& a, const Flush& b) { return a.id == b.id; }
bool same(const FlushAck& a, const FlushAck& b) { return a.id == b.id; }
template <typename T>
bool same_range(const T& a, const T& b) {
  return a.offset == b.offset && a.length == b.length;
}
bool same(const ResyncRequest& a, const ResyncRequest& b) { return same_range(a, b); }
bool same(const CsumRequest& a, const CsumRequest& b) {
  return same_range(a, b) && a.digest == b.digest;
}
bool same(const ResyncData& a, const ResyncData& b) {
  return a.offset == b.offset && same_payload(a.data, b.data) && a.digest == b.digest;
}
bool same(const ResyncInSync& a, const ResyncInSync& b) { return same_range(a, b); }
bool same(const ResyncAck& a, const ResyncAck& b) { return same_range(a, b); }
bool same(const ResyncDone& a, const ResyncDone& b) { return a.uuids == b.uuids; }
bool same(const VerifyRequest& a, const VerifyRequest& b) { return same_range(a, b); }
bool same(const VerifyReply& a, const VerifyReply& b) {
  return same_range(a, b) && a.digest == b.digest;
}
bool same(const VerifyDone&, const VerifyDone&) { return true; }
bool same(const OutOfSync& a, const OutOfSync& b) { return same_range(a, b); }
bool same(const Ping&, const Ping&) { return true; }
bool same(const PingAck&, const PingAck&) { return true; }
bool same(const Goodbye& a, const Goodbye& b) { return a.reason == b.reason; }
bool same(const StartResync& a, const StartResync& b) {
  return a.sender_is_source == b.sender_is_source && a.full == b.full;
}

bool same_message(const PeerMessage& a, const PeerMessage& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&b](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        return same(x, std::get<T>(b));
      },
      a);
}

Payload make_payload(std::size_t size, std::uint8_t seed) {
  auto v = std::make_shared<std::vector<std::uint8_t>>(size);
  for (std::size_t i = 0; i < size; ++i) (*v)[i] = static_cast<std::uint8_t>(seed + i * 7 + (i >> 9));
  return v;
}

GenerationUuids sample_uuids(std::uint64_t base) {
  return GenerationUuids{base | 1, base + 0x1111, {base + 0x2222, 0xFFFFFFFFFFFFFFFFull}};
}

// One of every type, every field away from its default (and multi-byte integers using all their
// bytes, so a byte-order slip shows).
std::vector<PeerMessage> samples() {
  std::vector<PeerMessage> all;
  all.push_back(Hello{1, 7, "r0", "asterisk1", Bytes(32, 0xA5)});
  all.push_back(AuthResponse{Bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}});
  Params p;
  p.protocol = Protocol::A;
  p.data_size = 0x0102030405060708ull;
  p.last_agreed_size = 0x1122334455667788ull;
  p.view.uuids = sample_uuids(0xABCDEF0123456780ull);
  p.view.flags = MetadataFlags{true, false, true, false, true, true};
  p.view.role = Role::Primary;
  p.view.bitmap_bits = 123456789;
  p.view.generation_started_ms = 1700000000123ull;
  p.view.discard_my_data = true;
  p.disk = DiskState::Outdated;
  p.csums_alg = "sha1";
  p.verify_alg = "crc32c";
  p.integrity_alg = "md5";
  p.boot_id = 0xDEADBEEFCAFEF00Dull;
  all.push_back(p);
  all.push_back(BitmapChunk{0x0000000100000002ull, Bytes{0x81, 0x00, 0x7F, 0xFF, 0x03}, true});
  all.push_back(StateUpdate{Role::Unknown, DiskState::Inconsistent});
  all.push_back(UuidUpdate{sample_uuids(0x5555000000000000ull)});
  all.push_back(Data{0x8000000000000001ull, 4096ull * 1000003, make_payload(8192, 3),
                     Bytes{0xE3, 0x06, 0x92, 0x83}});
  all.push_back(Zero{42, 1ull << 40, 1ull << 33});
  all.push_back(RecvAck{0x0102030405060708ull});
  all.push_back(WriteAck{0x1112131415161718ull});
  all.push_back(NegAck{0x2122232425262728ull});
  all.push_back(Flush{0x3132333435363738ull});
  all.push_back(FlushAck{0x4142434445464748ull});
  all.push_back(ResyncRequest{4096 * 77, 1u << 20});
  all.push_back(CsumRequest{4096 * 78, 4096, Bytes(20, 0x3C)});
  all.push_back(ResyncData{4096 * 79, make_payload(4096, 9), Bytes(32, 0x77)});
  all.push_back(ResyncInSync{4096 * 80, 8192});
  all.push_back(ResyncAck{4096 * 81, 12288});
  all.push_back(ResyncDone{sample_uuids(0x7777000000000000ull)});
  all.push_back(VerifyRequest{4096 * 82, 1u << 20});
  all.push_back(VerifyReply{4096 * 83, 1u << 20, Bytes(64, 0x99)});
  all.push_back(VerifyDone{});
  all.push_back(OutOfSync{4096 * 84, 4096 * 3});
  all.push_back(Ping{});
  all.push_back(PingAck{});
  all.push_back(Goodbye{"resource r0 is going down: admin disconnect"});
  all.push_back(StartResync{true, true});
  return all;
}

Bytes encode(const PeerMessage& m) {
  Bytes out;
  encode_message(m, out);
  return out;
}

// ---- Hand-made frames for the malformed cases ----------------------------------------------------

void be(Bytes& out, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

Bytes header(std::uint16_t type, std::uint32_t body_length, std::uint32_t magic = kWireMagic,
             std::uint16_t version = kWireVersion, std::uint32_t reserved = 0) {
  Bytes h;
  be(h, magic, 4);
  be(h, version, 2);
  be(h, type, 2);
  be(h, body_length, 4);
  be(h, reserved, 4);
  return h;
}

Bytes frame(std::uint16_t type, const Bytes& body) {
  Bytes f = header(type, static_cast<std::uint32_t>(body.size()));
  f.insert(f.end(), body.begin(), body.end());
  return f;
}

void str(Bytes& out, std::string_view s) {
  be(out, s.size(), 4);
  out.insert(out.end(), s.begin(), s.end());
}

std::string error_of(const Bytes& f) {
  auto r = decode_frame(f);
  if (r.ok()) {
    ADD_FAILURE() << "decoded a " << message_name(*r) << " instead of failing";
    return {};
  }
  return r.error().message;
}

// A valid Params body with one byte (at `at`) replaced.
Bytes params_body_with(std::size_t at, std::uint8_t value) {
  Bytes f = encode(samples()[2]);
  Bytes body(f.begin() + kHeaderSize, f.end());
  body.at(at) = value;
  return body;
}

// Byte offsets in the Params body (see the table in peer_message.cpp).
constexpr std::size_t kParamsProtocol = 0;
constexpr std::size_t kParamsFlagsPrimary = 1 + 8 + 8 + 32 + 2;
constexpr std::size_t kParamsRole = 1 + 8 + 8 + 32 + 6;
constexpr std::size_t kParamsDiscard = kParamsRole + 1 + 8 + 8;
constexpr std::size_t kParamsDisk = kParamsDiscard + 1;

// ---- Round trips ----------------------------------------------------------------------------------

TEST(PeerMessage, SamplesCoverEveryTypeWithNonDefaultFields) {
  const auto all = samples();
  ASSERT_EQ(all.size(), std::variant_size_v<PeerMessage>);
  for (std::size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].index(), i);
    PeerMessage fresh = std::visit(
        [](const auto& x) -> PeerMessage { return std::decay_t<decltype(x)>{}; }, all[i]);
    const bool empty_type = std::holds_alternative<VerifyDone>(fresh) ||
                            std::holds_alternative<Ping>(fresh) ||
                            std::holds_alternative<PingAck>(fresh);
    if (!empty_type) {
      EXPECT_FALSE(same_message(all[i], fresh)) << message_name(all[i]);
    }
  }
}

TEST(PeerMessage, EveryTypeRoundTrips) {
  for (const PeerMessage& m : samples()) {
    SCOPED_TRACE(std::string(message_name(m)));
    const Bytes f = encode(m);
    ASSERT_GE(f.size(), kHeaderSize);
    auto back = decode_frame(f);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_TRUE(same_message(m, *back));
    EXPECT_EQ(message_name(*back), message_name(m));
    EXPECT_EQ(encode(*back), f);  // canonical
  }
}

TEST(PeerMessage, TypeNumbersAndNamesAreStable) {
  const auto all = samples();
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(message_type(all[i]), i + 1);
    const Bytes f = encode(all[i]);
    EXPECT_EQ((f[6] << 8) | f[7], static_cast<int>(i + 1));
  }
  EXPECT_EQ(message_type(Hello{}), 1);
  EXPECT_EQ(message_type(Data{}), 7);
  EXPECT_EQ(message_type(Goodbye{}), 26);
  EXPECT_EQ(message_type(StartResync{}), 27);
  EXPECT_EQ(message_name(Params{}), "Params");
  EXPECT_EQ(message_name(ResyncDone{}), "ResyncDone");
  EXPECT_EQ(message_name(Goodbye{}), "Goodbye");
}

TEST(PeerMessage, HeaderAndBodyLayoutAreBigEndian) {
  EXPECT_EQ(encode(Ping{}),
            (Bytes{'H', 'R', 'P', 'L', 0, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0}));
  const Bytes zero = encode(Zero{0x0102030405060708ull, 0x1112131415161718ull, 0x21});
  Bytes expected{'H', 'R', 'P', 'L', 0, 1, 0, 8, 0, 0, 0, 24, 0, 0, 0, 0};
  for (std::uint8_t b : {1, 2, 3, 4, 5, 6, 7, 8}) expected.push_back(b);
  for (std::uint8_t b : {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18}) expected.push_back(b);
  for (std::uint8_t b : {0, 0, 0, 0, 0, 0, 0, 0x21}) expected.push_back(b);
  EXPECT_EQ(zero, expected);
  EXPECT_EQ(encode(Goodbye{"ab"}),
            (Bytes{'H', 'R', 'P', 'L', 0, 1, 0, 26, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 2, 'a', 'b'}));
  EXPECT_EQ(encode(StateUpdate{Role::Primary, DiskState::UpToDate}),
            (Bytes{'H', 'R', 'P', 'L', 0, 1, 0, 5, 0, 0, 0, 2, 0, 0, 0, 0, 2, 7}));
}

TEST(PeerMessage, EncodeAppends) {
  Bytes out{0xEE};
  encode_message(Ping{}, out);
  encode_message(RecvAck{5}, out);
  ASSERT_EQ(out.size(), 1 + kHeaderSize + kHeaderSize + 8);
  EXPECT_EQ(out[0], 0xEE);
  MessageDecoder d;
  d.feed(std::span<const std::uint8_t>(out).subspan(1));
  auto a = d.next();
  auto b = d.next();
  ASSERT_TRUE(a && a->ok() && b && b->ok());
  EXPECT_TRUE(std::holds_alternative<Ping>(**a));
  EXPECT_EQ(std::get<RecvAck>(**b).seq, 5u);
  EXPECT_FALSE(d.next().has_value());
}

TEST(PeerMessage, OneMebibyteDataRoundTrips) {
  const Data m{9, 4096ull * 256, make_payload(kMaxPayload, 0x42), Bytes(kMaxDigestLength, 0x01)};
  const Bytes f = encode(m);
  EXPECT_LE(f.size(), kHeaderSize + kMaxBody);
  auto back = decode_frame(f);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(same_message(m, *back));
  ASSERT_TRUE(std::get<Data>(*back).data);
  EXPECT_EQ(std::get<Data>(*back).data->size(), kMaxPayload);

  const ResyncData r{4096ull * 512, make_payload(kMaxPayload, 0x24), Bytes(20, 0x02)};
  auto rback = decode_frame(encode(r));
  ASSERT_TRUE(rback.ok()) << rback.error().message;
  EXPECT_TRUE(same_message(r, *rback));
}

TEST(PeerMessage, LargestBitmapChunkFitsTheBody) {
  const BitmapChunk m{7, Bytes(kMaxBitmapRuns, 0x5A), false};
  const Bytes f = encode(m);
  EXPECT_EQ(f.size(), kHeaderSize + kMaxBody);
  auto back = decode_frame(f);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(same_message(m, *back));
}

TEST(PeerMessage, NullPayloadIsSentEmptyAndDecodesNonNull) {
  auto back = decode_frame(encode(Data{1, 2, nullptr, {}}));
  ASSERT_TRUE(back.ok()) << back.error().message;
  const auto& d = std::get<Data>(*back);
  ASSERT_TRUE(d.data);
  EXPECT_TRUE(d.data->empty());
  EXPECT_TRUE(d.digest.empty());
}

TEST(PeerMessage, EncoderCutsLongStringsAndMasksControlCharacters) {
  std::string reason(300, 'x');
  reason[3] = '\n';
  reason[4] = '\x7f';
  auto back = decode_frame(encode(Goodbye{reason}));
  ASSERT_TRUE(back.ok()) << back.error().message;
  const std::string& got = std::get<Goodbye>(*back).reason;
  ASSERT_EQ(got.size(), kMaxStringLength);
  EXPECT_EQ(got.substr(0, 6), "xxx??x");
  // UTF-8 (bytes >= 0x80) passes untouched.
  auto utf8 = decode_frame(encode(Hello{1, 1, "r\xC3\xA9sum\xC3\xA9", "n\xC3\xB8" "de", {}}));
  ASSERT_TRUE(utf8.ok()) << utf8.error().message;
  EXPECT_EQ(std::get<Hello>(*utf8).resource, "r\xC3\xA9sum\xC3\xA9");
}

// ---- Malformed frames: every error names the message and the field --------------------------------

TEST(PeerMessage, HeaderErrors) {
  EXPECT_EQ(error_of(Bytes{'H', 'R', 'P'}), "frame: 3 bytes, shorter than the 16-byte header");
  EXPECT_EQ(error_of(header(24, 0, 0x47455420)),
            "frame header: bad magic 0x47455420 (expected 0x4852504C \"HRPL\"; not a replicad "
            "peer?)");
  EXPECT_EQ(error_of(header(24, 0, kWireMagic, 2)),
            "frame header: unsupported version 2 (this side speaks 1)");
  EXPECT_EQ(error_of(header(0, 0)), "frame header: unknown message type 0");
  EXPECT_EQ(error_of(header(28, 0)), "frame header: unknown message type 28");
  EXPECT_EQ(error_of(header(65535, 0)), "frame header: unknown message type 65535");
  EXPECT_EQ(error_of(header(24, 0, kWireMagic, kWireVersion, 1)),
            "Ping: reserved header word is 0x00000001, expected 0");
  Bytes ping_with_body = header(24, 1);
  ping_with_body.push_back(0);
  EXPECT_EQ(error_of(ping_with_body), "Ping: 1 trailing bytes after the last field");
  Bytes ping_big = header(24, 4097);
  ping_big.resize(kHeaderSize + 4097);
  EXPECT_EQ(error_of(ping_big), "Ping: body length 4097 exceeds 4096");
  Bytes hello = header(1, 100000);
  hello.resize(kHeaderSize + 100000);
  EXPECT_EQ(error_of(hello).substr(0, 31), "Hello: body length 100000 excee");
  EXPECT_EQ(error_of(header(7, 0xFFFFFFFFu)), "Data: body length 4294967295 exceeds 1052672");
  EXPECT_EQ(error_of(header(4, kMaxBody + 1)), "BitmapChunk: body length 1052673 exceeds 1052672");
  Bytes short_body = encode(RecvAck{1});
  short_body.pop_back();
  EXPECT_EQ(error_of(short_body), "RecvAck: frame has 7 body bytes, the header says 8");
}

TEST(PeerMessage, LengthLimitsAreNamed) {
  {  // The brief's example: a payload length beyond kMaxPayload, announced in a small body.
    Bytes body;
    be(body, 1, 8);
    be(body, 0, 8);
    be(body, 2000000, 4);
    EXPECT_EQ(error_of(frame(7, body)), "Data: payload length 2000000 exceeds 1048576");
  }
  {  // One byte over, in a complete frame the encoder wrote.
    EXPECT_EQ(error_of(encode(Data{1, 0, make_payload(kMaxPayload + 1, 0), {}})),
              "Data: payload length 1048577 exceeds 1048576");
    EXPECT_EQ(error_of(encode(ResyncData{0, make_payload(kMaxPayload + 1, 0), {}})),
              "ResyncData: payload length 1048577 exceeds 1048576");
  }
  EXPECT_EQ(error_of(encode(Data{1, 0, make_payload(16, 0), Bytes(65, 0)})),
            "Data: digest length 65 exceeds 64");
  EXPECT_EQ(error_of(encode(CsumRequest{0, 4096, Bytes(65, 0)})),
            "CsumRequest: digest length 65 exceeds 64");
  EXPECT_EQ(error_of(encode(VerifyReply{0, 4096, Bytes(100, 0)})),
            "VerifyReply: digest length 100 exceeds 64");
  EXPECT_EQ(error_of(encode(Hello{1, 1, "r0", "a", Bytes(65, 0)})),
            "Hello: challenge length 65 exceeds 64");
  EXPECT_EQ(error_of(encode(AuthResponse{Bytes(65, 0)})),
            "AuthResponse: response length 65 exceeds 64");
  {
    Bytes body;
    be(body, 1, 2);
    be(body, 1, 2);
    str(body, std::string(257, 'r'));
    str(body, "a");
    be(body, 0, 4);
    EXPECT_EQ(error_of(frame(1, body)), "Hello: resource length 257 exceeds 256");
  }
  {
    Bytes body;
    be(body, 0, 8);
    be(body, kMaxBitmapRuns + 1, 4);
    EXPECT_EQ(error_of(frame(4, body)),
              "BitmapChunk: runs length " + std::to_string(kMaxBitmapRuns + 1) + " exceeds " +
                  std::to_string(kMaxBitmapRuns));
  }
  {
    Bytes body;
    str(body, std::string(257, 'g'));
    EXPECT_EQ(error_of(frame(26, body)), "Goodbye: reason length 257 exceeds 256");
    Bytes small;
    be(small, 0x80000000u, 4);
    EXPECT_EQ(error_of(frame(26, small)), "Goodbye: reason length 2147483648 exceeds 256");
  }
}

TEST(PeerMessage, TruncationAndTrailingBytesAreNamed) {
  Bytes zero = encode(Zero{1, 2, 3});
  Bytes body(zero.begin() + kHeaderSize, zero.end() - 1);
  EXPECT_EQ(error_of(frame(8, body)), "Zero: truncated at length (needs 8 bytes, 7 left)");
  EXPECT_EQ(error_of(frame(9, {})), "RecvAck: truncated at seq (needs 8 bytes, 0 left)");
  Bytes goodbye;
  be(goodbye, 10, 4);
  goodbye.insert(goodbye.end(), {'a', 'b', 'c'});
  EXPECT_EQ(error_of(frame(26, goodbye)), "Goodbye: reason length 10 but only 3 bytes left");
  EXPECT_EQ(error_of(frame(26, Bytes{0, 0})),
            "Goodbye: truncated at reason length (needs 4 bytes, 2 left)");
  Bytes extra;
  str(extra, "abc");
  extra.push_back('!');
  EXPECT_EQ(error_of(frame(26, extra)), "Goodbye: 1 trailing bytes after the last field");
  Bytes hello = encode(Hello{1, 1, "r0", "n1", {}});
  Bytes hbody(hello.begin() + kHeaderSize, hello.end());
  hbody.insert(hbody.end(), {0, 0});
  EXPECT_EQ(error_of(frame(1, hbody)), "Hello: 2 trailing bytes after the last field");
  Bytes data = encode(Data{1, 2, make_payload(100, 1), Bytes{1, 2}});
  Bytes dbody(data.begin() + kHeaderSize, data.end() - 2);
  EXPECT_EQ(error_of(frame(7, dbody)), "Data: digest length 2 but only 0 bytes left");
}

TEST(PeerMessage, EnumsAndBoolsAreRangeChecked) {
  EXPECT_EQ(error_of(frame(3, params_body_with(kParamsProtocol, 3))),
            "Params: protocol 3 out of range (0..2)");
  EXPECT_EQ(error_of(frame(3, params_body_with(kParamsRole, 3))),
            "Params: view.role 3 out of range (0..2)");
  EXPECT_EQ(error_of(frame(3, params_body_with(kParamsDisk, 8))),
            "Params: disk 8 out of range (0..7)");
  EXPECT_EQ(error_of(frame(3, params_body_with(kParamsFlagsPrimary, 2))),
            "Params: view.flags.primary is 2, expected 0 or 1");
  EXPECT_EQ(error_of(frame(3, params_body_with(kParamsDiscard, 0xFF))),
            "Params: view.discard_my_data is 255, expected 0 or 1");
  // The offsets above point where the test thinks they do: the original values are there.
  const Bytes good = params_body_with(kParamsProtocol, 0);  // Protocol::A is 0 already
  EXPECT_EQ(good[kParamsRole], 2);                           // Primary
  EXPECT_EQ(good[kParamsFlagsPrimary], 1);
  EXPECT_EQ(good[kParamsDisk], 4);                           // Outdated
  EXPECT_EQ(good[kParamsDiscard], 1);
  // Every value in range decodes.
  for (std::uint8_t disk = 0; disk <= 7; ++disk) {
    auto r = decode_frame(frame(5, Bytes{1, disk}));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(static_cast<int>(std::get<StateUpdate>(*r).disk), disk);
  }
  EXPECT_EQ(error_of(frame(5, Bytes{3, 0})), "StateUpdate: role 3 out of range (0..2)");
  EXPECT_EQ(error_of(frame(5, Bytes{0, 8})), "StateUpdate: disk 8 out of range (0..7)");
  EXPECT_EQ(error_of(frame(27, Bytes{0, 2})), "StartResync: full is 2, expected 0 or 1");
  EXPECT_EQ(error_of(frame(27, Bytes{3, 0})),
            "StartResync: sender_is_source is 3, expected 0 or 1");
  Bytes chunk = encode(BitmapChunk{1, {1}, true});
  chunk.back() = 2;
  EXPECT_EQ(error_of(chunk), "BitmapChunk: last is 2, expected 0 or 1");
}

TEST(PeerMessage, StringContentAndHelloVersionsAreChecked) {
  Bytes body;
  be(body, 1, 2);
  be(body, 1, 2);
  str(body, "r0");
  str(body, std::string("as\x1b[2Jterisk", 12));
  be(body, 0, 4);
  EXPECT_EQ(error_of(frame(1, body)), "Hello: node has control character 0x1B at 2");
  EXPECT_EQ(error_of(encode(Hello{3, 2, "r0", "n", {}})),
            "Hello: version_min 3 exceeds version_max 2");
}

// ---- The stream decoder ------------------------------------------------------------------------------

Bytes sample_stream() {
  Bytes all;
  for (const PeerMessage& m : samples()) encode_message(m, all);
  encode_message(Data{77, 0, make_payload(kMaxPayload, 0x11), Bytes(4, 0x22)}, all);
  encode_message(Ping{}, all);
  return all;
}

std::vector<PeerMessage> expected_stream() {
  auto all = samples();
  all.push_back(Data{77, 0, make_payload(kMaxPayload, 0x11), Bytes(4, 0x22)});
  all.push_back(Ping{});
  return all;
}

// Feeds `stream` in the given pieces, draining after each; checks the bound on the way.
std::vector<PeerMessage> decode_in_pieces(const Bytes& stream, const std::vector<std::size_t>& cuts) {
  MessageDecoder d;
  std::vector<PeerMessage> out;
  std::size_t pos = 0;
  std::size_t largest_piece = 0;
  auto drain = [&] {
    while (auto m = d.next()) {
      if (!m->ok()) {
        ADD_FAILURE() << m->error().message;
        return;
      }
      out.push_back(std::move(**m));
    }
    // Drained: less than one whole frame is held.
    EXPECT_LT(d.buffered(), kHeaderSize + kMaxBody);
  };
  for (std::size_t cut : cuts) {
    const std::size_t n = std::min(cut, stream.size() - pos);
    largest_piece = std::max(largest_piece, n);
    d.feed(std::span<const std::uint8_t>(stream).subspan(pos, n));
    EXPECT_LE(d.buffered(), kHeaderSize + kMaxBody + largest_piece);
    pos += n;
    drain();
  }
  EXPECT_EQ(pos, stream.size());
  EXPECT_EQ(d.buffered(), 0u);
  EXPECT_FALSE(d.failed());
  return out;
}

void expect_same_messages(const std::vector<PeerMessage>& got, const std::vector<PeerMessage>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(same_message(got[i], want[i])) << i << ": " << message_name(want[i]);
  }
}

TEST(PeerMessage, DecoderWholeStreamAtOnce) {
  const Bytes stream = sample_stream();
  expect_same_messages(decode_in_pieces(stream, {stream.size()}), expected_stream());
}

TEST(PeerMessage, DecoderByteByByte) {
  const Bytes stream = sample_stream();
  expect_same_messages(decode_in_pieces(stream, std::vector<std::size_t>(stream.size(), 1)),
                       expected_stream());
}

TEST(PeerMessage, DecoderRandomSplits) {
  const Bytes stream = sample_stream();
  const auto want = expected_stream();
  for (std::uint32_t seed : {1u, 2u, 3u, 99u, 2024u}) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    // Mostly small pieces (headers split anywhere), now and then a socket-sized one.
    std::vector<std::size_t> cuts;
    for (std::size_t total = 0; total < stream.size();) {
      const std::size_t n = (rng() % 8 == 0) ? 1 + rng() % 70000 : 1 + rng() % 40;
      cuts.push_back(n);
      total += n;
    }
    expect_same_messages(decode_in_pieces(stream, cuts), want);
  }
}

TEST(PeerMessage, DecoderWaitsForAWholeFrame) {
  const Bytes f = encode(Goodbye{"bye"});
  MessageDecoder d;
  EXPECT_FALSE(d.next().has_value());
  d.feed(std::span<const std::uint8_t>(f).first(10));
  EXPECT_FALSE(d.next().has_value());
  EXPECT_EQ(d.buffered(), 10u);
  d.feed(std::span<const std::uint8_t>(f).subspan(10, f.size() - 11));
  EXPECT_FALSE(d.next().has_value());
  d.feed(std::span<const std::uint8_t>(f).last(1));
  auto m = d.next();
  ASSERT_TRUE(m && m->ok());
  EXPECT_EQ(std::get<Goodbye>(**m).reason, "bye");
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(PeerMessage, PoisonedDecoderKeepsItsError) {
  MessageDecoder d;
  Bytes f = encode(Ping{});
  f[0] = 'X';
  d.feed(f);
  auto first = d.next();
  ASSERT_TRUE(first.has_value());
  ASSERT_FALSE(first->ok());
  const std::string error = first->error().message;
  EXPECT_NE(error.find("bad magic"), std::string::npos) << error;
  EXPECT_TRUE(d.failed());
  EXPECT_EQ(d.buffered(), 0u);
  // Good frames afterwards change nothing: the stream is lost.
  d.feed(encode(Ping{}));
  EXPECT_EQ(d.buffered(), 0u);
  for (int i = 0; i < 3; ++i) {
    auto again = d.next();
    ASSERT_TRUE(again.has_value());
    ASSERT_FALSE(again->ok());
    EXPECT_EQ(again->error().message, error);
  }
}

TEST(PeerMessage, DecoderErrorAfterGoodMessages) {
  Bytes stream = encode(RecvAck{1});
  encode_message(WriteAck{2}, stream);
  stream.insert(stream.end(), {'H', 'R', 'P', 'L', 0, 1, 0, 5, 0, 0, 0, 2, 0, 0, 0, 0, 9, 9});
  encode_message(Ping{}, stream);
  MessageDecoder d;
  d.feed(stream);
  auto a = d.next();
  auto b = d.next();
  ASSERT_TRUE(a && a->ok() && b && b->ok());
  auto c = d.next();
  ASSERT_TRUE(c && !c->ok());
  EXPECT_EQ(c->error().message, "StateUpdate: role 9 out of range (0..2)");
  auto e = d.next();
  ASSERT_TRUE(e && !e->ok());
  EXPECT_EQ(e->error().message, c->error().message);
}

TEST(PeerMessage, OversizedHeaderIsRejectedBeforeTheBody) {
  for (std::uint32_t length : {0xFFFFFFFFu, static_cast<std::uint32_t>(kMaxBody + 1)}) {
    MessageDecoder d;
    d.feed(header(7, length));  // only the header: no body ever comes
    auto m = d.next();
    ASSERT_TRUE(m.has_value()) << "waited for a body of " << length;
    ASSERT_FALSE(m->ok());
    EXPECT_EQ(m->error().message.substr(0, 18), "Data: body length ");
  }
  // A small type announcing a big body is rejected too (before authentication nothing makes the
  // decoder hold a megabyte it cannot use: at most its fields' limits + 4 KiB).
  MessageDecoder d;
  d.feed(header(1, 7000));
  auto m = d.next();
  ASSERT_TRUE(m && !m->ok());
  EXPECT_EQ(m->error().message.substr(0, 24), "Hello: body length 7000 ");
  // A header split in two is checked once its 16 bytes are in.
  MessageDecoder split;
  const Bytes h = header(3, 0xFFFFFF);
  split.feed(std::span<const std::uint8_t>(h).first(15));
  EXPECT_FALSE(split.next().has_value());
  split.feed(std::span<const std::uint8_t>(h).last(1));
  auto s = split.next();
  ASSERT_TRUE(s && !s->ok());
}

TEST(PeerMessage, DecoderBufferIsReleasedAsMessagesAreTaken) {
  // Many small messages, one byte at a time: what is held never exceeds one partial frame.
  Bytes stream;
  for (std::uint64_t i = 0; i < 2000; ++i) encode_message(WriteAck{i}, stream);
  MessageDecoder d;
  std::uint64_t next_seq = 0;
  for (std::uint8_t byte : stream) {
    d.feed(std::span<const std::uint8_t>(&byte, 1));
    while (auto m = d.next()) {
      ASSERT_TRUE(m->ok()) << m->error().message;
      EXPECT_EQ(std::get<WriteAck>(**m).seq, next_seq++);
    }
    ASSERT_LT(d.buffered(), kHeaderSize + 8);
  }
  EXPECT_EQ(next_seq, 2000u);
  EXPECT_EQ(d.buffered(), 0u);
}

}  // namespace
}  // namespace hapbx::replica

namespace hapbx::replica {
namespace {

TEST(PeerMessage, GatheredEncodingIsTheSameFrameWithoutCopyingTheBlock) {
  for (const PeerMessage& m : samples()) {
    Bytes flat;
    encode_message(m, flat);
    EncodedFrame parts;
    encode_message(m, parts);
    Bytes joined = parts.head;
    if (parts.payload) joined.insert(joined.end(), parts.payload->begin(), parts.payload->end());
    joined.insert(joined.end(), parts.tail.begin(), parts.tail.end());
    EXPECT_EQ(joined, flat) << message_name(m);
    EXPECT_EQ(parts.size(), flat.size()) << message_name(m);
    if (const auto* d = std::get_if<Data>(&m); d && d->data && !d->data->empty()) {
      EXPECT_EQ(parts.payload.get(), d->data.get()) << "the block is shared, not copied";
    }
  }
}

}  // namespace
}  // namespace hapbx::replica
