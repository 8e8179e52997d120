// Value syntax of the DRBD resource config (see the header).
#include "replica/resource_config_values.h"

#include <arpa/inet.h>

#include <array>

#include "replica/resource_config_syntax.h"

namespace hapbx::replica::config_values {

namespace {

using config_syntax::shown;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool valid_name(std::string_view name, std::size_t max) {
  if (name.empty() || name.size() > max || name[0] == '.' || name[0] == '-') return false;
  for (char c : name) {
    if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

bool valid_ipv4(const std::string& text) {
  in_addr a{};
  return ::inet_pton(AF_INET, text.c_str(), &a) == 1;
}

bool valid_ipv6(const std::string& text) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, text.c_str(), &a) == 1;
}

// A DNS name: labels of letters, digits and '-', at least one letter somewhere (so that a
// mistyped IPv4 literal such as 198.18.1.300 is not taken for a name).
bool valid_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.') return false;
  bool letter = false;
  char prev = '.';
  for (char c : name) {
    if (c == '.') {
      if (prev == '.' || prev == '-') return false;
    } else if (c == '-') {
      if (prev == '.') return false;
    } else if (is_alpha(c)) {
      letter = true;
    } else if (!is_digit(c)) {
      return false;
    }
    prev = c;
  }
  return letter && prev != '-';
}

struct Spelling {
  std::string_view name;
  SplitBrainPolicy policy;
};

constexpr std::array<Spelling, 7> k0pri = {{
    {"disconnect", SplitBrainPolicy::Disconnect},
    {"discard-younger-primary", SplitBrainPolicy::DiscardYoungerPrimary},
    {"discard-older-primary", SplitBrainPolicy::DiscardOlderPrimary},
    {"discard-zero-changes", SplitBrainPolicy::DiscardZeroChanges},
    {"discard-least-changes", SplitBrainPolicy::DiscardLeastChanges},
    {"discard-local", SplitBrainPolicy::DiscardLocal},
    {"discard-remote", SplitBrainPolicy::DiscardRemote},
}};
constexpr std::array<Spelling, 5> k1pri = {{
    {"disconnect", SplitBrainPolicy::Disconnect},
    {"consensus", SplitBrainPolicy::Consensus},
    {"discard-secondary", SplitBrainPolicy::DiscardSecondary},
    {"call-pri-lost-after-sb", SplitBrainPolicy::CallPrimaryLost},
    {"violently-as0p", SplitBrainPolicy::Violently},
}};
constexpr std::array<Spelling, 3> k2pri = {{
    {"disconnect", SplitBrainPolicy::Disconnect},
    {"call-pri-lost-after-sb", SplitBrainPolicy::CallPrimaryLost},
    {"violently-as0p", SplitBrainPolicy::Violently},
}};

template <std::size_t N>
std::optional<SplitBrainPolicy> find(const std::array<Spelling, N>& table, std::string_view v) {
  for (const Spelling& s : table) {
    if (s.name == v) return s.policy;
  }
  return std::nullopt;
}

template <std::size_t N>
std::string expected(const std::array<Spelling, N>& table, std::string_view extra = {}) {
  std::string out;
  for (const Spelling& s : table) {
    if (!out.empty()) out += ", ";
    out += s.name;
  }
  if (!extra.empty()) out += ", " + std::string(extra);
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view family, std::string_view text) {
  if (!family.empty() && family != "ipv4" && family != "ipv6") {
    if (family == "ssocks" || family == "sdp" || family == "sci") {
      return make_error("address family '" + shown(family) +
                        "' is not supported (use ipv4 or ipv6)");
    }
    return make_error("unknown address family '" + shown(family) + "' (expected ipv4 or ipv6)");
  }
  Endpoint ep;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return make_error("address '" + shown(text) + "': missing ']' (e.g. [fd00::11]:7788)");
    }
    ep.address = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      return make_error("address '" + shown(text) + "' needs a port (e.g. [fd00::11]:7788)");
    }
    port = rest.substr(1);
    ep.ipv6 = true;
    if (family == "ipv4") {
      return make_error("address '" + shown(text) + "' is IPv6 but says ipv4 (write ipv6)");
    }
    if (!valid_ipv6(ep.address)) {
      return make_error("'" + shown(ep.address) + "' is not a valid IPv6 address");
    }
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return make_error("address '" + shown(text) +
                        "' needs a port (e.g. address 198.18.1.11:7788)");
    }
    ep.address = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (ep.address.find(':') != std::string::npos || family == "ipv6") {
      return make_error("address '" + shown(text) +
                        "': IPv6 addresses go in brackets (e.g. address ipv6 [fd00::11]:7788)");
    }
    if (ep.address.empty()) {
      return make_error("address '" + shown(text) + "' has no host part");
    }
    if (!valid_ipv4(ep.address) && (family == "ipv4" || !valid_dns_name(ep.address))) {
      return make_error("'" + shown(ep.address) + "' is not a valid IPv4 address" +
                        (family == "ipv4" ? "" : " or host name"));
    }
  }
  const auto number = parse_integer(port);
  if (!number || *number < 1 || *number > 65535) {
    return make_error("port '" + shown(port) + "' is not valid (expected 1..65535)");
  }
  ep.port = static_cast<std::uint16_t>(*number);
  return ep;
}

bool valid_resource_name(std::string_view name) { return valid_name(name, 64); }
bool valid_host_name(std::string_view name) { return valid_name(name, 253); }

Result<SplitBrainPolicy> parse_after_sb(int primaries, std::string_view value,
                                        std::string& discard_node) {
  std::optional<SplitBrainPolicy> policy;
  std::string list;
  if (primaries == 0) {
    constexpr std::string_view kNode = "discard-node-";
    if (value.substr(0, kNode.size()) == kNode) {
      const std::string_view node = value.substr(kNode.size());
      if (!valid_host_name(node)) {
        return make_error("after-sb-0pri '" + shown(value) +
                          "': no node name after discard-node- (e.g. discard-node-asterisk2)");
      }
      discard_node = std::string(node);
      return SplitBrainPolicy::Disconnect;
    }
    policy = find(k0pri, value);
    list = expected(k0pri, "discard-node-NODENAME");
  } else if (primaries == 1) {
    policy = find(k1pri, value);
    list = expected(k1pri);
  } else {
    policy = find(k2pri, value);
    list = expected(k2pri);
  }
  if (!policy) {
    return make_error("after-sb-" + std::to_string(primaries) + "pri '" + shown(value) +
                      "' is not valid here (expected " + list + ")");
  }
  return *policy;
}

std::string_view after_sb_spelling(SplitBrainPolicy policy) {
  for (const Spelling& s : k0pri) {
    if (s.policy == policy) return s.name;
  }
  for (const Spelling& s : k1pri) {
    if (s.policy == policy) return s.name;
  }
  return to_string(policy);
}

Result<std::string> parse_digest(std::string_view option, std::string_view value, bool for_hmac) {
  const std::string v = lower(value);
  if (v == "sha1" || v == "sha256" || v == "md5" || (!for_hmac && v == "crc32c")) return v;
  return make_error(std::string(option) + " '" + shown(value) + "' is not supported (expected " +
                    (for_hmac ? "sha1, sha256 or md5" : "sha1, sha256, md5 or crc32c") + ")");
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace hapbx::replica::config_values
