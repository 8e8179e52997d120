// Transaction matching keys (RFC 3261 17.1.3, 17.2.3, 9.2): see the header for the rules.
#include "sip/transaction_key.h"

#include <cctype>

#include <fmt/format.h>

namespace hapbx::sip {

namespace {

const Via& top_via(const Message& message) {
  static const Via kNone{};
  return message.vias().empty() ? kNone : message.vias().front();
}

// The method that names a client transaction when a response comes back: the CSeq method
// (17.1.3; extension methods by their text).
std::string_view cseq_method(const Message& message) {
  const CSeq& cseq = message.cseq();
  return cseq.method_text.empty() ? to_string(cseq.method) : cseq.method_text;
}

// The method of a request on the server side (17.2.3: "the method of the request").
std::string_view request_method(const Message& request) {
  return request.method_text().empty() ? to_string(request.method()) : request.method_text();
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Fields are joined with a byte that cannot appear in any of them after parsing (a received
// header line never holds a raw LF), so distinct tuples never produce the same key.
constexpr char kSep = '\n';

std::string rfc3261_server_key(const Via& via, std::string_view method) {
  // "the branch parameter in the request is equal to the one in the top Via header field of
  // the request that created the transaction, the sent-by value in the top Via of the request
  // is equal to the one in the request that created the transaction, and the method of the
  // request matches the one that created the transaction, except for ACK". Host names compare
  // case-insensitively (19.1.4); the branch is compared as written.
  return fmt::format("3261{}{}{}{}{}{}{}{}", kSep, via.branch, kSep, lower(via.host), kSep,
                     via.port, kSep, method);
}

std::string rfc2543_server_key(const Message& request, std::string_view method,
                               std::string_view to_tag) {
  // 17.2.3: "the Request-URI, To tag, From tag, Call-ID, CSeq, and top Via header field match
  // those of the INVITE request which created the transaction."
  const std::vector<std::string_view> vias = request.values(HeaderId::Via);
  const std::string_view via_text = vias.empty() ? std::string_view{} : vias.front();
  return fmt::format("2543{}{}{}{}{}{}{}{}{}{}{}{}{}{}", kSep, request.request_uri().text, kSep,
                     request.from().tag(), kSep, to_tag, kSep, request.call_id(), kSep,
                     request.cseq().number, kSep, method, kSep, via_text);
}

}  // namespace

bool is_rfc3261_branch(std::string_view branch) {
  return branch.size() > kMagicCookie.size() && branch.substr(0, kMagicCookie.size()) == kMagicCookie;
}

std::string client_transaction_key(const Message& message) {
  // 17.1.3: "If the response has the same value of the branch parameter in the top Via header
  // field as the branch parameter in the top Via header field of the request that created the
  // transaction [and] the method parameter in the CSeq header field matches the method of the
  // request that created the transaction".
  return client_transaction_key(top_via(message).branch, cseq_method(message));
}

std::string client_transaction_key(std::string_view branch, std::string_view method) {
  return fmt::format("{}{}{}", branch, kSep, method);
}

std::string server_transaction_key(const Message& request) {
  const Via& via = top_via(request);
  const std::string_view method = request_method(request);
  if (is_rfc3261_branch(via.branch)) return rfc3261_server_key(via, method);
  return rfc2543_server_key(request, method, request.to().tag());
}

std::vector<std::string> invite_keys_for(const Message& ack_or_cancel) {
  std::vector<std::string> keys;
  const Method method = ack_or_cancel.method();
  if (method != Method::Ack && method != Method::Cancel) return keys;
  const std::string_view invite = to_string(Method::Invite);
  const Via& via = top_via(ack_or_cancel);
  if (is_rfc3261_branch(via.branch)) {
    // ACK: "the method of the request that created the transaction is INVITE". CANCEL (9.2):
    // the same rule, with the method of the transaction it cancels being INVITE.
    keys.push_back(rfc3261_server_key(via, invite));
    return keys;
  }
  const std::string_view to_tag = ack_or_cancel.to().tag();
  keys.push_back(rfc2543_server_key(ack_or_cancel, invite, to_tag));
  // An ACK for a non-2xx to an initial INVITE carries the tag our response added; the INVITE
  // had none. (A CANCEL carries the To of the INVITE as it was: 9.1.)
  if (method == Method::Ack && !to_tag.empty()) {
    keys.push_back(rfc2543_server_key(ack_or_cancel, invite, {}));
  }
  return keys;
}

}  // namespace hapbx::sip
