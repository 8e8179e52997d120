// Tests of the haresources parser: the thesis line as written, continuations, the mapping of
// types to agents, VIP/Filesystem validation with file:line, duplicates, and hostile input.
#include "cluster/haresources.h"

#include <gtest/gtest.h>

#include <string>

#include "cluster/ha_config.h"

namespace hapbx::cluster {
namespace {

const std::string kThesis =
    "asterisk1 IPaddr::198.18.0.10/24/eth0 drbddisk::r0 "
    "Filesystem::/dev/hapbx/r0::/replica::ext4 pbxd\n";

Result<HaResources> parse(const std::string& text) {
  return parse_haresources(text, "haresources");
}

HaResources ok(const std::string& text) {
  auto r = parse(text);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? std::move(r.value()) : HaResources{};
}

std::string error_of(const std::string& text) {
  auto r = parse(text);
  EXPECT_FALSE(r.ok()) << "loaded: " << text;
  return r.ok() ? std::string("(loaded)") : r.error().message;
}

TEST(HaResources, ThesisLineAsWritten) {
  HaResources res = ok("# the thesis\n" + kThesis);
  ASSERT_EQ(res.groups.size(), 1u);
  const ResourceGroup& g = res.groups[0];
  EXPECT_EQ(g.preferred_node, "asterisk1");
  EXPECT_EQ(g.line, 2);
  ASSERT_EQ(g.resources.size(), 4u);

  const ResourceSpec& ip = g.resources[0];
  EXPECT_EQ(ip.kind(), ResourceKind::Vip);
  EXPECT_EQ(ip.type, "IPaddr");
  EXPECT_EQ(ip.text, "IPaddr::198.18.0.10/24/eth0");
  EXPECT_EQ(ip.args, std::vector<std::string>{"198.18.0.10/24/eth0"});
  EXPECT_EQ(ip.line, 2);
  const auto& vip = std::get<VipSpec>(ip.spec);
  EXPECT_EQ(vip.address, "198.18.0.10");
  EXPECT_FALSE(vip.ipv6());
  EXPECT_EQ(vip.prefix_length, 24);
  EXPECT_EQ(vip.interface, "eth0");
  EXPECT_EQ(vip.label, "");

  EXPECT_EQ(g.resources[1].kind(), ResourceKind::Replica);
  EXPECT_EQ(std::get<ReplicaSpec>(g.resources[1].spec).resource, "r0");

  EXPECT_EQ(g.resources[2].kind(), ResourceKind::Filesystem);
  const auto& fs = std::get<FilesystemSpec>(g.resources[2].spec);
  EXPECT_EQ(fs.device, "/dev/hapbx/r0");
  EXPECT_EQ(fs.mountpoint, "/replica");
  EXPECT_EQ(fs.fstype, "ext4");
  EXPECT_EQ(fs.options, "");

  EXPECT_EQ(g.resources[3].kind(), ResourceKind::Pbx);
  EXPECT_EQ(g.resources[3].type, "pbxd");
  EXPECT_TRUE(res.warnings.empty());
}

TEST(HaResources, ContinuationsAndComments) {
  HaResources res = ok("# comment\n"
                       "asterisk1 IPaddr::198.18.0.10/24/eth0 \\\n"
                       "   drbddisk::r0 \\   \n"
                       "   Filesystem::/dev/hapbx/r0::/replica::ext4\\\n"
                       "   pbxd   # the PBX\n"
                       "asterisk2 asterisk::reload  mysql\r\n");
  ASSERT_EQ(res.groups.size(), 2u);
  EXPECT_EQ(res.groups[0].line, 2);
  ASSERT_EQ(res.groups[0].resources.size(), 4u);
  EXPECT_EQ(res.groups[0].resources[1].line, 2);  // a logical line is numbered by its start
  EXPECT_EQ(res.groups[1].line, 6);
  ASSERT_EQ(res.groups[1].resources.size(), 2u);
  const ResourceSpec& lsb = res.groups[1].resources[0];
  EXPECT_EQ(lsb.kind(), ResourceKind::Lsb);
  EXPECT_EQ(std::get<LsbSpec>(lsb.spec).script, "asterisk");
  EXPECT_EQ(lsb.args, std::vector<std::string>{"reload"});
  EXPECT_EQ(std::get<LsbSpec>(res.groups[1].resources[1].spec).script, "mysql");
}

TEST(HaResources, VipForms) {
  auto vip_of = [](const std::string& word) {
    HaResources res = ok("a " + word + "\n");
    return res.groups.empty() ? VipSpec{} : std::get<VipSpec>(res.groups[0].resources[0].spec);
  };
  VipSpec full = vip_of("IPaddr2::198.18.0.10/24/eth0/198.18.0.255");
  EXPECT_EQ(full.prefix_length, 24);
  VipSpec mask = vip_of("IPaddr::198.18.0.10/255.255.255.0/eth0:1");
  EXPECT_EQ(mask.prefix_length, 24);
  EXPECT_EQ(mask.interface, "eth0");
  EXPECT_EQ(mask.label, "eth0:1");
  VipSpec v6 = vip_of("IPaddr2::fd00:198:18::10/64/eth0");
  EXPECT_TRUE(v6.ipv6());
  EXPECT_EQ(v6.address, "fd00:198:18::10");
  EXPECT_EQ(v6.prefix_length, 64);
  EXPECT_EQ(v6.interface, "eth0");
  VipSpec v6b = vip_of("IPv6addr::2001:db8::10/128/eth1");
  EXPECT_EQ(v6b.address, "2001:db8::10");
  EXPECT_EQ(v6b.prefix_length, 128);
  HaResources odd = ok("a IPaddr::198.18.0.10/24/eth0/198.18.0.127\n");
  ASSERT_EQ(odd.warnings.size(), 1u);
  EXPECT_EQ(odd.warnings[0].message,
            "haresources:1: IPaddr '198.18.0.10/24/eth0/198.18.0.127': broadcast 198.18.0.127 is "
            "not the standard one for /24; 198.18.0.255 is used");
}

TEST(HaResources, VipErrorsNameTheLine) {
  EXPECT_EQ(error_of("\n# x\n\nasterisk1 IPaddr::198.18.0.10/33\n"),
            "haresources:4: IPaddr '198.18.0.10/33' has an invalid prefix length (0-32)");
  EXPECT_EQ(error_of("a pbxd\nb pbxd::x\nasterisk1 IPaddr::198.18.0.10/33\n"),
            "haresources:2: 'pbxd::x' is already a resource at line 1; a resource belongs to one "
            "group, once\n"
            "haresources:3: IPaddr '198.18.0.10/33' has an invalid prefix length (0-32)");
  EXPECT_EQ(error_of("a IPaddr::198.18.0.10\n"),
            "haresources:1: IPaddr '198.18.0.10' needs a prefix length and an interface: "
            "IPaddr::198.18.0.10/24/eth0 (clusterd does not guess them)");
  EXPECT_EQ(error_of("a IPaddr::198.18.0.10/24\n"),
            "haresources:1: IPaddr '198.18.0.10/24' needs an interface: "
            "IPaddr::198.18.0.10/24/eth0 (clusterd does not guess it)");
  EXPECT_NE(error_of("a IPaddr2::fd00::1/64/eth0:1\n").find("IPv6 addresses have no label"),
            std::string::npos);
  EXPECT_EQ(error_of("a IPaddr::198.18.0.10/33/eth0\n"),
            "haresources:1: IPaddr '198.18.0.10/33/eth0' has an invalid prefix length (0-32)");
  EXPECT_EQ(error_of("a IPaddr2::fd00::1/129/eth0\n"),
            "haresources:1: IPaddr2 'fd00::1/129/eth0' has an invalid prefix length (0-128)");
  EXPECT_EQ(error_of("a IPaddr::198.18.0.300/24/eth0\n"),
            "haresources:1: IPaddr '198.18.0.300/24/eth0' has an invalid address (an IPv4 or IPv6 "
            "literal)");
  EXPECT_EQ(error_of("a IPaddr::198.18.0.10/255.0.255.0/eth0\n"),
            "haresources:1: IPaddr '198.18.0.10/255.0.255.0/eth0' has an invalid prefix length "
            "(0-32)");
  EXPECT_NE(error_of("a IPaddr::198.18.0.10/24/eth0/x\n").find("invalid broadcast"),
            std::string::npos);
  EXPECT_NE(error_of("a IPaddr::fd00::1/64/eth0/fd00::ff\n").find("IPv6 has no broadcast"),
            std::string::npos);
  EXPECT_NE(error_of("a IPaddr::198.18.0.10/24/a/b/c\n").find("too many fields"),
            std::string::npos);
  EXPECT_NE(error_of("a IPaddr::198.18.0.10/24/averyveryverylongifname\n")
                .find("invalid interface name"),
            std::string::npos);
  EXPECT_NE(error_of("a IPv6addr::198.18.0.10/24/eth0\n").find("is not an IPv6 address"),
            std::string::npos);
  EXPECT_EQ(error_of("a IPaddr\n"),
            "haresources:1: IPaddr '' needs an address: IPaddr::198.18.0.10/24/eth0");
}

TEST(HaResources, ReplicaForms) {
  HaResources res = ok("a drbddisk\n");
  EXPECT_EQ(std::get<ReplicaSpec>(res.groups[0].resources[0].spec).resource, "");
  EXPECT_NE(error_of("a drbddisk::r0::r1\n").find("haresources:1: drbddisk takes one resource"),
            std::string::npos);
  EXPECT_NE(error_of("a drbddisk::r/0\n").find("haresources:1: drbddisk: 'r/0' is not a valid"),
            std::string::npos);
  EXPECT_NE(error_of("a drbddisk\nb drbddisk::r0\n").find("haresources:2: 'drbddisk::r0' "
                                                          "overlaps with drbddisk at line 1"),
            std::string::npos);
}

TEST(HaResources, FilesystemForms) {
  HaResources res = ok("a Filesystem::/dev/sdb1::/mnt/x Filesystem::LABEL=data::/data::xfs::noatime"
                       "\n");
  const auto& one = std::get<FilesystemSpec>(res.groups[0].resources[0].spec);
  EXPECT_EQ(one.fstype, "ext4");
  ASSERT_EQ(res.warnings.size(), 1u);
  EXPECT_EQ(res.warnings[0].message,
            "haresources:1: Filesystem 'Filesystem::/dev/sdb1::/mnt/x': no filesystem type, ext4 "
            "assumed (write Filesystem::/dev/sdb1::/mnt/x::ext4)");
  const auto& two = std::get<FilesystemSpec>(res.groups[0].resources[1].spec);
  EXPECT_EQ(two.options, "noatime");
  EXPECT_NE(error_of("a Filesystem::/dev/x\n").find("haresources:1: Filesystem takes"),
            std::string::npos);
  EXPECT_NE(error_of("a Filesystem::/dev/x::/\n").find("mount point '/' must be"),
            std::string::npos);
  EXPECT_NE(error_of("a Filesystem::/dev/x::relative\n").find("mount point 'relative'"),
            std::string::npos);
  EXPECT_NE(error_of("a Filesystem::sdb1::/mnt\n").find("device 'sdb1' is not a path"),
            std::string::npos);
  EXPECT_NE(error_of("a Filesystem::/dev/x::/mnt::EXT4!\n").find("is not a filesystem type"),
            std::string::npos);
  EXPECT_NE(error_of("a Filesystem::/dev/x::/mnt\nb Filesystem::/dev/y::/mnt\n")
                .find("haresources:2: 'Filesystem::/dev/y::/mnt' is already a resource at line 1"),
            std::string::npos);
  EXPECT_NE(error_of("a Filesystem::::/mnt\n").find("haresources:1: 'Filesystem::::/mnt' has an "
                                                    "empty argument"),
            std::string::npos);
}

TEST(HaResources, GroupErrors) {
  EXPECT_EQ(error_of("asterisk1\n"),
            "haresources:1: node 'asterisk1' has no resources; a line is 'node resource1 "
            "resource2 ...'");
  EXPECT_NE(error_of("a/b pbxd\n").find("haresources:1: 'a/b' is not a node name"),
            std::string::npos);
  EXPECT_NE(error_of("a ../../bin/sh\n").find("haresources:1: '../../bin/sh' is not a resource "
                                              "type or script name"),
            std::string::npos);
  EXPECT_NE(error_of("a ::x\n").find("haresources:1: '::x' has no type"), std::string::npos);
  EXPECT_NE(error_of("a IPaddr::10.0.0.1/8/eth0\nb IPaddr::10.0.0.1/24/eth0\n")
                .find("haresources:2: 'IPaddr::10.0.0.1/24/eth0' is already a resource at line 1"),
            std::string::npos);
}

TEST(HaResources, EmptyFileWarns) {
  HaResources res = ok("# nothing\n\n");
  EXPECT_TRUE(res.groups.empty());
  ASSERT_EQ(res.warnings.size(), 1u);
  EXPECT_EQ(res.warnings[0].message.rfind("haresources: no resource group", 0), 0u);
}

TEST(HaResources, NodesCheckedAgainstHaCf) {
  auto cfg = parse_ha_cf("bcast eth0\nnode asterisk1 asterisk2\nauto_failback off\n", "ha.cf");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_TRUE(check_haresources_nodes(ok(kThesis), *cfg).ok());
  const Status bad = check_haresources_nodes(ok("pbx1 pbxd\n"), *cfg);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "haresources:1: node 'pbx1' is not a node of ha.cf (add 'node pbx1' there)");
}

TEST(HaResources, HostileInput) {
  EXPECT_EQ(error_of(std::string("a pbxd\n\x7f\n")),
            "haresources:2: control byte 0x7f in the text; this file must be plain text");
  std::string many = "a";
  for (int i = 0; i < 300; ++i) many += " s" + std::to_string(i);
  EXPECT_NE(error_of(many + "\n").find("more than 256 resources"), std::string::npos);
  // A continuation on the last line is fine.
  EXPECT_EQ(ok("a pbxd \\").groups.size(), 1u);
  EXPECT_EQ(ok("a \\\n\\\n pbxd\n").groups.size(), 1u);
}

TEST(HaResources, ExamplesLoad) {
  auto vip = load_haresources(HAPBX_TEST_DATA_DIR "/../examples/vip/haresources");
  ASSERT_TRUE(vip.ok()) << vip.error().message;
  ASSERT_EQ(vip->groups.size(), 1u);
  ASSERT_EQ(vip->groups[0].resources.size(), 1u);
  EXPECT_EQ(std::get<VipSpec>(vip->groups[0].resources[0].spec).address, "198.18.0.10");
  auto thesis = load_haresources(HAPBX_TEST_DATA_DIR "/../examples/thesis/haresources");
  ASSERT_TRUE(thesis.ok()) << thesis.error().message;
  ASSERT_EQ(thesis->groups.size(), 1u);
  ASSERT_EQ(thesis->groups[0].resources.size(), 4u);
  EXPECT_EQ(thesis->groups[0].resources[3].kind(), ResourceKind::Pbx);
  for (const char* dir : {"vip", "thesis"}) {
    auto cfg = load_ha_cf(std::string(HAPBX_TEST_DATA_DIR "/../examples/") + dir + "/ha.cf");
    auto res = load_haresources(std::string(HAPBX_TEST_DATA_DIR "/../examples/") + dir +
                                "/haresources");
    ASSERT_TRUE(cfg.ok() && res.ok());
    EXPECT_TRUE(check_haresources_nodes(*res, *cfg).ok()) << dir;
  }
}

}  // namespace
}  // namespace hapbx::cluster
