// Interop with unmodified Heartbeat 3 configuration files (the non-CRM, haresources mode that
// Heartbeat 3.0 clusters ran): an ha.cf, haresources and authkeys written the way such users
// wrote them (written for this test, not copied from Heartbeat) load in clusterd: every directive
// clusterd does not apply is a warning naming file:line (serial links among them), nothing is an
// error, and each haresources resource maps to the agent Heartbeat would have run (IPaddr2 ->
// VIP, drbddisk -> replica, Filesystem -> mount, anything else -> an LSB script called as
// `script arg... start|stop|status`). When Debian's heartbeat package is installed, its own
// sample files (/usr/share/doc/heartbeat) are read too, at test time only: as shipped, and with
// their commented examples switched on.
#include <stdio.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cluster/authkeys.h"
#include "cluster/ha_config.h"
#include "cluster/haresources.h"
#include "cluster/resource_agent.h"
#include "support/temp_dir.h"

namespace hapbx::cluster {
namespace {

using std::chrono::milliseconds;

// The 1-based number of the first line whose first word is `word` (0: none).
int line_of(const std::string& text, const std::string& word, int nth = 1) {
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::istringstream words(line);
    std::string first;
    if (words >> first && first == word && --nth == 0) return n;
  }
  return 0;
}

// Warnings by line, each checked to start with "FILE:LINE: ".
std::map<int, std::string> warnings_by_line(const std::vector<ConfigWarning>& warnings,
                                            const std::string& file) {
  std::map<int, std::string> out;
  for (const ConfigWarning& w : warnings) {
    EXPECT_EQ(w.file, file) << w.message;
    if (w.line > 0) {
      EXPECT_EQ(w.message.rfind(file + ":" + std::to_string(w.line) + ": ", 0), 0u) << w.message;
    }
    out[w.line] += w.message + "\n";
  }
  return out;
}

// --- A Heartbeat 3 ha.cf as its users wrote it ---------------------------------------------------

const std::string kHaCfFile = "/etc/ha.d/ha.cf";
const std::string kHaCf = R"(# /etc/ha.d/ha.cf of the mail cluster (alpha + bravo), Heartbeat 3.0.x
# in R1 mode: resources come from haresources, no CRM.

crm no

# Logging goes through ha_logd; the files are kept for when it is not running.
use_logd yes
logfile /var/log/ha-log
debugfile /var/log/ha-debug
logfacility local0
debug 0

# Timings, in seconds.
keepalive 1
deadtime 10
warntime 5
initdead 60

# Heartbeat paths: the crossover cable (eth1), the storage VLAN and multicast on the LAN.
udpport 694
bcast eth1
ucast eth2 10.10.10.2
mcast eth0 239.0.0.43 694 1 0

# The old null-modem cable between the two boxes.
baud 19200
serial /dev/ttyS0

# Big messages are compressed.
compression bz2
compression_threshold 2
traditional_compression off

# legacy: fail back unless a node does not support auto_failback.
auto_failback legacy

node alpha bravo

# ipfail moves the resources away from a node that loses the router.
ping 192.168.10.1
deadping 20
respawn hacluster /usr/lib/heartbeat/ipfail
apiauth ipfail gid=haclient uid=hacluster
apiauth default gid=haclient

hopfudge 1
realtime on
coredumps true
autojoin none
msgfmt classic
uuidfrom nodename
watchdog /dev/watchdog
conn_logd_time 60
)";

TEST(Heartbeat3Interop, HaCfLoadsWithWarningsNamingTheLine) {
  auto parsed = parse_ha_cf(kHaCf, kHaCfFile);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const HaConfig& c = *parsed;

  // What clusterd applies.
  EXPECT_EQ(c.keepalive, milliseconds(1000));
  EXPECT_EQ(c.deadtime, milliseconds(10000));
  EXPECT_EQ(c.warntime, milliseconds(5000));
  EXPECT_EQ(c.initdead, milliseconds(60000));
  EXPECT_EQ(c.deadping, milliseconds(20000));
  EXPECT_EQ(c.nodes, (std::vector<std::string>{"alpha", "bravo"}));
  EXPECT_EQ(c.auto_failback, AutoFailback::Legacy);
  EXPECT_TRUE(c.auto_failback_given);
  EXPECT_TRUE(c.fails_back());
  ASSERT_EQ(c.media.size(), 3u);
  EXPECT_EQ(c.media[0].kind, MediumKind::Bcast);
  EXPECT_EQ(c.media[0].interface, "eth1");
  EXPECT_EQ(c.media[0].port, 694);
  EXPECT_EQ(c.media[1].kind, MediumKind::Ucast);
  EXPECT_EQ(c.media[1].interface, "eth2");
  EXPECT_EQ(c.media[1].address, "10.10.10.2");
  EXPECT_EQ(c.media[2].kind, MediumKind::Mcast);
  EXPECT_EQ(c.media[2].address, "239.0.0.43");
  EXPECT_EQ(c.media[2].ttl, 1);
  EXPECT_FALSE(c.media[2].loop);
  ASSERT_EQ(c.ping_groups.size(), 1u);
  EXPECT_EQ(c.ping_groups[0].addresses, (std::vector<std::string>{"192.168.10.1"}));
  ASSERT_EQ(c.respawn.size(), 1u);
  EXPECT_EQ(c.respawn[0].user, "hacluster");
  EXPECT_EQ(c.respawn[0].command, (std::vector<std::string>{"/usr/lib/heartbeat/ipfail"}));
  EXPECT_EQ(c.logfile, "/var/log/ha-log");
  EXPECT_EQ(c.debugfile, "/var/log/ha-debug");
  EXPECT_EQ(c.logfacility, "local0");
  EXPECT_TRUE(c.use_logd);
  EXPECT_TRUE(c.stonith_command.empty());
  EXPECT_TRUE(c.realtime);  // applied: the heartbeat loop at SCHED_RR

  // Everything clusterd does not apply is a warning on its own line, and nothing else warns.
  const auto warned = warnings_by_line(c.warnings, kHaCfFile);
  std::set<int> expected;
  for (const char* kw : {"use_logd", "debug", "baud", "serial", "compression", "compression_threshold",
                         "traditional_compression", "hopfudge", "coredumps", "autojoin",
                         "msgfmt", "uuidfrom", "watchdog", "conn_logd_time"}) {
    const int n = line_of(kHaCf, kw);
    ASSERT_GT(n, 0) << kw;
    expected.insert(n);
    EXPECT_TRUE(warned.count(n)) << kw << " (line " << n << ") was not warned about";
  }
  for (int nth : {1, 2}) {
    const int n = line_of(kHaCf, "apiauth", nth);
    expected.insert(n);
    EXPECT_TRUE(warned.count(n)) << "apiauth (line " << n << ") was not warned about";
  }
  // The model holds these; whether the daemon applies them (its own logging, respawning
  // Heartbeat's ipfail) is its business: a warning there is fine, none is too.
  std::set<int> tolerated;
  for (const char* kw : {"logfile", "debugfile", "logfacility", "respawn"}) tolerated.insert(line_of(kHaCf, kw));
  for (const auto& [n, text] : warned) {
    EXPECT_TRUE(expected.count(n) || tolerated.count(n)) << "unexpected warning: " << text;
  }
  // serial: not a medium here, and the warning says so.
  const std::string serial = warned.count(line_of(kHaCf, "serial")) ? warned.at(line_of(kHaCf, "serial")) : "";
  EXPECT_NE(serial.find("serial"), std::string::npos) << serial;
  EXPECT_NE(serial.find("bcast, mcast or ucast"), std::string::npos) << serial;
}

TEST(Heartbeat3Interop, HeartbeatBooleansAndOneNodeLinePerNode) {
  const std::string base = "bcast eth0\nnode alpha\nnode bravo\n";
  for (const char* v : {"crm no", "crm off", "crm false", "crm n", "crm 0"}) {
    auto c = parse_ha_cf(base + v + "\nauto_failback on\n", "ha.cf");
    EXPECT_TRUE(c.ok()) << v << ": " << c.error().message;
  }
  for (const char* v : {"auto_failback yes", "auto_failback true", "auto_failback 1"}) {
    auto c = parse_ha_cf(base + v + "\n", "ha.cf");
    ASSERT_TRUE(c.ok()) << v << ": " << c.error().message;
    EXPECT_EQ(c->auto_failback, AutoFailback::On) << v;
  }
  // nice_failback (Heartbeat 1's name) maps onto auto_failback, with a deprecation warning.
  auto nice = parse_ha_cf(base + "nice_failback on\n", "ha.cf");
  ASSERT_TRUE(nice.ok()) << nice.error().message;
  EXPECT_EQ(nice->auto_failback, AutoFailback::Off);
  ASSERT_EQ(nice->warnings.size(), 1u);
  EXPECT_EQ(nice->warnings[0].line, 4);
}

TEST(Heartbeat3Interop, SerialAloneIsNoMedium) {
  // A two-node cluster that only had the serial cable: the warning names the line and the
  // error says which media clusterd has.
  auto c = parse_ha_cf("baud 19200\nserial /dev/ttyS0\nnode alpha bravo\nauto_failback off\n", "ha.cf");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("ha.cf: no heartbeat medium"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("bcast, mcast or ucast"), std::string::npos) << c.error().message;
}

// --- haresources -------------------------------------------------------------------------------

const std::string kHaresourcesFile = "/etc/ha.d/haresources";
const std::string kHaresources = R"(# /etc/ha.d/haresources of the mail cluster.
#
#  node-name  resource1 resource2 ...   (started left to right, stopped right to left)
#

alpha	IPaddr2::192.168.10.50/24/eth0 \
	drbddisk::r0 \
	Filesystem::/dev/drbd0::/srv/mail::ext4 \
	postfix dovecot \
	MailTo::root::MailFailover

# the web half prefers bravo
bravo IPaddr::192.168.10.51/255.255.255.0/eth0:1/192.168.10.255 drbddisk::r1 Filesystem::/dev/drbd1::/srv/www::ext4::noatime apache2::/etc/apache2/apache2.conf MailTo::root
)";

TEST(Heartbeat3Interop, HaresourcesMapToTheRightAgents) {
  auto parsed = parse_haresources(kHaresources, kHaresourcesFile);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_TRUE(parsed->warnings.empty()) << parsed->warnings.front().message;
  ASSERT_EQ(parsed->groups.size(), 2u);

  const ResourceGroup& mail = parsed->groups[0];
  EXPECT_EQ(mail.preferred_node, "alpha");
  EXPECT_EQ(mail.line, line_of(kHaresources, "alpha"));
  ASSERT_EQ(mail.resources.size(), 6u);
  const auto& vip = mail.resources[0];
  ASSERT_EQ(vip.kind(), ResourceKind::Vip);
  EXPECT_EQ(std::get<VipSpec>(vip.spec).address, "192.168.10.50");
  EXPECT_EQ(std::get<VipSpec>(vip.spec).prefix_length, 24);
  EXPECT_EQ(std::get<VipSpec>(vip.spec).interface, "eth0");
  ASSERT_EQ(mail.resources[1].kind(), ResourceKind::Replica);
  EXPECT_EQ(std::get<ReplicaSpec>(mail.resources[1].spec).resource, "r0");
  ASSERT_EQ(mail.resources[2].kind(), ResourceKind::Filesystem);
  const auto& fs = std::get<FilesystemSpec>(mail.resources[2].spec);
  EXPECT_EQ(fs.device, "/dev/drbd0");
  EXPECT_EQ(fs.mountpoint, "/srv/mail");
  EXPECT_EQ(fs.fstype, "ext4");
  EXPECT_EQ(fs.options, "");
  for (std::size_t i : {3u, 4u, 5u}) ASSERT_EQ(mail.resources[i].kind(), ResourceKind::Lsb) << i;
  EXPECT_EQ(std::get<LsbSpec>(mail.resources[3].spec).script, "postfix");
  EXPECT_TRUE(mail.resources[3].args.empty());
  EXPECT_EQ(std::get<LsbSpec>(mail.resources[4].spec).script, "dovecot");
  EXPECT_EQ(std::get<LsbSpec>(mail.resources[5].spec).script, "MailTo");
  EXPECT_EQ(mail.resources[5].args, (std::vector<std::string>{"root", "MailFailover"}));

  const ResourceGroup& web = parsed->groups[1];
  EXPECT_EQ(web.preferred_node, "bravo");
  ASSERT_EQ(web.resources.size(), 5u);
  ASSERT_EQ(web.resources[0].kind(), ResourceKind::Vip);
  const auto& alias = std::get<VipSpec>(web.resources[0].spec);
  EXPECT_EQ(alias.address, "192.168.10.51");
  EXPECT_EQ(alias.prefix_length, 24);  // from the dotted netmask
  EXPECT_EQ(alias.interface, "eth0");
  EXPECT_EQ(alias.label, "eth0:1");
  EXPECT_EQ(std::get<ReplicaSpec>(web.resources[1].spec).resource, "r1");
  EXPECT_EQ(std::get<FilesystemSpec>(web.resources[2].spec).options, "noatime");
  ASSERT_EQ(web.resources[3].kind(), ResourceKind::Lsb);
  EXPECT_EQ(std::get<LsbSpec>(web.resources[3].spec).script, "apache2");
  EXPECT_EQ(web.resources[3].args, (std::vector<std::string>{"/etc/apache2/apache2.conf"}));
  EXPECT_EQ(web.resources[4].kind(), ResourceKind::Lsb);  // MailTo again: allowed in every group

  auto cfg = parse_ha_cf(kHaCf, kHaCfFile);
  ASSERT_TRUE(cfg.ok());
  EXPECT_TRUE(check_haresources_nodes(*parsed, *cfg).ok());
}

// Heartbeat runs resource.d and init.d scripts as `script arg1 arg2 ... verb`: the LSB agent of a
// `MailTo::root::MailFailover` resource does the same, and reads status from the exit code.
TEST(Heartbeat3Interop, LsbScriptsAreCalledAsHeartbeatCallsThem) {
  testing::TempDir dir("hb3-interop");
  ASSERT_FALSE(dir.path().empty());
  const std::string calls = dir.str() + "/calls";
  {
    std::ofstream s(dir.str() + "/MailTo");
    s << "#!/bin/sh\necho \"$*\" >>'" << calls << "'\n"
      << "case \"$3\" in status) exit 3 ;; esac\nexit 0\n";
  }
  ASSERT_EQ(chmod((dir.str() + "/MailTo").c_str(), 0755), 0);
  auto res = parse_haresources("alpha IPaddr2::192.168.10.50/24/eth0 MailTo::root::MailFailover\n", "haresources");
  ASSERT_TRUE(res.ok()) << res.error().message;
  const ResourceSpec& r = res->groups[0].resources[1];
  LsbOptions o;
  o.script_dirs = {dir.str() + "/resource.d", dir.str()};  // resource.d first, like /etc/ha.d/resource.d
  auto agent = make_lsb_agent(std::get<LsbSpec>(r.spec).script, r.args, o);
  EXPECT_EQ(agent->name(), "MailTo::root::MailFailover");
  ASSERT_TRUE(agent->start().ok());
  auto st = agent->status();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(*st, AgentState::Stopped);  // exit 3
  ASSERT_TRUE(agent->stop().ok());
  std::ifstream in(calls);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), "root MailFailover start\nroot MailFailover status\nroot MailFailover stop\n");
}

// Heartbeat's haresources shorthand: a word that is an IPv4 address (optionally with
// /prefix/interface[/broadcast]) is an IPaddr resource, as in `node1 10.0.0.170 httpd`. It must
// never become an LSB script named like an address. clusterd does not guess the prefix or the
// interface, so the bare address is an error naming the line and the form to write.
TEST(Heartbeat3Interop, BareAddressIsIPaddr) {
  auto full = parse_haresources("alpha 192.168.10.50/24/eth0 postfix\n", "haresources");
  ASSERT_TRUE(full.ok()) << full.error().message;
  ASSERT_EQ(to_string(full->groups[0].resources[0].kind()), "vip");
  EXPECT_EQ(std::get<VipSpec>(full->groups[0].resources[0].spec).address, "192.168.10.50");
  EXPECT_EQ(std::get<VipSpec>(full->groups[0].resources[0].spec).interface, "eth0");

  auto bcast = parse_haresources("alpha 192.168.10.3/28/eth0/192.168.10.15 httpd\n", "haresources");
  ASSERT_TRUE(bcast.ok()) << bcast.error().message;
  ASSERT_EQ(to_string(bcast->groups[0].resources[0].kind()), "vip");
  EXPECT_EQ(std::get<VipSpec>(bcast->groups[0].resources[0].spec).prefix_length, 28);

  auto bare = parse_haresources("# comment\nalpha 192.168.10.50 postfix\n", "haresources");
  if (bare.ok()) {
    EXPECT_NE(to_string(bare->groups[0].resources[0].kind()), "lsb")
        << "a bare address became an LSB script named '" << bare->groups[0].resources[0].type << "'";
  } else {
    EXPECT_NE(bare.error().message.find("haresources:2:"), std::string::npos) << bare.error().message;
    EXPECT_NE(bare.error().message.find("192.168.10.50/24/eth0"), std::string::npos) << bare.error().message;
  }
}

TEST(Heartbeat3Interop, AuthkeysAsHeartbeatWritesThem) {
  const std::string text =
      "#\n#\tAuthentication file.  Must be mode 600\n#\nauth 2\n1 crc\n2 sha1 4f9c1e0b7d2a86e3\n3 md5 rotate-me-soon\n";
  auto keys = parse_authkeys(text, "/etc/ha.d/authkeys");
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  EXPECT_EQ(keys->active_line, 4);
  EXPECT_EQ(keys->keys.size(), 3u);
  // crc authenticates nothing: a warning on its line.
  bool crc_warned = false;
  for (const auto& w : keys->warnings) crc_warned |= w.line == 5 && w.message.rfind("/etc/ha.d/authkeys:5: ", 0) == 0;
  EXPECT_TRUE(crc_warned);
}

// --- Debian's heartbeat package: its own sample files, read at test time when installed -------

const std::string kDocDir = "/usr/share/doc/heartbeat";

// The text of a (possibly gzipped) file of the package; nullopt when it is not installed.
std::optional<std::string> package_file(const std::string& name) {
  struct stat st {};
  std::string cmd;
  if (stat((kDocDir + "/" + name + ".gz").c_str(), &st) == 0) {
    cmd = "gzip -dc '" + kDocDir + "/" + name + ".gz'";
  } else if (stat((kDocDir + "/" + name).c_str(), &st) == 0) {
    cmd = "cat '" + kDocDir + "/" + name + "'";
  } else {
    return std::nullopt;
  }
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return std::nullopt;
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  if (pclose(p) != 0) return std::nullopt;
  return out;
}

// Heartbeat 3's ha.cf directives (as its documentation lists them).
const std::set<std::string> kHaCfDirectives = {
    "debugfile", "logfile", "logfacility", "keepalive", "deadtime", "warntime", "initdead",
    "udpport", "baud", "serial", "bcast", "mcast", "ucast", "auto_failback", "stonith",
    "stonith_host", "watchdog", "node", "ping", "ping_group", "hbaping", "respawn", "apiauth",
    "hopfudge", "deadping", "hbgenmethod", "realtime", "debug", "msgfmt", "use_logd",
    "conn_logd_time", "compression", "compression_threshold", "traditional_compression", "crm",
    "autojoin", "coredumps", "uuidfrom"};

// The sample with every commented directive example switched on ("#keepalive 2" -> "keepalive
// 2"); `skip` directives stay commented.
std::string uncomment_examples(const std::string& text, const std::set<std::string>& skip,
                               std::set<int>* switched_on) {
  static const std::regex example(R"(^#([a-z_]+)[ \t]+\S.*$)");
  std::istringstream in(text);
  std::string out, line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::smatch m;
    if (std::regex_match(line, m, example) && kHaCfDirectives.count(m[1]) && !skip.count(m[1])) {
      line = line.substr(1);
      if (switched_on) switched_on->insert(n);
    }
    out += line + "\n";
  }
  return out;
}

TEST(Heartbeat3Interop, DebianSampleHaCf) {
  auto text = package_file("ha.cf");
  if (!text) GTEST_SKIP() << "Debian's heartbeat package is not installed (" << kDocDir << "/ha.cf.gz)";
  const std::string file = "ha.cf (heartbeat sample)";

  // As shipped it lists no node and no medium: Heartbeat refuses to start with it, and so do we,
  // with exactly those two errors.
  auto shipped = parse_ha_cf(*text, file);
  ASSERT_FALSE(shipped.ok());
  const std::string& why = shipped.error().message;
  EXPECT_NE(why.find("no heartbeat medium"), std::string::npos) << why;
  EXPECT_NE(why.find("at least two nodes"), std::string::npos) << why;
  EXPECT_EQ(std::count(why.begin(), why.end(), '\n'), 1) << why;

  // Every example switched on: the only errors are the STONITH plugin lines (refused on purpose:
  // ignoring a fencing setup would make takeovers unsafe), each naming its line.
  std::set<int> on;
  const std::string all = uncomment_examples(*text, {}, &on);
  ASSERT_GT(on.size(), 20u) << "the sample's examples were not recognised";
  auto with_stonith = parse_ha_cf(all, file);
  ASSERT_FALSE(with_stonith.ok());
  std::istringstream errors(with_stonith.error().message);
  int stonith_errors = 0;
  for (std::string e; std::getline(errors, e);) {
    const std::regex place("^" + std::regex_replace(file, std::regex(R"([()])"), R"(\$&)") + R"(:(\d+): .*)");
    std::smatch m;
    ASSERT_TRUE(std::regex_match(e, m, place)) << e;
    const int n = std::stoi(m[1]);
    EXPECT_TRUE(e.find("STONITH plugins are not supported") != std::string::npos) << "not a stonith error: " << e;
    EXPECT_TRUE(n == line_of(all, "stonith") || n == line_of(all, "stonith_host") ||
                n == line_of(all, "stonith_host", 2) || n == line_of(all, "stonith_host", 3))
        << e;
    ++stonith_errors;
  }
  EXPECT_EQ(stonith_errors, 4) << with_stonith.error().message;

  // Without the STONITH lines it loads; every warning names one of the switched-on lines.
  const std::string loadable = uncomment_examples(*text, {"stonith", "stonith_host"}, nullptr);
  auto c = parse_ha_cf(loadable, file);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->nodes, (std::vector<std::string>{"ken3", "kathy"}));
  EXPECT_FALSE(c->media.empty());
  EXPECT_EQ(c->auto_failback, AutoFailback::On);  // the sample's one active setting besides logfacility
  EXPECT_EQ(c->logfacility, "local0");
  for (const auto& [n, message] : warnings_by_line(c->warnings, file)) {
    EXPECT_TRUE(on.count(n)) << "a warning about a line that is not a directive: " << message;
  }
  // The serial lines are warnings (no serial links here), each on its own line.
  for (int nth = 1; nth <= 4; ++nth) {
    const int n = line_of(loadable, "serial", nth);
    if (n == 0) break;
    bool warned = false;
    for (const auto& w : c->warnings) warned |= w.line == n && w.message.find("serial") != std::string::npos;
    EXPECT_TRUE(warned) << "serial at line " << n;
  }
}

TEST(Heartbeat3Interop, DebianSampleHaresources) {
  auto text = package_file("haresources");
  if (!text) GTEST_SKIP() << "Debian's heartbeat package is not installed (" << kDocDir << "/haresources.gz)";
  const std::string file = "haresources (heartbeat sample)";
  // As shipped every line is a comment: no group, a warning.
  auto shipped = parse_haresources(*text, file);
  ASSERT_TRUE(shipped.ok()) << shipped.error().message;
  EXPECT_TRUE(shipped->groups.empty());
  EXPECT_FALSE(shipped->warnings.empty());

  // Each commented example group (node name, then resources starting with an address), switched
  // on alone: the address words are IPaddr resources, never LSB scripts named like an address.
  static const std::regex example(R"(^#([a-z0-9][a-z0-9.-]*)[ \t]+([0-9][^ \t]*)([ \t].*)?$)");
  std::istringstream in(*text);
  int examples = 0;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, example)) continue;
    ++examples;
    const std::string group = line.substr(1);
    auto r = parse_haresources(group + "\n", file);
    if (!r.ok()) {
      // clusterd does not guess a prefix or an interface: an error is fine if it says so.
      EXPECT_NE(r.error().message.find("IPaddr"), std::string::npos) << group << ": " << r.error().message;
      continue;
    }
    ASSERT_EQ(r->groups.size(), 1u) << group;
    for (const ResourceSpec& s : r->groups[0].resources) {
      if (!s.text.empty() && s.text[0] >= '0' && s.text[0] <= '9') {
        EXPECT_EQ(to_string(s.kind()), "vip") << group << ": '" << s.text << "' is not an IPaddr resource";
      }
    }
  }
  EXPECT_GE(examples, 3) << "the sample's example groups were not recognised";
}

TEST(Heartbeat3Interop, DebianSampleAuthkeys) {
  auto text = package_file("authkeys");
  if (!text) GTEST_SKIP() << "Debian's heartbeat package is not installed (" << kDocDir << "/authkeys)";
  // Its example keys switched on ("#auth 1" -> "auth 1", "#1 crc" ...): they load.
  static const std::regex example(R"(^#((auth [0-9]+)|([0-9]+ (crc|sha1|md5)( .*)?))$)");
  std::istringstream in(*text);
  std::string on;
  for (std::string line; std::getline(in, line);) {
    on += (std::regex_match(line, example) ? line.substr(1) : line) + "\n";
  }
  auto keys = parse_authkeys(on, "authkeys (heartbeat sample)");
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  EXPECT_EQ(keys->keys.size(), 3u);
}

}  // namespace
}  // namespace hapbx::cluster
