// A replicated resource as configured in DRBD 8 syntax (drbd.conf / *.res), so that the thesis'
// file loads as written:
//
//   global { usage-count no; }
//   common { ... }                      // defaults for every resource
//   resource r0 {
//     protocol C;
//     startup { wfc-timeout 0; degr-wfc-timeout 120; }
//     disk    { on-io-error detach; }
//     net     { cram-hmac-alg sha1; shared-secret "..."; after-sb-0pri discard-zero-changes; ... }
//     syncer  { rate 10M; verify-alg sha1; csums-alg sha1; }
//     on asterisk1 { device /dev/hapbx/r0; disk /var/lib/hapbx/r0.img;
//                    address 198.18.1.11:7788; meta-disk internal; }
//     on asterisk2 { ... }
//   }
//
// Parsing is pure (text in, model or error out; included files come through ReplicaConfigFiles,
// see resource_config_files.h). Errors name file:line and the fix, and all of them are reported
// at once, one per line; options we accept but do not implement are warnings with file:line,
// never silently dropped; options that would change safety if ignored (allow-two-primaries,
// become-primary-on both) are errors. Input is hostile: parse never throws, never crashes, and
// its work is bounded (sizes, nesting, include depth and count; see ReplicaConfigLimits).
//
// Units, as DRBD reads them: sizes take s (512 B), K, M, G, T (either case; plain `size` numbers
// are sectors); `rate`/`resync-rate` plain numbers are KiB/s; timeout and ping-timeout are in
// 0.1 s; connect-int, ping-int, wfc-timeout and degr-wfc-timeout in seconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "replica/replica_types.h"

namespace hapbx::replica {

struct ConfigWarning {
  std::string file;
  int line = 0;
  std::string message;  // "r0.res:7: option 'foo' is not supported, ignored"
};

// One `on <host> { ... }` section.
struct HostConfig {
  std::string name;          // the `on` name: matched against --node / the hostname
  std::string device;        // "/dev/hapbx/r0": the path replicad maintains while Primary
  std::string disk;          // image file or block device holding data (and internal metadata)
  std::string address;       // "198.18.1.11" (IPv4 or IPv6 literal, or host name)
  std::uint16_t port = 0;    // 7788
  // meta-disk: "internal" (metadata at the end of `disk`) or an external file/device path,
  // optionally with an index "[0]" (kept in meta_index; we use one resource per file).
  bool meta_internal = true;
  std::string meta_disk;     // external metadata path when !meta_internal
  std::optional<std::uint32_t> meta_index;  // `meta-disk /dev/sdb1 [0]`: 0
  int config_line = 0;       // where the section starts, for messages
};

struct ResourceConfig {
  std::string name;          // "r0"
  std::string file;          // the file it came from
  int line = 0;

  Protocol protocol = Protocol::C;

  // startup { }
  std::chrono::seconds wfc_timeout{0};        // 0 = wait forever
  std::chrono::seconds degr_wfc_timeout{60};  // DRBD's default
  bool become_primary_on_both = false;        // refused (two primaries unsupported)

  // disk { }
  enum class OnIoError { PassOn, Detach, CallLocalIoError } on_io_error = OnIoError::Detach;
  std::optional<std::uint64_t> size_bytes;    // `size 2G`: use only this much of the disk
  int al_extents = 127;                       // activity log slots (DRBD 8.3 default 127)
  bool disk_flushes = true;                   // no-disk-flushes / disk-flushes no

  // net { }
  std::string cram_hmac_alg;                  // "" = no authentication; else sha1, sha256, md5
  std::string shared_secret;
  std::string data_integrity_alg;             // "" = off
  SplitBrainPolicy after_sb_0pri = SplitBrainPolicy::Disconnect;
  SplitBrainPolicy after_sb_1pri = SplitBrainPolicy::Disconnect;
  SplitBrainPolicy after_sb_2pri = SplitBrainPolicy::Disconnect;
  // `after-sb-0pri discard-node-NAME`: NAME's changes are discarded. It depends on which node
  // asks, so after_sb_0pri then stays Disconnect (the safe reading) and after_sb_0pri_on(node)
  // gives DiscardLocal on NAME and DiscardRemote on the other node. NAME is one of the hosts.
  std::string after_sb_0pri_discard_node;
  bool allow_two_primaries = false;           // refused with a clear error when set
  std::chrono::milliseconds timeout{6000};        // `timeout 60` (unit 0.1 s): data ack timeout
  std::chrono::milliseconds connect_int{10000};   // `connect-int 10` (s): retry interval
  std::chrono::milliseconds ping_int{10000};      // `ping-int 10` (s)
  std::chrono::milliseconds ping_timeout{500};    // `ping-timeout 5` (unit 0.1 s)
  std::uint32_t max_buffers = 2048;               // accepted; bounds the receive queue (pages)
  std::uint32_t max_epoch_size = 2048;            // accepted

  // syncer { } (DRBD 8.3) or disk { resync-rate } (8.4)
  std::uint64_t resync_rate_bytes_per_s = 250 * 1024;  // DRBD's default 250K
  std::string verify_alg;                     // "" = verify refused with a clear message
  std::string csums_alg;                      // "" = resync sends every out-of-sync block

  std::vector<HostConfig> hosts;              // exactly two `on` sections

  // The section for `node`, or null.
  const HostConfig* host(const std::string& node) const;
  // The other host, or null.
  const HostConfig* peer_of(const std::string& node) const;
  // after-sb-0pri as seen from `node` (resolves discard-node-NAME, see above).
  SplitBrainPolicy after_sb_0pri_on(const std::string& node) const;
};

struct ReplicaConfig {
  bool usage_count = false;                   // global { usage-count }: accepted, never phones home
  std::vector<ResourceConfig> resources;
  std::vector<ConfigWarning> warnings;

  const ResourceConfig* resource(const std::string& name) const;
};

// Parses DRBD 8 syntax (`include "file";` and globs such as "drbd.d/*.res" resolved relative to
// the including file, read from the real filesystem). `file` names the source in messages
// (included files are named by their path as resolved from it). The overload taking
// ReplicaConfigFiles (resource_config_files.h) reads includes from anywhere, e.g. memory.
Result<ReplicaConfig> parse_replica_config(std::string_view text, const std::string& file);
// Reads `path` (named as given in messages) and parses it.
Result<ReplicaConfig> load_replica_config(const std::string& path);

// Size literals as DRBD writes them: "10M" = 10 MiB, "250K", "2G", plain numbers in bytes for
// sizes (resync `rate` plain numbers are KiB/s, as in DRBD: callers say which).
std::optional<std::uint64_t> parse_size(std::string_view text, std::uint64_t plain_unit);

}  // namespace hapbx::replica
