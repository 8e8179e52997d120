// Fuzz target for the sip.conf / rtp.conf loader over the in-memory loader. The input is split
// at NUL bytes into up to four files: sip.conf, rtp.conf, inc.conf and sub/inc.conf, so
// includes (relative, nested, looping) are reachable. Besides "no crash, no leak, no UB", it
// checks the promises of the model: a loaded config is internally consistent, and every message
// names a place.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pbx/sip_config.h"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// "file:line: ..." or "file: ..." (a whole-file message).
bool names_a_place(std::string_view message) {
  const std::size_t colon = message.find(':');
  return colon != std::string_view::npos && colon > 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* const kNames[] = {"/cfg/sip.conf", "/cfg/rtp.conf", "/cfg/inc.conf",
                                       "/cfg/sub/inc.conf"};
  std::string_view input(reinterpret_cast<const char*>(data), size);
  hapbx::pbx::MemoryConfigLoader loader;
  for (const char* name : kNames) {
    const std::size_t nul = input.find('\0');
    loader.add(name, std::string(input.substr(0, nul)));
    if (nul == std::string_view::npos) break;
    input.remove_prefix(nul + 1);
  }

  auto cfg = hapbx::pbx::load_sip_config("/cfg", loader);
  if (!cfg.ok()) {
    check(!cfg.error().message.empty());
    check(names_a_place(cfg.error().message));
    return 0;
  }
  const auto& g = cfg->general;
  check(g.rtp_start < g.rtp_end);
  check(g.rtp_start % 2 == 0);
  check(g.min_expiry <= g.max_expiry);
  check(g.default_expiry >= g.min_expiry && g.default_expiry <= g.max_expiry);
  check(g.udp_bind.port != 0 && g.tcp_bind.port != 0);
  for (const auto& peer : cfg->peers) {
    const hapbx::pbx::SipPeer* found = cfg->find_peer(peer.name);
    check(found == &peer);
    check(!peer.transports.empty());
    check(peer.md5secret.empty() || peer.md5secret.size() == 32);
    check(peer.dynamic || !peer.host.empty());
    for (const auto& rule : peer.acl.rules) check(rule.prefix_length <= (rule.ipv6 ? 128 : 32));
    (void)peer.acl.allows("192.0.2.1");
    (void)peer.acl.allows("2001:db8::1");
  }
  for (const auto& w : cfg->warnings) check(names_a_place(w));
  return 0;
}
