// The ACK a client INVITE transaction sends for a non-2xx final response (RFC 3261 17.1.1.3).
// (The ACK for a 2xx is end-to-end and built by the TU/dialog layer, 13.2.2.4: not here.)
#pragma once

#include <string>

#include "core/result.h"
#include "sip/message.h"

namespace hapbx::sip {

// Builds the ACK for `response` (300-699) to `invite`: the Request-URI, Call-ID, From and
// CSeq number of the INVITE with method ACK, the To of the response (it carries the tag the UAS
// chose), exactly one Via equal to the INVITE's top Via (so it matches the same server
// transaction hop by hop), the INVITE's Route headers, Max-Forwards 70 and no body.
// Error when the inputs are not an INVITE and a response to it with a failure status.
Result<std::string> make_ack_for_non_2xx(const Message& invite, const Message& response);

}  // namespace hapbx::sip
