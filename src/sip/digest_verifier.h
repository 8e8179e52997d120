// The server's digest verification policy: issues challenges and decides, for the credentials of
// one request, Ok / Stale / Failed. This is the one entry point the registrar (and later the
// INVITE authentication) calls.
//
// Decision order (why in brackets):
//   1. shape: realm is ours, algorithm accepted, -sess only with qop, no-qop allowed
//      [independent of the user, so it reveals nothing about who exists]
//   2. nonce checked (valid / stale / invalid), and the expected response computed and compared
//      in constant time, always both, whatever the nonce state
//   3. wrong response -> Failed (WrongResponse)
//   4. right response but nonce stale or invalid -> Stale (the client knows the password: send a
//      fresh challenge with stale=true; RFC 7616 3.3 "stale")
//   5. qop: nonce-count check -> replay or evicted entry -> Stale; no qop -> only the lifetime
//      protects against replay (RFC 2069 compatibility, documented in nonce_count.h)
//   6. Ok
//
// No user enumeration: the outcome's reason is for the log only and must never reach the peer.
// The caller answers the same 401 challenge to known and unknown users, and the same 403 to an
// unknown user (verify_unknown_user, which runs the same path with a dummy secret and always
// fails) and to a wrong password.
//
// Left to the caller: looking the user up by credentials.username (and, as Asterisk does,
// checking it against the To/From user), and comparing credentials.uri with the Request-URI if
// it wants to (phones differ in how they spell it, so this layer does not).
// Timing: a plaintext secret costs one more hash than an md5secret; the difference says nothing
// about the password and little about the user (both exist).
//
// Not thread-safe (the nonce-count table): owned by the registrar's event loop.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "sip/digest.h"
#include "sip/nonce.h"
#include "sip/nonce_count.h"

namespace hapbx::sip {

enum class DigestVerdict {
  Ok,
  Stale,   // answer 401/407 with a fresh challenge and stale=true
  Failed,  // answer 403 (or a fresh 401; the caller's policy), count a failure for the source
};

// Why, for the log. Never sent to the peer.
enum class DigestReason {
  None,                  // Ok
  RealmMismatch,         // credentials for another realm
  AlgorithmNotAccepted,  // an algorithm the options do not accept
  SessWithoutQop,        // -sess needs cnonce, hence qop
  NoQopRefused,          // RFC 2069 form while accept_no_qop is false
  BadSecret,             // md5secret that is not 32 hex digits (a config error)
  Md5SecretWithSha256,   // md5secret user answering a SHA-256 challenge: cannot be checked
  WrongResponse,         // wrong password (or wrong method/uri/nonce in the hash)
  UnknownUser,           // verify_unknown_user
  NonceStale,            // right password, nonce too old
  NonceInvalid,          // right password, nonce forged / other key / from the future
  NonceEvicted,          // right password, nonce-count entry evicted (table full)
  NcReplay,              // right password, nc not higher than before: a replayed request
  NcZero,                // right password, nc=00000000
};
std::string_view to_string(DigestVerdict verdict);
std::string_view to_string(DigestReason reason);  // short English phrase for logs

struct DigestOutcome {
  DigestVerdict verdict = DigestVerdict::Failed;
  DigestReason reason = DigestReason::None;
  bool ok() const { return verdict == DigestVerdict::Ok; }
  bool stale() const { return verdict == DigestVerdict::Stale; }
  bool failed() const { return verdict == DigestVerdict::Failed; }
};

struct DigestVerifierOptions {
  std::chrono::seconds nonce_lifetime = kDefaultNonceLifetime;
  std::chrono::seconds max_future_skew = kDefaultNonceFutureSkew;
  size_t max_tracked_nonces = kDefaultMaxTrackedNonces;
  // Accept the RFC 2069 form (no qop, no nc, no cnonce): old phones need it. Such requests are
  // protected against replay only by the nonce lifetime.
  bool accept_no_qop = true;
  bool accept_md5 = true;       // MD5 and MD5-sess
  bool accept_sha256 = true;    // SHA-256 and SHA-256-sess
};

struct DigestStats {
  uint64_t ok = 0;
  uint64_t stale = 0;
  uint64_t failed = 0;
  uint64_t replays = 0;    // NcReplay outcomes
  uint64_t evictions = 0;  // nonce-count entries evicted for lack of room
};

class DigestVerifier {
 public:
  explicit DigestVerifier(const NonceKey& key, DigestVerifierOptions options = {});

  // A fresh nonce for `realm`. Fails only if the system random generator fails.
  Result<std::string> issue_nonce(std::string_view realm, WallTime now) const;

  // The WWW-Authenticate (or Proxy-Authenticate) values for one 401/407, with a fresh nonce:
  // SHA-256 first then MD5 when offer_sha256 (RFC 8760), else MD5 only. `stale` after a Stale
  // outcome.
  //
  // md5secret users can only answer MD5: offer them offer_sha256=false, or a phone that prefers
  // SHA-256 will never get in. That choice is visible to a prober (known md5secret user vs
  // unknown user); the registrar decides whether that matters more than SHA-256.
  Result<std::vector<std::string>> challenges(std::string_view realm, WallTime now, bool stale,
                                              bool offer_sha256 = true) const;

  // The verification. `realm` is the realm this server challenges with; `method` is the request
  // method text (e.g. "REGISTER"). Never fails as a Result: every input yields an outcome.
  DigestOutcome verify(const DigestCredentials& credentials, std::string_view method,
                       const DigestSecret& secret, std::string_view realm, WallTime now);

  // The same path (nonce check, hashing, constant-time compare) with a dummy secret, for a user
  // that does not exist, so time and code path look alike. Shape errors give their own reason;
  // otherwise always Failed with UnknownUser (never Stale, which would say "password right").
  DigestOutcome verify_unknown_user(const DigestCredentials& credentials,
                                    std::string_view method, std::string_view realm,
                                    WallTime now);

  const DigestStats& stats() const { return stats_; }
  const NonceCodec& nonce_codec() const { return codec_; }
  size_t tracked_nonces() const { return counts_.size(); }

 private:
  DigestOutcome check(const DigestCredentials& credentials, std::string_view method,
                      const DigestSecret& secret, std::string_view realm, WallTime now,
                      bool unknown_user);
  DigestOutcome count(DigestOutcome outcome);

  DigestVerifierOptions options_;
  NonceCodec codec_;
  NonceCountTracker counts_;
  DigestStats stats_;
};

}  // namespace hapbx::sip
