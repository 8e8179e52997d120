// The haresources parser: each logical line is a group; each word after the node a resource,
// split at "::" and mapped to a built-in agent or an LSB script.
#include "cluster/haresources.h"

#include <arpa/inet.h>

#include <map>

#include "cluster/ha_config.h"

namespace hapbx::cluster {

namespace {

using hb_config::Diagnostics;
using hb_config::Line;
using hb_config::shown;

constexpr std::size_t kMaxGroups = 256;
constexpr std::size_t kMaxResourcesPerGroup = 256;
constexpr std::size_t kMaxArgs = 16;

std::vector<std::string> split_args(std::string_view word) {
  std::vector<std::string> out;
  for (;;) {
    const std::size_t sep = word.find("::");
    out.emplace_back(word.substr(0, sep));
    if (sep == std::string_view::npos) break;
    word.remove_prefix(sep + 2);
  }
  return out;
}

bool valid_script_name(std::string_view s) {
  if (s.empty() || s.size() > 255 || s == "." || s == ".." || s[0] == '-') return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '+' || c == '@';
    if (!ok) return false;
  }
  return true;
}

bool valid_replica_name(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] == '.' || s[0] == '-') return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// A contiguous IPv4 netmask as a prefix length.
std::optional<int> netmask_prefix(std::string_view text) {
  if (!hb_config::is_ipv4(text)) return std::nullopt;
  const std::string s(text);
  in_addr a{};
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  const std::uint32_t m = ntohl(a.s_addr);
  const std::uint32_t inv = ~m;
  if ((inv & (inv + 1)) != 0) return std::nullopt;  // ones then zeros only
  int n = 0;
  for (std::uint32_t b = m; b != 0; b <<= 1) ++n;
  return n;
}

// The all-ones host part of address/prefix (IPv4 literals only).
std::string ipv4_broadcast(const std::string& address, int prefix) {
  in_addr a{};
  if (::inet_pton(AF_INET, address.c_str(), &a) != 1) return {};
  const std::uint32_t host_mask = prefix >= 32 ? 0u : (0xffffffffu >> prefix);
  in_addr b{};
  b.s_addr = htonl(ntohl(a.s_addr) | host_mask);
  char buf[INET_ADDRSTRLEN];
  return ::inet_ntop(AF_INET, &b, buf, sizeof buf) ? std::string(buf) : std::string();
}

bool has_bad_path_chars(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

class Parser {
 public:
  Parser(const std::string& file, const HeartbeatConfigLimits& limits)
      : diag_(file), limits_(limits) {}

  Result<HaResources> run(std::string_view text) {
    auto lines = hb_config::split_lines(text, diag_.file(), true, limits_);
    if (!lines.ok()) return lines.error();
    for (const Line& l : *lines) group(l);
    if (diag_.failed()) return diag_.take_error();
    if (out_.groups.empty()) {
      diag_.warn(0, "no resource group: clusterd will only keep membership");
    }
    out_.warnings = diag_.take_warnings();
    out_.file = diag_.file();
    return std::move(out_);
  }

 private:
  void group(const Line& l) {
    if (out_.groups.size() >= kMaxGroups) {
      diag_.error(l.number, "more than " + std::to_string(kMaxGroups) + " resource groups");
      return;
    }
    ResourceGroup g;
    g.line = l.number;
    g.preferred_node = l.words[0];
    if (!hb_config::valid_node_name(g.preferred_node)) {
      diag_.error(l.number, "'" + shown(g.preferred_node) +
                                "' is not a node name; a line is 'node resource1 resource2 ...'");
      return;
    }
    if (l.words.size() < 2) {
      diag_.error(l.number, "node '" + g.preferred_node +
                                "' has no resources; a line is 'node resource1 resource2 ...'");
      return;
    }
    if (l.words.size() - 1 > kMaxResourcesPerGroup) {
      diag_.error(l.number, "more than " + std::to_string(kMaxResourcesPerGroup) +
                                " resources in one group");
      return;
    }
    bool good = true;
    for (std::size_t i = 1; i < l.words.size(); ++i) {
      auto r = resource(l, l.words[i]);
      if (!r) {
        good = false;
        continue;
      }
      if (!unique(*r)) good = false;
      g.resources.push_back(std::move(*r));
    }
    if (good) out_.groups.push_back(std::move(g));
  }

  // A resource must not be held by two groups (or twice by one).
  bool unique(const ResourceSpec& r) {
    std::string key;
    if (const auto* v = std::get_if<VipSpec>(&r.spec)) key = "vip " + v->address;
    else if (const auto* f = std::get_if<FilesystemSpec>(&r.spec)) key = "mount " + f->mountpoint;
    else if (const auto* d = std::get_if<ReplicaSpec>(&r.spec)) key = "replica " + d->resource;
    else if (std::holds_alternative<PbxSpec>(r.spec)) key = "pbx";
    else return true;  // LSB scripts such as MailTo may appear in every group
    auto [it, fresh] = claimed_.emplace(key, r.line);
    if (!fresh) {
      diag_.error(r.line, "'" + shown(r.text) + "' is already a resource at line " +
                              std::to_string(it->second) +
                              "; a resource belongs to one group, once");
      return false;
    }
    if (const auto* d = std::get_if<ReplicaSpec>(&r.spec)) {
      // Bare drbddisk claims every replica: it clashes with any other drbddisk.
      const bool all = d->resource.empty();
      if ((all && any_replica_) || (!all && all_replicas_line_)) {
        diag_.error(r.line, "'" + shown(r.text) + "' overlaps with drbddisk at line " +
                                std::to_string(all ? any_replica_ : all_replicas_line_) +
                                " (bare 'drbddisk' means every resource)");
        return false;
      }
      if (all) all_replicas_line_ = r.line;
      if (!any_replica_) any_replica_ = r.line;
    }
    return true;
  }

  std::optional<ResourceSpec> resource(const Line& l, const std::string& word) {
    ResourceSpec r;
    r.text = word;
    r.line = l.number;
    std::vector<std::string> parts = split_args(word);
    r.type = parts[0];
    parts.erase(parts.begin());
    if (parts.size() > kMaxArgs) {
      diag_.error(l.number, "'" + shown(word) + "' has more than " + std::to_string(kMaxArgs) +
                                " arguments");
      return std::nullopt;
    }
    // Heartbeat's shorthand: a word that is an IPv4 address, bare or with
    // /prefix/interface[/broadcast] ("10.0.0.170", "10.0.0.170/24/eth0"), is an IPaddr resource.
    if (word.find("::") == std::string::npos &&
        hb_config::is_ipv4(std::string_view(word).substr(0, word.find('/')))) {
      r.type = "IPaddr";
      r.args = {word};
      auto v = vip(l, r.type, word);
      if (!v) return std::nullopt;
      r.spec = std::move(*v);
      return r;
    }
    const std::string& t = r.type;
    if (t.empty()) {
      diag_.error(l.number, "'" + shown(word) + "' has no type before '::'");
      return std::nullopt;
    }
    if (t == "IPaddr" || t == "IPaddr2" || t == "IPv6addr") {
      // The address may itself contain "::" (IPv6): rejoin everything after the type.
      std::string arg;
      for (std::size_t i = 0; i < parts.size(); ++i) arg += (i ? "::" : "") + parts[i];
      r.args = {arg};
      auto v = vip(l, t, arg);
      if (!v) return std::nullopt;
      r.spec = std::move(*v);
      return r;
    }
    for (const std::string& a : parts) {
      if (a.empty()) {
        diag_.error(l.number, "'" + shown(word) + "' has an empty argument (\"::::\" or a "
                                                  "trailing \"::\")");
        return std::nullopt;
      }
    }
    r.args = parts;
    if (t == "drbddisk") {
      if (parts.size() > 1) {
        diag_.error(l.number, "drbddisk takes one resource name: drbddisk::r0");
        return std::nullopt;
      }
      ReplicaSpec d;
      if (!parts.empty()) {
        if (!valid_replica_name(parts[0])) {
          diag_.error(l.number, "drbddisk: '" + shown(parts[0]) +
                                    "' is not a valid resource name (letters, digits, '_', '-', "
                                    "'.')");
          return std::nullopt;
        }
        d.resource = parts[0];
      }
      r.spec = d;
    } else if (t == "Filesystem") {
      if (parts.size() < 2 || parts.size() > 4) {
        diag_.error(l.number, "Filesystem takes device::directory[::fstype[::options]], e.g. "
                              "Filesystem::/dev/hapbx/r0::/replica::ext4");
        return std::nullopt;
      }
      FilesystemSpec f;
      f.device = parts[0];
      f.mountpoint = parts[1];
      if (parts.size() > 2) {
        f.fstype = parts[2];
      } else {
        diag_.warn(l.number, "Filesystem '" + shown(word) + "': no filesystem type, " + f.fstype +
                                 " assumed (write " + shown(word) + "::" + f.fstype + ")");
      }
      f.options = parts.size() > 3 ? parts[3] : "";
      bool good = true;
      const bool device_ok = f.device[0] == '/' || f.device.rfind("LABEL=", 0) == 0 ||
                             f.device.rfind("UUID=", 0) == 0 ||
                             f.device.find(":/") != std::string::npos || f.device == "none" ||
                             f.device == "tmpfs";
      if (!device_ok || has_bad_path_chars(f.device)) {
        diag_.error(l.number, "Filesystem: device '" + shown(f.device) +
                                  "' is not a path, LABEL=, UUID= or host:/export");
        good = false;
      }
      if (f.mountpoint[0] != '/' || f.mountpoint == "/" || has_bad_path_chars(f.mountpoint) ||
          f.mountpoint.find("/../") != std::string::npos ||
          (f.mountpoint.size() >= 3 &&
           f.mountpoint.compare(f.mountpoint.size() - 3, 3, "/..") == 0)) {
        diag_.error(l.number, "Filesystem: mount point '" + shown(f.mountpoint) +
                                  "' must be an absolute directory other than / (e.g. /replica)");
        good = false;
      }
      {
        for (char c : f.fstype) {
          const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                          c == '_' || c == '-';
          if (!ok) {
            diag_.error(l.number, "Filesystem: '" + shown(f.fstype) +
                                      "' is not a filesystem type (e.g. ext4, xfs)");
            good = false;
            break;
          }
        }
      }
      if (!good) return std::nullopt;
      r.spec = std::move(f);
    } else if (t == "pbxd") {
      r.spec = PbxSpec{};
    } else {
      if (!valid_script_name(t)) {
        diag_.error(l.number, "'" + shown(t) +
                                  "' is not a resource type or script name (letters, digits, "
                                  "'-', '_', '.'; no '/')");
        return std::nullopt;
      }
      r.spec = LsbSpec{t};
    }
    return r;
  }

  std::optional<VipSpec> vip(const Line& l, const std::string& type, const std::string& arg) {
    auto bad = [&](const std::string& why) {
      diag_.error(l.number, type + " '" + shown(arg) + "' " + why);
      return std::nullopt;
    };
    if (arg.empty()) return bad("needs an address: " + type + "::198.18.0.10/24/eth0");
    std::vector<std::string> f;
    std::string_view rest = arg;
    for (;;) {
      const std::size_t slash = rest.find('/');
      f.emplace_back(rest.substr(0, slash));
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
    }
    if (f.size() > 4) return bad("has too many fields (ADDRESS/PREFIX/INTERFACE/BROADCAST)");
    VipSpec v;
    v.address = f[0];
    bool v6 = false;
    if (hb_config::is_ipv4(v.address)) {
      v6 = false;
    } else if (hb_config::is_ipv6(v.address)) {
      v6 = true;
    } else {
      return bad("has an invalid address (an IPv4 or IPv6 literal)");
    }
    if (type == "IPv6addr" && !v6) return bad("is not an IPv6 address (use IPaddr)");
    const std::string range = v6 ? "(0-128)" : "(0-32)";
    const std::string example =
        type + "::" + f[0] + "/" + (f.size() > 1 ? f[1] : v6 ? "64" : "24") + "/eth0";
    if (f.size() < 2) {
      return bad("needs a prefix length and an interface: " + example +
                 " (clusterd does not guess them)");
    }
    if (auto p = hb_config::parse_uint(f[1]); p && f[1].size() <= 3) {
      if (*p > (v6 ? 128 : 32)) return bad("has an invalid prefix length " + range);
      v.prefix_length = static_cast<int>(*p);
    } else if (!v6 && netmask_prefix(f[1])) {
      v.prefix_length = *netmask_prefix(f[1]);
    } else {
      return bad("has an invalid prefix length " + range);
    }
    if (f.size() < 3) {
      return bad("needs an interface: " + example + " (clusterd does not guess it)");
    }
    if (!hb_config::valid_interface_name(f[2])) {
      return bad("has an invalid interface name (1-15 characters, no '/'), e.g. eth0");
    }
    v.interface = f[2];
    if (const std::size_t colon = f[2].find(':'); colon != std::string::npos) {
      // "eth0:1": Heartbeat's IPv4 alias, a label on eth0.
      if (v6) return bad("has an interface alias ('" + f[2] + "'); IPv6 addresses have no label");
      if (colon == 0 || colon + 1 == f[2].size()) {
        return bad("has an invalid interface name (1-15 characters, no '/'), e.g. eth0");
      }
      v.interface = f[2].substr(0, colon);
      v.label = f[2];
    }
    if (f.size() > 3) {
      if (v6) return bad("has a broadcast address, but IPv6 has no broadcast");
      if (!hb_config::is_ipv4(f[3])) return bad("has an invalid broadcast address");
      const std::string derived = ipv4_broadcast(v.address, v.prefix_length);
      if (f[3] != derived) {
        diag_.warn(l.number, type + " '" + shown(arg) + "': broadcast " + f[3] +
                                 " is not the standard one for /" +
                                 std::to_string(v.prefix_length) + "; " + derived +
                                 " is used");
      }
    }
    return v;
  }

  Diagnostics diag_;
  const HeartbeatConfigLimits& limits_;
  HaResources out_;
  std::map<std::string, int> claimed_;
  int any_replica_ = 0;
  int all_replicas_line_ = 0;
};

}  // namespace

std::string_view to_string(ResourceKind k) {
  switch (k) {
    case ResourceKind::Vip: return "vip";
    case ResourceKind::Replica: return "replica";
    case ResourceKind::Filesystem: return "filesystem";
    case ResourceKind::Pbx: return "pbx";
    case ResourceKind::Lsb: return "lsb";
  }
  return "?";
}

Result<HaResources> parse_haresources(std::string_view text, const std::string& file,
                                      const HeartbeatConfigLimits& limits) {
  return Parser(file, limits).run(text);
}

Result<HaResources> load_haresources(const std::string& path) {
  const HeartbeatConfigLimits limits;
  auto text = hb_config::read_text_file(path, limits.max_file_bytes);
  if (!text.ok()) return text.error();
  return parse_haresources(*text, path, limits);
}

Status check_haresources_nodes(const HaResources& res, const HaConfig& cfg) {
  std::string errors;
  for (const ResourceGroup& g : res.groups) {
    if (cfg.has_node(g.preferred_node)) continue;
    if (!errors.empty()) errors += '\n';
    errors += hb_config::place(res.file, g.line) + ": node '" + g.preferred_node +
              "' is not a node of ha.cf (add 'node " + g.preferred_node + "' there)";
  }
  if (errors.empty()) return Status::Ok();
  return make_error(errors);
}

}  // namespace hapbx::cluster
