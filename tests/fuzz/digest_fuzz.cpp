// Fuzz target: digest credential and challenge parsing, printing round trips, and the verifier
// on whatever parses. The first byte picks the mode so one corpus covers both header kinds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sip/digest.h"
#include "sip/digest_verifier.h"
#include "sip/nonce.h"

namespace {

using namespace hapbx::sip;

// A parsed value printed and parsed again must parse, to the same fields.
void check_credentials_round_trip(const DigestCredentials& c) {
  auto again = parse_digest_credentials(format_digest_credentials(c));
  if (!again.ok()) {
    // Printing drops control characters, and values can be too long to print back within the
    // bound; anything else is a bug.
    if (again.error().message.find("longer") != std::string::npos) return;
    std::abort();
  }
  if (again->username != c.username || again->nonce != c.nonce || again->nc != c.nc ||
      again->algorithm != c.algorithm || again->qop != c.qop) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    auto c = parse_digest_credentials(text);
    if (!c.ok()) return 0;
    check_credentials_round_trip(*c);
    static const NonceKey key{};
    static DigestVerifier verifier(key);
    const WallTime now = WallTime{} + std::chrono::seconds(1'700'000'000);
    (void)verifier.verify(*c, "REGISTER", DigestSecret::plaintext("pw"), c->realm, now);
    (void)verifier.verify(*c, "REGISTER", DigestSecret::md5_ha1(c->response), c->realm, now);
    (void)verifier.verify_unknown_user(*c, "REGISTER", "asterisk", now);
  } else {
    auto ch = parse_digest_challenge(text);
    if (!ch.ok()) return 0;
    auto again = parse_digest_challenge(format_digest_challenge(*ch));
    if (!again.ok() && again.error().message.find("longer") == std::string::npos) std::abort();
  }
  return 0;
}
