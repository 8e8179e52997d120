// The door checks every incoming request passes before any transaction or application sees it
// (RFC 3261 8.2.1-8.2.3, 16.3 step 3): faults found by the parser become 400 with the fault as
// reason phrase, oversize messages 513, unknown methods 501, known but unimplemented methods 405,
// Max-Forwards 0 is 483 (except OPTIONS addressed to us, which we answer), and unsupported
// Require options 420 with an Unsupported header listing them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sip/message.h"

namespace hapbx::sip {

struct ScreeningPolicy {
  std::vector<Method> allowed_methods;      // what this UAS implements
  std::vector<std::string> supported_options;  // option tags we support (Require/Supported)
};

struct Rejection {
  int status_code = 0;
  std::string reason;  // reason phrase
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Allow, Unsupported)
};

// nullopt = the request may proceed. ACK is never rejected (it has no response, 17.1.1.3).
std::optional<Rejection> screen_request(const Message& request, const ScreeningPolicy& policy);

// "INVITE, ACK, ..." for an Allow header.
std::string allow_header_value(const std::vector<Method>& methods);

}  // namespace hapbx::sip
