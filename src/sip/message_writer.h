// Building outgoing SIP messages. Printing always makes a new buffer; a received Message is
// never edited in place. Header names are written in their canonical full form.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sip/message.h"

namespace hapbx::sip {

class MessageWriter {
 public:
  static MessageWriter request(Method method, std::string_view request_uri);
  static MessageWriter request(std::string_view method, std::string_view request_uri);
  static MessageWriter response(int status_code, std::string_view reason_phrase = {});

  // Each has an lvalue form (`w.header(...)`) and an rvalue form, so a chain on a temporary
  // ends in finish(): `make_response(req, 200).header("Contact", c).finish()`.
  MessageWriter& header(std::string_view name, std::string_view value) &;
  MessageWriter& header(HeaderId id, std::string_view value) &;
  MessageWriter&& header(std::string_view name, std::string_view value) &&;
  MessageWriter&& header(HeaderId id, std::string_view value) &&;
  // Sets the body; Content-Type is written only when content_type is non-empty.
  MessageWriter& body(std::string_view content_type, std::string_view body) &;
  MessageWriter&& body(std::string_view content_type, std::string_view body) &&;

  // Appends Content-Length (always, so the message frames on TCP) and the body.
  std::string finish() &&;

 private:
  std::string head_;
  std::string content_type_;
  std::string body_;
};

// Standard reason phrase for a status code ("OK", "Unauthorized", ...; "" if unknown).
std::string_view reason_phrase(int status_code);

// A response to `request` per RFC 3261 8.2.6.2: copies every Via, From, To (adding `to_tag`
// when the To has none and the tag is non-empty), Call-ID and CSeq. Add headers, then finish().
MessageWriter make_response(const Message& request, int status_code,
                            std::string_view reason_phrase = {}, std::string_view to_tag = {});

// The top Via of a request as its response carries it: `received` (RFC 3261 18.2.1) when the
// sent-by host differs from the source address, and with RFC 3581 `;rport` also `received` and
// `rport=<source port>`. Other parameters are kept in order.
std::string annotate_via(const Via& via, const Endpoint& source);

// Canonical printing of a parsed message (full header names, unfolded, Content-Length exact).
std::string print_message(const Message& message);

// Random token for tags, branches and Call-IDs (URL-safe, `length` characters, CSPRNG).
std::string random_token(size_t length = 16);
// A new RFC 3261 branch: "z9hG4bK" + random token.
std::string new_branch();

}  // namespace hapbx::sip
