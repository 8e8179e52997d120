// The ha.cf parser: one pass over the lines in order (Heartbeat's order rules: udpport applies
// to media after it), then the checks that need the whole file.
#include "cluster/ha_config.h"

#include <algorithm>
#include <arpa/inet.h>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>

namespace hapbx::cluster {

namespace {

using hb_config::Diagnostics;
using hb_config::Line;
using hb_config::shown;
using std::chrono::milliseconds;

constexpr std::size_t kMaxNodes = 100;   // Heartbeat's MAXNODE
constexpr std::size_t kMaxMedia = 64;
constexpr std::size_t kMaxPingGroups = 64;

bool one_of(std::string_view v, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), v) != names.end();
}

std::string ms_text(milliseconds d) {
  const auto n = d.count();
  if (n % 1000 == 0) return std::to_string(n / 1000) + " s";
  return std::to_string(n) + " ms";
}

bool is_ipv4_multicast(std::string_view text) {
  if (!hb_config::is_ipv4(text)) return false;
  const std::string s(text);
  in_addr a{};
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
  const std::uint32_t h = ntohl(a.s_addr);
  return (h >> 28) == 0xE;
}

bool is_ip(std::string_view text) { return hb_config::is_ipv4(text) || hb_config::is_ipv6(text); }

// Heartbeat directives we know but do not apply.
constexpr std::string_view kIgnoredDirectives[] = {
    "apiauth", "autojoin", "coredumps", "uuidfrom", "msgfmt", "conn_logd_time",
    "compression_threshold", "max_rexmit_delay", "rtprio", "debug", "watchdog", "hbgenmethod",
    "register_to_apphbd", "record_config_changes", "record_pengine_inputs", "enable_config_writes",
    "memreserve", "generation_file_sync", "traditional_compression", "compression", "hopfudge",
    "auto_failback_legacy", "logfile_size", "env", "quorum_server", "syslogmsgfmt"};

class Parser {
 public:
  Parser(const std::string& file, const HeartbeatConfigLimits& limits)
      : diag_(file), limits_(limits) {}

  Result<HaConfig> run(std::string_view text) {
    auto lines = hb_config::split_lines(text, diag_.file(), false, limits_);
    if (!lines.ok()) return lines.error();
    for (const Line& l : *lines) directive(l);
    finish();
    if (diag_.failed()) return diag_.take_error();
    cfg_.warnings = diag_.take_warnings();
    return std::move(cfg_);
  }

 private:
  // ---- helpers ----------------------------------------------------------------------------

  // Warns when a singleton directive repeats; the last one counts, as Heartbeat reads in order.
  void once(const Line& l) {
    const std::string& kw = l.words[0];
    auto [it, fresh] = seen_.emplace(kw, l.number);
    if (!fresh) {
      diag_.warn(l.number, "'" + kw + "' given again (first at line " +
                               std::to_string(it->second) + "); the last one counts");
      it->second = l.number;
    }
  }

  bool arity(const Line& l, std::size_t min, std::size_t max, std::string_view usage) {
    const std::size_t n = l.words.size() - 1;
    if (n < min || n > max) {
      diag_.error(l.number, "'" + l.words[0] + "' takes " +
                                (min == max ? std::to_string(min)
                                            : max == SIZE_MAX ? "at least " + std::to_string(min)
                                                              : std::to_string(min) + " to " +
                                                                    std::to_string(max)) +
                                " argument" + (min == 1 && max == 1 ? "" : "s") + " (" +
                                std::to_string(n) + " given): " + std::string(usage));
      return false;
    }
    return true;
  }

  std::optional<milliseconds> duration(const Line& l) {
    if (!arity(l, 1, 1, l.words[0] + " 2 | 1.5 | 200ms")) return std::nullopt;
    auto d = parse_hb_duration(l.words[1]);
    if (!d || d->count() <= 0) {
      diag_.error(l.number, "'" + l.words[0] + " " + shown(l.words[1]) +
                                "': expected a positive time, in seconds (2, 0.5) or with a unit "
                                "(200ms, 2s), a whole number of milliseconds, at most one day");
      return std::nullopt;
    }
    return d;
  }

  std::optional<std::uint16_t> port(const Line& l, std::string_view text) {
    auto v = hb_config::parse_uint(text);
    if (!v || *v < 1 || *v > 65535) {
      diag_.error(l.number, "'" + l.words[0] + "': port '" + shown(text) +
                                "' is not valid (1-65535)");
      return std::nullopt;
    }
    return static_cast<std::uint16_t>(*v);
  }

  bool interface(const Line& l, std::string_view name) {
    if (!hb_config::valid_interface_name(name)) {
      diag_.error(l.number, "'" + l.words[0] + "': '" + shown(name) +
                                "' is not a valid interface name (1-15 characters, no '/' or "
                                "blanks), e.g. eth0");
      return false;
    }
    return true;
  }

  void add_medium(const Line& l, Medium m) {
    if (cfg_.media.size() >= kMaxMedia) {
      diag_.error(l.number, "more than " + std::to_string(kMaxMedia) + " heartbeat media");
      return;
    }
    for (const Medium& o : cfg_.media) {
      if (o.kind == m.kind && o.interface == m.interface && o.address == m.address &&
          o.port == m.port) {
        diag_.warn(l.number, std::string(to_string(m.kind)) + " " + m.interface +
                                 (m.address.empty() ? "" : " " + m.address) +
                                 " already defined at line " + std::to_string(o.line) +
                                 "; the duplicate is ignored");
        return;
      }
    }
    m.line = l.number;
    cfg_.media.push_back(std::move(m));
  }

  void add_ping_group(const Line& l, PingGroup g) {
    if (cfg_.ping_groups.size() >= kMaxPingGroups) {
      diag_.error(l.number, "more than " + std::to_string(kMaxPingGroups) + " ping groups");
      return;
    }
    for (const PingGroup& o : cfg_.ping_groups) {
      if (o.name == g.name) {
        diag_.error(l.number, "ping group '" + shown(g.name) + "' already defined at line " +
                                  std::to_string(o.line) + "; rename or remove one");
        return;
      }
    }
    g.line = l.number;
    cfg_.ping_groups.push_back(std::move(g));
  }

  // ---- directives -------------------------------------------------------------------------

  void directive(const Line& l) {
    const std::string& kw = l.words[0];
    if (kw == "bcast" || kw == "mcast" || kw == "ucast") medium_lines_ = true;
    if (kw == "node") node_lines_ = true;
    if (kw == "keepalive" || kw == "deadtime" || kw == "warntime" || kw == "initdead" ||
        kw == "deadping") {
      once(l);
      auto d = duration(l);
      if (!d) return;
      given_.insert(kw);
      if (kw == "keepalive") cfg_.keepalive = *d;
      if (kw == "deadtime") cfg_.deadtime = *d;
      if (kw == "warntime") cfg_.warntime = *d;
      if (kw == "initdead") cfg_.initdead = *d;
      if (kw == "deadping") cfg_.deadping = *d;
      lines_[kw] = l.number;
    } else if (kw == "udpport") {
      once(l);
      if (!arity(l, 1, 1, "udpport 694")) return;
      auto p = port(l, l.words[1]);
      if (!p) return;
      cfg_.udpport = *p;
      bool after_media = false;
      for (const Medium& m : cfg_.media) after_media |= m.kind != MediumKind::Mcast;
      if (after_media) {
        diag_.warn(l.number, "udpport comes after bcast/ucast media; those above keep port " +
                                 std::to_string(current_port_) +
                                 " (ha.cf is read in order): move udpport above them");
      }
      current_port_ = *p;
    } else if (kw == "bcast") {
      if (!arity(l, 1, SIZE_MAX, "bcast eth0 [eth1 ...]")) return;
      for (std::size_t i = 1; i < l.words.size(); ++i) {
        if (!interface(l, l.words[i])) continue;
        Medium m;
        m.kind = MediumKind::Bcast;
        m.interface = l.words[i];
        m.port = current_port_;
        add_medium(l, std::move(m));
      }
    } else if (kw == "ucast") {
      if (!arity(l, 2, 2, "ucast eth1 198.18.1.12")) return;
      if (!interface(l, l.words[1])) return;
      if (!is_ip(l.words[2])) {
        diag_.error(l.number, "ucast: '" + shown(l.words[2]) +
                                  "' is not an IPv4 or IPv6 address (write the peer's address, "
                                  "not a name)");
        return;
      }
      Medium m;
      m.kind = MediumKind::Ucast;
      m.interface = l.words[1];
      m.address = l.words[2];
      m.port = current_port_;
      add_medium(l, std::move(m));
    } else if (kw == "mcast") {
      if (!arity(l, 5, 5, "mcast eth0 225.0.0.1 694 1 0 (interface group port ttl loop)")) return;
      bool good = interface(l, l.words[1]);
      if (!is_ipv4_multicast(l.words[2])) {
        diag_.error(l.number, "mcast: '" + shown(l.words[2]) +
                                  "' is not an IPv4 multicast group (224.0.0.0-239.255.255.255)");
        good = false;
      }
      auto p = port(l, l.words[3]);
      auto ttl = hb_config::parse_uint(l.words[4]);
      if (!ttl || *ttl < 1 || *ttl > 255) {
        diag_.error(l.number, "mcast: ttl '" + shown(l.words[4]) + "' is not valid (1-255)");
        good = false;
      }
      const std::string& loop = l.words[5];
      if (loop != "0" && loop != "1") {
        diag_.error(l.number, "mcast: loop '" + shown(loop) + "' is not valid (0 or 1)");
        good = false;
      }
      if (!good || !p) return;
      Medium m;
      m.kind = MediumKind::Mcast;
      m.interface = l.words[1];
      m.address = l.words[2];
      m.port = *p;
      m.ttl = static_cast<int>(*ttl);
      m.loop = loop == "1";
      add_medium(l, std::move(m));
    } else if (kw == "node") {
      if (!arity(l, 1, SIZE_MAX, "node asterisk1 [asterisk2 ...]")) return;
      for (std::size_t i = 1; i < l.words.size(); ++i) {
        const std::string& n = l.words[i];
        if (!hb_config::valid_node_name(n)) {
          diag_.error(l.number, "node name '" + shown(n) +
                                    "' is not valid (letters, digits, '-', '_', '.'; the "
                                    "node's `uname -n`)");
          continue;
        }
        if (cfg_.has_node(n)) {
          diag_.warn(l.number, "node '" + n + "' listed again; ignored");
          continue;
        }
        if (cfg_.nodes.size() >= kMaxNodes) {
          diag_.error(l.number, "more than " + std::to_string(kMaxNodes) + " nodes");
          return;
        }
        cfg_.nodes.push_back(n);
      }
    } else if (kw == "auto_failback") {
      once(l);
      if (!arity(l, 1, 1, "auto_failback on|off|legacy")) return;
      if (l.words[1] == "legacy") {
        cfg_.auto_failback = AutoFailback::Legacy;
      } else if (auto b = hb_config::parse_bool(l.words[1])) {
        cfg_.auto_failback = *b ? AutoFailback::On : AutoFailback::Off;
      } else {
        diag_.error(l.number, "auto_failback '" + shown(l.words[1]) +
                                  "' is not valid (on, off or legacy)");
        return;
      }
      cfg_.auto_failback_given = true;
    } else if (kw == "nice_failback") {
      once(l);
      if (!arity(l, 1, 1, "nice_failback on|off")) return;
      auto b = hb_config::parse_bool(l.words[1]);
      if (!b) {
        diag_.error(l.number, "nice_failback '" + shown(l.words[1]) + "' is not valid (on/off)");
        return;
      }
      nice_failback_ = *b;
      diag_.warn(l.number, std::string("nice_failback is deprecated: write auto_failback ") +
                               (*b ? "off" : "on") + " instead");
    } else if (kw == "ping") {
      if (!arity(l, 1, SIZE_MAX, "ping 198.18.0.1 [more ...]")) return;
      for (std::size_t i = 1; i < l.words.size(); ++i) {
        if (!is_ip(l.words[i])) {
          diag_.error(l.number, "ping: '" + shown(l.words[i]) +
                                    "' is not an IPv4 or IPv6 address");
          continue;
        }
        add_ping_group(l, PingGroup{l.words[i], {l.words[i]}, 0});
      }
    } else if (kw == "ping_group") {
      if (!arity(l, 2, SIZE_MAX, "ping_group NAME 198.18.0.1 [more ...]")) return;
      if (!hb_config::valid_node_name(l.words[1])) {
        diag_.error(l.number, "ping_group name '" + shown(l.words[1]) +
                                  "' is not valid (letters, digits, '-', '_', '.')");
        return;
      }
      PingGroup g{l.words[1], {}, 0};
      for (std::size_t i = 2; i < l.words.size(); ++i) {
        if (!is_ip(l.words[i])) {
          diag_.error(l.number, "ping_group: '" + shown(l.words[i]) +
                                    "' is not an IPv4 or IPv6 address");
          return;
        }
        g.addresses.push_back(l.words[i]);
      }
      add_ping_group(l, std::move(g));
    } else if (kw == "respawn") {
      if (!arity(l, 2, SIZE_MAX, "respawn USER /path/to/program [args ...]")) return;
      if (!hb_config::valid_node_name(l.words[1])) {
        diag_.error(l.number, "respawn: user '" + shown(l.words[1]) + "' is not a valid name");
        return;
      }
      if (l.words[2][0] != '/') {
        diag_.warn(l.number, "respawn: '" + shown(l.words[2]) +
                                 "' is not an absolute path; it is looked up in PATH");
      }
      cfg_.respawn.push_back(
          RespawnSpec{l.words[1], {l.words.begin() + 2, l.words.end()}, l.number});
    } else if (kw == "stonith_command") {
      once(l);
      if (!arity(l, 1, SIZE_MAX, "stonith_command /path/to/fence [args ...]")) return;
      if (l.words[1][0] != '/') {
        diag_.error(l.number, "stonith_command: '" + shown(l.words[1]) +
                                  "' must be an absolute path (it runs without a shell)");
        return;
      }
      cfg_.stonith_command.assign(l.words.begin() + 1, l.words.end());
    } else if (kw == "logfile" || kw == "debugfile") {
      once(l);
      if (!arity(l, 1, 1, kw + " /var/log/ha-log")) return;
      if (l.words[1][0] != '/') {
        diag_.error(l.number, kw + ": '" + shown(l.words[1]) + "' must be an absolute path");
        return;
      }
      (kw == "logfile" ? cfg_.logfile : cfg_.debugfile) = l.words[1];
    } else if (kw == "logfacility") {
      once(l);
      if (!arity(l, 1, 1, "logfacility local0")) return;
      const std::string& f = l.words[1];
      if (!one_of(f, {"none", "auth", "authpriv", "cron", "daemon", "kern", "lpr", "mail", "news",
                      "syslog", "user", "uucp", "local0", "local1", "local2", "local3", "local4",
                      "local5", "local6", "local7"})) {
        diag_.error(l.number, "logfacility '" + shown(f) +
                                  "' is not a syslog facility (daemon, local0-local7, ..., or "
                                  "none)");
        return;
      }
      cfg_.logfacility = f;
    } else if (kw == "realtime") {
      once(l);
      if (!arity(l, 1, 1, "realtime on|off")) return;
      auto b = hb_config::parse_bool(l.words[1]);
      if (!b) {
        diag_.error(l.number, "realtime '" + shown(l.words[1]) + "' is not valid (on/off)");
        return;
      }
      cfg_.realtime = *b;
    } else if (kw == "use_logd") {
      once(l);
      if (!arity(l, 1, 1, "use_logd yes|no")) return;
      auto b = hb_config::parse_bool(l.words[1]);
      if (!b) {
        diag_.error(l.number, "use_logd '" + shown(l.words[1]) + "' is not valid (yes/no)");
        return;
      }
      cfg_.use_logd = *b;
      if (*b) {
        diag_.warn(l.number, "use_logd: clusterd logs itself (logfile/logfacility); ha_logd is "
                             "not used");
      }
    } else if (kw == "crm" || kw == "pacemaker") {
      if (!arity(l, 1, 1, kw + " no")) return;
      auto b = hb_config::parse_bool(l.words[1]);
      if (b && !*b) return;  // `crm no`: the v1 mode we are
      diag_.error(l.number, "crm/pacemaker mode is not supported: clusterd runs haresources (v1) "
                            "style; remove '" + kw + " " + shown(l.words[1]) +
                            "' and list resources in haresources");
    } else if (kw == "stonith" || kw == "stonith_host") {
      diag_.error(l.number, "'" + kw + "': Heartbeat STONITH plugins are not supported; use "
                            "'stonith_command /path/to/fence-program [args]' (called with the "
                            "node to fence as the last argument)");
    } else if (kw == "baud" || kw == "serial") {
      diag_.warn(l.number, "'" + kw + "' accepted, ignored: no serial links here (use bcast, "
                           "mcast or ucast)");
    } else if (std::find(std::begin(kIgnoredDirectives), std::end(kIgnoredDirectives), kw) !=
               std::end(kIgnoredDirectives)) {
      diag_.warn(l.number, "'" + kw + "' accepted, ignored (not used by clusterd)");
    } else {
      diag_.warn(l.number, "unknown directive '" + shown(kw) + "', ignored (check the spelling)");
    }
  }

  // ---- whole-file checks ------------------------------------------------------------------

  int line_of(const std::string& kw) const {
    auto it = lines_.find(kw);
    return it == lines_.end() ? 0 : it->second;
  }

  void finish() {
    if (!given_.count("warntime")) {
      cfg_.warntime = cfg_.keepalive + (cfg_.deadtime - cfg_.keepalive) / 2;
    }
    if (!given_.count("initdead")) cfg_.initdead = 2 * cfg_.deadtime;
    if (!given_.count("deadping")) cfg_.deadping = cfg_.deadtime;

    if (cfg_.deadtime <= cfg_.keepalive) {
      diag_.error(line_of("deadtime") ? line_of("deadtime") : line_of("keepalive"),
                  "deadtime (" + ms_text(cfg_.deadtime) + ") must be longer than keepalive (" +
                      ms_text(cfg_.keepalive) + "); several keepalives should fit in it");
    } else if (given_.count("warntime") &&
               (cfg_.warntime <= cfg_.keepalive || cfg_.warntime >= cfg_.deadtime)) {
      diag_.warn(line_of("warntime"), "warntime (" + ms_text(cfg_.warntime) +
                                          ") should be between keepalive (" +
                                          ms_text(cfg_.keepalive) + ") and deadtime (" +
                                          ms_text(cfg_.deadtime) + ")");
    }
    if (given_.count("initdead") && cfg_.initdead < 2 * cfg_.deadtime) {
      diag_.warn(line_of("initdead"), "initdead (" + ms_text(cfg_.initdead) +
                                          ") should be at least twice deadtime (" +
                                          ms_text(cfg_.deadtime) +
                                          "): networks may come up slowly at boot");
    }
    if (!cfg_.auto_failback_given) {
      if (nice_failback_) {
        cfg_.auto_failback = *nice_failback_ ? AutoFailback::Off : AutoFailback::On;
      } else {
        diag_.warn(0, "auto_failback not set: legacy (resources fail back to their preferred "
                      "node); write 'auto_failback on' or 'auto_failback off'");
      }
    }
    // (A refused medium or node line already said what is wrong: no second message.)
    if (cfg_.media.empty() && !(medium_lines_ && diag_.failed())) {
      diag_.error(0, "no heartbeat medium: add a bcast, mcast or ucast line (e.g. "
                     "'ucast eth1 198.18.1.12')");
    }
    if (cfg_.nodes.size() < 2 && !(node_lines_ && diag_.failed())) {
      diag_.error(0, "at least two nodes are needed (" + std::to_string(cfg_.nodes.size()) +
                         " listed): add 'node asterisk1 asterisk2'");
    }
    for (const PingGroup& g : cfg_.ping_groups) {
      if (cfg_.has_node(g.name)) {
        diag_.error(g.line, "ping group '" + g.name + "' has the name of a node; rename it");
      }
    }
  }

  Diagnostics diag_;
  const HeartbeatConfigLimits& limits_;
  HaConfig cfg_;
  std::map<std::string, int> seen_;
  std::map<std::string, int> lines_;
  std::set<std::string> given_;
  std::optional<bool> nice_failback_;
  std::uint16_t current_port_ = 694;
  bool medium_lines_ = false;
  bool node_lines_ = false;
};

}  // namespace

std::string_view to_string(MediumKind k) {
  switch (k) {
    case MediumKind::Bcast: return "bcast";
    case MediumKind::Mcast: return "mcast";
    case MediumKind::Ucast: return "ucast";
  }
  return "?";
}

std::string_view to_string(AutoFailback a) {
  switch (a) {
    case AutoFailback::On: return "on";
    case AutoFailback::Off: return "off";
    case AutoFailback::Legacy: return "legacy";
  }
  return "?";
}

bool HaConfig::has_node(std::string_view name) const {
  return std::find(nodes.begin(), nodes.end(), name) != nodes.end();
}

std::optional<std::chrono::milliseconds> parse_hb_duration(std::string_view text) {
  std::int64_t scale_num = 1000;  // the unit in ms: seconds by default
  for (auto [suffix, ms] : {std::pair<std::string_view, std::int64_t>{"msec", 1},
                            {"ms", 1}, {"sec", 1000}, {"s", 1000}}) {
    if (text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix) {
      text.remove_suffix(suffix.size());
      scale_num = ms;
      break;
    }
  }
  if (text.empty() || text.size() > 15) return std::nullopt;
  const std::size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (dot != std::string_view::npos && frac.empty()) return std::nullopt;
  if (whole.empty() && frac.empty()) return std::nullopt;
  std::int64_t w = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return std::nullopt;
    w = w * 10 + (c - '0');
  }
  // value = (w + frac) * scale_num ms; must be a whole number of ms.
  std::int64_t num = w;  // numerator over 10^digits
  std::int64_t den = 1;
  for (char c : frac) {
    if (c < '0' || c > '9') return std::nullopt;
    num = num * 10 + (c - '0');
    den *= 10;
  }
  const std::int64_t scaled = num * scale_num;
  if (scaled % den != 0) return std::nullopt;
  const std::int64_t ms = scaled / den;
  if (ms > 24LL * 3600 * 1000) return std::nullopt;
  return std::chrono::milliseconds(ms);
}

Result<HaConfig> parse_ha_cf(std::string_view text, const std::string& file,
                             const HeartbeatConfigLimits& limits) {
  return Parser(file, limits).run(text);
}

Result<HaConfig> load_ha_cf(const std::string& path) {
  const HeartbeatConfigLimits limits;
  auto text = hb_config::read_text_file(path, limits.max_file_bytes);
  if (!text.ok()) return text.error();
  return parse_ha_cf(*text, path, limits);
}

}  // namespace hapbx::cluster
