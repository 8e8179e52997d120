// RFC 3264 offer/answer helpers for the B2BUA: see sdp_negotiation.h.
#include "pbx/sdp_negotiation.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <unordered_set>

#include "pbx/codec_names.h"
#include "pbx/config_diagnostics.h"

namespace hapbx::pbx {

using sip::SdpAttribute;
using sip::SdpConnection;
using sip::SdpMedia;
using sip::SessionDescription;

namespace {

constexpr size_t kMaxNamesShown = 10;  // in error messages

// A payload type 0..127 written as decimal digits (RTP/AVP formats), else nullopt.
std::optional<int> parse_pt(std::string_view s) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > 127) return std::nullopt;
  return v;
}

// The payload type an rtpmap/fmtp/rtcp-fb value starts with ("96 opus/48000/2" -> 96).
std::optional<int> leading_pt(std::string_view value) {
  return parse_pt(value.substr(0, value.find(' ')));
}

bool is_audio(const SdpMedia& m) { return m.media == "audio"; }

// Index of the first audio m= line, or -1.
int first_audio(const SessionDescription& sdp) {
  for (size_t i = 0; i < sdp.media.size(); ++i) {
    if (is_audio(sdp.media[i])) return static_cast<int>(i);
  }
  return -1;
}

// What one media line's payload types stand for, from its rtpmaps (first one per type wins)
// and the static assignments. Built once per line: lookups are O(1).
class FormatTable {
 public:
  explicit FormatTable(const SdpMedia& m) : maps_(m.rtpmaps()) {
    slot_.fill(-1);
    for (size_t i = 0; i < maps_.size(); ++i) {
      const int pt = maps_[i].payload_type;
      if (pt >= 0 && pt <= 127 && slot_[pt] < 0) slot_[pt] = static_cast<int>(i);
    }
  }

  const sip::SdpRtpMap* rtpmap(int pt) const {
    return slot_[pt] < 0 ? nullptr : &maps_[static_cast<size_t>(slot_[pt])];
  }

  const CodecInfo* codec(int pt) const {
    if (const auto* map = rtpmap(pt)) {
      return codec_for_rtpmap(map->encoding, map->clock_rate, map->channels);
    }
    return codec_for_static_pt(pt);
  }

  bool telephone_event(int pt) const {
    const auto* map = rtpmap(pt);
    return map != nullptr && is_telephone_event(map->encoding);
  }

  // For messages: "PCMU", "opus", "telephone-event", "pt 96".
  std::string label(int pt) const {
    if (const CodecInfo* c = codec(pt)) return std::string(c->encoding);
    if (const auto* map = rtpmap(pt)) return shown(map->encoding);
    return "pt " + std::to_string(pt);
  }

  // Identity of a format across descriptions (payload type numbers may differ).
  std::string key(int pt) const {
    if (const CodecInfo* c = codec(pt)) return "codec:" + std::string(c->name);
    if (const auto* map = rtpmap(pt)) {
      return "map:" + lowercase(map->encoding) + '/' + std::to_string(map->clock_rate) + '/' +
             std::to_string(map->channels <= 1 ? 1 : map->channels);
    }
    return "pt:" + std::to_string(pt);
  }

 private:
  std::vector<sip::SdpRtpMap> maps_;
  std::array<int, 128> slot_{};
};

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < kMaxNamesShown; ++i) {
    if (i > 0) out += ',';
    out += names[i];
  }
  if (names.size() > kMaxNamesShown) out += ",...";
  return out.empty() ? "nothing" : out;
}

// Codec labels of a line's formats in order, each once (telephone-event left out).
std::vector<std::string> labels(const SdpMedia& m, const FormatTable& table) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const std::string& f : m.formats) {
    const auto pt = parse_pt(f);
    std::string label = pt ? table.label(*pt) : shown(f);
    if (pt && table.telephone_event(*pt)) continue;
    if (seen.insert(label).second) out.push_back(std::move(label));
    if (out.size() > kMaxNamesShown) break;
  }
  return out;
}

// Keeps the payload-type-bound attributes (rtpmap, fmtp, rtcp-fb) of `kept` only; an
// rtcp-fb for every type ("*") and all other attributes stay.
void drop_format_attributes(SdpMedia& m, const std::array<bool, 128>& kept) {
  std::erase_if(m.attributes, [&kept](const SdpAttribute& a) {
    if (a.name != "rtpmap" && a.name != "fmtp" && a.name != "rtcp-fb") return false;
    if (a.name == "rtcp-fb" && a.value.rfind("*", 0) == 0) return false;
    const auto pt = leading_pt(a.value);
    return !pt || !kept[static_cast<size_t>(*pt)];
  });
}

// Payload types of a line's formats in order, each once, with the spelling of its first
// appearance ("000" stays "000": the answer must name formats as offered).
struct Formats {
  std::vector<int> order;
  std::array<std::string, 128> spelling;
};

Formats formats_of(const SdpMedia& m) {
  Formats out;
  std::array<bool, 128> seen{};
  for (const std::string& f : m.formats) {
    const auto pt = parse_pt(f);
    if (!pt || seen[static_cast<size_t>(*pt)]) continue;
    seen[static_cast<size_t>(*pt)] = true;
    out.order.push_back(*pt);
    out.spelling[static_cast<size_t>(*pt)] = f;
  }
  return out;
}

// Sets `m`'s formats to `pts` (spelled as in `all`) and drops the attributes of the others.
void keep_formats(SdpMedia& m, const std::vector<int>& pts, const Formats& all) {
  std::array<bool, 128> kept{};
  m.formats.clear();
  m.formats.reserve(pts.size());
  for (int pt : pts) {
    kept[static_cast<size_t>(pt)] = true;
    m.formats.push_back(all.spelling[static_cast<size_t>(pt)]);
  }
  drop_format_attributes(m, kept);
}

bool is_rtp_proto(std::string_view proto) {
  return proto.find("RTP/") != std::string_view::npos;
}

// Numeric address check for c=: returns false for names, and sets `multicast`.
bool numeric_address(const std::string& address, bool ipv6, bool& multicast) {
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(ipv6 ? AF_INET6 : AF_INET, address.c_str(), bytes.data()) != 1) return false;
  multicast = ipv6 ? bytes[0] == 0xff : (bytes[0] >= 224 && bytes[0] <= 239);
  return true;
}

bool is_null_address(const SdpConnection* c) {
  return c != nullptr && c->addr_type == "IP4" && c->address == "0.0.0.0";
}

// Attributes a relay of plain RTP must not pass on: ICE (RFC 8839), DTLS-SRTP (RFC 5763,
// RFC 8842), SDES (RFC 4568), MIKEY (RFC 4567), ZRTP, BUNDLE (RFC 8843), and RTCP placement
// (the relay's RTCP is on its RTP port + 1).
bool dropped_for_relay(const SdpAttribute& a) {
  static constexpr std::string_view kDropped[] = {
      "ice-ufrag", "ice-pwd", "ice-options", "ice-lite", "ice-mismatch", "ice-pacing",
      "candidate", "remote-candidates", "end-of-candidates", "crypto", "fingerprint", "setup",
      "tls-id", "key-mgmt", "zrtp-hash", "group", "bundle-only", "rtcp", "rtcp-mux"};
  return std::find(std::begin(kDropped), std::end(kDropped), a.name) != std::end(kDropped);
}

bool is_direction_attribute(const SdpAttribute& a) {
  return !a.has_value && (a.name == "sendrecv" || a.name == "sendonly" || a.name == "recvonly" ||
                          a.name == "inactive");
}

// RFC 2543 hold folded into the direction: whoever wrote c=0.0.0.0 cannot receive.
SdpDirection fold_null_address(SdpDirection d) {
  switch (d) {
    case SdpDirection::SendRecv: return SdpDirection::SendOnly;
    case SdpDirection::RecvOnly: return SdpDirection::Inactive;
    default: return d;
  }
}

SdpConnection connection_for(std::string_view address) {
  SdpConnection c;
  c.addr_type = address.find(':') != std::string_view::npos ? "IP6" : "IP4";
  c.address = address;
  return c;
}

std::string plain_rtp_proto(const std::string& proto) {
  if (proto == "RTP/SAVP" || proto == "UDP/TLS/RTP/SAVP") return "RTP/AVP";
  if (proto == "RTP/SAVPF" || proto == "UDP/TLS/RTP/SAVPF") return "RTP/AVPF";
  return proto;
}

}  // namespace

Result<SessionDescription> filter_offer(const SessionDescription& offer,
                                        const std::vector<std::string>& allowed) {
  const int audio = first_audio(offer);
  if (audio < 0) return make_error("offer has no audio stream (no m=audio line)");
  SessionDescription out = offer;
  for (size_t i = 0; i < out.media.size(); ++i) {
    if (static_cast<int>(i) != audio) out.media[i].port = 0;  // RFC 3264 6: rejected
  }
  SdpMedia& m = out.media[static_cast<size_t>(audio)];
  if (m.port == 0) return out;  // disabled by the offerer: nothing to negotiate

  const FormatTable table(m);
  const Formats formats = formats_of(m);
  const std::vector<int>& offered = formats.order;
  std::vector<int> kept;
  std::array<bool, 128> taken{};
  for (const std::string& name : allowed) {
    const CodecInfo* want = find_codec(name);
    if (want == nullptr) continue;
    for (int pt : offered) {
      if (!taken[static_cast<size_t>(pt)] && table.codec(pt) == want) {
        taken[static_cast<size_t>(pt)] = true;
        kept.push_back(pt);
      }
    }
  }
  if (kept.empty()) {
    return make_error("no common codec: offer has " + join(labels(m, table)) +
                      "; peer allows " + join(allowed));
  }
  for (int pt : offered) {
    if (table.telephone_event(pt)) kept.push_back(pt);
  }
  keep_formats(m, kept, formats);
  return out;
}

Result<MediaTarget> media_target(const SessionDescription& sdp) {
  const int audio = first_audio(sdp);
  if (audio < 0) return make_error("SDP has no audio stream (no m=audio line)");
  const SdpMedia& m = sdp.media[static_cast<size_t>(audio)];
  MediaTarget t;
  const FormatTable table(m);
  for (const std::string& f : m.formats) {
    const auto pt = parse_pt(f);
    if (!pt) continue;
    if (table.telephone_event(*pt)) {
      if (!t.has_telephone_event) t.telephone_event_pt = *pt;
      t.has_telephone_event = true;
      continue;
    }
    const CodecInfo* c = table.codec(*pt);
    if (c == nullptr || c->kind != CodecKind::Audio) continue;
    if (std::find(t.codecs.begin(), t.codecs.end(), c->name) != t.codecs.end()) continue;
    if (t.codecs.empty()) t.first_payload_type = *pt;
    t.codecs.emplace_back(c->name);
  }
  if (auto p = m.ptime()) t.ptime_ms = *p;
  const SdpConnection* c = sdp.connection_for(m);
  if (c != nullptr) {
    t.address = c->address;
    t.ipv6 = c->addr_type == "IP6";
  }
  if (m.port == 0) {
    t.direction = SdpDirection::Inactive;
    return t;
  }
  if (!is_rtp_proto(m.proto)) {
    return make_error("SDP audio stream uses protocol '" + shown(m.proto) +
                      "', not RTP (expected RTP/AVP)");
  }
  if (c == nullptr) {
    return make_error("SDP audio stream has no connection address (no c= line at session or "
                      "media level)");
  }
  if (c->net_type != "IN") {
    return make_error("SDP c= network type '" + shown(c->net_type) + "' is not IN");
  }
  if (c->addr_type != "IP4" && c->addr_type != "IP6") {
    return make_error("SDP c= address type '" + shown(c->addr_type) + "' is not IP4 or IP6");
  }
  bool multicast = false;
  if (c->address.find('/') != std::string::npos ||
      !numeric_address(c->address, t.ipv6, multicast)) {
    const bool looks_multicast = c->address.find('/') != std::string::npos;
    return make_error("SDP c= address '" + shown(c->address) + "' is not a numeric unicast " +
                      c->addr_type + " address" +
                      (looks_multicast ? " (multicast is not relayed)" : ""));
  }
  if (multicast) {
    return make_error("SDP c= address '" + shown(c->address) +
                      "' is multicast; only unicast RTP is relayed");
  }
  t.rtp_port = m.port;
  t.rtcp_mux = m.attribute("rtcp-mux") != nullptr;
  if (t.rtcp_mux) {
    t.rtcp_port = m.port;
  } else if (auto rtcp = m.rtcp_port(); rtcp && *rtcp != 0) {
    t.rtcp_port = *rtcp;
  } else {
    t.rtcp_port = m.port == 65535 ? 0 : static_cast<uint16_t>(m.port + 1);
  }
  t.direction = sdp.direction(m);
  if (is_null_address(c)) t.direction = fold_null_address(t.direction);
  return t;
}

void apply_origin(SessionDescription& sdp, SdpOriginState& origin) {
  sdp.origin.username = origin.username.empty() ? "-" : origin.username;
  sdp.origin.session_id = origin.session_id.empty() ? "0" : origin.session_id;
  sdp.origin.net_type = "IN";
  sdp.origin.addr_type = origin.address.find(':') != std::string::npos ? "IP6" : "IP4";
  sdp.origin.address = origin.address;
  sdp.origin.session_version = std::to_string(origin.version);
  std::string body = sip::print_sdp(sdp);
  if (origin.last_body && *origin.last_body != body) {
    ++origin.version;  // RFC 3264 8: a changed description carries the next version
    sdp.origin.session_version = std::to_string(origin.version);
    body = sip::print_sdp(sdp);
  }
  origin.last_body = std::move(body);
}

SessionDescription rewrite_for_relay(const SessionDescription& sdp, std::string_view relay_address,
                                     uint16_t relay_rtp_port, SdpOriginState& origin) {
  SessionDescription out = sdp;
  const int audio = first_audio(sdp);
  // The RFC 2543 hold of the relayed stream, before its c= is overwritten.
  std::optional<SdpDirection> hold_direction;
  if (audio >= 0) {
    const SdpMedia& in = sdp.media[static_cast<size_t>(audio)];
    if (in.port != 0 && is_null_address(sdp.connection_for(in))) {
      hold_direction = fold_null_address(sdp.direction(in));
    }
  }
  const SdpConnection relay = connection_for(relay_address);
  out.connection = relay;
  std::erase_if(out.attributes, dropped_for_relay);
  for (size_t i = 0; i < out.media.size(); ++i) {
    SdpMedia& m = out.media[i];
    if (m.connection) m.connection = relay;
    std::erase_if(m.attributes, dropped_for_relay);
    if (static_cast<int>(i) != audio) {
      m.port = 0;
      continue;
    }
    if (m.port != 0) m.port = relay_rtp_port;
    m.port_count = 0;
    m.proto = plain_rtp_proto(m.proto);
    if (hold_direction) {
      std::erase_if(m.attributes, is_direction_attribute);
      m.attributes.push_back(SdpAttribute{std::string(to_string(*hold_direction)), {}, false});
    }
  }
  apply_origin(out, origin);
  return out;
}

Result<SessionDescription> answer_from(const SessionDescription& answer_in,
                                       const SessionDescription& our_offer) {
  if (answer_in.media.size() != our_offer.media.size()) {
    return make_error("answer has " + std::to_string(answer_in.media.size()) +
                      " m= lines, our offer had " + std::to_string(our_offer.media.size()) +
                      " (RFC 3264 6: one per offered stream)");
  }
  SessionDescription out = answer_in;
  for (size_t i = 0; i < out.media.size(); ++i) {
    if (out.media[i].media != our_offer.media[i].media) {
      return make_error("answer m= line " + std::to_string(i + 1) + " is '" +
                        shown(out.media[i].media) + "', our offer had '" +
                        shown(our_offer.media[i].media) + "' there");
    }
    if (our_offer.media[i].port == 0) out.media[i].port = 0;  // rejected stays rejected
  }
  const int audio = first_audio(our_offer);
  if (audio < 0) return out;
  SdpMedia& m = out.media[static_cast<size_t>(audio)];
  if (m.port == 0) return out;  // the answerer rejected audio: the caller sees it in media_target

  const SdpMedia& offered = our_offer.media[static_cast<size_t>(audio)];
  const FormatTable offer_table(offered);
  std::unordered_set<std::string> offered_keys;
  for (const std::string& f : offered.formats) {
    if (const auto pt = parse_pt(f)) offered_keys.insert(offer_table.key(*pt));
  }
  const FormatTable table(m);
  const Formats formats = formats_of(m);
  std::vector<int> kept;
  bool has_codec = false;
  for (int pt : formats.order) {
    if (offered_keys.count(table.key(pt)) == 0) continue;
    kept.push_back(pt);
    has_codec = has_codec || !table.telephone_event(pt);
  }
  if (!has_codec) {
    return make_error("answer has no codec we offered: answer has " + join(labels(m, table)) +
                      "; offer had " + join(labels(offered, offer_table)));
  }
  keep_formats(m, kept, formats);
  return out;
}

bool is_hold(const SessionDescription& sdp) {
  const int audio = first_audio(sdp);
  if (audio < 0) return false;
  const SdpMedia& m = sdp.media[static_cast<size_t>(audio)];
  if (m.port == 0) return false;
  const SdpDirection d = sdp.direction(m);
  return d == SdpDirection::SendOnly || d == SdpDirection::Inactive ||
         is_null_address(sdp.connection_for(m));
}

SdpDirection answer_direction(SdpDirection offered) {
  switch (offered) {
    case SdpDirection::SendOnly: return SdpDirection::RecvOnly;
    case SdpDirection::RecvOnly: return SdpDirection::SendOnly;
    default: return offered;
  }
}

Result<sip::SessionDescription> offer_for_codecs(const std::vector<std::string>& codecs,
                                                 std::string_view address, uint16_t port) {
  sip::SessionDescription sdp;
  const bool v6 = address.find(':') != std::string_view::npos;
  sdp.origin.address = std::string(address);
  sdp.origin.addr_type = v6 ? "IP6" : "IP4";
  sdp.connection = sip::SdpConnection{"IN", v6 ? "IP6" : "IP4", std::string(address)};
  sdp.times.push_back(sip::SdpLine{'t', "0 0"});
  sip::SdpMedia m;
  m.media = "audio";
  m.port = port;
  m.proto = "RTP/AVP";
  int next_dynamic = 96;
  for (const auto& name : codecs) {
    const CodecInfo* codec = find_codec(name);
    if (codec == nullptr || codec->kind != CodecKind::Audio) continue;
    const int pt = codec->static_pt >= 0 ? codec->static_pt : next_dynamic++;
    if (pt > 127) break;
    if (std::find(m.formats.begin(), m.formats.end(), std::to_string(pt)) != m.formats.end()) {
      continue;
    }
    m.formats.push_back(std::to_string(pt));
    m.attributes.push_back(sip::SdpAttribute{"rtpmap", rtpmap_value(*codec, pt), true});
  }
  if (m.formats.empty()) {
    return make_error("no audio codec to offer: the peer allows none we know");
  }
  m.formats.push_back("101");
  m.attributes.push_back(sip::SdpAttribute{"rtpmap", "101 telephone-event/8000", true});
  m.attributes.push_back(sip::SdpAttribute{"fmtp", "101 0-16", true});
  m.attributes.push_back(sip::SdpAttribute{"sendrecv", "", false});
  sdp.media.push_back(std::move(m));
  return sdp;
}

}  // namespace hapbx::pbx
