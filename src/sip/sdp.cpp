// SDP (RFC 4566) parsing and printing. One pass over the lines; each field is checked as far
// as the media layer relies on it (o=, c=, t=, m=), other lines are kept verbatim so printing
// loses nothing the peer sent.
#include "sip/sdp.h"

namespace hapbx::sip {

namespace {

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

template <typename T>
bool to_number(std::string_view s, T max, T& out) {
  if (s.empty()) return false;
  const auto limit = static_cast<uint64_t>(max);
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (digit > limit || v > (limit - digit) / 10) return false;  // v * 10 + digit > max
    v = v * 10 + digit;
  }
  out = static_cast<T>(v);
  return true;
}

bool visible(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t') return false;
  }
  return true;
}

bool parse_connection(std::string_view value, SdpConnection& c) {
  const auto f = split_spaces(value);
  if (f.size() != 3) return false;
  c.net_type = f[0];
  c.addr_type = f[1];
  c.address = f[2];
  return true;
}

SdpAttribute parse_attribute(std::string_view value) {
  SdpAttribute a;
  const size_t colon = value.find(':');
  a.name = value.substr(0, colon);
  if (colon != std::string_view::npos) {
    a.value = value.substr(colon + 1);
    a.has_value = true;
  }
  return a;
}

void append_line(std::string& out, char type, std::string_view value) {
  out += type;
  out += '=';
  out += value;
  out += "\r\n";
}

void append_connection(std::string& out, const SdpConnection& c) {
  std::string v = c.net_type + ' ' + c.addr_type + ' ' + c.address;
  append_line(out, 'c', v);
}

void append_attributes(std::string& out, const std::vector<SdpAttribute>& attrs) {
  for (const SdpAttribute& a : attrs) {
    if (a.has_value) {
      append_line(out, 'a', a.name + ':' + a.value);
    } else {
      append_line(out, 'a', a.name);
    }
  }
}

void append_lines_of(std::string& out, const std::vector<SdpLine>& lines, std::string_view types) {
  for (const SdpLine& l : lines) {
    if (types.find(l.type) != std::string_view::npos) append_line(out, l.type, l.value);
  }
}

std::optional<SdpDirection> direction_of(const std::vector<SdpAttribute>& attrs) {
  for (const SdpAttribute& a : attrs) {
    if (a.has_value) continue;
    if (a.name == "sendrecv") return SdpDirection::SendRecv;
    if (a.name == "sendonly") return SdpDirection::SendOnly;
    if (a.name == "recvonly") return SdpDirection::RecvOnly;
    if (a.name == "inactive") return SdpDirection::Inactive;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(SdpDirection direction) {
  switch (direction) {
    case SdpDirection::SendRecv: return "sendrecv";
    case SdpDirection::SendOnly: return "sendonly";
    case SdpDirection::RecvOnly: return "recvonly";
    case SdpDirection::Inactive: return "inactive";
  }
  return "sendrecv";
}

const SdpAttribute* SdpMedia::attribute(std::string_view name) const {
  for (const SdpAttribute& a : attributes) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::vector<SdpRtpMap> SdpMedia::rtpmaps() const {
  std::vector<SdpRtpMap> out;
  for (const SdpAttribute& a : attributes) {
    if (a.name != "rtpmap" || !a.has_value) continue;
    std::string_view v = a.value;
    const size_t sp = v.find(' ');
    if (sp == std::string_view::npos) continue;
    SdpRtpMap map;
    if (!to_number(v.substr(0, sp), 127, map.payload_type)) continue;
    std::string_view rest = v.substr(sp + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) continue;
    map.encoding = rest.substr(0, slash);
    std::string_view clock = rest.substr(slash + 1);
    const size_t slash2 = clock.find('/');
    if (slash2 != std::string_view::npos) {
      if (!to_number(clock.substr(slash2 + 1), 0xffffffffU, map.channels)) continue;
      clock = clock.substr(0, slash2);
    }
    if (!to_number(clock, 0xffffffffU, map.clock_rate)) continue;
    out.push_back(std::move(map));
  }
  return out;
}

std::optional<std::string> SdpMedia::fmtp(int payload_type) const {
  for (const SdpAttribute& a : attributes) {
    if (a.name != "fmtp" || !a.has_value) continue;
    const size_t sp = a.value.find(' ');
    int pt = -1;
    if (!to_number(std::string_view(a.value).substr(0, sp), 127, pt) || pt != payload_type) continue;
    return sp == std::string::npos ? std::string() : a.value.substr(sp + 1);
  }
  return std::nullopt;
}

std::optional<SdpDirection> SdpMedia::direction() const { return direction_of(attributes); }

std::optional<uint32_t> SdpMedia::ptime() const {
  const SdpAttribute* a = attribute("ptime");
  uint32_t v = 0;
  if (a == nullptr || !to_number(std::string_view(a->value), 0xffffffffU, v)) return std::nullopt;
  return v;
}

std::optional<uint16_t> SdpMedia::rtcp_port() const {
  const SdpAttribute* a = attribute("rtcp");
  if (a == nullptr) return std::nullopt;
  std::string_view v = a->value;
  v = v.substr(0, v.find(' '));
  uint16_t value = 0;
  if (!to_number(v, static_cast<uint16_t>(65535), value)) return std::nullopt;
  return value;
}

SdpDirection SessionDescription::direction(const SdpMedia& m) const {
  if (auto d = m.direction()) return *d;
  if (auto d = direction_of(attributes)) return *d;
  return SdpDirection::SendRecv;
}

const SdpConnection* SessionDescription::connection_for(const SdpMedia& m) const {
  if (m.connection) return &*m.connection;
  return connection ? &*connection : nullptr;
}

Result<SessionDescription> parse_sdp(std::string_view text) {
  SessionDescription sdp;
  size_t pos = 0;
  size_t line_no = 0;
  bool seen_v = false, seen_o = false, seen_s = false;
  auto err = [&line_no](std::string_view what) {
    return make_error("SDP line " + std::to_string(line_no) + ": " + std::string(what));
  };
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;  // tolerated (trailing blank lines are common)
    if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
      return err("expected <type>=<value>");
    }
    const char type = line[0];
    const std::string_view value = line.substr(2);
    if (!visible(value)) return err("control characters");
    if (!seen_v) {
      int version = -1;
      if (type != 'v' || !to_number(value, 0, version)) return err("must start with v=0");
      seen_v = true;
      continue;
    }
    SdpMedia* media = sdp.media.empty() ? nullptr : &sdp.media.back();
    switch (type) {
      case 'v':
        return err("repeated v= line");
      case 'o': {
        const auto f = split_spaces(value);
        if (seen_o || media != nullptr || f.size() != 6) return err("bad o= line");
        sdp.origin = SdpOrigin{std::string(f[0]), std::string(f[1]), std::string(f[2]),
                               std::string(f[3]), std::string(f[4]), std::string(f[5])};
        seen_o = true;
        break;
      }
      case 's':
        if (seen_s || media != nullptr) return err("bad s= line");
        sdp.session_name = value;
        seen_s = true;
        break;
      case 'c': {
        SdpConnection c;
        if (!parse_connection(value, c)) return err("bad c= line");
        if (media != nullptr) {
          media->connection = std::move(c);
        } else {
          if (sdp.connection) return err("repeated c= line");
          sdp.connection = std::move(c);
        }
        break;
      }
      case 't': {
        const auto f = split_spaces(value);
        constexpr uint64_t kMaxTime = 0xffffffffffffULL;  // NTP seconds; far beyond any real value
        uint64_t start = 0, stop = 0;
        if (media != nullptr || f.size() != 2 || !to_number(f[0], kMaxTime, start) ||
            !to_number(f[1], kMaxTime, stop)) {
          return err("bad t= line");
        }
        sdp.times.push_back(SdpLine{type, std::string(value)});
        break;
      }
      case 'r':
        if (media != nullptr || sdp.times.empty()) return err("r= outside a time description");
        sdp.times.push_back(SdpLine{type, std::string(value)});
        break;
      case 'm': {
        const auto f = split_spaces(value);
        if (f.size() < 4) return err("bad m= line");
        SdpMedia m;
        m.media = f[0];
        std::string_view port = f[1];
        const size_t slash = port.find('/');
        if (slash != std::string_view::npos) {
          if (!to_number(port.substr(slash + 1), static_cast<uint16_t>(65535), m.port_count)) {
            return err("bad m= port count");
          }
          port = port.substr(0, slash);
        }
        if (!to_number(port, static_cast<uint16_t>(65535), m.port)) return err("bad m= port");
        m.proto = f[2];
        m.formats.reserve(f.size() - 3);
        for (size_t i = 3; i < f.size(); ++i) m.formats.emplace_back(f[i]);
        sdp.media.push_back(std::move(m));
        break;
      }
      case 'a': {
        SdpAttribute a = parse_attribute(value);
        if (a.name.empty()) return err("empty attribute name");
        (media != nullptr ? media->attributes : sdp.attributes).push_back(std::move(a));
        break;
      }
      default:
        (media != nullptr ? media->lines : sdp.lines).push_back(SdpLine{type, std::string(value)});
        break;
    }
  }
  if (!seen_v) return make_error("SDP: empty description");
  if (!seen_o) return make_error("SDP: missing o= line");
  if (!seen_s) return make_error("SDP: missing s= line");
  if (sdp.times.empty()) return make_error("SDP: missing t= line");
  return sdp;
}

std::string print_sdp(const SessionDescription& sdp) {
  std::string out;
  out.reserve(256 + sdp.media.size() * 128);
  append_line(out, 'v', std::to_string(sdp.version));
  const SdpOrigin& o = sdp.origin;
  append_line(out, 'o', o.username + ' ' + o.session_id + ' ' + o.session_version + ' ' +
                            o.net_type + ' ' + o.addr_type + ' ' + o.address);
  append_line(out, 's', sdp.session_name);
  append_lines_of(out, sdp.lines, "iuep");
  if (sdp.connection) append_connection(out, *sdp.connection);
  append_lines_of(out, sdp.lines, "b");
  if (sdp.times.empty()) append_line(out, 't', "0 0");
  for (const SdpLine& t : sdp.times) append_line(out, t.type, t.value);
  // z=, k= and any unknown types last before the attributes.
  for (const SdpLine& l : sdp.lines) {
    if (std::string_view("iuepb").find(l.type) == std::string_view::npos) {
      append_line(out, l.type, l.value);
    }
  }
  append_attributes(out, sdp.attributes);
  for (const SdpMedia& m : sdp.media) {
    std::string v = m.media + ' ' + std::to_string(m.port);
    if (m.port_count != 0) v += '/' + std::to_string(m.port_count);
    v += ' ';
    v += m.proto;
    for (const std::string& f : m.formats) {
      v += ' ';
      v += f;
    }
    append_line(out, 'm', v);
    append_lines_of(out, m.lines, "i");
    if (m.connection) append_connection(out, *m.connection);
    for (const SdpLine& l : m.lines) {
      if (l.type != 'i') append_line(out, l.type, l.value);
    }
    append_attributes(out, m.attributes);
  }
  return out;
}

}  // namespace hapbx::sip
