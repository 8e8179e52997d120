// ACK for a non-2xx final response, built by the INVITE client transaction (RFC 3261 17.1.1.3).
#include "sip/ack.h"

#include <fmt/format.h>

#include "sip/message_writer.h"

namespace hapbx::sip {

Result<std::string> make_ack_for_non_2xx(const Message& invite, const Message& response) {
  if (!invite.is_request() || invite.method() != Method::Invite) {
    return make_error("ACK for non-2xx: the request is not an INVITE");
  }
  if (!response.is_response() || response.status_code() < 300 ||
      response.status_code() > 699) {
    return make_error("ACK for non-2xx: the response is not a 300-699 final response");
  }
  const std::vector<std::string_view> vias = invite.values(HeaderId::Via);
  const std::optional<std::string_view> from = invite.header(HeaderId::From);
  const std::optional<std::string_view> to = response.header(HeaderId::To);
  if (vias.empty() || !from || !to || invite.call_id().empty()) {
    return make_error("ACK for non-2xx: the INVITE or the response lacks Via, From, To or Call-ID");
  }

  // "The Request-URI of the ACK MUST equal the Request-URI of the original request. The
  // Call-ID, From, and Request-URI header fields MUST equal those of the original request; the
  // To header field in the ACK MUST equal the To header field in the response being
  // acknowledged ... The ACK MUST contain a single Via header field, and this MUST be equal to
  // the top Via header field of the original request. The CSeq header field in the ACK MUST
  // contain the same value for the sequence number as was present in the original request,
  // but the method parameter MUST be equal to "ACK"." "If the INVITE request whose response is
  // being acknowledged had Route header fields, those header fields MUST appear in the ACK."
  MessageWriter ack = MessageWriter::request(Method::Ack, invite.request_uri().text);
  ack.header(HeaderId::Via, vias.front());
  for (std::string_view route : invite.values(HeaderId::Route)) {
    ack.header(HeaderId::Route, route);
  }
  ack.header(HeaderId::MaxForwards, "70");
  ack.header(HeaderId::From, *from);
  ack.header(HeaderId::To, *to);
  ack.header(HeaderId::CallId, invite.call_id());
  ack.header(HeaderId::CSeq, fmt::format("{} ACK", invite.cseq().number));
  return std::move(ack).finish();
}

}  // namespace hapbx::sip
