// Who is calling, and may they? chan_sip's rules for an incoming INVITE, kept so that an
// Asterisk sip.conf means the same here:
//   - The From user names the peer (type=friend or type=user). Failing that, a peer with a
//     static host equal to the source address (type=peer or friend; the port must match too
//     unless insecure=port) is the caller, as chan_sip matches trunks by IP.
//   - A peer with a secret (or md5secret) must answer a digest challenge: 407 with
//     Proxy-Authenticate (RFC 3261 22.3), unless insecure=invite.
//   - deny=/permit= of the peer apply to the source address.
//   - Nobody matched: a guest, routed in [general] context, when allowguest=yes; otherwise the
//     sender is challenged like a real peer and then refused with the same 403 as a wrong
//     password (no user enumeration, alwaysauthreject).
// Failures count against the source in the AuthThrottle, as REGISTER failures do.
// Pure: the caller sends the response this returns.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "pbx/auth_throttle.h"
#include "pbx/sip_config.h"
#include "sip/digest_verifier.h"
#include "sip/endpoint.h"
#include "sip/message.h"

namespace hapbx::pbx {

struct CallerVerdict {
  enum class Kind { Accept, Challenge, Forbidden, Blocked };
  Kind kind = Kind::Forbidden;
  const SipPeer* peer = nullptr;   // Accept: the calling peer (nullptr = guest)
  std::vector<std::string> challenges;  // Challenge: Proxy-Authenticate values
  std::string why;                 // for the log only, never sent
};

CallerVerdict check_caller(const sip::Message& invite, const sip::Endpoint& source,
                           const SipConfig& config, sip::DigestVerifier& verifier,
                           AuthThrottle* throttle, core::TimePoint now, sip::WallTime wall);

}  // namespace hapbx::pbx
