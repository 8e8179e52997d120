// INVITE authentication (see caller_auth.h for the rules and their origin).
#include "pbx/caller_auth.h"

#include <fmt/format.h>

#include "sip/digest.h"

namespace hapbx::pbx {
namespace {

using Kind = CallerVerdict::Kind;

const SipPeer* match_peer(const sip::Message& invite, const sip::Endpoint& source,
                          const SipConfig& config) {
  const sip::Uri& from = invite.from().uri;
  if (from.is_sip() && !from.user.empty()) {
    const SipPeer* peer = config.find_peer(from.user);
    if (peer != nullptr && peer->type != PeerType::Peer) return peer;
  }
  for (const SipPeer& peer : config.peers) {
    if (peer.dynamic || peer.type == PeerType::User || peer.host != source.address) continue;
    if (peer.insecure.port || peer.port == source.port) return &peer;
  }
  return nullptr;
}

std::string_view auth_user(const SipPeer& peer) {
  return peer.default_user.empty() ? std::string_view(peer.name)
                                   : std::string_view(peer.default_user);
}

std::optional<sip::DigestCredentials> credentials_for(const sip::Message& invite,
                                                      std::string_view realm) {
  for (const sip::Header& h : invite.headers()) {
    if (h.id != sip::HeaderId::ProxyAuthorization && h.id != sip::HeaderId::Authorization) {
      continue;
    }
    auto parsed = sip::parse_digest_credentials(h.value);
    if (parsed.ok() && parsed->realm == realm) return std::move(parsed).value();
  }
  return std::nullopt;
}

CallerVerdict challenge(const SipConfig& config, sip::DigestVerifier& verifier,
                        sip::WallTime wall, bool stale, std::string why) {
  CallerVerdict v;
  auto values = verifier.challenges(config.general.realm, wall, stale,
                                    config.general.offer_sha256);
  if (!values.ok()) {
    v.kind = Kind::Forbidden;
    v.why = "cannot issue a nonce: " + values.error().message;
    return v;
  }
  v.kind = Kind::Challenge;
  v.challenges = std::move(values).value();
  v.why = std::move(why);
  return v;
}

CallerVerdict refuse(const sip::Endpoint& source, AuthThrottle* throttle, core::TimePoint now,
                     std::string why) {
  if (throttle != nullptr) throttle->record_failure(source.address, now);
  CallerVerdict v;
  v.kind = Kind::Forbidden;
  v.why = std::move(why);
  return v;
}

}  // namespace

CallerVerdict check_caller(const sip::Message& invite, const sip::Endpoint& source,
                           const SipConfig& config, sip::DigestVerifier& verifier,
                           AuthThrottle* throttle, core::TimePoint now, sip::WallTime wall) {
  if (throttle != nullptr && throttle->check(source.address, now).blocked) {
    CallerVerdict v;
    v.kind = Kind::Blocked;
    v.why = fmt::format("source {} is blocked after repeated authentication failures",
                        source.address);
    return v;
  }
  const std::string& realm = config.general.realm;
  const SipPeer* peer = match_peer(invite, source, config);

  if (peer == nullptr) {
    if (config.general.allow_guest) {
      CallerVerdict v;
      v.kind = Kind::Accept;
      v.why = "guest (allowguest=yes)";
      return v;
    }
    // Challenge like a real peer, then refuse: a prober learns nothing.
    auto credentials = credentials_for(invite, realm);
    if (!credentials) return challenge(config, verifier, wall, false, "unknown caller");
    verifier.verify_unknown_user(*credentials, invite.method_text(), realm, wall);
    return refuse(source, throttle, now,
                  fmt::format("no peer matches From '{}' or source {} and allowguest=no",
                              invite.from().uri.text, sip::to_string(source)));
  }

  if (!peer->acl.allows(source.address)) {
    return refuse(source, throttle, now,
                  fmt::format("peer '{}' may not call from {} (deny/permit)", peer->name,
                              source.address));
  }

  const bool needs_auth =
      !(peer->secret.empty() && peer->md5secret.empty()) && !peer->insecure.invite;
  if (!needs_auth) {
    CallerVerdict v;
    v.kind = Kind::Accept;
    v.peer = peer;
    return v;
  }
  auto credentials = credentials_for(invite, realm);
  if (!credentials) return challenge(config, verifier, wall, false, "no credentials yet");
  if (credentials->username != auth_user(*peer)) {
    verifier.verify_unknown_user(*credentials, invite.method_text(), realm, wall);
    return refuse(source, throttle, now,
                  fmt::format("digest username '{}' is not the one of peer '{}'",
                              credentials->username, peer->name));
  }
  const sip::DigestSecret secret = peer->secret.empty()
                                       ? sip::DigestSecret::md5_ha1(peer->md5secret)
                                       : sip::DigestSecret::plaintext(peer->secret);
  const sip::DigestOutcome outcome =
      verifier.verify(*credentials, invite.method_text(), secret, realm, wall);
  if (outcome.stale()) {
    return challenge(config, verifier, wall, true,
                     fmt::format("{}: new challenge with stale=true", sip::to_string(outcome.reason)));
  }
  if (outcome.failed()) {
    return refuse(source, throttle, now,
                  fmt::format("peer '{}': {}", peer->name, sip::to_string(outcome.reason)));
  }
  CallerVerdict v;
  v.kind = Kind::Accept;
  v.peer = peer;
  return v;
}

}  // namespace hapbx::pbx
