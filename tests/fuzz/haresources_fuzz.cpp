// Fuzz target for the haresources parser: no crash/leak/UB, and the model's promises: every
// group has a node and resources, kinds match their specs, VIPs are valid literals with prefixes
// in range, mount points absolute, and every message names a place.
#include <arpa/inet.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cluster/haresources.h"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool names_a_place(std::string_view message) {
  while (!message.empty()) {
    const std::size_t eol = message.find('\n');
    const std::string_view line = message.substr(0, eol);
    if (line.rfind("haresources", 0) != 0 || line.find(": ") == std::string_view::npos) {
      return false;
    }
    if (eol == std::string_view::npos) break;
    message.remove_prefix(eol + 1);
  }
  return true;
}

bool valid_ip(const std::string& s, bool v6) {
  unsigned char buf[16];
  return ::inet_pton(v6 ? AF_INET6 : AF_INET, s.c_str(), buf) == 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hapbx::cluster;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto res = parse_haresources(text, "haresources");
  if (!res.ok()) {
    check(!res.error().message.empty());
    check(names_a_place(res.error().message));
    return 0;
  }
  for (const ResourceGroup& g : res->groups) {
    check(!g.preferred_node.empty() && !g.resources.empty() && g.line > 0);
    for (const ResourceSpec& r : g.resources) {
      check(!r.type.empty() && !r.text.empty() && r.line >= g.line);
      check(r.text.rfind(r.type, 0) == 0);
      switch (r.kind()) {
        case ResourceKind::Vip: {
          const auto& v = std::get<VipSpec>(r.spec);
          check(valid_ip(v.address, v.ipv6()));
          check(v.prefix_length >= 0 && v.prefix_length <= (v.ipv6() ? 128 : 32));
          check(!v.interface.empty() && v.interface.size() <= 15);
          check(v.interface.find(':') == std::string::npos);
          check(v.label.empty() || (!v.ipv6() && v.label.rfind(v.interface + ":", 0) == 0));
          break;
        }
        case ResourceKind::Filesystem: {
          const auto& f = std::get<FilesystemSpec>(r.spec);
          check(!f.device.empty() && f.mountpoint.size() > 1 && f.mountpoint[0] == '/');
          check(!f.fstype.empty());
          break;
        }
        case ResourceKind::Replica:
          check(r.type == "drbddisk");
          break;
        case ResourceKind::Pbx:
          check(r.type == "pbxd");
          break;
        case ResourceKind::Lsb:
          check(std::get<LsbSpec>(r.spec).script == r.type);
          check(r.type.find('/') == std::string::npos);
          break;
      }
    }
  }
  for (const auto& w : res->warnings) check(names_a_place(w.message));
  return 0;
}
