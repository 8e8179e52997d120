// The server's digest verification policy (decision order documented in digest_verifier.h).
#include "sip/digest_verifier.h"

namespace hapbx::sip {
namespace {

// Used for unknown users so their check hashes and compares like a real one. Its value does not
// matter: verify_unknown_user fails whatever the comparison says.
const DigestSecret& dummy_secret() {
  static const DigestSecret secret = DigestSecret::plaintext("hapbx-unknown-user-dummy-secret");
  return secret;
}

}  // namespace

std::string_view to_string(DigestVerdict verdict) {
  switch (verdict) {
    case DigestVerdict::Ok: return "ok";
    case DigestVerdict::Stale: return "stale";
    case DigestVerdict::Failed: return "failed";
  }
  return "failed";
}

std::string_view to_string(DigestReason reason) {
  switch (reason) {
    case DigestReason::None: return "ok";
    case DigestReason::RealmMismatch: return "realm mismatch";
    case DigestReason::AlgorithmNotAccepted: return "algorithm not accepted";
    case DigestReason::SessWithoutQop: return "-sess algorithm without qop";
    case DigestReason::NoQopRefused: return "no qop (RFC 2069) refused";
    case DigestReason::BadSecret: return "configured md5secret is not 32 hex digits";
    case DigestReason::Md5SecretWithSha256: return "md5secret user answered with SHA-256";
    case DigestReason::WrongResponse: return "wrong response (password)";
    case DigestReason::UnknownUser: return "unknown user";
    case DigestReason::NonceStale: return "nonce stale";
    case DigestReason::NonceInvalid: return "nonce invalid";
    case DigestReason::NonceEvicted: return "nonce-count entry evicted";
    case DigestReason::NcReplay: return "nonce-count replay";
    case DigestReason::NcZero: return "nonce-count zero";
  }
  return "unknown";
}

DigestVerifier::DigestVerifier(const NonceKey& key, DigestVerifierOptions options)
    : options_(options),
      codec_(key, options.nonce_lifetime, options.max_future_skew),
      counts_(options.nonce_lifetime, options.max_tracked_nonces) {}

Result<std::string> DigestVerifier::issue_nonce(std::string_view realm, WallTime now) const {
  return codec_.issue(realm, now);
}

Result<std::vector<std::string>> DigestVerifier::challenges(std::string_view realm, WallTime now,
                                                            bool stale, bool offer_sha256) const {
  auto nonce = codec_.issue(realm, now);
  if (!nonce) return nonce.error();
  return build_digest_challenges(realm, *nonce, stale, offer_sha256 && options_.accept_sha256);
}

DigestOutcome DigestVerifier::verify(const DigestCredentials& credentials, std::string_view method,
                                     const DigestSecret& secret, std::string_view realm,
                                     WallTime now) {
  return count(check(credentials, method, secret, realm, now, false));
}

DigestOutcome DigestVerifier::verify_unknown_user(const DigestCredentials& credentials,
                                                  std::string_view method, std::string_view realm,
                                                  WallTime now) {
  return count(check(credentials, method, dummy_secret(), realm, now, true));
}

DigestOutcome DigestVerifier::count(DigestOutcome outcome) {
  switch (outcome.verdict) {
    case DigestVerdict::Ok: ++stats_.ok; break;
    case DigestVerdict::Stale: ++stats_.stale; break;
    case DigestVerdict::Failed: ++stats_.failed; break;
  }
  if (outcome.reason == DigestReason::NcReplay) ++stats_.replays;
  stats_.evictions = counts_.evictions();
  return outcome;
}

DigestOutcome DigestVerifier::check(const DigestCredentials& credentials, std::string_view method,
                                    const DigestSecret& secret, std::string_view realm,
                                    WallTime now, bool unknown_user) {
  auto failed = [](DigestReason reason) { return DigestOutcome{DigestVerdict::Failed, reason}; };
  auto stale = [](DigestReason reason) { return DigestOutcome{DigestVerdict::Stale, reason}; };

  // 1. Shape, independent of the user.
  if (credentials.realm != realm) return failed(DigestReason::RealmMismatch);
  bool md5 = is_md5_family(credentials.algorithm);
  if ((md5 && !options_.accept_md5) || (!md5 && !options_.accept_sha256)) {
    return failed(DigestReason::AlgorithmNotAccepted);
  }
  if (!credentials.has_qop()) {
    if (is_sess(credentials.algorithm)) return failed(DigestReason::SessWithoutQop);
    if (!options_.accept_no_qop) return failed(DigestReason::NoQopRefused);
  }

  // 2. Nonce state and the response, both always computed.
  NonceCheck nonce = codec_.check(credentials.nonce, realm, now);
  auto expected = expected_digest_response(credentials, method, secret);
  if (!expected) {
    // md5secret with SHA-256, or a malformed md5secret: the user exists (config error or a
    // phone preferring SHA-256); the peer sees the same 403 as for a wrong password.
    return failed(secret.kind == DigestSecret::Kind::Md5Ha1 && !md5
                      ? DigestReason::Md5SecretWithSha256
                      : DigestReason::BadSecret);
  }
  bool match = digest_responses_equal(*expected, credentials.response);

  // 3. Wrong password (or unknown user, whose dummy secret never counts as right).
  if (unknown_user) return failed(DigestReason::UnknownUser);
  if (!match) return failed(DigestReason::WrongResponse);

  // 4. The client knows the password but the nonce is not fresh: re-challenge with stale=true.
  if (nonce.state == NonceState::Stale) return stale(DigestReason::NonceStale);
  if (nonce.state == NonceState::Invalid) return stale(DigestReason::NonceInvalid);

  // 5. Replay protection: with qop the nc must grow; without qop only the lifetime protects.
  if (credentials.has_qop()) {
    switch (counts_.accept(credentials.nonce, nonce.issued, credentials.nc, now)) {
      case NonceCountVerdict::Accepted: break;
      case NonceCountVerdict::Replay: return stale(DigestReason::NcReplay);
      case NonceCountVerdict::Evicted: return stale(DigestReason::NonceEvicted);
      case NonceCountVerdict::Zero: return stale(DigestReason::NcZero);
    }
  }
  return DigestOutcome{DigestVerdict::Ok, DigestReason::None};
}

}  // namespace hapbx::sip
