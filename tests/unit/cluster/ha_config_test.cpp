// Tests of the ha.cf parser: a typical Heartbeat 3 file as written, durations and units, media
// and udpport order, every error class with its file:line, warnings, and hostile input.
#include "cluster/ha_config.h"

#include <gtest/gtest.h>

#include <string>

namespace hapbx::cluster {
namespace {

using std::chrono::milliseconds;

// A typical Heartbeat 3 ha.cf, written out from the documented directives and in the style of
// the sample file that ships with Heartbeat.
const std::string kTypical = R"(#
#	There are lots of options in this file.  All you have to have is a set
#	of nodes listed {"node ...} one of {serial, bcast, mcast, or ucast},
#	and a value for "auto_failback".
#
#	Keep udpport above the media: the file is read in order.
#
debugfile /var/log/ha-debug
logfile	/var/log/ha-log
logfacility	local0
#
#	keepalive: how long between heartbeats (seconds unless "ms")
keepalive 2
#	deadtime: how long-to-declare-host-dead
deadtime 30
#	warntime: how long before issuing "late heartbeat" warning
warntime 10
#	initdead: very first dead time (initdead), at least twice deadtime
initdead 120
#
udpport	694
bcast	eth0		# Linux
mcast eth0 225.0.0.1 694 1 0
ucast eth1 10.0.0.2
#
auto_failback on
#
node	asterisk1
node	asterisk2
#
ping 10.10.10.254
ping_group group1 10.10.10.254 10.10.10.253
#
respawn hacluster /usr/lib/heartbeat/ipfail
deadping 30
use_logd no
crm no
)";

Result<HaConfig> parse(const std::string& text) { return parse_ha_cf(text, "ha.cf"); }

HaConfig ok(const std::string& text) {
  auto cfg = parse(text);
  EXPECT_TRUE(cfg.ok()) << cfg.error().message;
  return cfg.ok() ? std::move(cfg.value()) : HaConfig{};
}

std::string error_of(const std::string& text) {
  auto cfg = parse(text);
  EXPECT_FALSE(cfg.ok()) << "loaded: " << text;
  return cfg.ok() ? std::string("(loaded)") : cfg.error().message;
}

std::string warnings_of(const HaConfig& cfg) {
  std::string out;
  for (const auto& w : cfg.warnings) out += w.message + "\n";
  return out;
}

// Enough for a valid file; tests add what they check.
const std::string kMinimal = "ucast eth1 198.18.1.12\nnode a b\nauto_failback off\n";

TEST(HaConfig, TypicalHeartbeatFileLoadsAsWritten) {
  HaConfig cfg = ok(kTypical);
  EXPECT_EQ(cfg.keepalive, milliseconds(2000));
  EXPECT_EQ(cfg.deadtime, milliseconds(30000));
  EXPECT_EQ(cfg.warntime, milliseconds(10000));
  EXPECT_EQ(cfg.initdead, milliseconds(120000));
  EXPECT_EQ(cfg.deadping, milliseconds(30000));
  EXPECT_EQ(cfg.udpport, 694);
  ASSERT_EQ(cfg.media.size(), 3u);
  EXPECT_EQ(cfg.media[0].kind, MediumKind::Bcast);
  EXPECT_EQ(cfg.media[0].interface, "eth0");
  EXPECT_EQ(cfg.media[0].port, 694);
  EXPECT_EQ(cfg.media[0].line, 22);
  EXPECT_EQ(cfg.media[1].kind, MediumKind::Mcast);
  EXPECT_EQ(cfg.media[1].address, "225.0.0.1");
  EXPECT_EQ(cfg.media[1].ttl, 1);
  EXPECT_FALSE(cfg.media[1].loop);
  EXPECT_EQ(cfg.media[2].kind, MediumKind::Ucast);
  EXPECT_EQ(cfg.media[2].interface, "eth1");
  EXPECT_EQ(cfg.media[2].address, "10.0.0.2");
  EXPECT_EQ(cfg.auto_failback, AutoFailback::On);
  EXPECT_TRUE(cfg.fails_back());
  EXPECT_EQ(cfg.nodes, (std::vector<std::string>{"asterisk1", "asterisk2"}));
  ASSERT_EQ(cfg.ping_groups.size(), 2u);
  EXPECT_EQ(cfg.ping_groups[0].name, "10.10.10.254");
  EXPECT_EQ(cfg.ping_groups[1].name, "group1");
  EXPECT_EQ(cfg.ping_groups[1].addresses.size(), 2u);
  ASSERT_EQ(cfg.respawn.size(), 1u);
  EXPECT_EQ(cfg.respawn[0].user, "hacluster");
  EXPECT_EQ(cfg.respawn[0].command, std::vector<std::string>{"/usr/lib/heartbeat/ipfail"});
  EXPECT_EQ(cfg.logfile, "/var/log/ha-log");
  EXPECT_EQ(cfg.debugfile, "/var/log/ha-debug");
  EXPECT_EQ(cfg.logfacility, "local0");
  EXPECT_FALSE(cfg.use_logd);
  EXPECT_TRUE(cfg.stonith_command.empty());
  EXPECT_TRUE(cfg.warnings.empty()) << warnings_of(cfg);
}

TEST(HaConfig, Durations) {
  EXPECT_EQ(parse_hb_duration("2"), milliseconds(2000));
  EXPECT_EQ(parse_hb_duration("0.5"), milliseconds(500));
  EXPECT_EQ(parse_hb_duration(".25"), milliseconds(250));
  EXPECT_EQ(parse_hb_duration("200ms"), milliseconds(200));
  EXPECT_EQ(parse_hb_duration("500msec"), milliseconds(500));
  EXPECT_EQ(parse_hb_duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(parse_hb_duration("2sec"), milliseconds(2000));
  EXPECT_EQ(parse_hb_duration("0.0015"), std::nullopt);  // finer than 1 ms
  EXPECT_EQ(parse_hb_duration("1.5ms"), std::nullopt);
  EXPECT_EQ(parse_hb_duration("ms"), std::nullopt);
  EXPECT_EQ(parse_hb_duration("1."), std::nullopt);
  EXPECT_EQ(parse_hb_duration("-1"), std::nullopt);
  EXPECT_EQ(parse_hb_duration("1e3"), std::nullopt);
  EXPECT_EQ(parse_hb_duration("86401"), std::nullopt);
  EXPECT_EQ(parse_hb_duration("999999999999999"), std::nullopt);

  HaConfig cfg = ok(kMinimal + "keepalive 100ms\ndeadtime 500ms\nwarntime 300ms\ninitdead 2\n");
  EXPECT_EQ(cfg.keepalive, milliseconds(100));
  EXPECT_EQ(cfg.deadtime, milliseconds(500));
  EXPECT_EQ(cfg.warntime, milliseconds(300));
  EXPECT_EQ(cfg.initdead, milliseconds(2000));
  EXPECT_TRUE(cfg.warnings.empty()) << warnings_of(cfg);
}

TEST(HaConfig, DefaultsDerivedFromWhatIsGiven) {
  HaConfig cfg = ok(kMinimal + "keepalive 100ms\ndeadtime 500ms\n");
  EXPECT_EQ(cfg.warntime, milliseconds(300));   // halfway
  EXPECT_EQ(cfg.initdead, milliseconds(1000));  // 2 * deadtime
  EXPECT_EQ(cfg.deadping, milliseconds(500));
  EXPECT_TRUE(cfg.warnings.empty()) << warnings_of(cfg);
}

TEST(HaConfig, TimingChecks) {
  EXPECT_EQ(error_of(kMinimal + "keepalive 2\ndeadtime 2\n"),
            "ha.cf:5: deadtime (2 s) must be longer than keepalive (2 s); several keepalives "
            "should fit in it");
  HaConfig late = ok(kMinimal + "keepalive 1\ndeadtime 10\nwarntime 12\ninitdead 20\n");
  EXPECT_NE(warnings_of(late).find("ha.cf:6: warntime (12 s) should be between keepalive"),
            std::string::npos)
      << warnings_of(late);
  HaConfig early = ok(kMinimal + "keepalive 1\ndeadtime 10\ninitdead 15\n");
  EXPECT_NE(warnings_of(early).find("ha.cf:6: initdead (15 s) should be at least twice"),
            std::string::npos)
      << warnings_of(early);
  EXPECT_NE(error_of(kMinimal + "keepalive 0\n").find("ha.cf:4: 'keepalive 0': expected a "
                                                      "positive time"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal + "deadtime soon\n").find("ha.cf:4:"), std::string::npos);
  EXPECT_NE(error_of(kMinimal + "deadtime\n").find("ha.cf:4: 'deadtime' takes 1 argument"),
            std::string::npos);
}

TEST(HaConfig, Media) {
  HaConfig cfg = ok("udpport 700\nbcast eth0 eth2\nmcast eth0 239.1.2.3 1694 4 1\n"
                    "ucast eth1 fd00::12\nnode a b\nauto_failback off\n");
  ASSERT_EQ(cfg.media.size(), 4u);
  EXPECT_EQ(cfg.media[0].interface, "eth0");
  EXPECT_EQ(cfg.media[1].interface, "eth2");
  EXPECT_EQ(cfg.media[0].port, 700);
  EXPECT_EQ(cfg.media[2].port, 1694);  // mcast gives its own
  EXPECT_EQ(cfg.media[2].ttl, 4);
  EXPECT_TRUE(cfg.media[2].loop);
  EXPECT_EQ(cfg.media[3].address, "fd00::12");
  EXPECT_EQ(cfg.media[3].port, 700);
}

TEST(HaConfig, UdpportAppliesToMediaAfterIt) {
  HaConfig cfg = ok("ucast eth1 198.18.1.12\nudpport 800\nucast eth1 198.18.1.11\nnode a b\n"
                    "auto_failback on\n");
  ASSERT_EQ(cfg.media.size(), 2u);
  EXPECT_EQ(cfg.media[0].port, 694);
  EXPECT_EQ(cfg.media[1].port, 800);
  EXPECT_NE(warnings_of(cfg).find("ha.cf:2: udpport comes after bcast/ucast media; those above "
                                  "keep port 694"),
            std::string::npos)
      << warnings_of(cfg);
}

TEST(HaConfig, MediumErrorsNameTheLine) {
  const std::string nodes = "node a b\nauto_failback off\n";
  EXPECT_EQ(error_of("ucast eth1 asterisk2\n" + nodes),
            "ha.cf:1: ucast: 'asterisk2' is not an IPv4 or IPv6 address (write the peer's "
            "address, not a name)");
  EXPECT_EQ(error_of("ucast eth1\n" + nodes).substr(0, 38),
            "ha.cf:1: 'ucast' takes 2 arguments (1 ");
  EXPECT_NE(error_of("mcast eth0 10.0.0.1 694 1 0\n" + nodes).find("ha.cf:1: mcast: '10.0.0.1' "
                                                                   "is not an IPv4 multicast"),
            std::string::npos);
  EXPECT_NE(error_of("mcast eth0 225.0.0.1 694 0 0\n" + nodes).find("ha.cf:1: mcast: ttl '0'"),
            std::string::npos);
  EXPECT_NE(error_of("mcast eth0 225.0.0.1 694 1 2\n" + nodes).find("ha.cf:1: mcast: loop '2'"),
            std::string::npos);
  EXPECT_NE(error_of("mcast eth0 225.0.0.1 70000 1 0\n" + nodes)
                .find("ha.cf:1: 'mcast': port '70000' is not valid (1-65535)"),
            std::string::npos);
  EXPECT_NE(error_of("udpport 0\nbcast eth0\n" + nodes).find("ha.cf:1: 'udpport': port '0'"),
            std::string::npos);
  EXPECT_NE(error_of("bcast averyveryverylongname\n" + nodes)
                .find("ha.cf:1: 'bcast': 'averyveryverylongname' is not a valid interface name"),
            std::string::npos);
}

TEST(HaConfig, WholeFileChecks) {
  EXPECT_EQ(error_of("node a b\nauto_failback off\n"),
            "ha.cf: no heartbeat medium: add a bcast, mcast or ucast line (e.g. 'ucast eth1 "
            "198.18.1.12')");
  EXPECT_EQ(error_of("bcast eth0\nnode a\nnode a\nauto_failback off\n"),
            "ha.cf: at least two nodes are needed (1 listed): add 'node asterisk1 asterisk2'");
  // All errors at once, one per line.
  const std::string both = error_of("keepalive x\nnode bad/name\n");
  EXPECT_NE(both.find("ha.cf:1: 'keepalive x'"), std::string::npos) << both;
  EXPECT_NE(both.find("\nha.cf:2: node name 'bad/name' is not valid"), std::string::npos) << both;
  EXPECT_NE(both.find("\nha.cf: no heartbeat medium"), std::string::npos) << both;
}

TEST(HaConfig, NodesOnSeveralLines) {
  HaConfig cfg = ok("bcast eth0\nnode a\nnode b c\nnode a\nauto_failback off\n");
  EXPECT_EQ(cfg.nodes, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_NE(warnings_of(cfg).find("ha.cf:4: node 'a' listed again"), std::string::npos);
}

TEST(HaConfig, AutoFailback) {
  EXPECT_EQ(ok("bcast eth0\nnode a b\nauto_failback off\n").auto_failback, AutoFailback::Off);
  EXPECT_EQ(ok("bcast eth0\nnode a b\nauto_failback yes\n").auto_failback, AutoFailback::On);
  HaConfig legacy = ok("bcast eth0\nnode a b\nauto_failback legacy\n");
  EXPECT_EQ(legacy.auto_failback, AutoFailback::Legacy);
  EXPECT_TRUE(legacy.fails_back());
  HaConfig unset = ok("bcast eth0\nnode a b\n");
  EXPECT_EQ(unset.auto_failback, AutoFailback::Legacy);
  EXPECT_NE(warnings_of(unset).find("ha.cf: auto_failback not set"), std::string::npos);
  HaConfig nice = ok("bcast eth0\nnode a b\nnice_failback on\n");
  EXPECT_EQ(nice.auto_failback, AutoFailback::Off);
  EXPECT_NE(warnings_of(nice).find("ha.cf:3: nice_failback is deprecated"), std::string::npos);
  EXPECT_EQ(error_of("bcast eth0\nnode a b\nauto_failback sometimes\n"),
            "ha.cf:3: auto_failback 'sometimes' is not valid (on, off or legacy)");
}

TEST(HaConfig, CrmAndStonithPluginsAreRefused) {
  EXPECT_EQ(error_of(kMinimal + "crm yes\n"),
            "ha.cf:4: crm/pacemaker mode is not supported: clusterd runs haresources (v1) style; "
            "remove 'crm yes' and list resources in haresources");
  EXPECT_NE(error_of(kMinimal + "crm respawn\n").find("ha.cf:4: crm/pacemaker mode"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal + "pacemaker on\n").find("ha.cf:4: crm/pacemaker mode"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal + "stonith baytech /etc/ha.d/conf/stonith.baytech\n")
                .find("ha.cf:4: 'stonith': Heartbeat STONITH plugins are not supported"),
            std::string::npos);
  ok(kMinimal + "crm off\n");
}

TEST(HaConfig, StonithCommand) {
  HaConfig cfg = ok(kMinimal + "stonith_command /usr/local/sbin/fence --power-off\n");
  EXPECT_EQ(cfg.stonith_command,
            (std::vector<std::string>{"/usr/local/sbin/fence", "--power-off"}));
  EXPECT_NE(error_of(kMinimal + "stonith_command fence\n")
                .find("ha.cf:4: stonith_command: 'fence' must be an absolute path"),
            std::string::npos);
}

TEST(HaConfig, WarningsNameTheLine) {
  HaConfig cfg = ok(kMinimal + "baud 19200\nserial /dev/ttyS0\nfrobnicate 3\nhopfudge 1\n"
                               "compression bz2\nkeepalive 1\nkeepalive 2\n");
  const std::string w = warnings_of(cfg);
  EXPECT_NE(w.find("ha.cf:4: 'baud' accepted, ignored: no serial links here"), std::string::npos)
      << w;
  EXPECT_NE(w.find("ha.cf:5: 'serial' accepted, ignored"), std::string::npos) << w;
  EXPECT_NE(w.find("ha.cf:6: unknown directive 'frobnicate', ignored (check the spelling)"),
            std::string::npos)
      << w;
  EXPECT_NE(w.find("ha.cf:7: 'hopfudge' accepted, ignored"), std::string::npos) << w;
  EXPECT_NE(w.find("ha.cf:8: 'compression' accepted, ignored"), std::string::npos) << w;
  EXPECT_NE(w.find("ha.cf:10: 'keepalive' given again (first at line 9); the last one counts"),
            std::string::npos)
      << w;
  EXPECT_EQ(cfg.keepalive, milliseconds(2000));
  for (const auto& x : cfg.warnings) {
    EXPECT_EQ(x.file, "ha.cf");
    EXPECT_GT(x.line, 0);
  }
}

TEST(HaConfig, PingErrors) {
  EXPECT_NE(error_of(kMinimal + "ping gw\n").find("ha.cf:4: ping: 'gw' is not an IPv4 or IPv6"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal + "ping_group g1\n").find("ha.cf:4: 'ping_group' takes at least 2"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal + "ping_group a 10.0.0.1\n").find("ha.cf:4: ping group 'a' has the "
                                                                "name of a node"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal + "ping_group g 10.0.0.1\nping_group g 10.0.0.2\n")
                .find("ha.cf:5: ping group 'g' already defined at line 4"),
            std::string::npos);
}

TEST(HaConfig, CommentsCrlfAndBlanks) {
  HaConfig cfg = ok("# comment\r\n\r\n  bcast eth0   # trailing\r\n\tnode a b\r\n"
                    "auto_failback off # comment\r\n");
  EXPECT_EQ(cfg.nodes.size(), 2u);
  // "off#not" is one word: not a boolean.
  EXPECT_FALSE(parse("bcast eth0\nnode a b\nauto_failback off#x\n").ok());
}

TEST(HaConfig, HostileInput) {
  EXPECT_EQ(error_of(std::string("bcast eth0\nnode a\0b\n", 20)),
            "ha.cf:2: control byte 0x00 in the text; this file must be plain text");
  HeartbeatConfigLimits small;
  small.max_file_bytes = 16;
  auto big = parse_ha_cf(kTypical, "ha.cf", small);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().message.rfind("ha.cf: larger than 16 bytes", 0), 0u);
  std::string many_errors;
  for (int i = 0; i < 50; ++i) many_errors += "keepalive x\n";
  const std::string e = error_of(many_errors);
  EXPECT_NE(e.find("more errors not shown"), std::string::npos);
  std::string long_word(5000, 'x');
  EXPECT_NE(error_of(long_word + "\n").find("ha.cf:1: a word longer than"), std::string::npos);
}

TEST(HaConfig, ExamplesLoad) {
  for (const char* dir : {"vip", "thesis"}) {
    const std::string path = std::string(HAPBX_TEST_DATA_DIR "/../examples/") + dir + "/ha.cf";
    auto cfg = load_ha_cf(path);
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_TRUE(cfg->warnings.empty()) << warnings_of(*cfg);
    EXPECT_EQ(cfg->nodes, (std::vector<std::string>{"asterisk1", "asterisk2"}));
  }
  auto vip = load_ha_cf(HAPBX_TEST_DATA_DIR "/../examples/vip/ha.cf");
  ASSERT_TRUE(vip.ok());
  EXPECT_LT(vip->deadtime, milliseconds(1000));
  EXPECT_EQ(vip->auto_failback, AutoFailback::Off);
  auto fast = load_ha_cf(HAPBX_TEST_DATA_DIR "/../examples/thesis/ha.cf");
  ASSERT_TRUE(fast.ok()) << fast.error().message;
  EXPECT_TRUE(fast->warnings.empty()) << warnings_of(*fast);
  EXPECT_EQ(fast->deadtime, milliseconds(300));
  EXPECT_EQ(fast->auto_failback, AutoFailback::On);
  auto thesis = load_ha_cf(HAPBX_TEST_DATA_DIR "/../examples/thesis/ha.cf.original");
  ASSERT_TRUE(thesis.ok());
  EXPECT_TRUE(thesis->warnings.empty()) << warnings_of(*thesis);
  EXPECT_EQ(fast->media.size(), thesis->media.size());
  EXPECT_EQ(thesis->keepalive, milliseconds(2000));
  EXPECT_EQ(thesis->deadtime, milliseconds(30000));
  EXPECT_EQ(thesis->warntime, milliseconds(10000));
  EXPECT_EQ(thesis->initdead, milliseconds(120000));
  EXPECT_EQ(thesis->auto_failback, AutoFailback::On);
}

TEST(HaConfig, Realtime) {
  auto on = parse_ha_cf("ucast eth1 198.18.1.12\nnode a b\n", "ha.cf");
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_TRUE(on->realtime) << "Heartbeat's default";
  auto off = parse_ha_cf("ucast eth1 198.18.1.12\nnode a b\nrealtime off\n", "ha.cf");
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_FALSE(off->realtime);
  auto bad = parse_ha_cf("ucast eth1 198.18.1.12\nnode a b\nrealtime sometimes\n", "ha.cf");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("ha.cf:3: realtime 'sometimes'"), std::string::npos) << bad.error().message;
}

TEST(HaConfig, LoadMissingFileNamesIt) {
  auto cfg = load_ha_cf("/nonexistent/ha.cf");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().message.rfind("/nonexistent/ha.cf: cannot open", 0), 0u);
}

}  // namespace
}  // namespace hapbx::cluster
