// Fuzz target for the DRBD resource-config parser over in-memory files. The input is split at
// NUL bytes into up to four files: /cfg/drbd.conf (parsed), /cfg/inc.res, /cfg/drbd.d/a.res and
// /cfg/drbd.d/b.res, so includes (relative, globbed, nested, looping) are reachable. Besides "no
// crash, no leak, no UB, no exception", it checks the promises of the model: every resource has
// two complete, distinct hosts; lookups find what was parsed; every message names a place.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "replica/resource_config.h"
#include "replica/resource_config_files.h"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// Each line "file:line: ..." or "file: ..." (a whole-file message).
bool names_a_place(std::string_view message) {
  while (!message.empty()) {
    const std::size_t eol = message.find('\n');
    const std::string_view line = message.substr(0, eol);
    const std::size_t colon = line.find(": ");
    if (colon == std::string_view::npos || colon == 0) return false;
    if (eol == std::string_view::npos) break;
    message.remove_prefix(eol + 1);
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hapbx::replica;
  static const char* const kNames[] = {"/cfg/drbd.conf", "/cfg/inc.res", "/cfg/drbd.d/a.res",
                                       "/cfg/drbd.d/b.res"};
  std::string_view input(reinterpret_cast<const char*>(data), size);
  MemoryReplicaConfigFiles files;
  std::string top;
  for (const char* name : kNames) {
    const std::size_t nul = input.find('\0');
    std::string part(input.substr(0, nul));
    if (name == kNames[0]) top = part;
    files.add(name, std::move(part));
    if (nul == std::string_view::npos) break;
    input.remove_prefix(nul + 1);
  }

  auto cfg = parse_replica_config(top, kNames[0], files);
  if (!cfg.ok()) {
    check(!cfg.error().message.empty());
    check(names_a_place(cfg.error().message));
    return 0;
  }
  check(!cfg->resources.empty());
  for (const ResourceConfig& r : cfg->resources) {
    check(cfg->resource(r.name) == &r);
    check(!r.name.empty() && !r.file.empty() && r.line > 0);
    check(r.hosts.size() == 2);
    const HostConfig& a = r.hosts[0];
    const HostConfig& b = r.hosts[1];
    check(a.name != b.name);
    check(a.address != b.address || a.port != b.port);
    for (const HostConfig& h : r.hosts) {
      check(r.host(h.name) == &h);
      check(r.peer_of(h.name) == (&h == &a ? &b : &a));
      check(h.port != 0 && !h.address.empty());
      check(!h.device.empty() && h.device[0] == '/');
      check(!h.disk.empty() && h.disk[0] == '/');
      check(h.meta_internal || (!h.meta_disk.empty() && h.meta_disk[0] == '/'));
    }
    check(r.cram_hmac_alg.empty() || !r.shared_secret.empty());
    check(r.shared_secret.size() <= 64);
    check(!r.allow_two_primaries && !r.become_primary_on_both);
    check(r.resync_rate_bytes_per_s >= 1024);
    check(r.timeout.count() > 0 && r.ping_int.count() > 0 && r.connect_int.count() > 0);
    check(r.after_sb_0pri_discard_node.empty() || r.host(r.after_sb_0pri_discard_node));
    (void)r.after_sb_0pri_on(a.name);
  }
  for (const auto& w : cfg->warnings) {
    check(names_a_place(w.message));
    check(!w.file.empty() && w.line > 0);
  }
  return 0;
}
