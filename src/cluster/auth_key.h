// One authentication key of Heartbeat's authkeys file (`auth N` picks the active one; `N method
// secret` defines it). Shared by the authkeys parser and the heartbeat signer/verifier.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hapbx::cluster {

enum class AuthMethod {
  Crc,     // a checksum, not authentication: accepted with a warning, as Heartbeat does
  Md5,     // HMAC-MD5
  Sha1,    // HMAC-SHA1
  Sha256,  // HMAC-SHA256 (ours; not in Heartbeat)
};

struct AuthKey {
  int index = 1;            // the N of "N sha1 secret" (1..15)
  AuthMethod method = AuthMethod::Sha1;
  std::string secret;       // empty for crc
};

std::string_view to_string(AuthMethod m);
std::optional<AuthMethod> auth_method_from_string(std::string_view s);

}  // namespace hapbx::cluster
