// Value parsers for sip.conf / rtp.conf options: see sip_config_values.h.
#include "pbx/sip_config_values.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "pbx/config_diagnostics.h"

namespace hapbx::pbx::conf {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls `fn` with each trimmed, non-empty item of a comma-separated list.
template <typename Fn>
void for_each_item(std::string_view list, Fn&& fn) {
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

// Audio codecs `allow=all` adds, in that order (Asterisk's names). Video and text formats are
// known (so allow=h264 is not "unknown") but `all` leaves them out: pbxd relays audio only.
constexpr std::string_view kAudio[] = {
    "ulaw",   "alaw",   "gsm",   "g722",    "g729",    "opus",   "ilbc",   "speex",
    "speex16", "speex32", "g723", "g726",   "g726aal2", "adpcm", "lpc10",  "siren7",
    "siren14", "g719",   "codec2", "silk8", "silk12",  "silk16", "silk24", "slin",
    "slin12", "slin16", "slin24", "slin32", "slin44",  "slin48", "slin96", "slin192",
    "testlaw"};
constexpr std::string_view kOther[] = {"h261", "h263", "h263p", "h264", "h265", "mpeg4",
                                       "vp8",  "vp9",  "red",   "t140", "jpeg", "png"};

}  // namespace

const std::vector<std::string_view>& known_audio_codecs() {
  static const std::vector<std::string_view> list(std::begin(kAudio), std::end(kAudio));
  return list;
}

std::optional<bool> parse_bool(std::string_view value) {
  for (std::string_view w : {"yes", "true", "y", "t", "1", "on"}) {
    if (iequals(value, w)) return true;
  }
  for (std::string_view w : {"no", "false", "n", "f", "0", "off"}) {
    if (iequals(value, w)) return false;
  }
  return std::nullopt;
}

Result<long long> parse_number(std::string_view value, long long min, long long max) {
  long long n = 0;
  const char* first = value.data();
  const char* last = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(first, last, n);
  if (value.empty() || ec == std::errc::invalid_argument || ptr != last) {
    return make_error("'" + shown(value) + "' is not a whole number");
  }
  if (ec == std::errc::result_out_of_range || n < min || n > max) {
    return make_error("'" + shown(value) + "' is out of range (expected " + std::to_string(min) +
                      " to " + std::to_string(max) + ")");
  }
  return n;
}

Result<long long> parse_number_option(std::string_view key, std::string_view value, long long min,
                                      long long max, std::string_view example) {
  auto n = parse_number(value, min, max);
  if (n.ok()) return n;
  std::string message = shown(key) + ": " + n.error().message;
  if (message.find("out of range") == std::string::npos) {
    message += " (write e.g. " + shown(key) + "=" + std::string(example) + ")";
  }
  return make_error(std::move(message));
}

Result<BindAddress> parse_host_port(std::string_view value, uint16_t default_port) {
  BindAddress out;
  out.port = default_port;
  std::string_view host = value;
  std::string_view port;
  if (!value.empty() && value.front() == '[') {
    const std::size_t close = value.find(']');
    if (close == std::string_view::npos) {
      return make_error("'" + shown(value) + "' has '[' without ']' (write [2001:db8::1]:5060)");
    }
    host = value.substr(1, close - 1);
    std::string_view rest = value.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return make_error("'" + shown(value) + "': unexpected text after ']' (write [addr]:port)");
      }
      port = rest.substr(1);
      if (port.empty()) return make_error("'" + shown(value) + "' has ':' but no port");
    }
  } else {
    const std::size_t colon = value.find(':');
    if (colon != std::string_view::npos && value.find(':', colon + 1) == std::string_view::npos) {
      host = value.substr(0, colon);
      port = value.substr(colon + 1);
      if (port.empty()) return make_error("'" + shown(value) + "' has ':' but no port");
    }
    // Two or more colons: a bare IPv6 address, no port.
  }
  if (host.empty()) return make_error("'" + shown(value) + "' has no address");
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':' || c == '_' || c == '%';
    if (!ok) {
      return make_error("'" + shown(value) +
                        "' is not an address or host name (letters, digits, '.', '-', ':' only)");
    }
  }
  if (host.find(':') != std::string_view::npos) {
    std::array<uint8_t, 16> bytes{};
    bool v6 = false;
    if (!parse_ip(host, bytes, v6)) {
      return make_error("'" + shown(value) + "' is not a valid IPv6 address");
    }
  }
  out.host = std::string(host);
  if (!port.empty()) {
    auto n = parse_number(port, 1, 65535);
    if (!n.ok()) return make_error("port " + n.error().message);
    out.port = static_cast<uint16_t>(n.value());
  }
  return out;
}

bool parse_ip(std::string_view text, std::array<uint8_t, 16>& bytes, bool& ipv6) {
  if (text.empty() || text.size() > 63) return false;
  char buffer[64];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  bytes.fill(0);
  in_addr v4{};
  if (inet_pton(AF_INET, buffer, &v4) == 1) {
    std::memcpy(bytes.data(), &v4, 4);
    ipv6 = false;
    return true;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, buffer, &v6) != 1) return false;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(&v6, kMapped, 12) == 0) {
    std::memcpy(bytes.data(), reinterpret_cast<const uint8_t*>(&v6) + 12, 4);
    ipv6 = false;
    return true;
  }
  std::memcpy(bytes.data(), &v6, 16);
  ipv6 = true;
  return true;
}

Result<AclRule> parse_acl_rule(bool permit, std::string_view value, bool& host_bits_set) {
  const std::string hint =
      " (expected address/prefix, e.g. 192.168.1.0/24 or 192.168.1.0/255.255.255.0)";
  AclRule rule;
  rule.permit = permit;
  host_bits_set = false;
  const std::size_t slash = value.find('/');
  std::string_view address = value.substr(0, slash);
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  if (!parse_ip(address, rule.network, rule.ipv6)) {
    return make_error("'" + shown(value) + "' is not a network" + hint);
  }
  const int bits = rule.ipv6 ? 128 : 32;
  rule.prefix_length = bits;
  if (slash != std::string_view::npos) {
    const std::string_view mask = value.substr(slash + 1);
    std::array<uint8_t, 16> mask_bytes{};
    bool mask_v6 = false;
    if (!rule.ipv6 && mask.find('.') != std::string_view::npos) {
      if (!parse_ip(mask, mask_bytes, mask_v6) || mask_v6) {
        return make_error("'" + shown(value) + "' has an invalid netmask" + hint);
      }
      uint32_t m = (uint32_t{mask_bytes[0]} << 24) | (uint32_t{mask_bytes[1]} << 16) |
                   (uint32_t{mask_bytes[2]} << 8) | mask_bytes[3];
      int len = 0;
      while (len < 32 && (m & (0x80000000u >> len))) ++len;
      const uint32_t expected = len == 0 ? 0 : (0xffffffffu << (32 - len));
      if (m != expected) {
        return make_error("'" + shown(value) + "' has a non-contiguous netmask" + hint);
      }
      rule.prefix_length = len;
    } else {
      auto n = parse_number(mask, 0, bits);
      if (!n.ok()) return make_error("'" + shown(value) + "' has an invalid prefix length" + hint);
      rule.prefix_length = static_cast<int>(n.value());
    }
  }
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(rule.prefix_length - i * 8, 0, 8);
    const uint8_t mask = keep == 0 ? 0 : static_cast<uint8_t>(0xff << (8 - keep));
    if ((rule.network[i] & ~mask) != 0) host_bits_set = true;
    rule.network[i] &= mask;
  }
  return rule;
}

void parse_callerid(std::string_view value, std::string& name, std::string& number) {
  name.clear();
  number.clear();
  value = trim(value);
  const std::size_t lt = value.rfind('<');
  const std::size_t gt = value.rfind('>');
  if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt) {
    number = std::string(trim(value.substr(lt + 1, gt - lt - 1)));
    std::string_view n = trim(value.substr(0, lt));
    if (n.size() >= 2 && n.front() == '"' && n.back() == '"') n = n.substr(1, n.size() - 2);
    name = std::string(n);
    return;
  }
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    name = std::string(value.substr(1, value.size() - 2));
    return;
  }
  // A bare value: a number if it looks like one, else a name (as Asterisk's callerid parser).
  const bool numeric = !value.empty() && value.find_first_not_of("0123456789+*#-() ") ==
                                             std::string_view::npos;
  (numeric ? number : name) = std::string(value);
}

Result<PeerType> parse_peer_type(std::string_view value) {
  if (iequals(value, "friend")) return PeerType::Friend;
  if (iequals(value, "user")) return PeerType::User;
  if (iequals(value, "peer")) return PeerType::Peer;
  return make_error("unknown peer type '" + shown(value) + "' (expected friend, user or peer)");
}

Result<DirectMedia> parse_direct_media(std::string_view value) {
  if (iequals(value, "nonat")) return DirectMedia::NoNat;
  if (iequals(value, "update")) return DirectMedia::Update;
  if (auto b = parse_bool(value)) return *b ? DirectMedia::Yes : DirectMedia::No;
  // Asterisk also accepts combinations like "update,nonat" and "outgoing"; we keep the safest
  // reading of the combination.
  bool update = false, nonat = false, ok = true;
  for_each_item(value, [&](std::string_view item) {
    if (iequals(item, "update")) update = true;
    else if (iequals(item, "nonat")) nonat = true;
    else if (!iequals(item, "outgoing")) ok = false;
  });
  if (ok && (update || nonat)) return nonat ? DirectMedia::NoNat : DirectMedia::Update;
  return make_error("unknown value '" + shown(value) + "' (expected yes, no, nonat or update)");
}

Result<DtmfMode> parse_dtmf_mode(std::string_view value) {
  if (iequals(value, "rfc2833")) return DtmfMode::Rfc2833;
  if (iequals(value, "info")) return DtmfMode::Info;
  if (iequals(value, "shortinfo")) return DtmfMode::ShortInfo;
  if (iequals(value, "inband")) return DtmfMode::Inband;
  if (iequals(value, "auto")) return DtmfMode::Auto;
  if (iequals(value, "auto_info")) return DtmfMode::AutoInfo;
  return make_error("unknown value '" + shown(value) +
                    "' (expected rfc2833, info, shortinfo, inband, auto or auto_info)");
}

Result<NatSettings> parse_nat(std::string_view value) {
  NatSettings nat{false, false, false, false};
  std::string bad;
  bool any = false;
  for_each_item(value, [&](std::string_view item) {
    any = true;
    if (iequals(item, "yes")) {
      nat.force_rport = nat.comedia = true;
    } else if (iequals(item, "no") || iequals(item, "never")) {
      // nothing forced
    } else if (iequals(item, "force_rport") || iequals(item, "route")) {
      nat.force_rport = true;
    } else if (iequals(item, "comedia")) {
      nat.comedia = true;
    } else if (iequals(item, "auto_force_rport")) {
      nat.auto_force_rport = true;
    } else if (iequals(item, "auto_comedia")) {
      nat.auto_comedia = true;
    } else if (bad.empty()) {
      bad = std::string(item);
    }
  });
  if (!any || !bad.empty()) {
    return make_error("unknown value '" + shown(any ? bad : value) +
                      "' (expected no, yes, force_rport, comedia, auto_force_rport or "
                      "auto_comedia, or a comma list of them)");
  }
  return nat;
}

Result<Insecure> parse_insecure(std::string_view value) {
  Insecure out;
  std::string bad;
  bool any = false;
  for_each_item(value, [&](std::string_view item) {
    any = true;
    if (iequals(item, "port")) out.port = true;
    else if (iequals(item, "invite")) out.invite = true;
    else if (iequals(item, "very")) out.port = out.invite = true;  // pre-1.4 spelling
    else if (iequals(item, "no")) {}
    else if (bad.empty()) bad = std::string(item);
  });
  if (!any || !bad.empty()) {
    return make_error("unknown value '" + shown(any ? bad : value) +
                      "' (expected port, invite, port,invite or no)");
  }
  return out;
}

Result<std::vector<sip::TransportKind>> parse_transports(std::string_view value,
                                                         std::vector<std::string>& unsupported) {
  std::vector<sip::TransportKind> out;
  std::string bad;
  for_each_item(value, [&](std::string_view item) {
    sip::TransportKind kind;
    if (iequals(item, "udp")) kind = sip::TransportKind::Udp;
    else if (iequals(item, "tcp")) kind = sip::TransportKind::Tcp;
    else if (iequals(item, "tls") || iequals(item, "ws") || iequals(item, "wss")) {
      unsupported.push_back(lowercase(item));
      return;
    } else {
      if (bad.empty()) bad = std::string(item);
      return;
    }
    if (std::find(out.begin(), out.end(), kind) == out.end()) out.push_back(kind);
  });
  if (!bad.empty()) {
    return make_error("unknown transport '" + shown(bad) + "' (expected udp or tcp, e.g. udp,tcp)");
  }
  return out;
}

Result<int> parse_qualify(std::string_view value) {
  if (auto b = parse_bool(value)) return *b ? 2000 : 0;
  auto n = parse_number(value, 0, 60000);
  if (!n.ok()) {
    return make_error("value '" + shown(value) +
                      "' is not valid (expected yes, no or the maximum round trip in "
                      "milliseconds, 1 to 60000)");
  }
  return static_cast<int>(n.value());
}

void apply_codecs(bool allow, std::string_view value, std::vector<std::string>& codecs,
                  const std::function<void(const std::string&)>& warn) {
  for_each_item(value, [&](std::string_view item) {
    bool add = allow;
    if (item.front() == '!') {
      add = false;
      item = trim(item.substr(1));
    }
    // Asterisk allows "ulaw:20" to set the packetisation; we take the codec and drop framing.
    if (const std::size_t colon = item.find(':'); colon != std::string_view::npos) {
      warn("'" + shown(item) + "': packetisation ':" + shown(item.substr(colon + 1)) +
           "' is accepted but not used by hapbx yet");
      item = item.substr(0, colon);
    }
    const std::string name = lowercase(item);
    if (name == "all") {
      if (!add) {
        codecs.clear();
        return;
      }
      for (std::string_view c : kAudio) {
        if (std::find(codecs.begin(), codecs.end(), c) == codecs.end()) codecs.emplace_back(c);
      }
      return;
    }
    if (name == "telephone-event" || name == "telephone_event") {
      warn("'" + shown(item) +
           "' is not a codec; DTMF events are chosen with dtmfmode=rfc2833 (ignored)");
      return;
    }
    const bool known = std::find(std::begin(kAudio), std::end(kAudio), name) != std::end(kAudio) ||
                       std::find(std::begin(kOther), std::end(kOther), name) != std::end(kOther);
    if (!known) {
      warn("unknown codec '" + shown(item) +
           "' ignored (known: ulaw, alaw, gsm, g722, g729, opus, ilbc, speex, ... or all)");
      return;
    }
    auto it = std::find(codecs.begin(), codecs.end(), name);
    if (add && it == codecs.end()) codecs.push_back(name);
    if (!add && it != codecs.end()) codecs.erase(it);
  });
}

}  // namespace hapbx::pbx::conf
