// Fuzz target for the ha.cf parser. Besides "no crash, no leak, no UB, no exception", it checks
// the promises of the model: at least one medium and two distinct nodes, timings ordered,
// valid ports, and every message naming a place.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "cluster/ha_config.h"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool names_a_place(std::string_view message, std::string_view file) {
  while (!message.empty()) {
    const std::size_t eol = message.find('\n');
    const std::string_view line = message.substr(0, eol);
    if (line.substr(0, file.size()) != file) return false;
    if (line.find(": ") == std::string_view::npos) return false;
    if (eol == std::string_view::npos) break;
    message.remove_prefix(eol + 1);
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hapbx::cluster;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cfg = parse_ha_cf(text, "ha.cf");
  if (!cfg.ok()) {
    check(!cfg.error().message.empty());
    check(names_a_place(cfg.error().message, "ha.cf"));
    return 0;
  }
  check(!cfg->media.empty());
  check(cfg->nodes.size() >= 2);
  check(std::set<std::string>(cfg->nodes.begin(), cfg->nodes.end()).size() == cfg->nodes.size());
  check(cfg->keepalive.count() > 0 && cfg->deadtime > cfg->keepalive);
  check(cfg->warntime.count() > 0 && cfg->initdead.count() > 0 && cfg->deadping.count() > 0);
  for (const Medium& m : cfg->media) {
    check(m.port != 0 && !m.interface.empty() && m.line > 0);
    check((m.kind == MediumKind::Bcast) == m.address.empty());
    check(m.kind != MediumKind::Mcast || (m.ttl >= 1 && m.ttl <= 255));
  }
  for (const PingGroup& g : cfg->ping_groups) {
    check(!g.addresses.empty() && !cfg->has_node(g.name));
  }
  for (const RespawnSpec& r : cfg->respawn) check(!r.command.empty() && !r.user.empty());
  check(cfg->stonith_command.empty() || cfg->stonith_command[0][0] == '/');
  for (const auto& w : cfg->warnings) {
    check(w.file == "ha.cf");
    check(names_a_place(w.message, "ha.cf"));
  }
  return 0;
}
