// Tests of the typed sip.conf / rtp.conf model: defaults, the thesis file, every option kind,
// every error class with its exact message, warnings with file:line, codec ordering, ACLs.
#include "pbx/sip_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace hapbx::pbx {
namespace {

Result<SipConfig> load(const std::string& sip, const std::string* rtp = nullptr) {
  MemoryConfigLoader loader;
  loader.add("/etc/hapbx/sip.conf", sip);
  if (rtp != nullptr) loader.add("/etc/hapbx/rtp.conf", *rtp);
  return load_sip_config("/etc/hapbx", loader);
}

// Loads text that must be valid and returns it.
SipConfig ok(const std::string& sip) {
  auto cfg = load(sip);
  EXPECT_TRUE(cfg.ok()) << cfg.error().message;
  return cfg.ok() ? std::move(cfg.value()) : SipConfig{};
}

std::string error_of(const std::string& sip) {
  auto cfg = load(sip);
  EXPECT_FALSE(cfg.ok());
  return cfg.ok() ? std::string("(loaded)") : cfg.error().message;
}

bool has_warning(const SipConfig& cfg, const std::string& text) {
  return std::find(cfg.warnings.begin(), cfg.warnings.end(), text) != cfg.warnings.end();
}

std::string all_warnings(const SipConfig& cfg) {
  std::string out;
  for (const auto& w : cfg.warnings) out += w + "\n";
  return out;
}

const std::string kPeer = "[201]\nsecret=x\n";

TEST(SipConfig, DefaultsAsAsterisk) {
  SipConfig cfg = ok("[general]\n");
  const SipGeneral& g = cfg.general;
  EXPECT_EQ(g.udp_bind.host, "0.0.0.0");
  EXPECT_EQ(g.udp_bind.port, 5060);
  EXPECT_TRUE(g.tcp_enabled);
  EXPECT_EQ(g.tcp_bind.port, 5060);
  EXPECT_EQ(g.context, "default");
  EXPECT_TRUE(g.allow_guest);
  EXPECT_EQ(g.default_expiry.count(), 120);
  EXPECT_EQ(g.min_expiry.count(), 60);
  EXPECT_EQ(g.max_expiry.count(), 3600);
  EXPECT_EQ(g.realm, "asterisk");
  EXPECT_EQ(g.user_agent, "hapbx PBX");
  EXPECT_TRUE(g.always_auth_reject);
  EXPECT_EQ(g.qualify_freq.count(), 60);
  EXPECT_EQ(g.rtp_start, 10000);
  EXPECT_EQ(g.rtp_end, 20000);
  EXPECT_EQ(g.auth_fail_max, 10);
  EXPECT_EQ(g.auth_fail_window.count(), 60);
  EXPECT_EQ(g.auth_fail_ban.count(), 300);
  EXPECT_EQ(g.nonce_lifetime.count(), 30);
  EXPECT_EQ(g.codecs, (std::vector<std::string>{"ulaw", "alaw", "gsm"}));
  EXPECT_TRUE(cfg.peers.empty());
  EXPECT_TRUE(cfg.warnings.empty()) << all_warnings(cfg);
}

TEST(SipConfig, ThesisFilesLoadWithoutWarnings) {
  FileConfigLoader loader;
  auto cfg = load_sip_config(HAPBX_TEST_DATA_DIR "/../examples/thesis", loader);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_TRUE(cfg->warnings.empty()) << all_warnings(*cfg);
  EXPECT_EQ(cfg->general.udp_bind.port, 5060);
  EXPECT_EQ(cfg->general.context, "default");
  EXPECT_EQ(cfg->general.rtp_start, 10000);
  EXPECT_EQ(cfg->general.rtp_end, 20000);
  ASSERT_EQ(cfg->peers.size(), 3u);  // the template is not a peer
  EXPECT_EQ(cfg->find_peer("office-phone"), nullptr);
  for (const char* name : {"201", "202", "203"}) {
    const SipPeer* p = cfg->find_peer(name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_EQ(p->type, PeerType::Friend);
    EXPECT_EQ(p->secret, std::string(name) + "pass");
    EXPECT_TRUE(p->dynamic);
    EXPECT_TRUE(p->can_register());
    EXPECT_EQ(p->context, "internal");
    EXPECT_EQ(p->qualify_max.count(), 2000);
    EXPECT_EQ(p->direct_media, DirectMedia::No);
    EXPECT_FALSE(p->nat.force_rport);
    EXPECT_FALSE(p->nat.comedia);
    EXPECT_EQ(p->callerid_name, "Extension " + std::string(name));
    EXPECT_EQ(p->callerid_number, name);
    EXPECT_EQ(p->codecs, (std::vector<std::string>{"ulaw", "alaw"}));
    EXPECT_TRUE(p->acl.empty());
  }
  EXPECT_EQ(cfg->peers[0].name, "201");
  EXPECT_EQ(cfg->peers[2].name, "203");
  EXPECT_EQ(cfg->peers[0].where.str(), "sip.conf:32");
}

TEST(SipConfig, PeerOptions) {
  SipConfig cfg = ok(
      "[general]\ncontext=from-guests\nqualifyfreq=30\n"
      "[trunk]\n"
      "type=peer\n"
      "host=192.0.2.7:5070\n"
      "md5secret=0123456789ABCDEF0123456789abcdef\n"
      "defaultuser=pbx\nfromuser=me\nfromdomain=example.com\n"
      "qualify=500\n"
      "directmedia=nonat\n"
      "nat=force_rport,comedia\n"
      "callerid=Reception <100>\n"
      "mailbox=100@default,101\n"
      "call-limit=4\n"
      "dtmfmode=info\n"
      "insecure=port,invite\n"
      "transport=tcp,udp\n"
      "language=fr\naccountcode=acc1\namaflags=billing\n"
      "[bare]\n"
      "type=user\nsecret=s\nhost=sip.example.com\nport=5080\n");
  const SipPeer* t = cfg.find_peer("trunk");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->type, PeerType::Peer);
  EXPECT_FALSE(t->dynamic);
  EXPECT_EQ(t->host, "192.0.2.7");
  EXPECT_EQ(t->port, 5070);
  EXPECT_EQ(t->md5secret, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(t->default_user, "pbx");
  EXPECT_EQ(t->from_user, "me");
  EXPECT_EQ(t->from_domain, "example.com");
  EXPECT_EQ(t->context, "from-guests");  // from [general]
  EXPECT_EQ(t->qualify_freq.count(), 30);  // from [general]
  EXPECT_EQ(t->qualify_max.count(), 500);
  EXPECT_EQ(t->direct_media, DirectMedia::NoNat);
  EXPECT_TRUE(t->nat.force_rport);
  EXPECT_TRUE(t->nat.comedia);
  EXPECT_FALSE(t->nat.auto_force_rport);
  EXPECT_EQ(t->callerid_name, "Reception");
  EXPECT_EQ(t->callerid_number, "100");
  EXPECT_EQ(t->mailboxes, (std::vector<std::string>{"100@default", "101"}));
  EXPECT_EQ(t->call_limit, 4);
  EXPECT_EQ(t->dtmf_mode, DtmfMode::Info);
  EXPECT_TRUE(t->insecure.port);
  EXPECT_TRUE(t->insecure.invite);
  EXPECT_EQ(t->transports,
            (std::vector<sip::TransportKind>{sip::TransportKind::Tcp, sip::TransportKind::Udp}));
  EXPECT_EQ(t->language, "fr");
  EXPECT_EQ(t->account_code, "acc1");
  EXPECT_EQ(t->ama_flags, "billing");
  EXPECT_FALSE(t->can_register());

  const SipPeer* b = cfg.find_peer("bare");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->type, PeerType::User);
  EXPECT_EQ(b->host, "sip.example.com");
  EXPECT_EQ(b->port, 5080);
  EXPECT_EQ(b->qualify_max.count(), 0);
  EXPECT_FALSE(b->can_register());
  EXPECT_TRUE(cfg.warnings.empty()) << all_warnings(cfg);
}

TEST(SipConfig, CallerIdForms) {
  SipConfig cfg = ok(
      "[a]\nsecret=x\ncallerid=\"Anna B\" <201>\n"
      "[b]\nsecret=x\ncallerid=<202>\n"
      "[c]\nsecret=x\ncallerid=203\n"
      "[d]\nsecret=x\ncallerid=\"Only Name\"\n"
      "[e]\nsecret=x\ncallerid=\"X\" <1>\nfullname=Eve\ncid_number=205\n");
  EXPECT_EQ(cfg.find_peer("a")->callerid_name, "Anna B");
  EXPECT_EQ(cfg.find_peer("a")->callerid_number, "201");
  EXPECT_EQ(cfg.find_peer("a")->callerid, "\"Anna B\" <201>");
  EXPECT_EQ(cfg.find_peer("b")->callerid_name, "");
  EXPECT_EQ(cfg.find_peer("b")->callerid_number, "202");
  EXPECT_EQ(cfg.find_peer("c")->callerid_number, "203");
  EXPECT_EQ(cfg.find_peer("d")->callerid_name, "Only Name");
  EXPECT_EQ(cfg.find_peer("d")->callerid_number, "");
  EXPECT_EQ(cfg.find_peer("e")->callerid_name, "Eve");
  EXPECT_EQ(cfg.find_peer("e")->callerid_number, "205");
}

TEST(SipConfig, QualifyAndNatValues) {
  SipConfig cfg = ok(
      "[a]\nsecret=x\nqualify=yes\nnat=yes\n"
      "[b]\nsecret=x\nqualify=no\nnat=no\n"
      "[c]\nsecret=x\nnat=auto_comedia, force_rport\n");
  EXPECT_EQ(cfg.find_peer("a")->qualify_max.count(), 2000);
  EXPECT_TRUE(cfg.find_peer("a")->nat.force_rport && cfg.find_peer("a")->nat.comedia);
  EXPECT_EQ(cfg.find_peer("b")->qualify_max.count(), 0);
  const NatSettings& nb = cfg.find_peer("b")->nat;
  EXPECT_FALSE(nb.force_rport || nb.comedia || nb.auto_force_rport || nb.auto_comedia);
  const NatSettings& nc = cfg.find_peer("c")->nat;
  EXPECT_TRUE(nc.auto_comedia && nc.force_rport);
  EXPECT_FALSE(nc.comedia || nc.auto_force_rport);
}

TEST(SipConfig, CodecOrdering) {
  SipConfig cfg = ok(
      "[general]\ndisallow=all\nallow=g722\n"
      "[inherits]\nsecret=x\nallow=ulaw\n"                          // g722 from general first
      "[reset]\nsecret=x\ndisallow=all\nallow=alaw,ulaw\n"          // order of the line
      "[all]\nsecret=x\nallow=all\ndisallow=ulaw\n"                 // all minus ulaw
      "[bang]\nsecret=x\ndisallow=all\nallow=ulaw,gsm,alaw\nallow=!gsm\n"
      "[dup]\nsecret=x\ndisallow=all\nallow=ulaw\nallow=alaw\nallow=ulaw\n"
      "[case]\nsecret=x\ndisallow=ALL\nallow=G729 , Opus\n");
  EXPECT_EQ(cfg.general.codecs, (std::vector<std::string>{"g722"}));
  EXPECT_EQ(cfg.find_peer("inherits")->codecs, (std::vector<std::string>{"g722", "ulaw"}));
  EXPECT_EQ(cfg.find_peer("reset")->codecs, (std::vector<std::string>{"alaw", "ulaw"}));
  const auto& all = cfg.find_peer("all")->codecs;
  ASSERT_GE(all.size(), 5u);
  EXPECT_EQ(all[0], "g722");  // kept its place from [general]
  EXPECT_EQ(all[1], "alaw");
  EXPECT_EQ(std::count(all.begin(), all.end(), "ulaw"), 0);
  EXPECT_EQ(cfg.find_peer("bang")->codecs, (std::vector<std::string>{"ulaw", "alaw"}));
  EXPECT_EQ(cfg.find_peer("dup")->codecs, (std::vector<std::string>{"ulaw", "alaw"}));
  EXPECT_EQ(cfg.find_peer("case")->codecs, (std::vector<std::string>{"g729", "opus"}));
  EXPECT_TRUE(cfg.warnings.empty()) << all_warnings(cfg);
}

TEST(SipConfig, CodecWarnings) {
  SipConfig cfg = ok("[201]\nsecret=x\ndisallow=all\nallow=ulaw,telephone-event,ulw\nallow=alaw:20\n");
  EXPECT_EQ(cfg.find_peer("201")->codecs, (std::vector<std::string>{"ulaw", "alaw"}));
  EXPECT_TRUE(has_warning(cfg, "sip.conf:4: 'telephone-event' is not a codec; DTMF events are "
                               "chosen with dtmfmode=rfc2833 (ignored)"))
      << all_warnings(cfg);
  EXPECT_TRUE(has_warning(cfg, "sip.conf:4: unknown codec 'ulw' ignored (known: ulaw, alaw, gsm, "
                               "g722, g729, opus, ilbc, speex, ... or all)"))
      << all_warnings(cfg);
  EXPECT_TRUE(has_warning(
      cfg, "sip.conf:5: 'alaw:20': packetisation ':20' is accepted but not used by hapbx yet"))
      << all_warnings(cfg);
}

TEST(SipConfig, TemplateOverridesAndInheritedValues) {
  SipConfig cfg = ok(
      "[phone](!)\ntype=friend\nhost=dynamic\ncontext=internal\nsecret=shared\n"
      "[201](phone)\nsecret=own\n"
      "[202](phone)\ncontext=other\n");
  ASSERT_EQ(cfg.peers.size(), 2u);
  EXPECT_EQ(cfg.find_peer("201")->secret, "own");
  EXPECT_EQ(cfg.find_peer("201")->context, "internal");
  EXPECT_EQ(cfg.find_peer("202")->secret, "shared");
  EXPECT_EQ(cfg.find_peer("202")->context, "other");
}

TEST(SipConfig, RtpConfWinsOverSipConf) {
  const std::string rtp = "[general]\nrtpstart=12000\nrtpend=14000\n";
  auto cfg = load("[general]\nrtpstart=30000\nrtpend=40000\nrtptimeout=60\n", &rtp);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->general.rtp_start, 12000);
  EXPECT_EQ(cfg->general.rtp_end, 14000);
  EXPECT_EQ(cfg->general.rtp_timeout.count(), 60);

  auto only_sip = load("[general]\nrtpstart=30000\nrtpend=40000\n");
  ASSERT_TRUE(only_sip.ok());
  EXPECT_EQ(only_sip->general.rtp_start, 30000);
  EXPECT_EQ(only_sip->general.rtp_end, 40000);
}

TEST(SipConfig, RtpConfWarnings) {
  const std::string rtp = "[general]\nrtpstart=10001\nrtpend=20000\nstrictrtp=yes\nrtpbogus=1\n";
  auto cfg = load("[general]\n", &rtp);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->general.rtp_start, 10002);
  EXPECT_TRUE(has_warning(*cfg, "rtp.conf:2: rtpstart 10001 is odd; RTP uses even ports, so the "
                                "range starts at 10002"))
      << all_warnings(*cfg);
  EXPECT_TRUE(has_warning(*cfg, "rtp.conf:4: 'strictrtp' is accepted but not used by hapbx yet; "
                                "further uses are not reported"))
      << all_warnings(*cfg);
  EXPECT_TRUE(has_warning(*cfg, "rtp.conf:5: unknown option 'rtpbogus' in rtp.conf ignored "
                                "(check the spelling; known: rtpstart, rtpend)"))
      << all_warnings(*cfg);
}

TEST(SipConfig, BindAddresses) {
  SipConfig a = ok("[general]\nbindaddr=198.18.0.10\nbindport=5070\n");
  EXPECT_EQ(a.general.udp_bind.host, "198.18.0.10");
  EXPECT_EQ(a.general.udp_bind.port, 5070);
  EXPECT_EQ(a.general.tcp_bind.host, "198.18.0.10");
  EXPECT_EQ(a.general.tcp_bind.port, 5070);

  SipConfig b = ok("[general]\nbindaddr=127.0.0.1:5080\nbindport=5070\ntcpenable=no\n");
  EXPECT_EQ(b.general.udp_bind.port, 5080);  // a port in bindaddr wins, as Asterisk
  EXPECT_FALSE(b.general.tcp_enabled);

  SipConfig c = ok(
      "[general]\nbindaddr=0.0.0.0\nudpbindaddr=[::1]:5062\ntcpbindaddr=127.0.0.1:5063\n");
  EXPECT_EQ(c.general.udp_bind.host, "::1");
  EXPECT_EQ(c.general.udp_bind.port, 5062);
  EXPECT_EQ(c.general.tcp_bind.host, "127.0.0.1");
  EXPECT_EQ(c.general.tcp_bind.port, 5063);
}

TEST(SipConfig, HapbxAdditions) {
  SipConfig cfg = ok(
      "[general]\nauthfailmax=5\nauthfailwindow=30\nauthfailban=600\nnoncelifetime=20\n"
      "allowguest=no\nrealm=pbx.example.com\nuseragent=Office PBX\n");
  EXPECT_EQ(cfg.general.auth_fail_max, 5);
  EXPECT_EQ(cfg.general.auth_fail_window.count(), 30);
  EXPECT_EQ(cfg.general.auth_fail_ban.count(), 600);
  EXPECT_EQ(cfg.general.nonce_lifetime.count(), 20);
  EXPECT_FALSE(cfg.general.allow_guest);
  EXPECT_EQ(cfg.general.realm, "pbx.example.com");
  EXPECT_EQ(cfg.general.user_agent, "Office PBX");
}

// ---- errors: each class with its exact message --------------------------------------------------

TEST(SipConfigErrors, UnknownPeerType) {
  EXPECT_EQ(error_of("[general]\n\n[201]\ntype=frend\nsecret=x\n"),
            "sip.conf:4: unknown peer type 'frend' (expected friend, user or peer)");
}

TEST(SipConfigErrors, BadNumbers) {
  EXPECT_EQ(error_of("[general]\ndefaultexpiry=soon\n"),
            "sip.conf:2: defaultexpiry: 'soon' is not a whole number (write e.g. "
            "defaultexpiry=120)");
  EXPECT_EQ(error_of("[general]\nbindport=70000\n"),
            "sip.conf:2: bindport: '70000' is out of range (expected 1 to 65535)");
  EXPECT_EQ(error_of("[201]\nsecret=x\ncall-limit=-1\n"),
            "sip.conf:3: call-limit: '-1' is out of range (expected 0 to 1000000)");
  EXPECT_EQ(error_of("[201]\nsecret=x\nport=0\n"),
            "sip.conf:3: port: '0' is out of range (expected 1 to 65535)");
}

TEST(SipConfigErrors, BadBoolean) {
  EXPECT_EQ(error_of("[general]\nallowguest=maybe\n"),
            "sip.conf:2: allowguest: 'maybe' is not a yes/no value (write allowguest=yes or "
            "allowguest=no)");
}

TEST(SipConfigErrors, BadEnumValues) {
  EXPECT_EQ(error_of("[201]\nsecret=x\ndtmfmode=tones\n"),
            "sip.conf:3: dtmfmode: unknown value 'tones' (expected rfc2833, info, shortinfo, "
            "inband, auto or auto_info)");
  EXPECT_EQ(error_of("[201]\nsecret=x\nnat=force_rport,sometimes\n"),
            "sip.conf:3: nat: unknown value 'sometimes' (expected no, yes, force_rport, comedia, "
            "auto_force_rport or auto_comedia, or a comma list of them)");
  EXPECT_EQ(error_of("[201]\nsecret=x\ncanreinvite=perhaps\n"),
            "sip.conf:3: canreinvite: unknown value 'perhaps' (expected yes, no, nonat or "
            "update)");
  EXPECT_EQ(error_of("[201]\nsecret=x\ninsecure=always\n"),
            "sip.conf:3: insecure: unknown value 'always' (expected port, invite, port,invite or "
            "no)");
  EXPECT_EQ(error_of("[201]\nsecret=x\namaflags=free\n"),
            "sip.conf:3: amaflags: unknown value 'free' (expected default, omit, billing or "
            "documentation)");
  EXPECT_EQ(error_of("[201]\nsecret=x\nqualify=often\n"),
            "sip.conf:3: qualify: value 'often' is not valid (expected yes, no or the maximum "
            "round trip in milliseconds, 1 to 60000)");
  EXPECT_EQ(error_of("[201]\nsecret=x\ntransport=sctp\n"),
            "sip.conf:3: transport: unknown transport 'sctp' (expected udp or tcp, e.g. "
            "udp,tcp)");
}

TEST(SipConfigErrors, AddressesAndPorts) {
  EXPECT_EQ(error_of("[201]\nhost=192.0.2.1:99999\n"),
            "sip.conf:2: host: port '99999' is out of range (expected 1 to 65535) (write "
            "host=dynamic, host=192.0.2.5 or host=sip.example.com:5060)");
  EXPECT_EQ(error_of("[201]\nhost=bad host!\n"),
            "sip.conf:2: host: 'bad host!' is not an address or host name (letters, digits, "
            "'.', '-', ':' only) (write host=dynamic, host=192.0.2.5 or "
            "host=sip.example.com:5060)");
  EXPECT_EQ(error_of("[general]\nbindaddr=my-server\n"),
            "sip.conf:2: bindaddr: 'my-server' is not a numeric address to listen on (write e.g. "
            "bindaddr=0.0.0.0 or bindaddr=198.18.0.10)");
  EXPECT_EQ(error_of("[201]\nsecret=x\ndefaultip=somewhere\n"),
            "sip.conf:3: defaultip: 'somewhere' is not a numeric address (write e.g. "
            "defaultip=192.0.2.5)");
}

TEST(SipConfigErrors, Md5Secret) {
  EXPECT_EQ(error_of("[201]\nmd5secret=abc\n"),
            "sip.conf:2: md5secret: must be 32 hexadecimal digits, the MD5 of "
            "\"user:realm:secret\" (got 3 characters; or use secret= instead)");
  EXPECT_EQ(error_of("[201]\nmd5secret=0123456789abcdef0123456789abcdeg\n"),
            "sip.conf:2: md5secret: must be 32 hexadecimal digits, the MD5 of "
            "\"user:realm:secret\" (got 32 characters; or use secret= instead)");
}

TEST(SipConfigErrors, ExpiryOrder) {
  EXPECT_EQ(error_of("[general]\nminexpiry=3600\nmaxexpiry=60\n"),
            "sip.conf:2: minexpiry 3600 is greater than maxexpiry 60 (make minexpiry <= "
            "maxexpiry, e.g. minexpiry=60 maxexpiry=3600)");
  EXPECT_EQ(error_of("[general]\nmaxexpiry=30\n"),
            "sip.conf:2: minexpiry 60 is greater than maxexpiry 30 (make minexpiry <= "
            "maxexpiry, e.g. minexpiry=60 maxexpiry=3600)");
}

TEST(SipConfigErrors, RtpRange) {
  EXPECT_EQ(error_of("[general]\nrtpstart=20000\nrtpend=10000\n"),
            "sip.conf:2: rtpstart 20000 is not below rtpend 10000 (set rtpstart lower than "
            "rtpend, e.g. rtpstart=10000 and rtpend=20000)");
  const std::string rtp = "[general]\nrtpend=9000\n";
  auto cfg = load("[general]\n", &rtp);
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().message,
            "rtp.conf:2: rtpstart 10000 is not below rtpend 9000 (set rtpstart lower than "
            "rtpend, e.g. rtpstart=10000 and rtpend=20000)");
  EXPECT_EQ(error_of("[general]\nrtpstart=80\n"),
            "sip.conf:2: rtpstart: '80' is out of range (expected 1024 to 65535)");
  EXPECT_EQ(error_of("[general]\nrtpend=lots\n"),
            "sip.conf:2: rtpend: 'lots' is not a whole number (write e.g. rtpend=20000)");
}

TEST(SipConfigErrors, Acl) {
  EXPECT_EQ(error_of("[201]\nsecret=x\npermit=10.0.0.0/33\n"),
            "sip.conf:3: permit: '10.0.0.0/33' has an invalid prefix length (expected "
            "address/prefix, e.g. 192.168.1.0/24 or 192.168.1.0/255.255.255.0)");
  EXPECT_EQ(error_of("[201]\nsecret=x\ndeny=everyone\n"),
            "sip.conf:3: deny: 'everyone' is not a network (expected address/prefix, e.g. "
            "192.168.1.0/24 or 192.168.1.0/255.255.255.0)");
  EXPECT_EQ(error_of("[201]\nsecret=x\npermit=10.0.0.0/255.0.255.0\n"),
            "sip.conf:3: permit: '10.0.0.0/255.0.255.0' has a non-contiguous netmask (expected "
            "address/prefix, e.g. 192.168.1.0/24 or 192.168.1.0/255.255.255.0)");
}

TEST(SipConfigErrors, AllErrorsAreReportedAtOnce) {
  const std::string msg = error_of("[general]\nbindport=x\n[201]\ntype=frend\n[202]\nnat=maybe\n");
  EXPECT_EQ(msg,
            "sip.conf:2: bindport: 'x' is not a whole number (write e.g. bindport=5060)\n"
            "sip.conf:4: unknown peer type 'frend' (expected friend, user or peer)\n"
            "sip.conf:6: nat: unknown value 'maybe' (expected no, yes, force_rport, comedia, "
            "auto_force_rport or auto_comedia, or a comma list of them)");
}

TEST(SipConfigErrors, TemplateErrorReportedOnceAtItsLine) {
  EXPECT_EQ(error_of("[t](!)\ntype=frend\n[201](t)\nsecret=a\n[202](t)\nsecret=b\n"),
            "sip.conf:2: unknown peer type 'frend' (expected friend, user or peer)");
}

TEST(SipConfigErrors, ReaderErrorsPassThrough) {
  EXPECT_EQ(error_of("[201](nosuch)\n"),
            "sip.conf:1: [201] inherits from 'nosuch', which is not defined above (define "
            "[nosuch](!) before it)");
}

// ---- warnings -----------------------------------------------------------------------------------

TEST(SipConfigWarnings, UnknownKeysNamedWithFileAndLine) {
  SipConfig cfg = ok("[general]\nbindprot=5060\n[201]\nsecret=x\nsecert=y\n");
  EXPECT_EQ(cfg.warnings,
            (std::vector<std::string>{
                "sip.conf:2: unknown option 'bindprot' in [general] ignored (not a sip.conf "
                "option we know; check the spelling)",
                "sip.conf:5: unknown option 'secert' in peer [201] ignored (not a sip.conf "
                "option we know; check the spelling)"}));
}

TEST(SipConfigWarnings, AcceptedButNotUsedNotedOnce) {
  SipConfig cfg = ok("[201]\nsecret=x\ncallgroup=1\n[202]\nsecret=x\ncallgroup=1\n");
  EXPECT_EQ(cfg.warnings,
            (std::vector<std::string>{"sip.conf:3: 'callgroup' is accepted but not used by hapbx "
                                      "yet; further uses are not reported"}));
}

TEST(SipConfigWarnings, WarningsInIncludedFilesNameThatFile) {
  MemoryConfigLoader loader;
  loader.add("/etc/hapbx/sip.conf", "[general]\n#include peers.d/office.conf\n");
  loader.add("/etc/hapbx/peers.d/office.conf", "[201]\nsecret=x\nfoo=bar\n");
  auto cfg = load_sip_config("/etc/hapbx", loader);
  ASSERT_TRUE(cfg.ok());
  ASSERT_EQ(cfg->warnings.size(), 1u);
  EXPECT_EQ(cfg->warnings[0].rfind("peers.d/office.conf:3: unknown option 'foo'", 0), 0u)
      << cfg->warnings[0];
}

TEST(SipConfigWarnings, RemoteSecretIgnoredWithNote) {
  SipConfig cfg = ok("[201]\nsecret=x\nremotesecret=y\n");
  EXPECT_EQ(cfg.warnings,
            (std::vector<std::string>{
                "sip.conf:3: remotesecret ignored: it authenticates hapbx towards the peer, "
                "which hapbx does not do yet; the peer still needs secret="}));
}

TEST(SipConfigWarnings, PeerWithoutAnyAuthentication) {
  SipConfig cfg = ok("[open]\ntype=friend\nhost=dynamic\n"
                     "[fixed]\nhost=192.0.2.1\n"
                     "[acl]\ndeny=0.0.0.0/0\npermit=192.0.2.0/24\n");
  EXPECT_EQ(cfg.warnings,
            (std::vector<std::string>{
                "sip.conf:1: peer 'open' has no secret, md5secret, fixed host or ACL, so anyone "
                "can use it (add secret=... or permit=...)"}));
}

TEST(SipConfigWarnings, DuplicatePeerLaterWins) {
  SipConfig cfg = ok("[201]\nsecret=a\n[202]\nsecret=b\n[201]\nsecret=c\n");
  ASSERT_EQ(cfg.peers.size(), 2u);
  EXPECT_EQ(cfg.peers[0].name, "201");
  EXPECT_EQ(cfg.find_peer("201")->secret, "c");
  EXPECT_EQ(cfg.warnings,
            (std::vector<std::string>{"sip.conf:5: peer '201' is defined again (first at "
                                      "sip.conf:1); this later definition replaces it"}));
}

TEST(SipConfigWarnings, OptionsInTheWrongSection) {
  SipConfig cfg = ok("[general]\nsecret=x\n[201]\nsecret=x\nbindport=5060\n");
  EXPECT_EQ(cfg.warnings,
            (std::vector<std::string>{
                "sip.conf:2: 'secret' is a peer option and has no effect in [general] (move it "
                "into the peer's section or a template)",
                "sip.conf:5: 'bindport' belongs in [general] and has no effect in a peer (move it "
                "to [general])"}));
}

TEST(SipConfigWarnings, UnsupportedTransportsAndTls) {
  SipConfig cfg = ok("[general]\ntlsenable=yes\n[201]\nsecret=x\ntransport=tls,udp\n");
  EXPECT_EQ(cfg.find_peer("201")->transports,
            (std::vector<sip::TransportKind>{sip::TransportKind::Udp}));
  EXPECT_EQ(cfg.warnings,
            (std::vector<std::string>{
                "sip.conf:2: 'tlsenable' is accepted but not used by hapbx yet (TLS is not "
                "supported yet; no TLS listener); further uses are not reported",
                "sip.conf:5: transport 'tls' is not supported by hapbx yet and is left out"}));
  EXPECT_EQ(error_of("[201]\nsecret=x\ntransport=tls\n"),
            "sip.conf:3: transport: no supported transport left (hapbx speaks udp and tcp; write "
            "transport=udp)");
}

TEST(SipConfigWarnings, DefaultExpiryClampedIntoRange) {
  SipConfig cfg = ok("[general]\ndefaultexpiry=30\n");
  EXPECT_EQ(cfg.general.default_expiry.count(), 60);
  EXPECT_EQ(cfg.warnings,
            (std::vector<std::string>{"sip.conf:2: defaultexpiry 30 is outside "
                                      "minexpiry..maxexpiry (60..3600); using 60"}));
}

TEST(SipConfigWarnings, AlwaysAuthRejectNoIsOverridden) {
  SipConfig cfg = ok("[general]\nalwaysauthreject=no\n");
  ASSERT_EQ(cfg.warnings.size(), 1u);
  EXPECT_EQ(cfg.warnings[0].rfind("sip.conf:2: alwaysauthreject=no is ignored", 0), 0u);
}

// ---- ACL evaluation -----------------------------------------------------------------------------

TEST(SipConfigAcl, LastMatchingRuleWins) {
  SipConfig cfg = ok(
      "[201]\nsecret=x\ndeny=0.0.0.0/0.0.0.0\npermit=192.168.1.0/255.255.255.0\n"
      "deny=192.168.1.13\ncontactpermit=10.0.0.0/8\n"
      "[v6]\nsecret=x\ndeny=::/0\npermit=2001:db8::/32\n");
  const Acl& acl = cfg.find_peer("201")->acl;
  ASSERT_EQ(acl.rules.size(), 3u);
  EXPECT_EQ(acl.rules[1].where.str(), "sip.conf:4");
  EXPECT_TRUE(acl.allows("192.168.1.20"));
  EXPECT_FALSE(acl.allows("192.168.1.13"));
  EXPECT_FALSE(acl.allows("10.1.1.1"));
  EXPECT_TRUE(acl.allows("::ffff:192.168.1.20"));  // IPv4-mapped
  EXPECT_TRUE(acl.allows("2001:db8::1"));          // no IPv6 rule matches: allowed
  EXPECT_FALSE(acl.allows("not-an-ip"));
  EXPECT_EQ(cfg.find_peer("201")->contact_acl.rules.size(), 1u);
  EXPECT_TRUE(cfg.find_peer("201")->contact_acl.allows("10.9.9.9"));

  const Acl& v6 = cfg.find_peer("v6")->acl;
  EXPECT_TRUE(v6.allows("2001:db8:1::5"));
  EXPECT_FALSE(v6.allows("2001:db9::1"));
  EXPECT_TRUE(Acl{}.allows("anything"));
}

TEST(SipConfigAcl, HostBitsAreClearedWithAWarning) {
  SipConfig cfg = ok("[201]\nsecret=x\npermit=192.168.1.77/24\n");
  EXPECT_TRUE(cfg.find_peer("201")->acl.allows("192.168.1.5"));
  EXPECT_EQ(cfg.warnings,
            (std::vector<std::string>{"sip.conf:3: '192.168.1.77/24' has bits set beyond its "
                                      "prefix; they are ignored (write the network address)"}));
}

// ---- scale --------------------------------------------------------------------------------------

TEST(SipConfigScale, TenThousandPeers) {
  std::string text = "[general]\n[phone](!)\ntype=friend\nhost=dynamic\nqualify=yes\n"
                     "disallow=all\nallow=ulaw\nallow=alaw\ncontext=internal\n";
  for (int i = 0; i < 10000; ++i) {
    const std::string n = std::to_string(10000 + i);
    text += "[" + n + "](phone)\nsecret=" + n + "pass\ncallerid=\"Phone " + n + "\" <" + n +
            ">\n";
  }
  SipConfig cfg = ok(text);
  ASSERT_EQ(cfg.peers.size(), 10000u);
  EXPECT_TRUE(cfg.warnings.empty());
  ASSERT_NE(cfg.find_peer("19999"), nullptr);
  EXPECT_EQ(cfg.find_peer("19999")->secret, "19999pass");
  EXPECT_EQ(cfg.find_peer("20000"), nullptr);
}

}  // namespace
}  // namespace hapbx::pbx

namespace hapbx::pbx {
namespace {

TEST(SipConfigAuthAlgorithms, Md5OnlyByDefaultSha256OnRequest) {
  EXPECT_FALSE(ok("[general]\n" + kPeer).general.offer_sha256);
  EXPECT_FALSE(ok("[general]\nauthalgorithms=md5\n" + kPeer).general.offer_sha256);
  EXPECT_TRUE(ok("[general]\nauthalgorithms = SHA-256, md5\n" + kPeer).general.offer_sha256);
  EXPECT_TRUE(ok("[general]\nauthalgorithms=sha256\n" + kPeer).general.offer_sha256);
  const std::string error = error_of("[general]\nauthalgorithms=sha-512\n" + kPeer);
  EXPECT_NE(error.find("sip.conf:2"), std::string::npos) << error;
  EXPECT_NE(error.find("unknown digest algorithm 'sha-512'"), std::string::npos) << error;
}

}  // namespace
}  // namespace hapbx::pbx
