// Fuzz target for the authkeys parser: no crash/leak/UB, and the model's promises: the active
// key is listed, numbers are 1..15 and unique, keyed methods have a secret, messages name a place.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "cluster/authkeys.h"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool names_a_place(std::string_view message) {
  while (!message.empty()) {
    const std::size_t eol = message.find('\n');
    const std::string_view line = message.substr(0, eol);
    if (line.rfind("authkeys", 0) != 0 || line.find(": ") == std::string_view::npos) return false;
    if (eol == std::string_view::npos) break;
    message.remove_prefix(eol + 1);
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hapbx::cluster;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto keys = parse_authkeys(text, "authkeys");
  if (!keys.ok()) {
    check(!keys.error().message.empty());
    check(names_a_place(keys.error().message));
    return 0;
  }
  const AuthKey* active = keys->find(keys->active.index);
  check(active != nullptr);
  check(active->method == keys->active.method && active->secret == keys->active.secret);
  std::set<int> seen;
  for (const AuthKey& k : keys->keys) {
    check(k.index >= 1 && k.index <= 15);
    check(seen.insert(k.index).second);
    check((k.method == AuthMethod::Crc) == k.secret.empty());
  }
  for (const auto& w : keys->warnings) check(names_a_place(w.message) && w.line > 0);
  return 0;
}
