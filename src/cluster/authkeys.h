// clusterd's heartbeat keys in Heartbeat's `authkeys` syntax:
//
//   auth 1                 # the key that signs outgoing heartbeats
//   1 sha1 SomeLongSecret
//   2 sha256 TheNextSecret # ours: HMAC-SHA256
//   3 md5 OldSecret
//   # crc needs no secret and authenticates nothing (accepted with a warning)
//
// Key numbers are 1..15 and unique; `auth N` appears once and names a listed key; md5, sha1 and
// sha256 need a secret (one word, at most 256 bytes; the rest of a line after it is an error, so
// "my secret phrase" is not silently cut to "my"). `#` comments as in
// heartbeat_config_lines.h: a '#' inside a secret is part of it.
//
// Verification, as Heartbeat: every heartbeat carries the number of the key that signed it, and
// it is verified with that listed key, whichever is active. So a cluster changes keys without a
// flag day: add the new key on every node, switch `auth N` on each, then remove the old key.
// The active key only signs.
//
// load_authkeys() refuses the file, as Heartbeat does, unless it is a regular file owned by the
// user running clusterd with no group or other permission bits (mode 600 or 400): a readable
// secret lets anyone on the machine forge heartbeats. (Git cannot store mode 600: the installer
// chmods the example files.)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cluster/auth_key.h"
#include "cluster/heartbeat_config_lines.h"
#include "core/result.h"

namespace hapbx::cluster {

struct AuthKeys {
  AuthKey active;               // the key `auth N` selects: signs outgoing heartbeats
  std::vector<AuthKey> keys;    // every listed key (the active one included), in file order
  int active_line = 0;          // where `auth N` is
  std::vector<ConfigWarning> warnings;

  // The listed key with this number, or null (a heartbeat signed with it is dropped).
  const AuthKey* find(int index) const;
};

Result<AuthKeys> parse_authkeys(std::string_view text, const std::string& file,
                                const HeartbeatConfigLimits& limits = {});

// Checks the file's owner and mode (see above), then reads and parses it. `path` names the file
// in messages, e.g. "authkeys: /etc/ha.d/authkeys must be mode 600 (is 644): chmod 600 ...".
Result<AuthKeys> load_authkeys(const std::string& path);

}  // namespace hapbx::cluster
