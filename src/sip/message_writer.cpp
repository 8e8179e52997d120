// Building outgoing SIP messages into a fresh buffer: requests, responses (RFC 3261 8.2.6),
// canonical re-printing of parsed messages, and the random tokens used for tags and branches.
#include "sip/message_writer.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>

namespace hapbx::sip {

namespace {

// Header values come from our own code, but may embed text from a peer: a CR or LF in them
// would let that peer inject headers, so they become spaces.
void append_value(std::string& out, std::string_view value) {
  if (value.find_first_of("\r\n") == std::string_view::npos) {
    out += value;
    return;
  }
  for (char c : value) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  append_value(out, value);
  out += "\r\n";
}

void append_number(std::string& out, size_t n) {
  std::array<char, 24> digits{};
  size_t len = 0;
  do {
    digits[len++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  while (len > 0) out.push_back(digits[--len]);
}

}  // namespace

MessageWriter MessageWriter::request(Method method, std::string_view request_uri) {
  return request(to_string(method), request_uri);
}

MessageWriter MessageWriter::request(std::string_view method, std::string_view request_uri) {
  MessageWriter w;
  w.head_.reserve(512);
  w.head_ += method;
  w.head_ += ' ';
  append_value(w.head_, request_uri);
  w.head_ += " SIP/2.0\r\n";
  return w;
}

MessageWriter MessageWriter::response(int status_code, std::string_view reason) {
  MessageWriter w;
  w.head_.reserve(512);
  w.head_ += "SIP/2.0 ";
  if (status_code < 100 || status_code > 699) status_code = 500;
  append_number(w.head_, static_cast<size_t>(status_code));
  w.head_ += ' ';
  append_value(w.head_, reason.empty() ? reason_phrase(status_code) : reason);
  w.head_ += "\r\n";
  return w;
}

MessageWriter& MessageWriter::header(std::string_view name, std::string_view value) & {
  append_header(head_, name, value);
  return *this;
}

MessageWriter& MessageWriter::header(HeaderId id, std::string_view value) & {
  const std::string_view name = canonical_name(id);
  if (!name.empty()) append_header(head_, name, value);
  return *this;
}

MessageWriter& MessageWriter::body(std::string_view content_type, std::string_view body) & {
  content_type_ = content_type;
  body_ = body;
  return *this;
}

MessageWriter&& MessageWriter::header(std::string_view name, std::string_view value) && {
  return std::move(header(name, value));
}

MessageWriter&& MessageWriter::header(HeaderId id, std::string_view value) && {
  return std::move(header(id, value));
}

MessageWriter&& MessageWriter::body(std::string_view content_type, std::string_view body) && {
  return std::move(this->body(content_type, body));
}

std::string MessageWriter::finish() && {
  std::string out = std::move(head_);
  out.reserve(out.size() + content_type_.size() + body_.size() + 40);
  if (!content_type_.empty()) append_header(out, "Content-Type", content_type_);
  out += "Content-Length: ";
  append_number(out, body_.size());
  out += "\r\n\r\n";
  out += body_;
  return out;
}

std::string_view reason_phrase(int status_code) {
  switch (status_code) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 181: return "Call Is Being Forwarded";
    case 182: return "Queued";
    case 183: return "Session Progress";
    case 200: return "OK";
    case 202: return "Accepted";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Moved Temporarily";
    case 305: return "Use Proxy";
    case 380: return "Alternative Service";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Unsupported URI Scheme";
    case 420: return "Bad Extension";
    case 421: return "Extension Required";
    case 423: return "Interval Too Brief";
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 482: return "Loop Detected";
    case 483: return "Too Many Hops";
    case 484: return "Address Incomplete";
    case 485: return "Ambiguous";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 488: return "Not Acceptable Here";
    case 489: return "Bad Event";
    case 491: return "Request Pending";
    case 493: return "Undecipherable";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Server Time-out";
    case 505: return "Version Not Supported";
    case 513: return "Message Too Large";
    case 600: return "Busy Everywhere";
    case 603: return "Decline";
    case 604: return "Does Not Exist Anywhere";
    case 606: return "Not Acceptable";
    default: return "";
  }
}

std::string annotate_via(const Via& via, const Endpoint& source) {
  std::string out;
  out.reserve(96);
  out += via.protocol;
  out += '/';
  out += via.transport;
  out += ' ';
  const bool v6 = via.host.find(':') != std::string_view::npos;
  if (v6) out += '[';
  out += via.host;
  if (v6) out += ']';
  if (via.port != 0) {
    out += ':';
    append_number(out, via.port);
  }
  for (const Param& p : via.params) {
    if (iequals(p.name, "received") || iequals(p.name, "rport")) continue;  // rewritten below
    out += ';';
    out += p.name;
    if (p.has_value) {
      out += '=';
      out += p.value;
    }
  }
  // 18.2.1: received when the sent-by host is not the packet's source address; RFC 3581 4:
  // always with rport, and rport carries the source port.
  if (via.has_rport || via.host != source.address) {
    out += ";received=";
    out += source.address;
  }
  if (via.has_rport) {
    out += ";rport=";
    append_number(out, source.port);
  }
  return out;
}

MessageWriter make_response(const Message& request, int status_code, std::string_view reason,
                            std::string_view to_tag) {
  MessageWriter w = MessageWriter::response(status_code, reason);
  // RFC 3261 8.2.6.2: Via (all, in order), From, To, Call-ID and CSeq are copied; the top Via
  // gets the received/rport the server transport noted (18.2.1, RFC 3581 4).
  bool top = true;
  for (const Header& h : request.headers()) {
    if (h.id != HeaderId::Via) continue;
    if (top && request.source() && !request.vias().empty()) {
      auto values = split_header_values(h.value);
      std::string value = annotate_via(request.vias().front(), *request.source());
      for (size_t i = 1; i < values.size(); ++i) {
        value += ", ";
        value += values[i];
      }
      w.header(HeaderId::Via, value);
    } else {
      w.header(HeaderId::Via, h.value);
    }
    top = false;
  }
  if (auto from = request.header(HeaderId::From)) w.header(HeaderId::From, *from);
  if (auto to = request.header(HeaderId::To)) {
    if (!to_tag.empty() && request.to().tag().empty()) {
      std::string value(*to);
      value += ";tag=";
      value += to_tag;
      w.header(HeaderId::To, value);
    } else {
      w.header(HeaderId::To, *to);
    }
  }
  if (auto call_id = request.header(HeaderId::CallId)) w.header(HeaderId::CallId, *call_id);
  if (auto cseq = request.header(HeaderId::CSeq)) w.header(HeaderId::CSeq, *cseq);
  return w;
}

std::string print_message(const Message& message) {
  std::string out;
  out.reserve(message.raw().size() + 64);
  if (message.is_request()) {
    out += message.method_text();
    out += ' ';
    out += message.request_uri().text;
    out += " SIP/2.0\r\n";
  } else {
    out += "SIP/2.0 ";
    append_number(out, static_cast<size_t>(message.status_code()));
    out += ' ';
    out += message.reason_phrase();
    out += "\r\n";
  }
  for (const Header& h : message.headers()) {
    if (h.id == HeaderId::ContentLength) continue;  // rewritten below from the actual body
    append_header(out, h.id == HeaderId::Other ? h.name : canonical_name(h.id), h.value);
  }
  out += "Content-Length: ";
  append_number(out, message.body().size());
  out += "\r\n\r\n";
  out += message.body();
  return out;
}

namespace {

// RAND_bytes costs a lock and a fork check per call, and a REGISTER storm asks for a tag per
// response: draw the CSPRNG's bytes in blocks per thread and hand them out. The bytes are as
// random as before; only the calls are fewer. (A process that forks would share the rest of
// one block with its child: the daemons do not fork once they serve.)
void random_bytes(unsigned char* out, size_t length) {
  static constexpr size_t kBlock = 4096;
  thread_local std::array<unsigned char, kBlock> pool;
  thread_local size_t used = kBlock;
  while (length > 0) {
    if (used == kBlock) {
      if (RAND_bytes(pool.data(), static_cast<int>(kBlock)) != 1) {
        // The CSPRNG failing is an environment fault; uniqueness still matters more than
        // secrecy for tags, so fall back to the OS random device rather than fail the call.
        std::random_device rd;
        for (auto& c : pool) c = static_cast<unsigned char>(rd());
      }
      used = 0;
    }
    const size_t n = std::min(length, kBlock - used);
    std::memcpy(out, pool.data() + used, n);
    std::memset(pool.data() + used, 0, n);  // handed out once only
    used += n;
    out += n;
    length -= n;
  }
}

}  // namespace

std::string random_token(size_t length) {
  static constexpr std::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
  std::string out(length, '0');
  if (length == 0) return out;
  random_bytes(reinterpret_cast<unsigned char*>(out.data()), length);
  for (size_t i = 0; i < length; ++i) {
    out[i] = kAlphabet[static_cast<unsigned char>(out[i]) & 63];
  }
  return out;
}

std::string new_branch() { return "z9hG4bK" + random_token(16); }

}  // namespace hapbx::sip
