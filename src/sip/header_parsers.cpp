// Parsers for the header values the SIP core depends on (RFC 3261 20, 25.1): Via (with RFC 3581
// rport), name-addr / addr-spec, CSeq, generic parameters and comma-separated lists. All are
// single forward passes over a view; none allocates except to store parameters.
#include "sip/chars.h"
#include "sip/message.h"

namespace hapbx::sip {

namespace {

// A view into static storage: the parsed protocol of every ordinary Via, whatever whitespace
// the sender put around the slashes.
constexpr std::string_view kSip20 = "SIP/2.0";

// `start` is at a '"'. On success `end` is one past the closing quote.
bool scan_quoted(std::string_view s, size_t start, size_t& end) {
  for (size_t i = start + 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;  // quoted-pair: the next byte is literal
    } else if (s[i] == '"') {
      end = i + 1;
      return true;
    }
  }
  return false;
}

size_t scan_token(std::string_view s, size_t i) {
  while (i < s.size() && chars::is(s[i], chars::kToken)) ++i;
  return i;
}



}  // namespace

std::string_view NameAddr::tag() const {
  const auto v = param_value(params, "tag");
  return v ? *v : std::string_view{};
}

Status parse_header_params(std::string_view text, Params& out) {
  const size_t n = text.size();
  size_t i = chars::skip_ws(text, 0);
  while (i < n) {
    if (text[i] != ';') return make_error("expected ';' before parameter");
    i = chars::skip_ws(text, i + 1);
    const size_t name_start = i;
    i = scan_token(text, i);
    if (i == name_start) return make_error("empty parameter name");
    Param p;
    p.name = text.substr(name_start, i - name_start);
    i = chars::skip_ws(text, i);
    if (i < n && text[i] == '=') {
      i = chars::skip_ws(text, i + 1);
      const size_t value_start = i;
      if (i < n && text[i] == '"') {
        size_t end = 0;
        if (!scan_quoted(text, i, end)) return make_error("unterminated quoted parameter value");
        i = end;
      } else {
        while (i < n && !chars::is_ws(text[i]) && text[i] != ';' && text[i] != ',' &&
               text[i] != '"' && text[i] != '<' && text[i] != '>') {
          ++i;
        }
      }
      if (i == value_start) return make_error("empty parameter value");
      p.value = text.substr(value_start, i - value_start);
      p.has_value = true;
      i = chars::skip_ws(text, i);
    }
    out.push_back(p);
  }
  return Status::Ok();
}

std::vector<std::string_view> split_header_values(std::string_view value) {
  std::vector<std::string_view> out;
  size_t start = 0;
  bool quoted = false;
  bool angle = false;
  auto push = [&](size_t end) {
    const std::string_view item = trim(value.substr(start, end - start));
    if (!item.empty()) out.push_back(item);
  };
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (quoted) {
      if (c == '\\') ++i;
      else if (c == '"') quoted = false;
      continue;
    }
    if (c == '"') quoted = true;
    else if (c == '<') angle = true;
    else if (c == '>') angle = false;
    else if (c == ',' && !angle) {
      push(i);
      start = i + 1;
    }
  }
  push(value.size());
  return out;
}

Result<Via> parse_via(std::string_view value) {
  const std::string_view v = value;
  const size_t n = v.size();
  Via via;
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport; SLASH = SWS "/" SWS
  size_t i = chars::skip_ws(v, 0);
  const size_t name_start = i;
  i = scan_token(v, i);
  const std::string_view name = v.substr(name_start, i - name_start);
  i = chars::skip_ws(v, i);
  if (name.empty() || i >= n || v[i] != '/') return make_error("bad Via sent-protocol");
  i = chars::skip_ws(v, i + 1);
  const size_t version_start = i;
  i = scan_token(v, i);
  const std::string_view version = v.substr(version_start, i - version_start);
  const size_t version_end = i;
  i = chars::skip_ws(v, i);
  if (version.empty() || i >= n || v[i] != '/') return make_error("bad Via sent-protocol");
  i = chars::skip_ws(v, i + 1);
  const size_t transport_start = i;
  i = scan_token(v, i);
  via.transport = v.substr(transport_start, i - transport_start);
  if (via.transport.empty()) return make_error("missing Via transport");
  via.protocol = (iequals(name, "SIP") && version == "2.0")
                     ? kSip20
                     : v.substr(name_start, version_end - name_start);
  // LWS sent-by
  if (i >= n || !chars::is_ws(v[i])) return make_error("missing Via sent-by");
  i = chars::skip_ws(v, i);
  if (i < n && v[i] == '[') {
    const size_t close = v.find(']', i);
    if (close == std::string_view::npos) return make_error("unterminated IPv6 reference in Via");
    via.host = v.substr(i + 1, close - i - 1);
    if (!chars::valid_ipv6_text(via.host)) return make_error("bad IPv6 address in Via");
    i = close + 1;
  } else {
    const size_t host_start = i;
    while (i < n && chars::is(v[i], chars::kHost)) ++i;
    via.host = v.substr(host_start, i - host_start);
    if (via.host.empty()) return make_error("missing Via sent-by host");
  }
  const size_t after_host = chars::skip_ws(v, i);
  if (after_host < n && v[after_host] == ':') {
    i = chars::skip_ws(v, after_host + 1);
    const size_t port_start = i;
    while (i < n && chars::is(v[i], chars::kDigit)) ++i;
    if (!chars::parse_port(v.substr(port_start, i - port_start), via.port)) {
      return make_error("bad Via sent-by port");
    }
  }
  Status st = parse_header_params(v.substr(i), via.params);
  if (!st) return make_error("bad Via parameters: " + st.error().message);
  if (const Param* p = find_param(via.params, "branch")) via.branch = p->value;
  if (const Param* p = find_param(via.params, "received")) via.received = p->value;
  if (const Param* p = find_param(via.params, "rport")) {
    via.has_rport = true;  // RFC 3581: a flag in requests, a value once a server filled it in
    if (p->has_value) {
      uint16_t port = 0;
      if (!chars::parse_port(p->value, port)) return make_error("bad Via rport value");
      via.rport = port;
    }
  }
  return via;
}

Result<NameAddr> parse_name_addr(std::string_view value) {
  const std::string_view v = trim(value);
  const size_t n = v.size();
  NameAddr na;
  if (v == "*") {
    na.star = true;
    return na;
  }
  if (v.empty()) return make_error("empty address");
  size_t laquot = std::string_view::npos;
  if (v[0] == '"') {
    size_t end = 0;
    if (!scan_quoted(v, 0, end)) return make_error("unterminated quoted display name");
    na.display_name = v.substr(0, end);
    const size_t i = chars::skip_ws(v, end);
    if (i >= n || v[i] != '<') return make_error("display name not followed by <URI>");
    laquot = i;
  } else {
    // display-name = *(token LWS): if only tokens and whitespace lead to '<', it is a name-addr.
    size_t j = 0;
    while (j < n && (chars::is(v[j], chars::kToken) || chars::is_ws(v[j]))) ++j;
    if (j < n && v[j] == '<') {
      na.display_name = trim(v.substr(0, j));
      laquot = j;
    }
  }
  if (laquot != std::string_view::npos) {
    const size_t close = v.find('>', laquot + 1);
    if (close == std::string_view::npos) return make_error("missing '>'");
    // No trimming: RFC 3261 allows no whitespace inside the angle brackets (RFC 4475 3.1.2.14).
    auto uri = parse_uri(v.substr(laquot + 1, close - laquot - 1));
    if (!uri) return make_error("bad URI: " + uri.error().message);
    na.uri = std::move(uri).value();
    Status st = parse_header_params(v.substr(close + 1), na.params);
    if (!st) return make_error(st.error().message);
    return na;
  }
  // addr-spec: the URI ends at the first ';' or whitespace; what follows are header parameters,
  // not URI parameters (RFC 3261 20.10). A URI with '?' or ',' must be in angle brackets.
  size_t e = 0;
  while (e < n && v[e] != ';' && !chars::is_ws(v[e])) ++e;
  const std::string_view uri_text = v.substr(0, e);
  if (uri_text.find_first_of("?,") != std::string_view::npos) {
    return make_error("URI with '?' or ',' must be enclosed in <>");
  }
  auto uri = parse_uri(uri_text);
  if (!uri) return make_error("bad URI: " + uri.error().message);
  na.uri = std::move(uri).value();
  Status st = parse_header_params(v.substr(e), na.params);
  if (!st) return make_error(st.error().message);
  return na;
}

Result<CSeq> parse_cseq(std::string_view value) {
  const std::string_view v = trim(value);
  size_t i = 0;
  while (i < v.size() && chars::is(v[i], chars::kDigit)) ++i;
  uint64_t number = 0;
  // RFC 3261 8.1.1.5: the sequence number MUST be less than 2**31.
  if (i == 0 || !chars::parse_uint(v.substr(0, i), 0x7fffffffULL, number)) {
    return make_error("bad CSeq number");
  }
  if (i >= v.size() || !chars::is_ws(v[i])) return make_error("missing CSeq method");
  i = chars::skip_ws(v, i);
  const size_t method_start = i;
  i = scan_token(v, i);
  if (i == method_start || i != v.size()) return make_error("bad CSeq method");
  CSeq cseq;
  cseq.number = static_cast<uint32_t>(number);
  cseq.method_text = v.substr(method_start);
  cseq.method = method_from_string(cseq.method_text);
  return cseq;
}

std::optional<uint32_t> parse_delta_seconds(std::string_view text) {
  const std::string_view v = trim(text);
  if (v.empty()) return std::nullopt;
  uint64_t total = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    if (total <= 0xffffffffULL) total = total * 10 + static_cast<uint64_t>(c - '0');
  }
  return total > 0xffffffffULL ? 0xffffffffU : static_cast<uint32_t>(total);
}

std::optional<int> parse_qvalue(std::string_view text) {
  const std::string_view v = trim(text);
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return std::nullopt;
  int whole = v[0] - '0';
  int thousandths = 0;
  if (v.size() > 1) {
    if (v[1] != '.' || v.size() > 5) return std::nullopt;
    int scale = 100;
    for (size_t i = 2; i < v.size(); ++i, scale /= 10) {
      if (v[i] < '0' || v[i] > '9') return std::nullopt;
      thousandths += (v[i] - '0') * scale;
    }
  }
  if (whole == 1 && thousandths != 0) return std::nullopt;
  return whole * 1000 + thousandths;
}

}  // namespace hapbx::sip
