// The authkeys parser and the owner/mode check Heartbeat makes before reading secrets.
#include "cluster/authkeys.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>

namespace hapbx::cluster {

namespace {

using hb_config::Diagnostics;
using hb_config::Line;
using hb_config::shown;

constexpr std::size_t kMaxSecret = 256;

std::string octal(unsigned mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%03o", mode);
  return buf;
}

}  // namespace

const AuthKey* AuthKeys::find(int index) const {
  for (const AuthKey& k : keys) {
    if (k.index == index) return &k;
  }
  return nullptr;
}

Result<AuthKeys> parse_authkeys(std::string_view text, const std::string& file,
                                const HeartbeatConfigLimits& limits) {
  auto lines = hb_config::split_lines(text, file, false, limits);
  if (!lines.ok()) return lines.error();
  Diagnostics diag(file);
  AuthKeys out;
  int active = 0;
  std::map<int, int> key_lines;  // index -> line
  for (const Line& l : *lines) {
    const std::string& first = l.words[0];
    if (first == "auth") {
      if (active != 0) {
        diag.error(l.number, "a second 'auth' line (the first is at line " +
                                 std::to_string(out.active_line) + "); keep one");
        continue;
      }
      auto n = l.words.size() == 2 ? hb_config::parse_uint(l.words[1]) : std::nullopt;
      if (!n || *n < 1 || *n > 15) {
        diag.error(l.number, "'auth' takes one key number, 1-15: auth 1");
        continue;
      }
      active = static_cast<int>(*n);
      out.active_line = l.number;
      continue;
    }
    auto n = hb_config::parse_uint(first);
    if (!n) {
      diag.error(l.number, "expected 'auth N' or 'N method secret' (e.g. '1 sha1 secret'), not '" +
                               shown(first) + "'");
      continue;
    }
    if (*n < 1 || *n > 15) {
      diag.error(l.number, "key number " + std::to_string(*n) + " is not valid (1-15)");
      continue;
    }
    const int index = static_cast<int>(*n);
    if (l.words.size() < 2) {
      diag.error(l.number, "key " + std::to_string(index) +
                               " has no method: write '" + std::to_string(index) +
                               " sha1 secret' (methods: sha1, sha256, md5, crc)");
      continue;
    }
    auto method = auth_method_from_string(l.words[1]);
    if (!method) {
      diag.error(l.number, "unknown method '" + shown(l.words[1]) +
                               "' (expected sha1, sha256, md5 or crc)");
      continue;
    }
    AuthKey key;
    key.index = index;
    key.method = *method;
    if (*method == AuthMethod::Crc) {
      diag.warn(l.number, "crc is a checksum, not authentication: anyone on the network can "
                          "forge heartbeats; use sha1 or sha256 with a secret");
      if (l.words.size() > 2) diag.warn(l.number, "crc takes no secret; the secret is ignored");
    } else {
      if (l.words.size() < 3) {
        diag.error(l.number, std::string(to_string(*method)) + " needs a secret: " +
                                 std::to_string(index) + " " + std::string(to_string(*method)) +
                                 " <secret>");
        continue;
      }
      if (l.words.size() > 3) {
        diag.error(l.number, "the secret must be one word (no blanks); " +
                                 std::to_string(l.words.size() - 3) + " more word" +
                                 (l.words.size() == 4 ? "" : "s") + " after it");
        continue;
      }
      if (l.words[2].size() > kMaxSecret) {
        diag.error(l.number, "the secret is longer than " + std::to_string(kMaxSecret) + " bytes");
        continue;
      }
      key.secret = l.words[2];
    }
    auto [it, fresh] = key_lines.emplace(index, l.number);
    if (!fresh) {
      diag.error(l.number, "key " + std::to_string(index) + " defined again (first at line " +
                               std::to_string(it->second) + "); key numbers must be unique");
      continue;
    }
    out.keys.push_back(std::move(key));
  }
  if (active == 0 && !diag.failed()) {
    diag.error(0, "no 'auth N' line: add 'auth 1' to say which key signs heartbeats");
  }
  if (out.keys.empty() && !diag.failed()) {
    diag.error(0, "no key defined: add e.g. '1 sha1 <a long random secret>'");
  }
  if (active != 0 && !out.find(active) && !diag.failed()) {
    diag.error(out.active_line, "auth " + std::to_string(active) +
                                    ": no key " + std::to_string(active) +
                                    " is defined in this file");
  }
  if (diag.failed()) return diag.take_error();
  out.active = *out.find(active);
  out.warnings = diag.take_warnings();
  return out;
}

Result<AuthKeys> load_authkeys(const std::string& path) {
  const HeartbeatConfigLimits limits;
  // Heartbeat's rule: the file that holds the key is the user's own and no one else's.
  auto text = hb_config::read_text_file(path, limits.max_file_bytes, [&path](const struct stat& st) -> Status {
    const uid_t me = ::geteuid();
    if (st.st_uid != me)
      return make_error("authkeys: " + path + " is owned by uid " + std::to_string(st.st_uid) +
                        ", not by the user running clusterd (uid " + std::to_string(me) +
                        "): chown " + std::to_string(me) + " " + path);
    const unsigned perms = static_cast<unsigned>(st.st_mode) & 07777u;
    if ((perms & 077u) != 0)
      return make_error("authkeys: " + path + " must be mode 600 (is " + octal(perms) + "): chmod 600 " + path);
    return {};
  });
  if (!text) {
    const std::string& m = text.error().message;
    return make_error(m.rfind("authkeys: ", 0) == 0 ? m : "authkeys: " + m);
  }
  return parse_authkeys(*text, path, limits);
}

}  // namespace hapbx::cluster
