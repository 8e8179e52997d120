// SIP/SIPS/tel URI parsing, printing and RFC 3261 19.1.4 comparison, plus the small string
// helpers shared by every SIP parser. Everything is a view into the caller's text.
#include "sip/uri.h"

#include "sip/chars.h"

namespace hapbx::sip {

namespace {

// Scheme names are case-insensitive; the well-known ones are normalised to these static views
// so Uri::is_sip() and callers can compare exactly. (A view into static storage stays valid.)
constexpr std::string_view kSip = "sip";
constexpr std::string_view kSips = "sips";
constexpr std::string_view kTel = "tel";

// Every byte of a URI must be visible ASCII and none of the characters that delimit it in a
// header (RFC 3261 25.1: whitespace, <, >, " never appear unescaped).
bool uri_bytes_ok(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '<' || c == '>' || c == '"') return false;
  }
  return true;
}

// ";name[=value]" repeated, URI syntax (no whitespace). `text` is empty or starts with ';'.
bool parse_uri_params(std::string_view text, Params& out) {
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != ';') return false;
    ++i;
    const size_t name_start = i;
    while (i < text.size() && chars::is(text[i], chars::kUriParam)) ++i;
    if (i == name_start) return false;
    Param p;
    p.name = text.substr(name_start, i - name_start);
    if (i < text.size() && text[i] == '=') {
      ++i;
      const size_t value_start = i;
      while (i < text.size() && chars::is(text[i], chars::kUriParam)) ++i;
      if (i == value_start) return false;
      p.value = text.substr(value_start, i - value_start);
      p.has_value = true;
    }
    out.push_back(p);
  }
  return true;
}

// "name=value" separated by '&' (text after the '?').
bool parse_uri_headers(std::string_view text, Params& out) {
  if (text.empty()) return false;
  size_t i = 0;
  while (true) {
    const size_t name_start = i;
    while (i < text.size() && chars::is(text[i], chars::kUriHeader)) ++i;
    if (i == name_start || i >= text.size() || text[i] != '=') return false;
    Param p;
    p.name = text.substr(name_start, i - name_start);
    ++i;
    const size_t value_start = i;
    while (i < text.size() && chars::is(text[i], chars::kUriHeader)) ++i;
    p.value = text.substr(value_start, i - value_start);
    p.has_value = true;
    out.push_back(p);
    if (i == text.size()) return true;
    if (text[i] != '&') return false;
    ++i;
  }
}



Status parse_sip_body(std::string_view rest, Uri& uri) {
  std::string_view hostpart = rest;
  const size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    bool all_user = true;
    for (char c : userinfo) {
      if (!chars::is(c, chars::kUser) && c != ':') {
        all_user = false;
        break;
      }
    }
    if (all_user) {
      const size_t colon = userinfo.find(':');
      uri.user = userinfo.substr(0, colon);
      if (colon != std::string_view::npos) uri.password = userinfo.substr(colon + 1);
      if (uri.user.empty()) return make_error("empty user part");
      hostpart = rest.substr(at + 1);
    }
  }
  size_t i = 0;
  if (!hostpart.empty() && hostpart[0] == '[') {
    const size_t close = hostpart.find(']');
    if (close == std::string_view::npos) return make_error("unterminated IPv6 reference");
    uri.host = hostpart.substr(1, close - 1);
    if (!chars::valid_ipv6_text(uri.host)) return make_error("bad IPv6 address");
    i = close + 1;
  } else {
    while (i < hostpart.size() && chars::is(hostpart[i], chars::kHost)) ++i;
    uri.host = hostpart.substr(0, i);
    if (uri.host.empty()) return make_error("missing host");
  }
  if (i < hostpart.size() && hostpart[i] == ':') {
    const size_t start = ++i;
    while (i < hostpart.size() && chars::is(hostpart[i], chars::kDigit)) ++i;
    if (!chars::parse_port(hostpart.substr(start, i - start), uri.port)) return make_error("bad port");
  }
  const std::string_view tail = hostpart.substr(i);
  const size_t q = tail.find('?');
  if (!parse_uri_params(tail.substr(0, q), uri.params)) return make_error("bad URI parameter");
  if (q != std::string_view::npos && !parse_uri_headers(tail.substr(q + 1), uri.headers)) {
    return make_error("bad URI header");
  }
  return Status::Ok();
}

// Compares two escaped strings after resolving %XX (RFC 3261 19.1.4: "%61lice" equals "alice").
bool escaped_equal(std::string_view a, std::string_view b, bool case_insensitive) {
  size_t i = 0, j = 0;
  auto next = [](std::string_view s, size_t& k) -> int {
    if (s[k] == '%' && k + 2 < s.size() && chars::hex_value(s[k + 1]) >= 0 &&
        chars::hex_value(s[k + 2]) >= 0) {
      const int v = chars::hex_value(s[k + 1]) * 16 + chars::hex_value(s[k + 2]);
      k += 3;
      return v;
    }
    return static_cast<unsigned char>(s[k++]);
  };
  while (i < a.size() && j < b.size()) {
    int ca = next(a, i);
    int cb = next(b, j);
    if (case_insensitive) {
      ca = static_cast<unsigned char>(chars::lower(static_cast<char>(ca)));
      cb = static_cast<unsigned char>(chars::lower(static_cast<char>(cb)));
    }
    if (ca != cb) return false;
  }
  return i == a.size() && j == b.size();
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (chars::lower(a[i]) != chars::lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view text) {
  size_t b = 0, e = text.size();
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (b < e && space(text[b])) ++b;
  while (e > b && space(text[e - 1])) --e;
  return text.substr(b, e - b);
}

std::string unquote(std::string_view text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') return std::string(text);
  std::string out;
  out.reserve(text.size() - 2);
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == '\\' && i + 2 < text.size()) ++i;
    out.push_back(text[i]);
  }
  return out;
}

const Param* find_param(const Params& params, std::string_view name) {
  for (const Param& p : params) {
    if (iequals(p.name, name)) return &p;
  }
  return nullptr;
}

std::optional<std::string_view> param_value(const Params& params, std::string_view name) {
  const Param* p = find_param(params, name);
  if (p == nullptr) return std::nullopt;
  return p->value;
}

Result<Uri> parse_uri(std::string_view text) {
  Uri uri;
  uri.text = text;
  if (text.empty()) return make_error("empty URI");
  if (!uri_bytes_ok(text)) return make_error("URI contains whitespace or a delimiter");
  if (!chars::is(text[0], chars::kAlpha)) return make_error("URI scheme must start with a letter");
  size_t i = 1;
  while (i < text.size() && chars::is(text[i], chars::kSchemeRest)) ++i;
  if (i >= text.size() || text[i] != ':') return make_error("URI has no scheme");
  const std::string_view scheme = text.substr(0, i);
  const std::string_view rest = text.substr(i + 1);
  if (iequals(scheme, kSip) || iequals(scheme, kSips)) {
    uri.scheme = scheme.size() == 3 ? kSip : kSips;
    Status st = parse_sip_body(rest, uri);
    if (!st) return st.error();
    return uri;
  }
  uri.opaque = rest;
  if (rest.empty()) return make_error("empty URI body");
  if (iequals(scheme, kTel)) {
    uri.scheme = kTel;
    const size_t semi = rest.find(';');
    uri.user = rest.substr(0, semi);
    if (uri.user.empty()) return make_error("empty telephone number");
    if (semi != std::string_view::npos && !parse_uri_params(rest.substr(semi), uri.params)) {
      return make_error("bad tel URI parameter");
    }
    return uri;
  }
  uri.scheme = scheme;
  return uri;
}

void print_uri(const Uri& uri, std::string& out) {
  if (!uri.is_sip() && uri.scheme != kTel) {
    out += uri.scheme;
    out += ':';
    out += uri.opaque;
    return;
  }
  out += uri.scheme;
  out += ':';
  if (uri.scheme == kTel) {
    out += uri.user;
  } else {
    if (!uri.user.empty()) {
      out += uri.user;
      if (!uri.password.empty()) {
        out += ':';
        out += uri.password;
      }
      out += '@';
    }
    const bool v6 = uri.host.find(':') != std::string_view::npos;
    if (v6) out += '[';
    out += uri.host;
    if (v6) out += ']';
    if (uri.port != 0) {
      out += ':';
      out += std::to_string(uri.port);
    }
  }
  for (const Param& p : uri.params) {
    out += ';';
    out += p.name;
    if (p.has_value) {
      out += '=';
      out += p.value;
    }
  }
  char sep = '?';
  for (const Param& h : uri.headers) {
    out += sep;
    sep = '&';
    out += h.name;
    out += '=';
    out += h.value;
  }
}

std::string to_string(const Uri& uri) {
  std::string out;
  out.reserve(uri.text.size() + 8);
  print_uri(uri, out);
  return out;
}

bool uri_equal(const Uri& a, const Uri& b) {
  if (!iequals(a.scheme, b.scheme)) return false;
  if (!a.is_sip()) {
    if (a.scheme == kTel) {
      if (a.user != b.user) return false;
    } else {
      return a.opaque == b.opaque;
    }
  } else {
    if (!escaped_equal(a.user, b.user, false) || !escaped_equal(a.password, b.password, false)) {
      return false;
    }
    if (!iequals(a.host, b.host) || a.port != b.port) return false;
  }
  // Parameters present in both must match; user, ttl, method, maddr and transport must match
  // even when present in only one (RFC 3261 19.1.4).
  auto params_match = [](const Params& x, const Params& y) {
    for (const Param& p : x) {
      const Param* q = find_param(y, p.name);
      if (q == nullptr) {
        for (std::string_view special : {"user", "ttl", "method", "maddr", "transport"}) {
          if (iequals(p.name, special)) return false;
        }
        continue;
      }
      if (p.has_value != q->has_value || !escaped_equal(p.value, q->value, true)) return false;
    }
    return true;
  };
  if (!params_match(a.params, b.params) || !params_match(b.params, a.params)) return false;
  // Header components: all must be present in both and equal.
  if (a.headers.size() != b.headers.size()) return false;
  for (const Param& h : a.headers) {
    const Param* other = find_param(b.headers, h.name);
    if (other == nullptr || !escaped_equal(h.value, other->value, false)) return false;
  }
  return true;
}

}  // namespace hapbx::sip
