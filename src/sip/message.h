// A parsed SIP message (RFC 3261 7). Parse once, into views: the Message owns one heap buffer
// holding the bytes as received (header folding is undone in place), and every string_view in
// it points into that buffer. The buffer is held by unique_ptr, so moving a Message keeps every
// view valid. Printing never edits a Message: it writes a new buffer (see message_writer.h).
//
// Ingress validation: the headers the transaction layer and the registrar depend on (Via,
// From, To, Call-ID, CSeq, Max-Forwards, Content-Length, Contact, Expires) are parsed and checked
// here, so a bad header is a 400 at the door and not a surprise deep inside.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "sip/endpoint.h"
#include "sip/uri.h"

namespace hapbx::sip {

enum class Method {
  Invite, Ack, Bye, Cancel, Register, Options, Info, Update, Prack, Subscribe, Notify, Refer,
  Message, Publish, Unknown
};
std::string_view to_string(Method method);
Method method_from_string(std::string_view text);  // case-sensitive (RFC 3261 7.1)

// Well-known headers, recognised by full or compact name (RFC 3261 7.3.3), case-insensitively.
enum class HeaderId {
  Other, Via, From, To, CallId, CSeq, Contact, MaxForwards, ContentLength, ContentType,
  ContentEncoding, Expires, MinExpires, Authorization, ProxyAuthorization, WwwAuthenticate,
  ProxyAuthenticate, AuthenticationInfo, Require, ProxyRequire, Supported, Unsupported, Allow,
  Accept, UserAgent, Server, Route, RecordRoute, Event, Subject, Date, Timestamp, Warning,
  RetryAfter,
  // Added after the first contract (appended, so existing values keep their meaning): the
  // remaining compact forms (u r b x) and a few headers later layers look up.
  AllowEvents, ReferTo, ReferredBy, SessionExpires, ContentDisposition, Path, RSeq, RAck
};
HeaderId header_id(std::string_view name);       // "v" and "Via" -> Via; unknown -> Other
std::string_view canonical_name(HeaderId id);    // "Via", "Call-ID", ... ("" for Other)

// One header field line as received (after unfolding). Multi-value headers are *not* split
// here; use Message::values() to get comma-separated values one by one.
struct Header {
  HeaderId id = HeaderId::Other;
  std::string_view name;   // as received ("v", "VIA", "X-Foo")
  std::string_view value;  // trimmed
};

struct Via {
  std::string_view protocol;   // "SIP/2.0"
  std::string_view transport;  // "UDP", "TCP", "TLS", ... (as received)
  std::string_view host;       // sent-by host (IPv6 without brackets)
  uint16_t port = 0;           // 0 = not given
  Params params;
  std::string_view branch;     // "" when absent
  std::optional<std::string_view> received;
  bool has_rport = false;             // RFC 3581 ;rport present (with or without value)
  std::optional<uint16_t> rport;      // its value, when given
};

// name-addr or addr-spec (RFC 3261 20.10, 25.1), as used by From, To, Contact, Route...
struct NameAddr {
  std::string_view display_name;  // raw: may be a quoted-string (use unquote()) or tokens
  Uri uri;
  Params params;                  // header params: tag, expires, q, ...
  bool star = false;              // Contact: * (uri and params empty then)
  std::string_view tag() const;   // "" when absent
};

struct CSeq {
  uint32_t number = 0;
  Method method = Method::Unknown;
  std::string_view method_text;
};

// Why a message could not be taken as it is.
enum class ParseFault {
  None,
  BadRequest,  // parseable enough to answer (has Via, From, To, Call-ID, CSeq): send 400 `reason`
  TooLarge,    // larger than the limit: 513 when answerable, else drop
};

class Message {
 public:
  Message(Message&&) noexcept = default;
  Message& operator=(Message&&) noexcept = default;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  bool is_request() const { return is_request_; }
  bool is_response() const { return !is_request_; }

  // Request line.
  Method method() const { return method_; }
  std::string_view method_text() const { return method_text_; }
  const Uri& request_uri() const { return request_uri_; }
  // Status line.
  int status_code() const { return status_code_; }
  std::string_view reason_phrase() const { return reason_; }

  // Every header line, in order.
  const std::vector<Header>& headers() const { return headers_; }
  // Value of the first line of a header (by id, or by name: full or compact, any case);
  // nullopt when absent. A comma-separated line is returned whole: use values() to split.
  std::optional<std::string_view> header(HeaderId id) const;
  std::optional<std::string_view> header(std::string_view name) const;
  // All values of a header, comma-separated lists split (commas inside quotes and <> respected),
  // across repeated header lines, in order. Headers that are not lists in RFC 3261 (Authorization,
  // WWW-Authenticate, Date, User-Agent, Subject, ...) yield one value per line, unsplit.
  std::vector<std::string_view> values(HeaderId id) const;

  // Ingress-validated headers. For a message without ParseFault these are all present and valid.
  const std::vector<Via>& vias() const { return vias_; }
  const NameAddr& from() const { return from_; }
  const NameAddr& to() const { return to_; }
  std::string_view call_id() const { return call_id_; }
  const CSeq& cseq() const { return cseq_; }
  std::optional<uint32_t> max_forwards() const { return max_forwards_; }
  std::optional<size_t> content_length() const { return content_length_; }
  std::optional<uint32_t> expires() const { return expires_; }     // Expires header
  const std::vector<NameAddr>& contacts() const { return contacts_; }

  std::string_view body() const { return body_; }
  // The whole message as received (after in-place unfolding).
  std::string_view raw() const;

  ParseFault fault() const { return fault_; }
  // Human-readable fault for logs and the 400 reason phrase, e.g. "Bad CSeq header".
  std::string_view fault_reason() const { return fault_reason_; }

  // Where the transport received this message. RFC 3261 18.2.1 and RFC 3581: the server
  // transport notes the packet's source so that responses carry `received` and `rport` in the
  // top Via (make_response() writes them). Unset for messages that did not come off the wire.
  void set_source(const Endpoint& source) { source_ = source; }
  const std::optional<Endpoint>& source() const { return source_; }

 private:
  Message() = default;
  friend class MessageParser;

  std::unique_ptr<std::string> buffer_;
  bool is_request_ = false;
  Method method_ = Method::Unknown;
  std::string_view method_text_;
  Uri request_uri_;
  int status_code_ = 0;
  std::string_view reason_;
  std::vector<Header> headers_;
  std::vector<Via> vias_;
  NameAddr from_;
  NameAddr to_;
  std::string_view call_id_;
  CSeq cseq_;
  std::optional<uint32_t> max_forwards_;
  std::optional<size_t> content_length_;
  std::optional<uint32_t> expires_;
  std::vector<NameAddr> contacts_;
  std::string_view body_;
  ParseFault fault_ = ParseFault::None;
  std::optional<Endpoint> source_;
  std::string fault_reason_;
};

struct ParseOptions {
  size_t max_message_size = 65535;
  // Stream transports must carry Content-Length (RFC 3261 18.3); datagrams may omit it, and
  // then the body is the rest of the datagram.
  bool stream = false;
};

// Parses one complete message. An Error means "beyond repair" (not SIP, no start line, missing
// the headers a response would need): the caller drops it and logs (rate-limited). A Message
// with fault() != None is answerable with 400/513 by the caller.
Result<Message> parse_message(std::string bytes, const ParseOptions& options = {});

// Stream framing (TCP): how many bytes at the front of `stream` form one complete message
// (headers + Content-Length body). 0 = need more bytes. Error = the stream is garbage or the
// message exceeds `max_message_size` (the caller closes the connection). Leading CRLFs
// (keep-alives, RFC 5626 4.4.1) are reported via `skip`.
struct FrameInfo {
  size_t skip = 0;    // bytes of CRLF keep-alive to discard first
  size_t length = 0;  // bytes of the message after `skip`; 0 = incomplete
};
Result<FrameInfo> frame_stream(std::string_view stream, size_t max_message_size = 65535);

// Individual header-value parsers, exposed for tests and for headers parsed lazily.
Result<Via> parse_via(std::string_view value);
Result<NameAddr> parse_name_addr(std::string_view value);  // also accepts "*"
Result<CSeq> parse_cseq(std::string_view value);
// Splits a comma-separated header value, respecting quotes and <>. Values are trimmed; empty
// values (",,") are skipped.
std::vector<std::string_view> split_header_values(std::string_view value);
// Parses `*( SEMI generic-param )` as found after a header value (RFC 3261 25.1, whitespace
// allowed around ';' and '='; quoted-string values kept with their quotes). Appends to `out`.
Status parse_header_params(std::string_view text, Params& out);
// delta-seconds (Expires header, Contact ;expires): 1*DIGIT. Values beyond 2^32-1 are clamped
// to 2^32-1 rather than refused (RFC 3261 25.1 leaves them unbounded; we store 32 bits).
// nullopt when not a run of digits.
std::optional<uint32_t> parse_delta_seconds(std::string_view text);
// Contact ;q (RFC 3261 20.10 qvalue) in thousandths, 0..1000; nullopt when malformed.
std::optional<int> parse_qvalue(std::string_view text);

}  // namespace hapbx::sip
