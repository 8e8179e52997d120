// clusterd's resource groups in Heartbeat's v1 `haresources` syntax, so the thesis' file loads
// as written:
//
//   # preferred-node  resources, started left to right and stopped right to left
//   asterisk1 IPaddr::198.18.0.10/24/eth0 drbddisk::r0
//       Filesystem::/dev/hapbx/r0::/replica::ext4 pbxd     (one line in the file)
//
// One group per logical line (a backslash as the last character of a line continues it on the
// next line; `#` comments as in
// heartbeat_config_lines.h). A resource is `Type::arg1::arg2...` or a bare name. Known types map
// to built-in agents:
//   IPaddr, IPaddr2, IPv6addr  -> Vip (VipSpec of vip_agent.h): ADDRESS/PREFIX/INTERFACE
//       [/BROADCAST]. IPv4 prefix 0-32 (or a contiguous dotted netmask), IPv6 0-128.
//       INTERFACE "eth0:1" (an IPv4 alias) is interface eth0 with label eth0:1. BROADCAST (IPv4)
//       is checked; the agent always uses the one the prefix gives, so another is a warning.
//       Heartbeat's IPaddr could guess a missing prefix or interface from the routing table; the
//       VIP agent does not, so both are required (the error says what to write). IPv6 addresses
//       contain "::": everything after the type's "::" is the one address argument.
//   a bare IPv4 address word   -> Vip, as IPaddr (Heartbeat's shorthand: `node1 10.0.0.170/24/eth0
//       httpd`); a bare address without prefix and interface is an error saying what to write.
//   drbddisk[::RES]            -> Replica: replicad resource RES; bare `drbddisk` = all resources.
//   Filesystem::DEV::DIR[::FSTYPE[::OPTIONS]] -> Filesystem (FilesystemSpec of
//       resource_agent.h; DIR absolute, not "/"; no FSTYPE: ext4, with a warning).
//   pbxd                       -> Pbx (built-in agent; arguments are passed to it).
//   anything else              -> Lsb: a script NAME in the resource directory or /etc/init.d,
//       called as `NAME [args...] start|stop|status`.
// Errors name file:line: "haresources:3: IPaddr '198.18.0.10/33' has an invalid prefix length
// (0-32)". A resource listed in two groups or twice in one (the same VIP address, mount point,
// replica or pbxd) is an error: two nodes would fight over it. LSB scripts may repeat (Heartbeat
// configurations put MailTo in every group).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cluster/heartbeat_config_lines.h"
#include "cluster/resource_agent.h"  // FilesystemSpec
#include "cluster/vip_agent.h"       // VipSpec
#include "core/result.h"

namespace hapbx::cluster {

struct HaConfig;

enum class ResourceKind { Vip, Replica, Filesystem, Pbx, Lsb };
std::string_view to_string(ResourceKind k);

struct ReplicaSpec {
  std::string resource;              // "" = every replicad resource (bare `drbddisk`)
};

struct PbxSpec {};                   // pbxd: the built-in agent (PbxAgentOptions)
struct LsbSpec {
  std::string script;                // "asterisk": found in the resource directory or /etc/init.d
};

struct ResourceSpec {
  std::string type;                  // as written: "IPaddr", "drbddisk", "pbxd", "asterisk"
  std::vector<std::string> args;     // the "::"-separated arguments (IPaddr*: one, see above)
  std::string text;                  // the whole word as written, for messages and status
  int line = 0;
  std::variant<VipSpec, ReplicaSpec, FilesystemSpec, PbxSpec, LsbSpec> spec;

  ResourceKind kind() const { return static_cast<ResourceKind>(spec.index()); }
};

struct ResourceGroup {
  std::string preferred_node;        // the first word: where the group runs when both are up
  std::vector<ResourceSpec> resources;  // start order; stop in reverse; never empty
  int line = 0;
};

struct HaResources {
  std::vector<ResourceGroup> groups;
  std::vector<ConfigWarning> warnings;
  std::string file;                  // the name the file was parsed under
};

Result<HaResources> parse_haresources(std::string_view text, const std::string& file,
                                      const HeartbeatConfigLimits& limits = {});
Result<HaResources> load_haresources(const std::string& path);

// Cross-file check: every preferred node is a `node` of ha.cf. Errors name haresources:line.
Status check_haresources_nodes(const HaResources& res, const HaConfig& cfg);

}  // namespace hapbx::cluster
