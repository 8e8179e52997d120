// Names of the authkeys methods, as Heartbeat spells them.
#include "cluster/auth_key.h"

namespace hapbx::cluster {

std::string_view to_string(AuthMethod m) {
  switch (m) {
    case AuthMethod::Crc: return "crc";
    case AuthMethod::Md5: return "md5";
    case AuthMethod::Sha1: return "sha1";
    case AuthMethod::Sha256: return "sha256";
  }
  return "?";
}

std::optional<AuthMethod> auth_method_from_string(std::string_view s) {
  if (s == "crc") return AuthMethod::Crc;
  if (s == "md5") return AuthMethod::Md5;
  if (s == "sha1") return AuthMethod::Sha1;
  if (s == "sha256") return AuthMethod::Sha256;
  return std::nullopt;
}

}  // namespace hapbx::cluster
