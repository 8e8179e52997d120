// Request screening at ingress. See request_screening.h.
#include "sip/request_screening.h"

#include <algorithm>

namespace hapbx::sip {

std::string allow_header_value(const std::vector<Method>& methods) {
  std::string out;
  for (Method m : methods) {
    if (!out.empty()) out += ", ";
    out += to_string(m);
  }
  return out;
}

std::optional<Rejection> screen_request(const Message& request, const ScreeningPolicy& policy) {
  if (!request.is_request()) return std::nullopt;
  // RFC 3261 17.1.1.3 / 17.2.1: an ACK never gets a response; a faulty one is just dropped by
  // the caller (it carries no state we could corrupt).
  if (request.method() == Method::Ack) return std::nullopt;

  switch (request.fault()) {
    case ParseFault::None:
      break;
    case ParseFault::BadRequest:
      return Rejection{400, std::string(request.fault_reason()), {}};
    case ParseFault::TooLarge:
      return Rejection{513, "Message Too Large", {}};
  }

  const auto& allowed = policy.allowed_methods;
  if (request.method() == Method::Unknown) {
    return Rejection{501, "Not Implemented", {{"Allow", allow_header_value(allowed)}}};
  }
  if (std::find(allowed.begin(), allowed.end(), request.method()) == allowed.end()) {
    // RFC 3261 8.2.1: a method we recognise but do not serve here.
    return Rejection{405, "Method Not Allowed", {{"Allow", allow_header_value(allowed)}}};
  }

  // RFC 3261 16.3 step 3 / 16.6: a request that has run out of hops. OPTIONS with
  // Max-Forwards 0 is the SIP "traceroute" probe (11.1): the element it reaches answers it.
  if (request.max_forwards() && *request.max_forwards() == 0 &&
      request.method() != Method::Options) {
    return Rejection{483, "Too Many Hops", {}};
  }

  // RFC 3261 8.2.2.3: every option tag in Require that we do not support goes in Unsupported.
  // CANCEL must not be rejected this way (and ACK was handled above).
  if (request.method() != Method::Cancel) {
    std::string unsupported;
    for (std::string_view tag : request.values(HeaderId::Require)) {
      const bool known = std::any_of(policy.supported_options.begin(),
                                     policy.supported_options.end(),
                                     [&](const std::string& s) { return iequals(s, tag); });
      if (!known) {
        if (!unsupported.empty()) unsupported += ", ";
        unsupported += tag;
      }
    }
    if (!unsupported.empty()) {
      return Rejection{420, "Bad Extension", {{"Unsupported", unsupported}}};
    }
  }
  return std::nullopt;
}

}  // namespace hapbx::sip
