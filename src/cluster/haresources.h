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
//   IPaddr, IPaddr2, IPv6addr  -> Vip: ADDRESS[/PREFIX[/INTERFACE[/BROADCAST]]]. IPv4 prefix
//       0-32 (or a contiguous dotted netmask), IPv6 0-128; BROADCAST is IPv4 only. No prefix or
//       interface: the VIP agent picks the interface whose network holds the address, as
//       Heartbeat's IPaddr does. IPv6 addresses contain "::": everything after the type's "::"
//       is the one address argument.
//   drbddisk[::RES]            -> Replica: replicad resource RES; bare `drbddisk` = all resources.
//   Filesystem::DEV::DIR[::FSTYPE[::OPTIONS]] -> Filesystem (DIR absolute, not "/").
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
#include "core/result.h"

namespace hapbx::cluster {

struct HaConfig;

enum class ResourceKind { Vip, Replica, Filesystem, Pbx, Lsb };
std::string_view to_string(ResourceKind k);

struct VipSpec {
  std::string address;               // "198.18.0.10" / "fd00::10"
  bool ipv6 = false;
  std::optional<int> prefix_length;  // nullopt: take the prefix of the matching interface
  std::string interface;             // "" = the interface whose network holds the address
  std::string broadcast;             // "" = derived from address/prefix (IPv4)
};

struct ReplicaSpec {
  std::string resource;              // "" = every replicad resource (bare `drbddisk`)
};

struct FilesystemSpec {
  std::string device;                // "/dev/hapbx/r0", "LABEL=x", "UUID=...", "host:/export"
  std::string mountpoint;            // "/replica"
  std::string fstype;                // "" = let mount(8) detect it
  std::string options;               // "" = defaults
};

struct PbxSpec {};
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
