// Tests of the DRBD resource-config parser: the thesis file as written, common inheritance,
// includes (memory and real files), DRBD 8.4 syntax, units, every error class with its
// file:line, warnings, and hostile input.
#include "replica/resource_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "replica/resource_config_files.h"
#include "support/temp_dir.h"

namespace hapbx::replica {
namespace {

// The thesis' resource file, verbatim.
const std::string kThesis = R"(global { usage-count no; }
resource r0 {
  protocol C;
  startup { wfc-timeout 0; degr-wfc-timeout 120; }
  disk    { on-io-error detach; }
  net     { cram-hmac-alg sha1; shared-secret "..."; after-sb-0pri discard-zero-changes;
            after-sb-1pri discard-secondary; after-sb-2pri disconnect; }
  syncer  { rate 10M; verify-alg sha1; csums-alg sha1; }
  on asterisk1 { device /dev/hapbx/r0; disk /var/lib/hapbx/r0.img; address 198.18.1.11:7788; meta-disk internal; }
  on asterisk2 { device /dev/hapbx/r0; disk /var/lib/hapbx/r0.img; address 198.18.1.12:7788; meta-disk internal; }
}
)";

// Two valid hosts, for tests about other sections.
const std::string kHosts =
    "  on a { device /dev/hapbx/r0; disk /var/lib/hapbx/r0.img; address 10.0.0.1:7788; "
    "meta-disk internal; }\n"
    "  on b { device /dev/hapbx/r0; disk /var/lib/hapbx/r0.img; address 10.0.0.2:7788; "
    "meta-disk internal; }\n";

Result<ReplicaConfig> parse(const std::string& text) {
  MemoryReplicaConfigFiles files;
  return parse_replica_config(text, "r0.res", files);
}

ReplicaConfig ok(const std::string& text) {
  auto cfg = parse(text);
  EXPECT_TRUE(cfg.ok()) << cfg.error().message;
  return cfg.ok() ? std::move(cfg.value()) : ReplicaConfig{};
}

std::string error_of(const std::string& text) {
  auto cfg = parse(text);
  EXPECT_FALSE(cfg.ok()) << "loaded: " << text;
  return cfg.ok() ? std::string("(loaded)") : cfg.error().message;
}

// A resource r0 with kHosts and `body` inside.
std::string resource(const std::string& body) { return "resource r0 {\n" + body + "\n" + kHosts + "}\n"; }

std::string warnings_of(const ReplicaConfig& cfg) {
  std::string out;
  for (const auto& w : cfg.warnings) out += w.message + "\n";
  return out;
}

bool has_warning(const ReplicaConfig& cfg, const std::string& text) {
  return warnings_of(cfg).find(text) != std::string::npos;
}

TEST(ResourceConfig, ThesisFileLoadsAsWritten) {
  ReplicaConfig cfg = ok(kThesis);
  EXPECT_FALSE(cfg.usage_count);
  ASSERT_EQ(cfg.resources.size(), 1u);
  const ResourceConfig* r = cfg.resource("r0");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->name, "r0");
  EXPECT_EQ(r->file, "r0.res");
  EXPECT_EQ(r->line, 2);
  EXPECT_EQ(r->protocol, Protocol::C);
  EXPECT_EQ(r->wfc_timeout, std::chrono::seconds(0));
  EXPECT_EQ(r->degr_wfc_timeout, std::chrono::seconds(120));
  EXPECT_EQ(r->on_io_error, ResourceConfig::OnIoError::Detach);
  EXPECT_EQ(r->cram_hmac_alg, "sha1");
  EXPECT_EQ(r->shared_secret, "...");
  EXPECT_EQ(r->after_sb_0pri, SplitBrainPolicy::DiscardZeroChanges);
  EXPECT_EQ(r->after_sb_1pri, SplitBrainPolicy::DiscardSecondary);
  EXPECT_EQ(r->after_sb_2pri, SplitBrainPolicy::Disconnect);
  EXPECT_EQ(r->after_sb_0pri_on("asterisk1"), SplitBrainPolicy::DiscardZeroChanges);
  EXPECT_EQ(r->resync_rate_bytes_per_s, 10u << 20);
  EXPECT_EQ(r->verify_alg, "sha1");
  EXPECT_EQ(r->csums_alg, "sha1");
  EXPECT_FALSE(r->allow_two_primaries);
  ASSERT_EQ(r->hosts.size(), 2u);
  const HostConfig* a1 = r->host("asterisk1");
  ASSERT_NE(a1, nullptr);
  EXPECT_EQ(a1->device, "/dev/hapbx/r0");
  EXPECT_EQ(a1->disk, "/var/lib/hapbx/r0.img");
  EXPECT_EQ(a1->address, "198.18.1.11");
  EXPECT_EQ(a1->port, 7788);
  EXPECT_TRUE(a1->meta_internal);
  EXPECT_EQ(a1->config_line, 9);
  const HostConfig* a2 = r->peer_of("asterisk1");
  ASSERT_NE(a2, nullptr);
  EXPECT_EQ(a2->name, "asterisk2");
  EXPECT_EQ(a2->address, "198.18.1.12");
  EXPECT_EQ(r->peer_of("asterisk2"), a1);
  EXPECT_EQ(r->host("asterisk3"), nullptr);
  EXPECT_EQ(r->peer_of("asterisk3"), nullptr);
  EXPECT_EQ(cfg.resource("r1"), nullptr);
  // Defaults for what the thesis does not say.
  EXPECT_EQ(r->timeout, std::chrono::milliseconds(6000));
  EXPECT_EQ(r->al_extents, 127);
  EXPECT_TRUE(r->disk_flushes);
  // The thesis file says nothing we ignore.
  EXPECT_TRUE(cfg.warnings.empty()) << warnings_of(cfg);
}

TEST(ResourceConfig, ThesisExampleFileLoads) {
  auto cfg = load_replica_config(HAPBX_TEST_DATA_DIR "/../examples/thesis/r0.res");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  const ResourceConfig* r = cfg->resource("r0");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->host("asterisk2")->address, "198.18.1.12");
  EXPECT_GE(r->shared_secret.size(), 16u);
  EXPECT_TRUE(cfg->warnings.empty()) << warnings_of(*cfg);
}

TEST(ResourceConfig, CommonIsInheritedAndOverridden) {
  ReplicaConfig cfg = ok(
      "common {\n"
      "  protocol A;\n"
      "  net { cram-hmac-alg sha256; shared-secret \"common-secret\"; timeout 30; }\n"
      "  syncer { rate 33M; }\n"
      "  startup { degr-wfc-timeout 5; }\n"
      "}\n"
      "resource r0 {\n"
      "  protocol C;\n"
      "  net { timeout 45; }\n" +
      kHosts +
      "}\n"
      "resource r1 {\n" +
      kHosts + "}\n");
  ASSERT_EQ(cfg.resources.size(), 2u);
  const ResourceConfig& r0 = *cfg.resource("r0");
  const ResourceConfig& r1 = *cfg.resource("r1");
  EXPECT_EQ(r0.protocol, Protocol::C);  // own protocol wins
  EXPECT_EQ(r1.protocol, Protocol::A);  // inherited
  EXPECT_EQ(r0.timeout, std::chrono::milliseconds(4500));
  EXPECT_EQ(r1.timeout, std::chrono::milliseconds(3000));
  for (const ResourceConfig* r : {&r0, &r1}) {
    EXPECT_EQ(r->cram_hmac_alg, "sha256");
    EXPECT_EQ(r->shared_secret, "common-secret");
    EXPECT_EQ(r->resync_rate_bytes_per_s, 33u << 20);
    EXPECT_EQ(r->degr_wfc_timeout, std::chrono::seconds(5));
  }
  EXPECT_TRUE(cfg.warnings.empty()) << warnings_of(cfg);
}

TEST(ResourceConfig, CommonWarningsAreSaidOnce) {
  ReplicaConfig cfg = ok("common { handlers { split-brain \"/bin/true\"; } }\n" +
                         resource("") + "resource r1 {\n" + kHosts + "}\n");
  ASSERT_EQ(cfg.warnings.size(), 1u) << warnings_of(cfg);
  EXPECT_EQ(cfg.warnings[0].message,
            "r0.res:1: handler 'split-brain' accepted, ignored (replicad runs no handler "
            "programs)");
  EXPECT_EQ(cfg.warnings[0].file, "r0.res");
  EXPECT_EQ(cfg.warnings[0].line, 1);
}

TEST(ResourceConfig, Drbd84Syntax) {
  ReplicaConfig cfg = ok(
      "resource r0 {\n"
      "  device /dev/hapbx/r0 minor 0;\n"
      "  disk /var/lib/hapbx/r0.img;\n"
      "  meta-disk internal;\n"
      "  net { protocol B; verify-alg crc32c; csums-alg md5; allow-two-primaries no;\n"
      "        data-integrity-alg sha256; }\n"
      "  disk { resync-rate 40M; disk-flushes no; al-extents 3389; size 2G; }\n"
      "  on a { address ipv4 10.0.0.1:7788; }\n"
      "  on b { volume 0 { device /dev/hapbx/r0b; disk /srv/r0.img; flexible-meta-disk "
      "/srv/r0.meta [3]; } address ipv6 [fd00::2]:7789; }\n"
      "}\n");
  const ResourceConfig& r = *cfg.resource("r0");
  EXPECT_EQ(r.protocol, Protocol::B);
  EXPECT_EQ(r.verify_alg, "crc32c");
  EXPECT_EQ(r.csums_alg, "md5");
  EXPECT_EQ(r.data_integrity_alg, "sha256");
  EXPECT_EQ(r.resync_rate_bytes_per_s, 40u << 20);
  EXPECT_FALSE(r.disk_flushes);
  EXPECT_EQ(r.al_extents, 3389);
  EXPECT_EQ(r.size_bytes, std::optional<std::uint64_t>(2ull << 30));
  const HostConfig& a = *r.host("a");
  EXPECT_EQ(a.device, "/dev/hapbx/r0");  // resource-level default
  EXPECT_EQ(a.disk, "/var/lib/hapbx/r0.img");
  EXPECT_TRUE(a.meta_internal);
  EXPECT_EQ(a.address, "10.0.0.1");
  const HostConfig& b = *r.host("b");
  EXPECT_EQ(b.device, "/dev/hapbx/r0b");  // its own volume wins
  EXPECT_EQ(b.disk, "/srv/r0.img");
  EXPECT_FALSE(b.meta_internal);
  EXPECT_EQ(b.meta_disk, "/srv/r0.meta");
  EXPECT_EQ(b.meta_index, std::optional<std::uint32_t>(3));
  EXPECT_EQ(b.address, "fd00::2");
  EXPECT_EQ(b.port, 7789);
  EXPECT_TRUE(has_warning(cfg, "r0.res:2: 'minor 0' accepted, ignored")) << warnings_of(cfg);
}

TEST(ResourceConfig, Drbd83Spellings) {
  ReplicaConfig two = ok(resource(
      "  disk { no-disk-flushes; on-io-error pass_on; }\n"
      "  syncer { al-extents 257; rate 300; }\n"
      "  net { cram-hmac-alg \"sha1\"; shared-secret s3cr3t; ping-int 3; ping-timeout 7;\n"
      "        connect-int 4; timeout 20; after-sb-0pri discard-node-b; }"));
  const ResourceConfig& r = *two.resource("r0");
  EXPECT_FALSE(r.disk_flushes);
  EXPECT_EQ(r.on_io_error, ResourceConfig::OnIoError::PassOn);
  EXPECT_EQ(r.al_extents, 257);
  EXPECT_EQ(r.resync_rate_bytes_per_s, 300u * 1024);  // plain rate: KiB/s
  EXPECT_EQ(r.cram_hmac_alg, "sha1");
  EXPECT_EQ(r.ping_int, std::chrono::seconds(3));
  EXPECT_EQ(r.ping_timeout, std::chrono::milliseconds(700));  // 0.1 s units
  EXPECT_EQ(r.connect_int, std::chrono::seconds(4));
  EXPECT_EQ(r.timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(r.after_sb_0pri, SplitBrainPolicy::Disconnect);
  EXPECT_EQ(r.after_sb_0pri_discard_node, "b");
  EXPECT_EQ(r.after_sb_0pri_on("b"), SplitBrainPolicy::DiscardLocal);
  EXPECT_EQ(r.after_sb_0pri_on("a"), SplitBrainPolicy::DiscardRemote);
  EXPECT_TRUE(two.warnings.empty()) << warnings_of(two);
}

TEST(ResourceConfig, ThreeHostsAreRefused) {
  EXPECT_EQ(error_of(resource("  on c { device /dev/x; disk /x; address 10.0.0.3:7788; "
                              "meta-disk internal; }")),
            "r0.res:1: resource r0 has 3 'on' sections; exactly two are needed, one per node "
            "(on asterisk1 { ... } on asterisk2 { ... })");
}

TEST(ResourceConfig, ExternalMetaDiskForms) {
  for (const std::string& meta : {std::string("/dev/sdb1 [7]"), std::string("/dev/sdb1[7]")}) {
    ReplicaConfig cfg = ok(
        "resource r0 { meta-disk " + meta +
        ";\n on a { device /dev/d; disk /d; address 10.0.0.1:1; }\n"
        " on b { device /dev/d; disk /d; address 10.0.0.2:1; } }\n");
    const HostConfig& a = *cfg.resource("r0")->host("a");
    EXPECT_FALSE(a.meta_internal);
    EXPECT_EQ(a.meta_disk, "/dev/sdb1");
    EXPECT_EQ(a.meta_index, std::optional<std::uint32_t>(7));
  }
}

TEST(ResourceConfig, SplitBrainPolicies) {
  struct Case {
    std::string option;
    std::string value;
    SplitBrainPolicy expected;
  };
  for (const Case& c : std::vector<Case>{
           {"after-sb-0pri", "disconnect", SplitBrainPolicy::Disconnect},
           {"after-sb-0pri", "discard-younger-primary", SplitBrainPolicy::DiscardYoungerPrimary},
           {"after-sb-0pri", "discard-older-primary", SplitBrainPolicy::DiscardOlderPrimary},
           {"after-sb-0pri", "discard-least-changes", SplitBrainPolicy::DiscardLeastChanges},
           {"after-sb-0pri", "discard-local", SplitBrainPolicy::DiscardLocal},
           {"after-sb-0pri", "discard-remote", SplitBrainPolicy::DiscardRemote},
           {"after-sb-1pri", "consensus", SplitBrainPolicy::Consensus},
           {"after-sb-1pri", "discard-secondary", SplitBrainPolicy::DiscardSecondary},
           {"after-sb-1pri", "call-pri-lost-after-sb", SplitBrainPolicy::CallPrimaryLost},
           {"after-sb-1pri", "violently-as0p", SplitBrainPolicy::Violently},
           {"after-sb-2pri", "violently-as0p", SplitBrainPolicy::Violently},
           {"after-sb-2pri", "call-pri-lost-after-sb", SplitBrainPolicy::CallPrimaryLost},
       }) {
    ReplicaConfig cfg = ok(resource("net { " + c.option + " " + c.value + "; }"));
    const ResourceConfig& r = *cfg.resource("r0");
    const SplitBrainPolicy got = c.option == "after-sb-0pri"   ? r.after_sb_0pri
                                 : c.option == "after-sb-1pri" ? r.after_sb_1pri
                                                               : r.after_sb_2pri;
    EXPECT_EQ(got, c.expected) << c.option << " " << c.value;
    const bool acts_as_disconnect = c.expected == SplitBrainPolicy::CallPrimaryLost ||
                                    c.expected == SplitBrainPolicy::Violently;
    EXPECT_EQ(has_warning(cfg, "acts as disconnect"), acts_as_disconnect) << c.value;
  }
  EXPECT_EQ(error_of(resource("net { after-sb-1pri discard-zero-changes; }")),
            "r0.res:2: after-sb-1pri 'discard-zero-changes' is not valid here (expected "
            "disconnect, consensus, discard-secondary, call-pri-lost-after-sb, violently-as0p)");
  EXPECT_EQ(error_of(resource("net { after-sb-2pri discard-secondary; }")),
            "r0.res:2: after-sb-2pri 'discard-secondary' is not valid here (expected "
            "disconnect, call-pri-lost-after-sb, violently-as0p)");
  EXPECT_EQ(error_of(resource("net { after-sb-0pri consensus; }")),
            "r0.res:2: after-sb-0pri 'consensus' is not valid here (expected disconnect, "
            "discard-younger-primary, discard-older-primary, discard-zero-changes, "
            "discard-least-changes, discard-local, discard-remote, discard-node-NODENAME)");
  EXPECT_EQ(error_of(resource("net { after-sb-0pri discard-node-zz; }")),
            "r0.res:2: after-sb-0pri discard-node-zz: no such node in resource r0 (expected a "
            "or b)");
}

TEST(ResourceConfig, Units) {
  EXPECT_EQ(parse_size("10M", 1), 10u << 20);
  EXPECT_EQ(parse_size("10m", 1), 10u << 20);
  EXPECT_EQ(parse_size("250K", 1), 250u << 10);
  EXPECT_EQ(parse_size("250k", 1), 250u << 10);
  EXPECT_EQ(parse_size("2G", 1), 2ull << 30);
  EXPECT_EQ(parse_size("2g", 1), 2ull << 30);
  EXPECT_EQ(parse_size("1T", 1), 1ull << 40);
  EXPECT_EQ(parse_size("8s", 1), 4096u);
  EXPECT_EQ(parse_size("300", 1024), 300u * 1024);
  EXPECT_EQ(parse_size("300", 1), 300u);
  EXPECT_EQ(parse_size("0", 1), 0u);
  EXPECT_EQ(parse_size("", 1), std::nullopt);
  EXPECT_EQ(parse_size("M", 1), std::nullopt);
  EXPECT_EQ(parse_size("-1", 1), std::nullopt);
  EXPECT_EQ(parse_size("10MB", 1), std::nullopt);
  EXPECT_EQ(parse_size("10X", 1), std::nullopt);
  EXPECT_EQ(parse_size(" 10", 1), std::nullopt);
  EXPECT_EQ(parse_size("18446744073709551615", 1), ~0ull);
  EXPECT_EQ(parse_size("18446744073709551616", 1), std::nullopt);
  EXPECT_EQ(parse_size("17179869184G", 1), std::nullopt);  // 2^64 bytes: overflow
  EXPECT_EQ(parse_size("5", 0), std::nullopt);

  // DRBD's time units.
  ReplicaConfig cfg = ok(resource(
      "net { timeout 60; ping-timeout 5; connect-int 10; ping-int 10; }\n"
      "startup { wfc-timeout 30; degr-wfc-timeout 0; }\n"
      "disk { size 4194304; }\n"  // sectors: 2 GiB
      "syncer { rate 10m; }"));
  const ResourceConfig& r = *cfg.resource("r0");
  EXPECT_EQ(r.timeout, std::chrono::milliseconds(6000));
  EXPECT_EQ(r.ping_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(r.connect_int, std::chrono::milliseconds(10000));
  EXPECT_EQ(r.ping_int, std::chrono::milliseconds(10000));
  EXPECT_EQ(r.wfc_timeout, std::chrono::seconds(30));
  EXPECT_EQ(r.degr_wfc_timeout, std::chrono::seconds(0));
  EXPECT_EQ(r.size_bytes, std::optional<std::uint64_t>(2ull << 30));
  EXPECT_EQ(r.resync_rate_bytes_per_s, 10u << 20);
}

TEST(ResourceConfig, ValueErrorsNameTheLineAndTheFix) {
  struct Case {
    std::string body;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"protocol D;", "r0.res:2: protocol 'D' is not valid (expected A, B or C)"},
           {"net { protocol X; }", "r0.res:2: protocol 'X' is not valid (expected A, B or C)"},
           {"net { cram-hmac-alg crc32c; shared-secret x; }",
            "r0.res:2: cram-hmac-alg 'crc32c' is not supported (expected sha1, sha256 or md5)"},
           {"net { cram-hmac-alg sha512; shared-secret x; }",
            "r0.res:2: cram-hmac-alg 'sha512' is not supported (expected sha1, sha256 or md5)"},
           {"syncer { verify-alg crc32; }",
            "r0.res:2: verify-alg 'crc32' is not supported (expected sha1, sha256, md5 or "
            "crc32c)"},
           {"syncer { csums-alg sha3; }",
            "r0.res:2: csums-alg 'sha3' is not supported (expected sha1, sha256, md5 or "
            "crc32c)"},
           {"net { data-integrity-alg x; }",
            "r0.res:2: data-integrity-alg 'x' is not supported (expected sha1, sha256, md5 or "
            "crc32c)"},
           {"net { cram-hmac-alg sha1; }",
            "r0.res:2: cram-hmac-alg sha1 needs a shared-secret (add shared-secret \"...\"; to "
            "net, the same on both nodes)"},
           {"net { shared-secret \"\"; }",
            "r0.res:2: shared-secret is empty (give a long random string, or remove it)"},
           {"net { shared-secret " + std::string(65, 'x') + "; }",
            "r0.res:2: shared-secret is longer than 64 characters (DRBD's limit); shorten it"},
           {"net { allow-two-primaries; }",
            "r0.res:2: two primaries are not supported: 'allow-two-primaries' would let both "
            "nodes write at once; remove it (clusterd keeps one Primary)"},
           {"net { allow-two-primaries yes; }",
            "r0.res:2: two primaries are not supported: 'allow-two-primaries' would let both "
            "nodes write at once; remove it (clusterd keeps one Primary)"},
           {"startup { become-primary-on both; }",
            "r0.res:2: two primaries are not supported: 'become-primary-on both' would let both "
            "nodes write at once; remove it (clusterd keeps one Primary)"},
           {"net { timeout 0; }", "r0.res:2: 'timeout' 0 is out of range (1..600, in 0.1 s)"},
           {"net { timeout 1.5; }",
            "r0.res:2: 'timeout' expects a whole number (1..600, in 0.1 s), not '1.5'"},
           {"net { ping-int 121; }", "r0.res:2: 'ping-int' 121 is out of range (1..120, seconds)"},
           {"net { timeout; }", "r0.res:2: 'timeout' takes one value (e.g. timeout 1;)"},
           {"net { timeout 1 2; }", "r0.res:2: 'timeout' takes one value (e.g. timeout 1;)"},
           {"startup { wfc-timeout -1; }",
            "r0.res:2: 'wfc-timeout' expects a whole number (0..315360000, seconds, 0 = "
            "forever), not '-1'"},
           {"syncer { rate 10Q; }",
            "r0.res:2: 'rate' value '10Q' is not a number with an optional unit s, K, M, G or T "
            "(e.g. rate 10M;)"},
           {"syncer { rate 0; }", "r0.res:2: 'rate' 0 is out of range (e.g. rate 10M;)"},
           {"disk { size 1001; }",
            "r0.res:2: size 1001 is not a multiple of 4K (e.g. size 2G;)"},
           {"disk { on-io-error panic; }",
            "r0.res:2: on-io-error 'panic' is not valid (expected detach, pass_on or "
            "call-local-io-error)"},
           {"disk { no-disk-flushes maybe; }",
            "r0.res:2: 'no-disk-flushes' is a flag: write it alone or with yes or no"},
           {"disk { al-extents 3; }", "r0.res:2: 'al-extents' 3 is out of range (7..65534)"},
           {"disk { fencing always; }",
            "r0.res:2: fencing 'always' is not valid (expected dont-care, resource-only or "
            "resource-and-stonith)"},
           {"net { max-buffers 8; }",
            "r0.res:2: 'max-buffers' 8 is out of range (e.g. max-buffers 2048;)"},
           {"floating 10.0.0.9:7788 { }",
            "r0.res:2: 'floating' sections are not supported (DRBD 9 or stacked); describe the "
            "two nodes with 'on HOST { ... }' sections"},
       }) {
    EXPECT_EQ(error_of(resource(c.body)), c.error) << c.body;
  }
}

TEST(ResourceConfig, HostErrors) {
  const std::string a = "on a { device /dev/d; disk /d; address 10.0.0.1:7788; meta-disk internal; }\n";
  EXPECT_EQ(error_of("resource r0 {\n" + a + "}\n"),
            "r0.res:1: resource r0 has 1 'on' section; exactly two are needed, one per node (on "
            "asterisk1 { ... } on asterisk2 { ... })");
  EXPECT_EQ(error_of("resource r0 {\n" + a + a + "}\n"),
            "r0.res:3: 'on a' appears twice in resource r0; the two nodes need different names");
  EXPECT_EQ(error_of("resource r0 {\n" + a +
                     "on b { device /dev/d; disk /d; address 10.0.0.1:7788; meta-disk internal; "
                     "}\n}\n"),
            "r0.res:3: on b: address 10.0.0.1:7788 is also a's; each node needs its own address");
  EXPECT_EQ(error_of("resource r0 {\n" + a + "on b {\n}\n}\n"),
            "r0.res:3: on b: missing 'device' (e.g. device /dev/hapbx/r0;)\n"
            "r0.res:3: on b: missing 'disk' (e.g. disk /var/lib/hapbx/r0.img;)\n"
            "r0.res:3: on b: missing 'address' (e.g. address 198.18.1.11:7788;)\n"
            "r0.res:3: on b: missing 'meta-disk' (e.g. meta-disk internal;)");
  struct Case {
    std::string option;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"address 10.0.0.2:0;", "port '0' is not valid (expected 1..65535)"},
           {"address 10.0.0.2:65536;", "port '65536' is not valid (expected 1..65535)"},
           {"address 10.0.0.2:http;", "port 'http' is not valid (expected 1..65535)"},
           {"address 10.0.0.2;", "address '10.0.0.2' needs a port (e.g. address 198.18.1.11:7788)"},
           {"address 10.0.0.300:7788;", "'10.0.0.300' is not a valid IPv4 address or host name"},
           {"address ipv4 peer.example:7788;", "'peer.example' is not a valid IPv4 address"},
           {"address fd00::2:7788;",
            "address 'fd00::2:7788': IPv6 addresses go in brackets (e.g. address ipv6 "
            "[fd00::11]:7788)"},
           {"address ipv6 [fd00::zz]:7788;", "'fd00::zz' is not a valid IPv6 address"},
           {"address sdp 10.0.0.2:7788;",
            "address family 'sdp' is not supported (use ipv4 or ipv6)"},
           {"device dev/d;", "'device' needs an absolute path, not 'dev/d' (e.g. device "
                             "/dev/hapbx/r0;)"},
           {"device minor 0;", "device needs a path (e.g. device /dev/hapbx/r0 minor 0;)"},
           {"disk none;",
            "diskless nodes (disk none) are not supported; give each node a disk"},
           {"meta-disk /m [x];", "meta-disk index '[x]' is not valid (e.g. [0])"},
           {"meta-disk internal [0];", "'meta-disk internal' takes no index"},
       }) {
    const std::string text = "resource r0 {\n" + a + "on b {\n" + c.option +
                             "\ndevice /dev/d; disk /d; address 10.0.0.2:7788; meta-disk "
                             "internal; }\n}\n";
    EXPECT_EQ(error_of(text), "r0.res:4: " + c.error) << c.option;
  }
  EXPECT_EQ(error_of("resource r0 {\non b/c { }\n}\n"),
            "r0.res:2: host name 'b/c' is not valid (letters, digits, '_', '-', '.')");
  EXPECT_EQ(error_of("resource r0 {\non { }\n}\n"),
            "r0.res:2: 'on' takes one host name: on asterisk1 { ... }");
  EXPECT_EQ(error_of("common {\non a { }\n}\n" + resource("")),
            "r0.res:2: 'on' sections belong in a resource, not in common");
}

TEST(ResourceConfig, ResourceLevelErrors) {
  EXPECT_EQ(error_of(resource("") + resource("")),
            "r0.res:6: duplicate resource 'r0' (first defined at r0.res:1); rename or remove one");
  EXPECT_EQ(error_of("resource ../x {\n" + kHosts + "}\n"),
            "r0.res:1: resource name '../x' is not valid (letters, digits, '_', '-', '.'; at "
            "most 64)");
  EXPECT_EQ(error_of("resource {\n" + kHosts + "}\n"),
            "r0.res:1: a resource needs one name and a section: resource r0 { ... }");
  EXPECT_EQ(error_of("global { usage-count no; }\n"),
            "r0.res: no resource defined (add resource r0 { ... })");
  EXPECT_EQ(error_of(""), "r0.res: no resource defined (add resource r0 { ... })");
  EXPECT_EQ(error_of("resources r0 { }\n"),
            "r0.res:1: unknown statement 'resources' at the top level (expected global, common, "
            "resource or include)");
  EXPECT_EQ(error_of("common { }\ncommon { }\n" + resource("")),
            "r0.res:2: a second 'common' section (the first is at r0.res:1); merge them");
  EXPECT_EQ(error_of("global { usage-count maybe; }\n" + resource("")),
            "r0.res:1: usage-count 'maybe' is not valid (expected yes, no or ask)");
  // Many errors: the first 20, then a count that still names the place.
  std::string many;
  for (int i = 0; i < 25; ++i) many += "protocol Z;\n";
  const std::string message = error_of(resource(many));
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 20);
  EXPECT_NE(message.find("\nr0.res:21: protocol 'Z'"), std::string::npos) << message;
  EXPECT_NE(message.find("\nr0.res: 5 more errors not shown; fix the ones above first"),
            std::string::npos)
      << message;
  // All errors at once, one per line.
  EXPECT_EQ(error_of(resource("protocol D;\nnet { timeout 0; }")),
            "r0.res:2: protocol 'D' is not valid (expected A, B or C)\n"
            "r0.res:3: 'timeout' 0 is out of range (1..600, in 0.1 s)");
}

TEST(ResourceConfig, SyntaxErrors) {
  EXPECT_EQ(error_of("resource r0 {\n  protocol C\n  startup { }\n}\n"),
            "r0.res:2: missing ';' after 'C'");
  EXPECT_EQ(error_of("resource r0 {\n  on a { disk /d }\n}\n"),
            "r0.res:2: missing ';' after '/d'");
  EXPECT_EQ(error_of("resource r0 {\n  protocol C;\n"), "r0.res:1: '{' is never closed (missing '}')");
  EXPECT_EQ(error_of("resource r0 {\n  net { \n}\n"), "r0.res:1: '{' is never closed (missing '}')");
  EXPECT_EQ(error_of(kThesis + "}\n"), "r0.res:12: '}' without a matching '{'");
  EXPECT_EQ(error_of("resource r0 {\n  net { shared-secret \"abc; }\n}\n"),
            "r0.res:2: string not closed on this line (missing '\"')");
  EXPECT_EQ(error_of("resource r0 {\n  net { shared-secret \"abc\\"),
            "r0.res:2: string not closed on this line (missing '\"')");
  EXPECT_EQ(error_of("{ }"), "r0.res:1: '{' without a name before it (e.g. net {)");
  EXPECT_EQ(error_of("resource r0 {\n\x01}\n"), "r0.res:2: unexpected control character 0x01");
  EXPECT_EQ(error_of("resource r0"), "r0.res:1: missing ';' after 'r0'");
  std::string deep;
  for (int i = 0; i < 20; ++i) deep += "a {\n";
  EXPECT_EQ(error_of(deep), "r0.res:9: sections nested deeper than 8");
  EXPECT_EQ(error_of("resource " + std::string(5000, 'x') + " { }"),
            "r0.res:1: word or string longer than 4096 characters");
}

TEST(ResourceConfig, StringsCommentsAndEscapes) {
  ReplicaConfig cfg = ok(
      "# a comment { not a section\n"
      "resource \"r0\" { # trailing comment\n"
      "  net { cram-hmac-alg sha1; shared-secret \"a \\\"quoted\\\" #secret\\\\\"; }\n" +
      kHosts + "}\n");
  EXPECT_EQ(cfg.resource("r0")->shared_secret, "a \"quoted\" #secret\\");
}

TEST(ResourceConfig, WarningsNameThePlace) {
  ReplicaConfig cfg = ok(
      "global { usage-count yes; minor-count 4; }\n"
      "resource r0 {\n"
      "  handlers { pri-lost-after-sb \"/usr/lib/drbd/notify.sh; reboot -f\"; }\n"
      "  net { max-buffers 8000; max-epoch-size 8000; sndbuf-size 0; frobnicate 3;\n"
      "        shared-secret abc; ko-count 4; }\n"
      "  disk { fencing resource-only; no-md-flushes; }\n"
      "  syncer { rate 10M; rate 20M; after r1; }\n"
      "  startup { become-primary-on asterisk1; }\n"
      "  options { cpu-mask 1; }\n"
      "  weird { }\n"
      "  skip { anything { goes; } }\n" +
      kHosts + "}\n");
  const ResourceConfig& r = *cfg.resource("r0");
  EXPECT_TRUE(cfg.usage_count);
  EXPECT_EQ(r.max_buffers, 8000u);
  EXPECT_EQ(r.max_epoch_size, 8000u);
  EXPECT_EQ(r.resync_rate_bytes_per_s, 20u << 20);  // the last one counts
  const std::string w = warnings_of(cfg);
  for (const std::string& expected : {
           std::string("r0.res:1: 'usage-count yes' accepted, ignored (hapbx never reports usage)"),
           std::string("r0.res:1: 'minor-count' accepted, ignored (no effect in hapbx)"),
           std::string("r0.res:3: handler 'pri-lost-after-sb' accepted, ignored (replicad runs no "
                       "handler programs)"),
           std::string("r0.res:4: 'max-buffers' accepted (bounds replicad's receive queue; there "
                       "are no kernel buffers here)"),
           std::string("r0.res:4: 'max-epoch-size' accepted"),
           std::string("r0.res:4: 'sndbuf-size' accepted, ignored (no effect in hapbx)"),
           std::string("r0.res:4: unknown option 'frobnicate' in net, ignored (check the "
                       "spelling)"),
           std::string("r0.res:5: shared-secret without cram-hmac-alg is not used: the peers are "
                       "not authenticated (add cram-hmac-alg sha1;)"),
           std::string("r0.res:5: 'ko-count' accepted, ignored"),
           std::string("r0.res:6: 'fencing resource-only' accepted, ignored"),
           std::string("r0.res:6: 'no-md-flushes' accepted, ignored"),
           std::string("r0.res:7: 'rate' given again (first at r0.res:7); the last one counts"),
           std::string("r0.res:7: 'after' accepted, ignored"),
           std::string("r0.res:8: 'become-primary-on asterisk1' accepted, ignored (clusterd "
                       "decides which node is Primary)"),
           std::string("r0.res:9: 'cpu-mask' accepted, ignored"),
           std::string("r0.res:10: unknown section 'weird' ignored"),
           std::string("r0.res:11: 'skip' section skipped"),
       }) {
    EXPECT_NE(w.find(expected), std::string::npos) << expected << "\nin:\n" << w;
  }
  for (const auto& warning : cfg.warnings) {
    EXPECT_EQ(warning.file, "r0.res");
    EXPECT_GT(warning.line, 0);
    EXPECT_EQ(warning.message.rfind("r0.res:" + std::to_string(warning.line) + ": ", 0), 0u);
  }
}

TEST(ResourceConfig, TimeoutLongerThanPingIntIsAWarning) {
  ReplicaConfig cfg = ok(resource("net { timeout 100; ping-int 5; }"));
  EXPECT_TRUE(has_warning(cfg, "r0.res:1: resource r0: timeout (10000 ms) should be shorter "
                               "than ping-int and connect-int"))
      << warnings_of(cfg);
}

// ---- includes ---------------------------------------------------------------------------

TEST(ResourceConfig, IncludesFromMemoryRelativeAndGlobbed) {
  MemoryReplicaConfigFiles files;
  files.add("/etc/hapbx/drbd.d/global_common.conf",
            "global { usage-count no; }\ncommon { protocol B; }\n");
  files.add("/etc/hapbx/drbd.d/r0.res", "resource r0 {\n" + kHosts + "}\n");
  files.add("/etc/hapbx/drbd.d/r1.res",
            "resource r1 {\n  include \"r1-net.inc\";\n" + kHosts + "}\n");
  files.add("/etc/hapbx/drbd.d/r1-net.inc", "net { timeout 42; }\n");
  files.add("/etc/hapbx/drbd.d/README", "not a config file {");
  auto cfg = parse_replica_config(
      "include \"drbd.d/global_common.conf\";\ninclude \"drbd.d/*.res\";\n",
      "/etc/hapbx/drbd.conf", files);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_EQ(cfg->resources.size(), 2u);
  EXPECT_EQ(cfg->resources[0].name, "r0");  // glob matches in sorted order
  EXPECT_EQ(cfg->resources[0].file, "/etc/hapbx/drbd.d/r0.res");
  EXPECT_EQ(cfg->resources[0].protocol, Protocol::B);
  EXPECT_EQ(cfg->resources[1].timeout, std::chrono::milliseconds(4200));
  EXPECT_TRUE(cfg->warnings.empty()) << warnings_of(*cfg);
}

TEST(ResourceConfig, IncludeErrors) {
  MemoryReplicaConfigFiles files;
  files.add("/c/loop.res", "include \"loop.res\";\n");
  files.add("/c/a.res", "\ninclude \"b.res\";\n");
  files.add("/c/b.res", "\n\ninclude \"a.res\";\n");
  files.add("/c/bad.res", "resource r0 {\n");
  files.add("/c/extra.res", "}\n");
  const auto err = [&](const std::string& top) {
    auto cfg = parse_replica_config(top, "/c/top.res", files);
    return cfg.ok() ? std::string("(loaded)") : cfg.error().message;
  };
  EXPECT_EQ(err("include \"missing.res\";"), "/c/top.res:1: include '/c/missing.res': file not found");
  EXPECT_EQ(err("include \"loop.res\";"),
            "/c/loop.res:1: include loop: '/c/loop.res' is already being read; remove this "
            "include");
  EXPECT_EQ(err("include \"a.res\";"),
            "/c/b.res:3: include loop: '/c/a.res' is already being read; remove this include");
  EXPECT_EQ(err("include \"bad.res\";"), "/c/bad.res:1: '{' is never closed (missing '}')");
  EXPECT_EQ(err("resource r0 {\ninclude \"extra.res\";\n}\n"),
            "/c/extra.res:1: '}' without a matching '{'");
  EXPECT_EQ(err("include;"), "/c/top.res:1: include takes one file name (e.g. include "
                             "\"drbd.d/*.res\";)");
  EXPECT_EQ(err("include \"*/x.res\";"),
            "/c/top.res:1: include '*/x.res': wildcards are allowed in the file name only");
  // Globs: no match is a warning; a glob matching the including file skips it.
  files.add("/g/r0.res", "resource r0 {\n" + kHosts + "}\n");
  files.add("/g/self.res", "include \"s*.res\";\n");
  auto cfg = parse_replica_config("include \"*.res\";\ninclude \"none/*.res\";\n", "/g/top.conf",
                                  files);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->resources.size(), 1u);
  EXPECT_TRUE(has_warning(*cfg, "/g/top.conf:2: include 'none/*.res' matches no file"))
      << warnings_of(*cfg);
  EXPECT_TRUE(has_warning(*cfg, "/g/self.res:1: include: '/g/self.res' is already being read "
                                "(it would include itself); skipped"))
      << warnings_of(*cfg);
  // A diamond is fine (a file included twice, not recursively) but a deep chain is bounded.
  for (int i = 0; i < 12; ++i) {
    files.add("/d/" + std::to_string(i) + ".res",
              "include \"" + std::to_string(i + 1) + ".res\";\n");
  }
  auto deep = parse_replica_config("include \"0.res\";", "/d/top.res", files);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().message,
            "/d/7.res:1: includes nested deeper than 8 levels; flatten them");
}

TEST(ResourceConfig, IncludeManyFilesIsBounded) {
  MemoryReplicaConfigFiles files;
  files.add("/m/x.inc", "include \"y.inc\";\ninclude \"y.inc\";\ninclude \"y.inc\";\n");
  files.add("/m/y.inc", "include \"z.inc\";\ninclude \"z.inc\";\ninclude \"z.inc\";\n");
  files.add("/m/z.inc", "\n");
  std::string top;
  for (int i = 0; i < 40; ++i) top += "include \"x.inc\";\n";
  auto cfg = parse_replica_config(top, "/m/top.res", files);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.error().message.find("files included; merge some of them"), std::string::npos)
      << cfg.error().message;
}

TEST(ResourceConfig, LoadsRealFilesWithIncludes) {
  testing::TempDir dir("replica-config");
  ASSERT_FALSE(dir.path().empty());
  std::filesystem::create_directories(dir.path() / "drbd.d");
  std::ofstream(dir.path() / "drbd.conf") << "include \"drbd.d/*.res\";\n";
  std::ofstream(dir.path() / "drbd.d" / "r0.res") << kThesis;
  std::ofstream(dir.path() / "drbd.d" / "r0.res.orig") << "garbage {";
  auto cfg = load_replica_config((dir.path() / "drbd.conf").string());
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_NE(cfg->resource("r0"), nullptr);
  EXPECT_EQ(cfg->resource("r0")->file, (dir.path() / "drbd.d" / "r0.res").string());

  std::ofstream(dir.path() / "broken.res") << "resource r0 {\n  protocol Q;\n" << kHosts << "}\n";
  auto broken = load_replica_config((dir.path() / "broken.res").string());
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().message,
            (dir.path() / "broken.res").string() +
                ":2: protocol 'Q' is not valid (expected A, B or C)");

  auto missing = load_replica_config((dir.path() / "nope.res").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, (dir.path() / "nope.res").string() + ": no such file");
  auto directory = load_replica_config(dir.str());
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.error().message.find("not a regular file"), std::string::npos);
}

TEST(ResourceConfig, GlobMatch) {
  EXPECT_TRUE(glob_match("*.res", "r0.res"));
  EXPECT_FALSE(glob_match("*.res", "r0.res.orig"));
  EXPECT_FALSE(glob_match("*.res", ".hidden.res"));
  EXPECT_TRUE(glob_match(".*.res", ".hidden.res"));
  EXPECT_TRUE(glob_match("r?.res", "r1.res"));
  EXPECT_TRUE(glob_match("r[0-3].res", "r2.res"));
  EXPECT_FALSE(glob_match("r[0-3].res", "r5.res"));
  EXPECT_TRUE(glob_match("r[!0-3].res", "r5.res"));
  EXPECT_TRUE(glob_match("r[.res", "r[.res"));  // an unclosed '[' is literal
  EXPECT_TRUE(glob_match("*", "x"));
  EXPECT_FALSE(glob_match("", "x"));
  // No exponential blow-up.
  EXPECT_FALSE(glob_match(std::string(100, '*') + "b", std::string(200, 'a')));
}

// ---- hostile input -----------------------------------------------------------------------

TEST(ResourceConfig, HostileInputNeverCrashes) {
  const std::string samples[] = {
      std::string(1, '\0'), "}", "{", "\"", "#", ";;;", "resource", "resource r0 { on",
      "include \"/dev/zero\";", "include \"/proc/self/*\";", std::string(100000, '{'),
      std::string(100000, '}'), std::string(100000, ';'), "resource r0 { on a { address [;",
      "resource r0 { on a { address [fd00::1;", "resource r0 { on a { address :; } }",
      "resource r0 { on a { meta-disk /x []; } }", "resource r0 { net { after-sb-0pri; } }",
      "resource r0 { on a { device /d minor x; } }",
  };
  for (const std::string& s : samples) {
    auto cfg = parse(s);
    EXPECT_FALSE(cfg.ok()) << s.substr(0, 40);
    if (!cfg.ok()) {
      EXPECT_EQ(cfg.error().message.rfind("r0.res", 0), 0u) << cfg.error().message;
    }
  }
  // The whole file size is bounded.
  auto big = parse("# " + std::string(2u << 20, 'x'));
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("larger than"), std::string::npos);
}

}  // namespace
}  // namespace hapbx::replica
