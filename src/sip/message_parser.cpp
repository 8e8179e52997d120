// RFC 3261 7 message parsing: one pass over an owned buffer, undoing header folding in place,
// recording every header as views and validating at the door the headers the transaction layer
// and the registrar rely on. Also stream framing for TCP (RFC 3261 18.3) and the Message
// accessors. Work is linear in the input: no backtracking, no recursion.
#include <algorithm>
#include <cstring>

#include "sip/chars.h"
#include "sip/message.h"

namespace hapbx::sip {

namespace {

struct HeaderEnd {
  size_t blank = 0;  // where the empty line starts (= end of the header section)
  size_t body = 0;   // first byte after the empty line
};

// Finds the empty line that ends the headers. CRLF is the rule; bare LF is tolerated because
// the cost is nil and some embedded stacks send it.
std::optional<HeaderEnd> find_header_end(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    const void* p = std::memchr(s.data() + pos, '\n', s.size() - pos);
    if (p == nullptr) return std::nullopt;
    const size_t next = static_cast<size_t>(static_cast<const char*>(p) - s.data()) + 1;
    if (next < s.size() && s[next] == '\n') return HeaderEnd{next, next + 1};
    if (next + 1 < s.size() && s[next] == '\r' && s[next + 1] == '\n') {
      return HeaderEnd{next, next + 2};
    }
    pos = next;
  }
  return std::nullopt;
}

// Control bytes are refused in header values, except right after a backslash: a quoted-pair
// may escape any byte but CR and LF (RFC 3261 25.1; RFC 4475 3.1.1.2 relies on it).
bool has_control_bytes(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] != '\r' && s[i + 1] != '\n') {
      ++i;
      continue;
    }
    if ((u < 0x20 && s[i] != '\t') || u == 0x7f) return true;
  }
  return false;
}

bool valid_call_id(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

// Headers whose values are comma-separated lists (RFC 3261 7.3.1). The others may carry commas
// inside one value (Authorization, Date, User-Agent ...) and are returned whole by values().
bool is_list_header(HeaderId id) {
  switch (id) {
    case HeaderId::Via: case HeaderId::Contact: case HeaderId::Route: case HeaderId::RecordRoute:
    case HeaderId::Require: case HeaderId::ProxyRequire: case HeaderId::Supported:
    case HeaderId::Unsupported: case HeaderId::Allow: case HeaderId::Accept:
    case HeaderId::ContentEncoding: case HeaderId::Warning: case HeaderId::AllowEvents:
    case HeaderId::Path:
      return true;
    default:
      return false;
  }
}

constexpr std::string_view kSipVersion = "SIP/2.0";

}  // namespace

class MessageParser {
 public:
  static Result<Message> parse(std::string bytes, const ParseOptions& options);

 private:
  explicit MessageParser(Message& m) : m_(m) {}
  Status parse_start_line(std::string_view line);
  void parse_header_line(std::string_view line);
  void fail(std::string_view reason) {
    if (m_.fault_ != ParseFault::None) return;
    m_.fault_ = ParseFault::BadRequest;
    m_.fault_reason_ = reason;
  }
  // For headers that must appear once: a repeat with a different value is a fault.
  bool first_or_same(std::string_view& seen, std::string_view value, std::string_view reason) {
    if (seen.data() == nullptr) {
      seen = value;
      return true;
    }
    if (seen != value) fail(reason);
    return false;
  }

  Message& m_;
  bool seen_via_ = false;
  std::string_view from_text_, to_text_, call_id_text_, cseq_text_, content_length_text_;
};

Status MessageParser::parse_start_line(std::string_view line) {
  if (line.size() >= 4 && iequals(line.substr(0, 4), "SIP/")) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    if (line.size() < 8 || !iequals(line.substr(0, 8), "SIP/2.0 ")) {
      return make_error("unsupported SIP version in status line");
    }
    size_t i = chars::skip_ws(line, 8);
    const size_t code_start = i;
    while (i < line.size() && chars::is(line[i], chars::kDigit)) ++i;
    if (i - code_start != 3 || (i < line.size() && !chars::is_ws(line[i]))) {
      return make_error("bad status code");
    }
    const int code = (line[code_start] - '0') * 100 + (line[code_start + 1] - '0') * 10 +
                     (line[code_start + 2] - '0');
    if (code < 100 || code > 699) return make_error("status code out of range");
    const std::string_view reason = trim(line.substr(i));
    if (has_control_bytes(reason)) return make_error("control characters in reason phrase");
    m_.is_request_ = false;
    m_.status_code_ = code;
    m_.reason_ = reason;
    return Status::Ok();
  }
  // Request-Line = Method SP Request-URI SP SIP-Version. Extra spaces and trailing spaces are
  // tolerated (RFC 4475 3.1.2.9, 3.1.2.10); whitespace inside the URI is not (3.1.2.8).
  const size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp == 0) return make_error("not a SIP start line");
  const std::string_view method = line.substr(0, sp);
  for (char c : method) {
    if (!chars::is(c, chars::kToken)) return make_error("not a SIP start line");
  }
  const std::string_view rest = trim(line.substr(sp + 1));
  const size_t last = rest.find_last_of(" \t");
  if (last == std::string_view::npos) return make_error("not a SIP request line");
  const std::string_view version = rest.substr(last + 1);
  if (!iequals(version, kSipVersion)) {
    if (version.size() >= 4 && iequals(version.substr(0, 4), "SIP/")) {
      return make_error("unsupported SIP version in request line");
    }
    return make_error("not a SIP request line");
  }
  m_.is_request_ = true;
  m_.method_text_ = method;
  m_.method_ = method_from_string(method);
  const std::string_view uri_text = trim(rest.substr(0, last));
  auto uri = parse_uri(uri_text);
  if (!uri) {
    fail("Bad Request-URI");
  } else if (uri->is_sip() && !uri->headers.empty()) {
    fail("Bad Request-URI");  // headers are not allowed in a Request-URI (RFC 3261 19.1.1)
  } else {
    m_.request_uri_ = std::move(uri).value();
  }
  return Status::Ok();
}

void MessageParser::parse_header_line(std::string_view line) {
  // header = field-name HCOLON field-value; HCOLON = *( SP / HTAB ) ":" SWS
  size_t i = 0;
  while (i < line.size() && chars::is(line[i], chars::kToken)) ++i;
  const std::string_view name = line.substr(0, i);
  const size_t colon = chars::skip_ws(line, i);
  if (name.empty() || colon >= line.size() || line[colon] != ':') {
    fail("Bad header line");
    return;
  }
  const std::string_view value = trim(line.substr(colon + 1));
  if (has_control_bytes(value)) {
    fail("Bad header line");
    return;
  }
  const HeaderId id = header_id(name);
  m_.headers_.push_back(Header{id, name, value});

  switch (id) {
    case HeaderId::Via: {
      seen_via_ = true;
      size_t parsed = 0;
      for (std::string_view item : split_header_values(value)) {
        auto via = parse_via(item);
        if (!via) {
          fail("Bad Via header");
          continue;
        }
        m_.vias_.push_back(std::move(via).value());
        ++parsed;
      }
      if (parsed == 0) fail("Bad Via header");
      break;
    }
    case HeaderId::From:
    case HeaderId::To: {
      const bool from = id == HeaderId::From;
      if (!first_or_same(from ? from_text_ : to_text_, value,
                         from ? "Multiple From headers" : "Multiple To headers")) {
        break;
      }
      auto addr = parse_name_addr(value);
      if (!addr || addr->star) {
        fail(from ? "Bad From header" : "Bad To header");
        break;
      }
      (from ? m_.from_ : m_.to_) = std::move(addr).value();
      break;
    }
    case HeaderId::CallId:
      if (!first_or_same(call_id_text_, value, "Multiple Call-ID headers")) break;
      if (!valid_call_id(value)) fail("Bad Call-ID header");
      m_.call_id_ = value;
      break;
    case HeaderId::CSeq: {
      if (!first_or_same(cseq_text_, value, "Multiple CSeq headers")) break;
      auto cseq = parse_cseq(value);
      if (!cseq) {
        fail("Bad CSeq header");
        break;
      }
      m_.cseq_ = cseq.value();
      break;
    }
    case HeaderId::MaxForwards: {
      uint64_t v = 0;
      if (!chars::parse_uint(value, 255, v)) {
        fail("Bad Max-Forwards");
        break;
      }
      m_.max_forwards_ = static_cast<uint32_t>(v);
      break;
    }
    case HeaderId::ContentLength: {
      if (!first_or_same(content_length_text_, value, "Bad Content-Length")) break;
      uint64_t v = 0;
      if (!chars::parse_uint(value, 0xffffffffULL, v)) {
        fail("Bad Content-Length");
        break;
      }
      m_.content_length_ = static_cast<size_t>(v);
      break;
    }
    case HeaderId::Expires: {
      const auto v = parse_delta_seconds(value);
      if (!v) {
        fail("Bad Expires header");
        break;
      }
      m_.expires_ = *v;
      break;
    }
    case HeaderId::Contact: {
      const auto items = split_header_values(value);
      if (items.empty()) fail("Bad Contact header");
      for (std::string_view item : items) {
        auto addr = parse_name_addr(item);
        if (!addr) {
          fail("Bad Contact header");
          continue;
        }
        if (const Param* p = find_param(addr->params, "expires");
            p != nullptr && !parse_delta_seconds(p->value)) {
          fail("Bad Contact header");
          continue;
        }
        if (const Param* p = find_param(addr->params, "q"); p != nullptr && !parse_qvalue(p->value)) {
          fail("Bad Contact header");
          continue;
        }
        m_.contacts_.push_back(std::move(addr).value());
      }
      break;
    }
    default:
      break;
  }
}

Result<Message> MessageParser::parse(std::string bytes, const ParseOptions& options) {
  // RFC 3261 7.5: CRLFs before the start line are ignored.
  size_t lead = 0;
  while (lead < bytes.size() && (bytes[lead] == '\r' || bytes[lead] == '\n')) ++lead;
  if (lead != 0) bytes.erase(0, lead);
  if (bytes.empty()) return make_error("empty message");

  Message m;
  m.buffer_ = std::make_unique<std::string>(std::move(bytes));
  char* data = m.buffer_->data();
  const size_t size = m.buffer_->size();
  const std::string_view all(data, size);

  // Without an empty line (a datagram cut short, or a sender that omits it) the headers run to
  // the end and the body is empty.
  const auto end = find_header_end(all);
  const size_t blank = end ? end->blank : size;
  const size_t body_start = end ? end->body : size;

  const void* first_nl = std::memchr(data, '\n', blank);
  const size_t start_line_end =
      first_nl != nullptr ? static_cast<size_t>(static_cast<const char*>(first_nl) - data) : blank;
  std::string_view start_line = all.substr(0, start_line_end);
  if (!start_line.empty() && start_line.back() == '\r') start_line.remove_suffix(1);

  MessageParser parser(m);
  Status st = parser.parse_start_line(start_line);
  if (!st) return st.error();

  const size_t header_begin = std::min(start_line_end + 1, blank);
  m.headers_.reserve(24);  // typical request; hostile ones grow geometrically

  // Logical header lines: a line starting with SP/HT continues the previous one (RFC 3261
  // 7.3.1); the CRLF before it is overwritten with spaces so the value is one contiguous view.
  size_t pos = header_begin;
  if (pos < blank && chars::is_ws(data[pos])) parser.fail("Bad header line");
  size_t cursor = pos;
  while (pos < blank) {
    const void* p = std::memchr(data + cursor, '\n', blank - cursor);
    const size_t nl = p != nullptr ? static_cast<size_t>(static_cast<const char*>(p) - data) : blank;
    if (nl + 1 < blank && chars::is_ws(data[nl + 1])) {
      data[nl] = ' ';
      if (nl > pos && data[nl - 1] == '\r') data[nl - 1] = ' ';
      cursor = nl + 1;
      continue;
    }
    std::string_view line = all.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    parser.parse_header_line(line);
    pos = nl + 1;
    cursor = pos;
  }

  // Without these no response can be built or routed: drop (RFC 3261 8.1.1 minimum set).
  if (!parser.seen_via_) return make_error("missing Via header");
  if (parser.from_text_.data() == nullptr) return make_error("missing From header");
  if (parser.to_text_.data() == nullptr) return make_error("missing To header");
  if (parser.call_id_text_.data() == nullptr) return make_error("missing Call-ID header");
  if (parser.cseq_text_.data() == nullptr) return make_error("missing CSeq header");

  // RFC 3261 10.2.2: "Contact: *" stands alone.
  if (m.contacts_.size() > 1) {
    for (const NameAddr& c : m.contacts_) {
      if (c.star) parser.fail("Bad Contact header");
    }
  }
  if (m.is_request_ && !m.cseq_.method_text.empty() && m.cseq_.method_text != m.method_text_) {
    parser.fail("CSeq method does not match request method");
  }

  const size_t available = size - body_start;
  if (m.content_length_) {
    if (*m.content_length_ > available) {
      parser.fail("Content-Length larger than message");
      m.body_ = all.substr(body_start);
    } else {
      m.body_ = all.substr(body_start, *m.content_length_);
    }
  } else {
    if (options.stream && parser.content_length_text_.data() == nullptr) {
      parser.fail("Missing Content-Length");
    }
    m.body_ = all.substr(body_start);
  }

  if (size > options.max_message_size) {
    m.fault_ = ParseFault::TooLarge;
    m.fault_reason_ = "Message Too Large";
  }
  return m;
}

Result<Message> parse_message(std::string bytes, const ParseOptions& options) {
  return MessageParser::parse(std::move(bytes), options);
}

Result<FrameInfo> frame_stream(std::string_view stream, size_t max_message_size) {
  FrameInfo info;
  while (info.skip < stream.size() && (stream[info.skip] == '\r' || stream[info.skip] == '\n')) {
    ++info.skip;
  }
  const std::string_view s = stream.substr(info.skip);
  // Reject garbage as soon as the first line is complete, so a peer cannot make us buffer it.
  if (const size_t nl = s.find('\n'); nl != std::string_view::npos) {
    const std::string_view line = trim(s.substr(0, nl));
    const bool response = line.size() >= 8 && iequals(line.substr(0, 8), "SIP/2.0 ");
    const bool request = line.size() > kSipVersion.size() + 2 &&
                         iequals(line.substr(line.size() - kSipVersion.size()), kSipVersion) &&
                         chars::is(line[0], chars::kToken);
    if (!response && !request) return make_error("stream does not carry SIP");
  }
  const auto end = find_header_end(s);
  if (!end) {
    if (s.size() > max_message_size) return make_error("SIP headers exceed the size limit");
    return info;
  }
  // Content-Length from the raw header section (compact form "l" too). Folded values are rare
  // here; a continuation line is read as part of the value.
  size_t content_length = 0;
  bool have_length = false;
  size_t pos = s.find('\n') + 1;
  while (pos < end->blank) {
    size_t nl = s.find('\n', pos);
    if (nl == std::string_view::npos || nl > end->blank) nl = end->blank;
    std::string_view line = s.substr(pos, nl - pos);
    size_t next = nl + 1;
    // Absorb continuation lines into the value.
    while (next < end->blank && chars::is_ws(s[next])) {
      size_t nl2 = s.find('\n', next);
      if (nl2 == std::string_view::npos || nl2 > end->blank) nl2 = end->blank;
      line = s.substr(pos, nl2 - pos);
      next = nl2 + 1;
    }
    size_t i = 0;
    while (i < line.size() && chars::is(line[i], chars::kToken)) ++i;
    const size_t colon = chars::skip_ws(line, i);
    if (i > 0 && colon < line.size() && line[colon] == ':' &&
        header_id(line.substr(0, i)) == HeaderId::ContentLength) {
      std::string value(trim(line.substr(colon + 1)));
      std::replace_if(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
      uint64_t v = 0;
      if (!chars::parse_uint(trim(value), 0xffffffffULL, v)) {
        return make_error("bad Content-Length in stream");
      }
      if (have_length && v != content_length) return make_error("conflicting Content-Length");
      content_length = static_cast<size_t>(v);
      have_length = true;
    }
    pos = next;
  }
  // A missing Content-Length frames as an empty body; parse_message(stream=true) then reports
  // the fault so the caller can answer 400 instead of closing.
  if (content_length > max_message_size || end->body + content_length > max_message_size) {
    return make_error("SIP message exceeds the size limit");
  }
  if (s.size() < end->body + content_length) return info;
  info.length = end->body + content_length;
  return info;
}

std::optional<std::string_view> Message::header(HeaderId id) const {
  for (const Header& h : headers_) {
    if (h.id == id) return h.value;
  }
  return std::nullopt;
}

std::optional<std::string_view> Message::header(std::string_view name) const {
  const HeaderId id = header_id(name);
  if (id != HeaderId::Other) return header(id);
  for (const Header& h : headers_) {
    if (h.id == HeaderId::Other && iequals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

std::vector<std::string_view> Message::values(HeaderId id) const {
  std::vector<std::string_view> out;
  const bool list = is_list_header(id);
  for (const Header& h : headers_) {
    if (h.id != id) continue;
    if (!list) {
      out.push_back(h.value);
      continue;
    }
    for (std::string_view v : split_header_values(h.value)) out.push_back(v);
  }
  return out;
}

std::string_view Message::raw() const {
  return buffer_ ? std::string_view(*buffer_) : std::string_view{};
}

}  // namespace hapbx::sip
