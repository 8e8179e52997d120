// The registrar (RFC 3261 10.3): REGISTER in, response bytes + binding changes + log lines out.
// Pure: no socket, no clock, no file. The daemon's contract:
//
//   auto out = registrar.handle(request, source, now, wall_now);   // table updated in memory
//   if (store.apply(out.changes)) send(out.response)               // durable BEFORE the 200 OK
//   else { table.revert(out.changes); send(registrar.failure_response(request, wall_now)); }
//
// (With group commit the daemon handles several REGISTERs, applies all their changes in one
// batch, then sends all the responses; on failure it reverts the batch newest first.)
//
// The steps, in the RFC's order (10.3):
//   1. Request-URI: any host is accepted, as Asterisk does (a non-sip scheme is 416).
//   3. Authentication (RFC 2617/7616/8760 digest via sip::DigestVerifier): no credentials for our
//      realm -> 401 with SHA-256 then MD5 challenges. Unknown users, users that may not register
//      (type=user, static host) and digest usernames that do not match the peer are challenged
//      exactly like real ones and then get the same 403 as a wrong password (alwaysauthreject):
//      no user enumeration; the real reason goes to the log only. Stale nonce, nc replay ->
//      401 stale=true. Every failure counts for the source address (AuthThrottle); a blocked
//      source is answered 403 (or dropped, by option) without looking at its credentials.
//   4./5. The To user part is the AOR: it names the sip.conf peer.
//   6. Contact: `*` only alone and with Expires: 0 (else 400); removes every binding.
//   7. Per contact: expiry = contact's expires param, else Expires header, else defaultexpiry;
//      0 removes; below minexpiry -> 423 + Min-Expires; above maxexpiry -> clamped. Same Call-ID
//      with a CSeq not higher than the binding's -> the request fails (500) and nothing changes.
//      All checks pass before anything changes (the request is atomic).
//   8. 200 OK with every current contact of the AOR (;expires=<remaining>) and a Date header. A
//      REGISTER without Contact is a query and gets the same 200.
//
// Limits: the table caps contacts per AOR and in total. When a peer is at its cap, new contacts
// evict the peer's bindings closest to expiry (a phone whose NAT port changed gets in at once;
// the stale entries were its own). More contacts in one request than the cap -> 403. The whole
// table full -> 503 with Retry-After.
//
// md5secret: such a peer can only answer MD5. So that every challenge stays identical (no
// enumeration), SHA-256 is offered only when no peer in sip.conf relies on md5secret alone.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "pbx/auth_throttle.h"
#include "pbx/bindings.h"
#include "pbx/sip_config.h"
#include "sip/digest_verifier.h"
#include "sip/endpoint.h"
#include "sip/message.h"

namespace hapbx::pbx {

struct RegistrarSettings {
  std::string realm = "asterisk";
  std::string server = "hapbx PBX";  // Server header (sip.conf useragent)
  std::chrono::seconds default_expiry{120};
  std::chrono::seconds min_expiry{60};
  std::chrono::seconds max_expiry{3600};
  bool drop_blocked = false;  // blocked sources: true = no answer at all, false = 403
};

RegistrarSettings registrar_settings(const SipGeneral& general);

struct RegistrarLog {
  enum class Level { Debug, Info, Notice, Warning };
  Level level = Level::Info;
  std::string text;
};

struct RegisterOutcome {
  int status = 0;                        // the status code answered (0 when dropped)
  std::optional<std::string> response;   // bytes to send to the source; nullopt = drop silently
  std::vector<BindingChange> changes;    // persist (durably) before sending `response`
  std::vector<RegistrarLog> log;
  std::string aor;                       // the peer, once authenticated ("" otherwise)
};

class Registrar {
 public:
  // `config` must outlive the registrar or be replaced with reconfigure() (sip reload). The
  // table, verifier and throttle are owned by the daemon; `throttle` may be null (disabled).
  Registrar(const SipConfig& config, BindingTable& table, sip::DigestVerifier& verifier,
            AuthThrottle* throttle);

  void reconfigure(const SipConfig& config);
  const RegistrarSettings& settings() const { return settings_; }
  void set_drop_blocked(bool drop) { settings_.drop_blocked = drop; }

  RegisterOutcome handle(const sip::Message& request, const sip::Endpoint& source,
                         core::TimePoint now, sip::WallTime wall_now);

  // What to answer instead of the prepared response when persisting the changes failed.
  std::string failure_response(const sip::Message& request, sip::WallTime wall_now) const;

  // Expiry timer: removes every binding due at `now` (for the store) and says so in the log.
  RegisterOutcome expire(core::TimePoint now);

 private:
  RegisterOutcome reply(const sip::Message& request, int status, std::string_view reason,
                        core::TimePoint now, sip::WallTime wall_now,
                        RegisterOutcome&& outcome) const;
  RegisterOutcome challenge(const sip::Message& request, bool stale, core::TimePoint now,
                            sip::WallTime wall_now, RegisterOutcome&& outcome) const;
  RegisterOutcome auth_failed(const sip::Message& request, const sip::Endpoint& source,
                              core::TimePoint now, sip::WallTime wall_now, std::string why,
                              RegisterOutcome&& outcome);
  RegisterOutcome update_bindings(const sip::Message& request, const sip::Endpoint& source,
                                  const SipPeer& peer, core::TimePoint now,
                                  sip::WallTime wall_now, RegisterOutcome&& outcome);

  const SipConfig* config_;
  BindingTable& table_;
  sip::DigestVerifier& verifier_;
  AuthThrottle* throttle_;
  RegistrarSettings settings_;
  bool offer_sha256_ = true;
};

// RFC 7231 IMF-fixdate, the form of the SIP Date header (RFC 3261 20.17):
// "Sat, 28 Nov 2026 04:47:14 GMT".
std::string format_sip_date(sip::WallTime when);

}  // namespace hapbx::pbx
