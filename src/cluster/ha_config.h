// clusterd's main configuration in Heartbeat 3 `ha.cf` syntax, so that an existing Heartbeat
// file loads as written:
//
//   keepalive 2            # seconds (fractions allowed: 0.5) or with a unit: 200ms, 2s
//   deadtime 30
//   warntime 10
//   initdead 120
//   udpport 694            # applies to the media written AFTER it (Heartbeat reads in order)
//   bcast eth0 eth1        # one medium per interface
//   mcast eth0 225.0.0.1 694 1 0     # interface group port ttl loop
//   ucast eth1 198.18.1.12           # one line per peer address
//   auto_failback off      # on | off | legacy (or any Heartbeat boolean)
//   node asterisk1 asterisk2
//   ping 198.18.0.1
//   stonith_command /usr/local/sbin/fence-peer --power-off
//
// One directive per line, `#` comments (see heartbeat_config_lines.h). Parsing is pure (text in,
// model or error out). Errors name file:line and the fix, all of them at once, one per line.
// Directives we accept but do not apply, and unknown ones, are warnings with file:line, never
// silently dropped; directives whose loss would change safety are errors (`crm yes`, Heartbeat
// STONITH plugins).
//
// Units (Heartbeat's): a plain number is seconds and may have a fraction ("0.5"); suffixes ms,
// msec, s, sec. The model holds milliseconds; a value finer than 1 ms is an error.
//
// Directives and their meaning here:
//   keepalive, deadtime, warntime, initdead   heartbeat interval; silence after which a node is
//       dead; silence after which a late heartbeat is logged; deadtime used at startup. Checks:
//       deadtime > keepalive (error); keepalive < warntime < deadtime (warning otherwise, as
//       Heartbeat); initdead >= 2 * deadtime (warning otherwise). Not given: keepalive 2 s,
//       deadtime 30 s, warntime halfway between keepalive and deadtime, initdead 2 * deadtime.
//   udpport N            port of bcast and ucast media defined after it (default 694); a udpport
//       after media is a warning (those media keep the port they were defined with).
//   bcast, mcast, ucast  the heartbeat media (at least one). mcast groups are IPv4 multicast,
//       ttl 1..255, loop 0|1. ucast takes an IPv4 or IPv6 literal (no names: failover must not
//       depend on DNS). The same ha.cf may list ucast to both nodes' addresses, as Heartbeat
//       allows: the driver skips a ucast medium whose address is one of its own.
//   node NAME...         cluster members (several lines allowed; at least two). Compared with
//       the node name exactly as written.
//   auto_failback        on: resources go back to their preferred node (haresources' first word)
//       when it rejoins; off: they stay where they run; legacy: as on (Heartbeat's meaning with
//       nice_failback off). Not given: legacy, with a warning, as Heartbeat does.
//       `nice_failback on|off` (deprecated) is read as auto_failback off|on when auto_failback
//       itself is not given.
//   ping ADDR...         ping nodes, each its own group; ping_group NAME ADDR... one group
//       reachable while any of its addresses is. IPv4/IPv6 literals.
//   deadping             silence after which a ping node is unreachable (default: deadtime).
//   respawn USER CMD...  a process clusterd starts and restarts (absolute path recommended).
//   logfile, debugfile, logfacility, use_logd   where messages go.
//   realtime on|off                           the heartbeat loop at a realtime priority
//   stonith_command CMD...  (ours) the fencing hook: run (argv, no shell) with the name of the
//       node to fence appended as its last argument, before taking resources over from a peer
//       that vanished; exit status 0 means the peer is fenced (powered off), anything else
//       means it is not and the takeover waits. Without it, takeover relies on deadtime alone.
//   crm / pacemaker yes|on|respawn  error: crm/pacemaker mode is not supported (haresources only).
//   stonith, stonith_host   error: Heartbeat STONITH plugins are not supported (use
//       stonith_command): ignoring a fencing setup would make a takeover unsafe.
//   baud, serial         accepted with a warning: no serial links here.
//   hopfudge, compression, traditional_compression, watchdog and Heartbeat's other known
//       directives: accepted, ignored, with a warning.
// A singleton directive given twice: the last one counts, with a warning.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/heartbeat_config_lines.h"
#include "core/result.h"

namespace hapbx::cluster {

enum class MediumKind { Bcast, Mcast, Ucast };
std::string_view to_string(MediumKind k);

// One heartbeat medium: a socket the heartbeats go out on (and come in on).
struct Medium {
  MediumKind kind = MediumKind::Bcast;
  std::string interface;   // "eth0"
  std::string address;     // ucast: the peer address; mcast: the group; bcast: empty
  std::uint16_t port = 694;
  int ttl = 1;             // mcast only
  bool loop = false;       // mcast only: IP_MULTICAST_LOOP
  int line = 0;            // where it was defined
};

enum class AutoFailback { On, Off, Legacy };
std::string_view to_string(AutoFailback a);

// A set of ping addresses that counts as reachable while any one of them answers. `ping A B`
// makes one group per address, named by the address.
struct PingGroup {
  std::string name;
  std::vector<std::string> addresses;
  int line = 0;
};

struct RespawnSpec {
  std::string user;
  std::vector<std::string> command;  // argv; never empty
  int line = 0;
};

struct HaConfig {
  std::chrono::milliseconds keepalive{2000};
  std::chrono::milliseconds deadtime{30000};
  std::chrono::milliseconds warntime{16000};
  std::chrono::milliseconds initdead{60000};
  std::chrono::milliseconds deadping{30000};
  std::uint16_t udpport = 694;       // the last value given (media carry their own port)
  std::vector<Medium> media;         // in file order; never empty
  std::vector<std::string> nodes;    // in file order, no duplicates; at least two
  AutoFailback auto_failback = AutoFailback::Legacy;
  bool auto_failback_given = false;
  std::vector<PingGroup> ping_groups;
  std::vector<RespawnSpec> respawn;
  std::vector<std::string> stonith_command;  // empty: no fencing hook
  std::string logfile;               // "" = not given
  std::string debugfile;
  std::string logfacility;           // "" = not given; "none" = no syslog
  bool use_logd = false;
  bool realtime = true;              // clusterd's heartbeat loop under SCHED_RR, as Heartbeat's default
  std::vector<ConfigWarning> warnings;

  bool has_node(std::string_view name) const;
  // Whether resources should move back to their preferred node when it rejoins.
  bool fails_back() const { return auto_failback != AutoFailback::Off; }
};

Result<HaConfig> parse_ha_cf(std::string_view text, const std::string& file,
                             const HeartbeatConfigLimits& limits = {});
// Reads `path` (named as given in messages) and parses it.
Result<HaConfig> load_ha_cf(const std::string& path);

// A Heartbeat duration: "2", "0.5", "1.5s", "200ms", "2sec", "500msec"; nullopt when malformed,
// not a whole number of milliseconds, or above one day.
std::optional<std::chrono::milliseconds> parse_hb_duration(std::string_view text);

}  // namespace hapbx::cluster
