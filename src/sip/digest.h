// HTTP Digest authentication as SIP uses it (RFC 3261 22.4, RFC 2617, RFC 7616; SHA-256 for SIP
// per RFC 8760): parsing and printing of the Authorization / Proxy-Authorization credentials and
// of WWW-Authenticate / Proxy-Authenticate challenges, and the hash computations.
//
// Everything here is pure and stateless. The verification policy (nonces, nonce counts, what
// outcome to answer) lives in digest_verifier.h; nonce issuing in nonce.h.
//
// Hostile input: parsers return errors as values, never throw, and refuse header values longer
// than kMaxDigestHeaderLength or with more than kMaxDigestParams parameters, so the work per
// header is bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hapbx::sip {

inline constexpr size_t kMaxDigestHeaderLength = 4096;
inline constexpr size_t kMaxDigestParams = 32;

// RFC 7616 3.3 algorithms. The "-sess" variants are supported for computing and verifying
// (HA1 = H(H(user:realm:password):nonce:cnonce)); they need qop, since they use the cnonce.
// The server never offers them in its own challenges.
enum class DigestAlgorithm { Md5, Md5Sess, Sha256, Sha256Sess };

std::string_view to_string(DigestAlgorithm algorithm);  // "MD5", "MD5-sess", "SHA-256", ...
// Case-insensitive ("md5", "Sha-256-Sess"). Unknown names (e.g. SHA-512-256) -> nullopt.
std::optional<DigestAlgorithm> digest_algorithm_from_string(std::string_view text);
bool is_sess(DigestAlgorithm algorithm);
bool is_md5_family(DigestAlgorithm algorithm);  // Md5 or Md5Sess

// The credentials of an Authorization or Proxy-Authorization header (RFC 3261 25.1
// digest-response). Strings are owned because quoted-string escapes are undone.
struct DigestCredentials {
  std::string username;
  std::string realm;
  std::string nonce;
  std::string uri;        // digest-uri, as sent (compared by the caller if it wants to)
  std::string response;   // lowercase hex as sent (compared case-insensitively)
  DigestAlgorithm algorithm = DigestAlgorithm::Md5;  // MD5 when the parameter is absent
  bool algorithm_given = false;
  std::string cnonce;     // "" when absent
  std::string opaque;     // "" when absent
  // qop as sent ("auth", any case; it enters the hash as sent). "" means absent: the RFC 2069
  // compatible form (no cnonce, no nc). "auth-int" is rejected by the parser (never offered).
  std::string qop;
  bool has_qop() const { return !qop.empty(); }
  std::string nc_text;    // the 8 hex digits as sent ("00000001"); "" when absent
  uint32_t nc = 0;        // its value; 0 when absent
};

// Parses the value of an Authorization / Proxy-Authorization header, e.g.
//   Digest username="201", realm="asterisk", nonce="..", uri="sip:pbx", response="..",
//          algorithm=MD5, cnonce="..", qop=auth, nc=00000001
// The scheme is case-insensitive; parameter names are case-insensitive; parameters may come in
// any order; unknown parameters are ignored; a parameter given twice is an error; quoted-string
// escapes are undone; qop and algorithm are accepted quoted or not. Required: username, realm,
// nonce, uri, response; with qop also cnonce and nc (8 hex digits). "userhash=true" (RFC 7616)
// is rejected: we cannot look up hashed user names.
Result<DigestCredentials> parse_digest_credentials(std::string_view header_value);

// Prints credentials as a header value (for the client side and for tests). Quoted strings are
// escaped; algorithm is printed only when algorithm_given or not MD5.
std::string format_digest_credentials(const DigestCredentials& credentials);

// A WWW-Authenticate / Proxy-Authenticate challenge (RFC 3261 25.1 digest-challenge).
struct DigestChallenge {
  std::string realm;
  std::string nonce;
  std::string opaque;   // "" when absent (and then not printed)
  std::string domain;   // "" when absent (and then not printed)
  DigestAlgorithm algorithm = DigestAlgorithm::Md5;
  bool algorithm_given = false;
  bool stale = false;
  // The qop options offered, e.g. {"auth"}; empty means no qop parameter (RFC 2069 server).
  // Unknown options (auth-int, tokens) are kept as given; the client picks "auth" if present.
  std::vector<std::string> qop_options;
};

// Parses a challenge header value (the client side of a later issue). Same rules as for
// credentials; required: realm and nonce. An unknown algorithm is an error.
Result<DigestChallenge> parse_digest_challenge(std::string_view header_value);

// Prints a challenge: Digest realm="asterisk", nonce="...", [opaque=".."], algorithm=MD5,
// qop="auth"[, stale=true]. algorithm is always printed (some phones want it).
std::string format_digest_challenge(const DigestChallenge& challenge);

// The challenge values a server sends for one 401/407, in order. With offer_sha256 the list is
// {SHA-256 challenge, MD5 challenge} (RFC 8760 2.4: the preferred algorithm first, one header per
// algorithm, both with the same nonce); otherwise just the MD5 one. qop="auth" is always offered.
std::vector<std::string> build_digest_challenges(std::string_view realm, std::string_view nonce,
                                                 bool stale, bool offer_sha256,
                                                 std::string_view opaque = {});

// A user's secret as configured in sip.conf.
//  - Plaintext: `secret=`. Usable with every algorithm.
//  - Md5Ha1:    `md5secret=`, which is MD5(user:realm:password) in lowercase hex. It is an MD5
//    HA1, so it only works with MD5 and MD5-sess; for SHA-256 credentials the verifier answers
//    Failed (reason Md5SecretWithSha256). Note the realm is baked into it: changing the realm
//    breaks every md5secret.
struct DigestSecret {
  enum class Kind { Plaintext, Md5Ha1 };
  Kind kind = Kind::Plaintext;
  std::string value;

  static DigestSecret plaintext(std::string password) {
    return {Kind::Plaintext, std::move(password)};
  }
  static DigestSecret md5_ha1(std::string hex) { return {Kind::Md5Ha1, std::move(hex)}; }
};

// H(data) of the algorithm's hash family, in lowercase hex (32 chars MD5, 64 SHA-256).
std::string digest_hash_hex(DigestAlgorithm algorithm, std::string_view data);

// HA1 (RFC 7616 3.4.2). For -sess algorithms it includes nonce and cnonce. An Md5Ha1 secret is
// used as the (inner) HA1 directly; combined with a SHA-256 algorithm, or when it is not 32 hex
// digits, it is an error.
Result<std::string> compute_digest_ha1(DigestAlgorithm algorithm, std::string_view username,
                                       std::string_view realm, const DigestSecret& secret,
                                       std::string_view nonce, std::string_view cnonce);

// HA2 = H(method:uri) (qop=auth, or no qop).
std::string compute_digest_ha2(DigestAlgorithm algorithm, std::string_view method,
                               std::string_view uri);

// The request-digest (RFC 7616 3.4.1):
//   with qop:    H(HA1:nonce:nc:cnonce:qop:HA2)
//   without qop: H(HA1:nonce:HA2), the RFC 2069 form, still sent by old phones; it has no
//                client nonce and no count, so only the nonce lifetime limits its replay.
// `qop` is "" for the no-qop form (then nc and cnonce are ignored).
std::string compute_digest_response(DigestAlgorithm algorithm, std::string_view ha1,
                                    std::string_view nonce, std::string_view nc,
                                    std::string_view cnonce, std::string_view qop,
                                    std::string_view ha2);

// The response the given credentials should carry for `method` and `secret` (HA1, HA2 and the
// request-digest from the fields of `credentials`).
Result<std::string> expected_digest_response(const DigestCredentials& credentials,
                                             std::string_view method,
                                             const DigestSecret& secret);

// Constant-time comparison of two response strings, case-insensitive for hex digits. The time
// depends only on the lengths, never on where the strings differ.
bool digest_responses_equal(std::string_view expected, std::string_view received);

}  // namespace hapbx::sip
