// The typed sip.conf (and rtp.conf) model: what pbxd's transports, registrar and call handling
// read. Built from the generic Asterisk-syntax reader (asterisk_config.h); accepts the options of
// Asterisk's chan_sip so users keep their files. Options we know but do not act on yet are
// accepted with one note; unknown keys are warned about with file:line; values that would be
// unsafe or meaningless (bad number, bad enum value, port out of range, minexpiry > maxexpiry,
// rtpstart >= rtpend, ...) are errors naming file:line and the fix.
//
// Defaults follow Asterisk's chan_sip except where noted:
//   - tcpenable defaults to yes (Asterisk: no). We serve both transports on the same address by
//     default because large messages must be able to go over TCP (RFC 3261 18.1.1).
//   - allowguest (default yes, as Asterisk) lets calls from unknown senders into `context` of
//     [general]; it never lets anyone register. REGISTER always needs a known peer.
//   - authfailmax / authfailwindow / authfailban / noncelifetime / authalgorithms are hapbx
//     additions.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "pbx/asterisk_config.h"
#include "sip/endpoint.h"

namespace hapbx::pbx {

// One deny=/permit= line. Asterisk semantics: rules are applied in order to an address, every
// matching rule sets the verdict, the last match wins; no match means allowed.
struct AclRule {
  bool permit = true;
  bool ipv6 = false;
  std::array<uint8_t, 16> network{};  // IPv4 in the first 4 bytes
  int prefix_length = 0;              // 0..32 (IPv4) or 0..128 (IPv6)
  SourceLocation where;
};

struct Acl {
  std::vector<AclRule> rules;

  bool empty() const { return rules.empty(); }
  // `address` is a numeric IPv4 or IPv6 address (as in sip::Endpoint). An unparseable address
  // is denied when any rule exists.
  bool allows(std::string_view address) const;
};

enum class PeerType { Friend, User, Peer };  // user: may call in; peer: may be called/register
enum class DirectMedia { Yes, No, NoNat, Update };  // canreinvite= / directmedia=
enum class DtmfMode { Rfc2833, Info, ShortInfo, Inband, Auto, AutoInfo };

// nat= as Asterisk 11+: a comma list of force_rport, comedia, auto_force_rport, auto_comedia;
// `yes` = force_rport,comedia; `no` = none of them.
struct NatSettings {
  bool force_rport = false;
  bool comedia = false;
  bool auto_force_rport = true;  // Asterisk's default since 11
  bool auto_comedia = false;
};

struct Insecure {
  bool port = false;    // match peer by IP only, any port
  bool invite = false;  // no authentication of INVITE
};

std::string_view to_string(PeerType type);          // "friend", "user", "peer"
std::string_view to_string(DirectMedia mode);       // "yes", "no", "nonat", "update"
std::string_view to_string(DtmfMode mode);          // "rfc2833", "info", ...

struct BindAddress {
  std::string host;  // numeric address or name as written, without brackets
  uint16_t port = 5060;
};

struct SipGeneral {
  SourceLocation where;  // the [general] line, empty file when the section is absent

  BindAddress udp_bind{"0.0.0.0", 5060};  // bindaddr/bindport, overridden by udpbindaddr
  bool tcp_enabled = true;                // tcpenable
  BindAddress tcp_bind{"0.0.0.0", 5060};  // tcpbindaddr, default = udp_bind

  std::string context = "default";
  bool allow_guest = true;
  std::chrono::seconds default_expiry{120};
  std::chrono::seconds min_expiry{60};
  std::chrono::seconds max_expiry{3600};
  std::string realm = "asterisk";
  std::string user_agent = "hapbx PBX";
  bool always_auth_reject = true;
  std::chrono::seconds qualify_freq{60};

  // RTP: from sip.conf [general] or rtp.conf [general]; rtp.conf wins. rtp_start is even
  // (rounded up with a note, as Asterisk). Ports used are [rtp_start, rtp_end].
  uint16_t rtp_start = 10000;
  uint16_t rtp_end = 20000;
  std::chrono::seconds rtp_timeout{0};       // 0 = never hang up on RTP silence
  std::chrono::seconds rtp_hold_timeout{0};

  // hapbx additions: brute-force protection of digest authentication. After `auth_fail_max`
  // failures from one source address within `auth_fail_window`, requests from that address are
  // refused for `auth_fail_ban`. auth_fail_max = 0 disables it.
  int auth_fail_max = 10;
  std::chrono::seconds auth_fail_window{60};
  std::chrono::seconds auth_fail_ban{300};
  std::chrono::seconds nonce_lifetime{30};  // after this a nonce is answered stale=true
  // authalgorithms= (hapbx addition): challenge with SHA-256 first, then MD5 (RFC 8760).
  // Off by default because chan_sip offered MD5 only, and phones of that era (and sipp 3.6,
  // baresip 1.0) give up on a challenge list that starts with SHA-256.
  bool offer_sha256 = false;

  // Defaults every peer starts from (as chan_sip's globals).
  std::vector<std::string> codecs{"ulaw", "alaw", "gsm"};
  NatSettings nat;
  DirectMedia direct_media = DirectMedia::Yes;
  DtmfMode dtmf_mode = DtmfMode::Rfc2833;
  std::string language;
};

struct SipPeer {
  std::string name;      // the section name: the user part phones register/authenticate as
  SourceLocation where;  // the [name] line
  PeerType type = PeerType::Friend;

  std::string secret;
  std::string md5secret;  // 32 lowercase hex digits: MD5("user:realm:secret")

  bool dynamic = true;  // host=dynamic: address learned by REGISTER
  std::string host;     // host=<name or IP> when not dynamic, without brackets
  uint16_t port = 5060; // host=addr:port or port=
  std::string default_ip;  // defaultip= for dynamic peers not (yet) registered

  std::string default_user;  // defaultuser= (username= is the legacy name)
  std::string from_user;
  std::string from_domain;
  std::string context;       // defaults to [general] context
  std::string language;
  std::string account_code;
  std::string ama_flags;

  std::chrono::milliseconds qualify_max{0};  // 0 = qualify off; yes = 2000 ms
  std::chrono::seconds qualify_freq{60};
  DirectMedia direct_media = DirectMedia::Yes;
  NatSettings nat;

  std::string callerid;         // as written
  std::string callerid_name;    // "Name" <num> -> Name
  std::string callerid_number;  //              -> num
  std::vector<std::string> mailboxes;  // mailbox=201@default,202
  int call_limit = 0;                  // 0 = no limit

  // Codec names in preference order after applying [general] then the peer's disallow/allow
  // lines in order. Canonical Asterisk names: ulaw, alaw, gsm, g722, g729, opus, ...
  std::vector<std::string> codecs;
  DtmfMode dtmf_mode = DtmfMode::Rfc2833;
  Insecure insecure;
  // Allowed transports, first = preferred for requests we send; default {Udp}.
  std::vector<sip::TransportKind> transports{sip::TransportKind::Udp};

  Acl acl;          // deny=/permit=: who may use this peer's credentials / be this peer
  Acl contact_acl;  // contactdeny=/contactpermit=: which Contact addresses may be registered

  bool can_register() const { return type != PeerType::User && dynamic; }
};

struct SipConfig {
  SipGeneral general;
  std::vector<SipPeer> peers;         // file order; templates never appear here
  std::vector<std::string> warnings;  // each "sip.conf:12: ...", notes included

  // By section name, case-sensitive (the SIP user part is, RFC 3261 19.1.4; chan_sip compared
  // case-insensitively). O(1). The pointer lives as long as this SipConfig is not modified.
  const SipPeer* find_peer(std::string_view name) const;

  // Internal: name -> index into peers. Rebuilt by build_sip_config(); call reindex() after
  // editing `peers` by hand (tests).
  void reindex();

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>> index_;
};

// Reads `config_dir`/sip.conf (required) and `config_dir`/rtp.conf (optional).
Result<SipConfig> load_sip_config(const std::filesystem::path& config_dir, ConfigLoader& loader);

// Builds the model from files already read (rtp may be null). Warnings of the readers are
// carried over into SipConfig::warnings.
Result<SipConfig> build_sip_config(const ConfigFile& sip, const ConfigFile* rtp);

}  // namespace hapbx::pbx
