// Builds the typed sip.conf model (see sip_config.h) from the generic Asterisk-syntax reader.
// [general] is applied first wherever it appears (as chan_sip does), then every non-template
// section becomes a peer starting from the [general] defaults. Option tables below list what we
// act on, what we accept without acting on it yet, and everything else is "unknown".
#include "pbx/sip_config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <unordered_map>

#include "pbx/config_diagnostics.h"
#include "pbx/rtp_config.h"
#include "pbx/sip_config_values.h"
#include "sip/uri.h"

namespace hapbx::pbx {

namespace fs = std::filesystem;

// ---- small public pieces -----------------------------------------------------------------------

bool Acl::allows(std::string_view address) const {
  if (rules.empty()) return true;
  std::array<uint8_t, 16> bytes{};
  bool v6 = false;
  if (!conf::parse_ip(address, bytes, v6)) return false;
  bool allowed = true;
  for (const auto& rule : rules) {
    if (rule.ipv6 != v6) continue;
    bool match = true;
    for (int i = 0; i < 16 && match; ++i) {
      const int keep = std::clamp(rule.prefix_length - i * 8, 0, 8);
      const uint8_t mask = keep == 0 ? 0 : static_cast<uint8_t>(0xff << (8 - keep));
      match = (bytes[i] & mask) == rule.network[i];
    }
    if (match) allowed = rule.permit;  // the last matching rule decides
  }
  return allowed;
}

std::string_view to_string(PeerType type) {
  switch (type) {
    case PeerType::Friend: return "friend";
    case PeerType::User: return "user";
    case PeerType::Peer: return "peer";
  }
  return "?";
}

std::string_view to_string(DirectMedia mode) {
  switch (mode) {
    case DirectMedia::Yes: return "yes";
    case DirectMedia::No: return "no";
    case DirectMedia::NoNat: return "nonat";
    case DirectMedia::Update: return "update";
  }
  return "?";
}

std::string_view to_string(DtmfMode mode) {
  switch (mode) {
    case DtmfMode::Rfc2833: return "rfc2833";
    case DtmfMode::Info: return "info";
    case DtmfMode::ShortInfo: return "shortinfo";
    case DtmfMode::Inband: return "inband";
    case DtmfMode::Auto: return "auto";
    case DtmfMode::AutoInfo: return "auto_info";
  }
  return "?";
}

const SipPeer* SipConfig::find_peer(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &peers[it->second];
}

void SipConfig::reindex() {
  index_.clear();
  index_.reserve(peers.size());
  for (std::size_t i = 0; i < peers.size(); ++i) index_.emplace(peers[i].name, i);
}

// ---- option tables -----------------------------------------------------------------------------

namespace {

enum class Opt {
  // peer options (several may also appear in [general] as defaults for every peer)
  Type, Secret, Md5Secret, RemoteSecret, Host, Port, DefaultIp, DefaultUser, Username, FromUser,
  FromDomain, Context, Language, AccountCode, AmaFlags, Qualify, QualifyFreq, DirectMedia, Nat,
  CallerId, FullName, CidNumber, Mailbox, CallLimit, Allow, Disallow, DtmfMode, Insecure,
  Transport, Deny, Permit, ContactDeny, ContactPermit,
  // [general] only
  BindAddr, BindPort, UdpBindAddr, TcpEnable, TcpBindAddr, AllowGuest, DefaultExpiry, MinExpiry,
  MaxExpiry, Realm, UserAgent, AlwaysAuthReject, RtpTimeout, RtpHoldTimeout, AuthFailMax,
  AuthFailWindow, AuthFailBan, NonceLifetime, AuthAlgorithms,
};

const std::unordered_map<std::string_view, Opt>& option_table() {
  static const std::unordered_map<std::string_view, Opt> table = {
      {"type", Opt::Type}, {"secret", Opt::Secret}, {"md5secret", Opt::Md5Secret},
      {"remotesecret", Opt::RemoteSecret}, {"host", Opt::Host}, {"port", Opt::Port},
      {"defaultip", Opt::DefaultIp}, {"defaultuser", Opt::DefaultUser},
      {"username", Opt::Username}, {"fromuser", Opt::FromUser}, {"fromdomain", Opt::FromDomain},
      {"context", Opt::Context}, {"language", Opt::Language}, {"accountcode", Opt::AccountCode},
      {"amaflags", Opt::AmaFlags}, {"qualify", Opt::Qualify}, {"qualifyfreq", Opt::QualifyFreq},
      {"canreinvite", Opt::DirectMedia}, {"directmedia", Opt::DirectMedia}, {"nat", Opt::Nat},
      {"callerid", Opt::CallerId}, {"fullname", Opt::FullName}, {"cid_number", Opt::CidNumber},
      {"mailbox", Opt::Mailbox}, {"call-limit", Opt::CallLimit},
      {"incominglimit", Opt::CallLimit}, {"allow", Opt::Allow}, {"disallow", Opt::Disallow},
      {"dtmfmode", Opt::DtmfMode}, {"insecure", Opt::Insecure}, {"transport", Opt::Transport},
      {"deny", Opt::Deny}, {"permit", Opt::Permit}, {"contactdeny", Opt::ContactDeny},
      {"contactpermit", Opt::ContactPermit},
      {"bindaddr", Opt::BindAddr}, {"bindport", Opt::BindPort},
      {"udpbindaddr", Opt::UdpBindAddr}, {"tcpenable", Opt::TcpEnable},
      {"tcpbindaddr", Opt::TcpBindAddr}, {"allowguest", Opt::AllowGuest},
      {"defaultexpiry", Opt::DefaultExpiry}, {"defaultexpirey", Opt::DefaultExpiry},
      {"minexpiry", Opt::MinExpiry}, {"minexpirey", Opt::MinExpiry},
      {"maxexpiry", Opt::MaxExpiry}, {"maxexpirey", Opt::MaxExpiry}, {"realm", Opt::Realm},
      {"useragent", Opt::UserAgent}, {"alwaysauthreject", Opt::AlwaysAuthReject},
      {"rtptimeout", Opt::RtpTimeout}, {"rtpholdtimeout", Opt::RtpHoldTimeout},
      {"authfailmax", Opt::AuthFailMax}, {"authfailwindow", Opt::AuthFailWindow},
      {"authfailban", Opt::AuthFailBan}, {"noncelifetime", Opt::NonceLifetime},
      {"authalgorithms", Opt::AuthAlgorithms},
  };
  return table;
}

bool is_general_only(Opt o) { return o >= Opt::BindAddr; }

// Peer options that [general] may set as the default for every peer (chan_sip's globals).
bool is_peer_default(Opt o) {
  switch (o) {
    case Opt::Context: case Opt::Language: case Opt::AccountCode: case Opt::AmaFlags:
    case Opt::Qualify: case Opt::QualifyFreq: case Opt::DirectMedia: case Opt::Nat:
    case Opt::Allow: case Opt::Disallow: case Opt::DtmfMode: case Opt::Insecure:
    case Opt::Transport: case Opt::FromDomain:
      return true;
    default:
      return false;
  }
}

// Asterisk chan_sip options pbxd accepts and does not act on yet (one note each).
constexpr std::string_view kNotUsed[] = {
    // peers
    "callgroup", "pickupgroup", "namedcallgroup", "namedpickupgroup", "vmexten", "regexten",
    "subscribecontext", "allowsubscribe", "subscribemwi", "mohinterpret", "mohsuggest",
    "musicclass", "musiconhold", "parkinglot", "t38pt_udptl", "t38pt_usertpsource",
    "videosupport", "textsupport", "maxcallbitrate", "rfc2833compensate", "session-timers",
    "session-expires", "session-minse", "session-refresher", "sendrpid", "trustrpid",
    "rpid_update", "rpid_immediate", "progressinband", "promiscredir", "useclientcode", "setvar",
    "outboundproxy", "autoframing", "g726nonstandard", "allowtransfer", "allowoverlap",
    "ignoresdpversion", "buggymwi", "busylevel", "outgoinglimit", "callcounter",
    "registertrying", "usereqphone", "maxforwards", "encryption", "encryption_taglen", "avpf",
    "force_avp", "icesupport", "timert1", "timerb", "rtpkeepalive", "auth", "preferred_codec_only",
    "supportpath", "keepalive", "directrtpsetup", "constantssrc", "hasvoicemail", "callingpres",
    "description", "tonezone", "disallowed_methods", "unsolicited_mailbox", "send_diversion",
    "shrinkcallerid", "snom_aoc_enabled", "accept_outofcall_message",
    "outofcall_message_context", "auth_message_requests", "fromdomainport", "directmediapermit",
    "directmediadeny", "directmediaacl", "acl", "contactacl", "trunkname", "cc_agent_policy",
    "cc_monitor_policy", "mwi_from", "dynamic_exclude_static", "rtp_engine",
    "ignore_requested_pref", "use_q850_reason", "recordonfeature", "recordofffeature",
    "record_on_feature", "record_off_feature", "callbackextension", "sdpsession", "sdpowner",
    "t38pt_maxdatagram", "faxdetect", "mohinterpret", "allowexternaldomains", "tos_sip",
    "tos_audio", "tos_video", "tos_text", "cos_sip", "cos_audio", "cos_video", "cos_text",
    "dtlsenable", "dtlsverify", "dtlsrekey", "dtlscertfile", "dtlsprivatekey", "dtlscipher",
    "dtlscafile", "dtlscapath", "dtlssetup", "dtlsfingerprint", "subscribe_network_change_event",
    "vmexten", "mailboxdetail", "astdb",
    // [general]
    "externip", "externaddr", "externhost", "externrefresh", "localnet", "srvlookup", "domain",
    "autodomain", "notifyringing", "notifyhold", "notifycid", "callevents", "register",
    "registertimeout", "registerattempts", "t1min", "rtcachefriends", "rtsavesysname",
    "rtupdate", "rtautoclear", "ignoreregexpire", "recordhistory", "dumphistory", "sipdebug",
    "compactheaders", "mwiexpiry", "jbenable", "jbforce", "jbmaxsize", "jbresyncthreshold",
    "jbimpl", "jblog", "jbtargetextra", "tcpauthtimeout", "tcpauthlimit", "regcontext",
    "regextenonqualify", "legacy_useroption_parsing", "match_auth_username", "storesipcause",
    "auth_options_requests", "limitonpeers", "relaxdtmf", "qualifygap", "qualifypeers",
    "notifymimetype", "checkmwi", "pedantic", "websocket_enabled", "websocket_write_timeout",
    "hash_user", "hash_peer", "hash_dialog", "domainsasrealm", "authfailureevents",
    "contactdeny", "contactpermit", "rtsavepath", "send_rpid", "sip_debug", "srvlookup", "refer_addheaders", "parkinglot", "keepalive", "defaultexpire", "callerid", "vmexten",
    "disallowed_methods", "allowtransfer", "accept_outofcall_message", "dynamic_exclude_static", "icesupport", "tlsdontverifyserver", "tlsclientmethod",
};

// TLS/WebSocket settings: accepted, but say plainly that nothing listens for them.
bool is_tls_option(std::string_view key) {
  return key.rfind("tls", 0) == 0;
}

bool is_not_used(std::string_view key) {
  for (std::string_view k : kNotUsed) {
    if (k == key) return true;
  }
  return false;
}

// ---- the builder -------------------------------------------------------------------------------

class Builder {
 public:
  Builder(ConfigDiagnostics& diag, std::size_t expected_peers) : diag_(diag) {
    peers_.reserve(expected_peers);
    index_.reserve(expected_peers);
    defaults_.context = general_.context;
    defaults_.codecs = general_.codecs;
    defaults_.qualify_freq = general_.qualify_freq;
  }

  void general_section(const ConfigSection& section) {
    if (general_seen_) {
      diag_.warn(section.where, "second [general] section; its options are applied as well "
                                "(merge it into the first one)");
    }
    if (!general_seen_) general_.where = section.where;
    general_seen_ = true;
    for (const auto& entry : section.entries) general_option(entry);
  }

  // Builds a peer from a section (template or not). Templates are checked the same way, so a
  // bad value is reported at its line even if no peer uses the template, but never become peers.
  void peer_section(const ConfigSection& section) {
    SipPeer peer = defaults_;
    peer.name = section.name;
    peer.where = section.where;
    for (const auto& entry : section.entries) peer_option(peer, entry);
    if (section.is_template) return;
    check_peer(peer);
    auto [it, inserted] = index_.emplace(peer.name, peers_.size());
    if (!inserted) {
      diag_.warn(section.where, "peer '" + shown(peer.name) + "' is defined again (first at " +
                                    peers_[it->second].where.str() +
                                    "); this later definition replaces it");
      peers_[it->second] = std::move(peer);
      return;
    }
    peers_.push_back(std::move(peer));
  }

  SipConfig finish(RtpRangeOrigin& rtp_origin, const ConfigFile* rtp) {
    general_.context = defaults_.context;
    general_.codecs = defaults_.codecs;
    general_.nat = defaults_.nat;
    general_.direct_media = defaults_.direct_media;
    general_.dtmf_mode = defaults_.dtmf_mode;
    general_.language = defaults_.language;
    general_.qualify_freq = defaults_.qualify_freq;
    resolve_binds();
    check_expiry();
    rtp_origin.start = rtp_origin_.start;
    rtp_origin.end = rtp_origin_.end;
    if (rtp != nullptr) apply_rtp_config(*rtp, general_, rtp_origin, diag_);
    check_rtp_range(general_, rtp_origin, diag_);
    SipConfig cfg;
    cfg.general = std::move(general_);
    cfg.peers = std::move(peers_);
    return cfg;
  }

 private:
  // Every "bad value" message has one shape: "<key> <what is wrong> (<what is expected>)".
  void bad(const ConfigEntry& e, const std::string& problem) {
    diag_.fail(e.where, shown(e.key) + ": " + problem);
  }

  std::optional<long long> number(const ConfigEntry& e, long long min, long long max,
                                  const char* example) {
    auto n = conf::parse_number_option(e.key, e.value, min, max, example);
    if (n.ok()) return n.value();
    diag_.fail(e.where, n.error().message);
    return std::nullopt;
  }

  std::optional<bool> boolean(const ConfigEntry& e) {
    if (auto b = conf::parse_bool(e.value)) return b;
    bad(e, "'" + shown(e.value) + "' is not a yes/no value (write " + shown(e.key) + "=yes or " +
               shown(e.key) + "=no)");
    return std::nullopt;
  }

  void seconds_opt(const ConfigEntry& e, std::chrono::seconds& out, long long min, long long max,
                   const char* example) {
    if (auto n = number(e, min, max, example)) out = std::chrono::seconds(*n);
  }

  void unknown(const ConfigEntry& e, std::string_view where) {
    diag_.warn(e.where, "unknown option '" + shown(e.key) + "' in " + std::string(where) +
                            " ignored (not a sip.conf option we know; check the spelling)");
  }

  void general_option(const ConfigEntry& e) {
    if (apply_rtp_range_option(e, general_, rtp_origin_, diag_)) return;
    const std::string key = lowercase(e.key);
    auto it = option_table().find(key);
    if (it == option_table().end()) {
      not_used_or_unknown(key, e, "[general]");
      return;
    }
    const Opt o = it->second;
    if (is_peer_default(o)) {
      peer_option(defaults_, e);
      return;
    }
    if (!is_general_only(o)) {
      if (is_not_used(key)) {
        diag_.note_unused("sip.conf", e.where, e.key);
        return;
      }
      diag_.warn(e.where, "'" + shown(e.key) + "' is a peer option and has no effect in "
                          "[general] (move it into the peer's section or a template)");
      return;
    }
    switch (o) {
      case Opt::BindAddr: {
        auto a = conf::parse_host_port(e.value, 0);
        if (!a.ok() || !numeric(a->host)) {
          bad(e, "'" + shown(e.value) +
                     "' is not a numeric address to listen on (write e.g. bindaddr=0.0.0.0 or "
                     "bindaddr=198.18.0.10)");
          return;
        }
        bindaddr_ = a.value();
        break;
      }
      case Opt::BindPort:
        if (auto n = number(e, 1, 65535, "5060")) bindport_ = static_cast<uint16_t>(*n);
        break;
      case Opt::UdpBindAddr:
      case Opt::TcpBindAddr: {
        auto a = conf::parse_host_port(e.value, 0);
        if (!a.ok() || !numeric(a->host)) {
          bad(e, "'" + shown(e.value) + "' is not a numeric address[:port] to listen on (write "
                     "e.g. " + shown(e.key) + "=0.0.0.0:5060)");
          return;
        }
        (o == Opt::UdpBindAddr ? udpbindaddr_ : tcpbindaddr_) = a.value();
        break;
      }
      case Opt::TcpEnable:
        if (auto b = boolean(e)) general_.tcp_enabled = *b;
        break;
      case Opt::AllowGuest:
        if (auto b = boolean(e)) general_.allow_guest = *b;
        break;
      case Opt::DefaultExpiry:
        seconds_opt(e, general_.default_expiry, 1, 31536000, "120");
        expiry_where_[0] = e.where;
        break;
      case Opt::MinExpiry:
        seconds_opt(e, general_.min_expiry, 1, 31536000, "60");
        expiry_where_[1] = e.where;
        break;
      case Opt::MaxExpiry:
        seconds_opt(e, general_.max_expiry, 1, 31536000, "3600");
        expiry_where_[2] = e.where;
        break;
      case Opt::Realm:
        if (e.value.empty() || e.value.find_first_of("\"\\") != std::string::npos) {
          bad(e, "'" + shown(e.value) + "' is not a usable realm (no quotes or backslashes; "
                     "write e.g. realm=pbx.example.com)");
          return;
        }
        general_.realm = e.value;
        break;
      case Opt::UserAgent:
        general_.user_agent = e.value;
        break;
      case Opt::AlwaysAuthReject:
        if (auto b = boolean(e)) {
          general_.always_auth_reject = *b;
          if (!*b) {
            diag_.warn(e.where, "alwaysauthreject=no is ignored: hapbx always answers unknown "
                                "users like wrong passwords, so names cannot be probed");
          }
        }
        break;
      case Opt::RtpTimeout:
        seconds_opt(e, general_.rtp_timeout, 0, 86400, "60");
        break;
      case Opt::RtpHoldTimeout:
        seconds_opt(e, general_.rtp_hold_timeout, 0, 86400, "300");
        break;
      case Opt::AuthFailMax:
        if (auto n = number(e, 0, 1000000, "10")) general_.auth_fail_max = static_cast<int>(*n);
        break;
      case Opt::AuthFailWindow:
        seconds_opt(e, general_.auth_fail_window, 1, 86400, "60");
        break;
      case Opt::AuthFailBan:
        seconds_opt(e, general_.auth_fail_ban, 0, 604800, "300");
        break;
      case Opt::NonceLifetime:
        seconds_opt(e, general_.nonce_lifetime, 1, 3600, "30");
        break;
      case Opt::AuthAlgorithms:
        auth_algorithms(e);
        break;
      default:
        break;
    }
  }

  // authalgorithms=md5 | sha-256,md5: which digest challenges a 401 carries. MD5 is always
  // offered (every SIP phone has it; md5secret peers need it).
  void auth_algorithms(const ConfigEntry& e) {
    bool sha256 = false;
    std::string_view rest = e.value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string token(sip::trim(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      for (auto& c : token) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (token == "sha-256" || token == "sha256") {
        sha256 = true;
      } else if (token != "md5") {
        bad(e, "unknown digest algorithm '" + shown(token) +
                   "' (expected md5, or sha-256,md5 to offer SHA-256 first as RFC 8760 says)");
        return;
      }
    }
    general_.offer_sha256 = sha256;
  }

  void not_used_or_unknown(const std::string& key, const ConfigEntry& e, std::string_view where) {
    if (key == "tlsenable" || is_tls_option(key)) {
      diag_.note_unused("sip.conf", e.where, e.key, "TLS is not supported yet; no TLS listener");
    } else if (is_not_used(key)) {
      diag_.note_unused("sip.conf", e.where, e.key);
    } else {
      unknown(e, where);
    }
  }

  static bool numeric(const std::string& host) {
    std::array<uint8_t, 16> bytes{};
    bool v6 = false;
    return conf::parse_ip(host, bytes, v6);
  }

  void peer_option(SipPeer& p, const ConfigEntry& e) {
    const std::string key = lowercase(e.key);
    auto it = option_table().find(key);
    if (it == option_table().end()) {
      not_used_or_unknown(key, e, "peer [" + shown(p.name.empty() ? "general" : p.name) + "]");
      return;
    }
    const Opt o = it->second;
    if (is_general_only(o)) {
      diag_.warn(e.where, "'" + shown(e.key) + "' belongs in [general] and has no effect in a "
                          "peer (move it to [general])");
      return;
    }
    const std::string& v = e.value;
    switch (o) {
      case Opt::Type:
        if (auto t = conf::parse_peer_type(v); t.ok()) p.type = t.value();
        else diag_.fail(e.where, t.error().message);
        break;
      case Opt::Secret:
        p.secret = v;
        break;
      case Opt::Md5Secret: {
        const bool hex = v.size() == 32 &&
                         v.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
        if (!hex) {
          bad(e, "must be 32 hexadecimal digits, the MD5 of \"user:realm:secret\" (got " +
                     std::to_string(v.size()) + " characters; or use secret= instead)");
          return;
        }
        p.md5secret = lowercase(v);
        break;
      }
      case Opt::RemoteSecret:
        diag_.warn(e.where, "remotesecret ignored: it authenticates hapbx towards the peer, "
                            "which hapbx does not do yet; the peer still needs secret=");
        break;
      case Opt::Host:
        if (iequals(v, "dynamic")) {
          p.dynamic = true;
          p.host.clear();
        } else if (auto a = conf::parse_host_port(v, p.port); a.ok()) {
          p.dynamic = false;
          p.host = a->host;
          p.port = a->port;
        } else {
          bad(e, a.error().message + " (write host=dynamic, host=192.0.2.5 or "
                                     "host=sip.example.com:5060)");
        }
        break;
      case Opt::Port:
        if (auto n = number(e, 1, 65535, "5060")) p.port = static_cast<uint16_t>(*n);
        break;
      case Opt::DefaultIp:
        if (!numeric(v)) {
          bad(e, "'" + shown(v) + "' is not a numeric address (write e.g. defaultip=192.0.2.5)");
          return;
        }
        p.default_ip = v;
        break;
      case Opt::DefaultUser:
      case Opt::Username:
        p.default_user = v;
        break;
      case Opt::FromUser: p.from_user = v; break;
      case Opt::FromDomain: p.from_domain = v; break;
      case Opt::Context:
        if (v.empty()) {
          bad(e, "is empty (write e.g. context=internal)");
          return;
        }
        p.context = v;
        break;
      case Opt::Language: p.language = v; break;
      case Opt::AccountCode: p.account_code = v; break;
      case Opt::AmaFlags:
        if (!iequals(v, "default") && !iequals(v, "omit") && !iequals(v, "billing") &&
            !iequals(v, "documentation")) {
          bad(e, "unknown value '" + shown(v) +
                     "' (expected default, omit, billing or documentation)");
          return;
        }
        p.ama_flags = lowercase(v);
        break;
      case Opt::Qualify:
        if (auto q = conf::parse_qualify(v); q.ok()) p.qualify_max = std::chrono::milliseconds(q.value());
        else bad(e, q.error().message);
        break;
      case Opt::QualifyFreq:
        seconds_opt(e, p.qualify_freq, 1, 86400, "60");
        break;
      case Opt::DirectMedia:
        if (auto d = conf::parse_direct_media(v); d.ok()) p.direct_media = d.value();
        else bad(e, d.error().message);
        break;
      case Opt::Nat:
        if (auto n = conf::parse_nat(v); n.ok()) p.nat = n.value();
        else bad(e, n.error().message);
        break;
      case Opt::CallerId:
        p.callerid = v;
        conf::parse_callerid(v, p.callerid_name, p.callerid_number);
        break;
      case Opt::FullName: p.callerid_name = v; break;
      case Opt::CidNumber: p.callerid_number = v; break;
      case Opt::Mailbox:
        p.mailboxes.clear();
        for (std::size_t pos = 0; pos <= v.size();) {
          std::size_t comma = v.find_first_of(",&", pos);
          if (comma == std::string::npos) comma = v.size();
          std::string item = v.substr(pos, comma - pos);
          while (!item.empty() && item.front() == ' ') item.erase(0, 1);
          while (!item.empty() && item.back() == ' ') item.pop_back();
          if (!item.empty()) p.mailboxes.push_back(std::move(item));
          pos = comma + 1;
        }
        break;
      case Opt::CallLimit:
        if (auto n = number(e, 0, 1000000, "2")) p.call_limit = static_cast<int>(*n);
        break;
      case Opt::Allow:
      case Opt::Disallow:
        conf::apply_codecs(o == Opt::Allow, v, p.codecs,
                           [&](const std::string& msg) { diag_.warn(e.where, msg); });
        break;
      case Opt::DtmfMode:
        if (auto d = conf::parse_dtmf_mode(v); d.ok()) p.dtmf_mode = d.value();
        else bad(e, d.error().message);
        break;
      case Opt::Insecure:
        if (auto i = conf::parse_insecure(v); i.ok()) p.insecure = i.value();
        else bad(e, i.error().message);
        break;
      case Opt::Transport: {
        std::vector<std::string> unsupported;
        auto t = conf::parse_transports(v, unsupported);
        if (!t.ok()) {
          bad(e, t.error().message);
          return;
        }
        for (const auto& u : unsupported) {
          diag_.warn(e.where, "transport '" + u + "' is not supported by hapbx yet and is left "
                              "out");
        }
        if (t->empty()) {
          bad(e, "no supported transport left (hapbx speaks udp and tcp; write transport=udp)");
          return;
        }
        p.transports = std::move(t.value());
        break;
      }
      case Opt::Deny:
      case Opt::Permit:
      case Opt::ContactDeny:
      case Opt::ContactPermit: {
        const bool permit = o == Opt::Permit || o == Opt::ContactPermit;
        bool host_bits = false;
        auto r = conf::parse_acl_rule(permit, v, host_bits);
        if (!r.ok()) {
          bad(e, r.error().message);
          return;
        }
        if (host_bits) {
          diag_.warn(e.where, "'" + shown(v) + "' has bits set beyond its prefix; they are "
                              "ignored (write the network address)");
        }
        r->where = e.where;
        (o == Opt::Deny || o == Opt::Permit ? p.acl : p.contact_acl).rules.push_back(r.value());
        break;
      }
      default:
        break;
    }
  }

  void check_peer(const SipPeer& p) {
    if (p.secret.empty() && p.md5secret.empty() && p.dynamic && p.acl.empty()) {
      diag_.warn(p.where, "peer '" + shown(p.name) + "' has no secret, md5secret, fixed host or "
                          "ACL, so anyone can use it (add secret=... or permit=...)");
    }
  }

  void resolve_binds() {
    general_.udp_bind.host = bindaddr_ ? bindaddr_->host : "0.0.0.0";
    general_.udp_bind.port = bindaddr_ && bindaddr_->port != 0 ? bindaddr_->port : bindport_;
    if (udpbindaddr_) {
      general_.udp_bind.host = udpbindaddr_->host;
      if (udpbindaddr_->port != 0) general_.udp_bind.port = udpbindaddr_->port;
    }
    general_.tcp_bind = general_.udp_bind;
    if (tcpbindaddr_) {
      general_.tcp_bind.host = tcpbindaddr_->host;
      if (tcpbindaddr_->port != 0) general_.tcp_bind.port = tcpbindaddr_->port;
    }
  }

  void check_expiry() {
    const auto where = [&](int i) {
      return expiry_where_[i].file.empty() ? general_.where : expiry_where_[i];
    };
    if (general_.min_expiry > general_.max_expiry) {
      const int i = expiry_where_[1].file.empty() ? 2 : 1;
      diag_.fail(where(i), "minexpiry " + std::to_string(general_.min_expiry.count()) +
                               " is greater than maxexpiry " +
                               std::to_string(general_.max_expiry.count()) +
                               " (make minexpiry <= maxexpiry, e.g. minexpiry=60 maxexpiry=3600)");
      return;
    }
    const auto clamped =
        std::clamp(general_.default_expiry, general_.min_expiry, general_.max_expiry);
    if (clamped != general_.default_expiry) {
      diag_.warn(where(0), "defaultexpiry " + std::to_string(general_.default_expiry.count()) +
                               " is outside minexpiry..maxexpiry (" +
                               std::to_string(general_.min_expiry.count()) + ".." +
                               std::to_string(general_.max_expiry.count()) + "); using " +
                               std::to_string(clamped.count()));
      general_.default_expiry = clamped;
    }
  }

  ConfigDiagnostics& diag_;
  SipGeneral general_;
  SipPeer defaults_;  // peer options set in [general]
  bool general_seen_ = false;
  std::optional<BindAddress> bindaddr_, udpbindaddr_, tcpbindaddr_;
  uint16_t bindport_ = 5060;
  std::array<SourceLocation, 3> expiry_where_;  // defaultexpiry, minexpiry, maxexpiry
  RtpRangeOrigin rtp_origin_;
  std::vector<SipPeer> peers_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace

Result<SipConfig> build_sip_config(const ConfigFile& sip, const ConfigFile* rtp) {
  ConfigDiagnostics diag;
  for (const auto& w : sip.warnings) diag.warnings().push_back(w);
  if (rtp != nullptr) {
    for (const auto& w : rtp->warnings) diag.warnings().push_back(w);
  }
  Builder builder(diag, sip.sections.size());
  for (const auto& section : sip.sections) {
    if (section.name == "general" && !section.is_template) builder.general_section(section);
  }
  for (const auto& section : sip.sections) {
    if (section.name == "general" && !section.is_template) continue;
    if (section.name == "authentication" && !section.is_template) {
      diag.note_unused("sip.conf", section.where, "[authentication]",
                       "credentials for outbound authentication");
      continue;
    }
    builder.peer_section(section);
  }
  RtpRangeOrigin origin;
  SipConfig cfg = builder.finish(origin, rtp);
  if (diag.failed()) return make_error(diag.error_text());
  cfg.warnings = std::move(diag.warnings());
  cfg.reindex();
  return cfg;
}

Result<SipConfig> load_sip_config(const fs::path& config_dir, ConfigLoader& loader) {
  auto sip = read_asterisk_config(config_dir / "sip.conf", loader);
  if (!sip.ok()) return sip.error();
  auto rtp_content = loader.read(config_dir / "rtp.conf", ConfigLimits{}.max_file_bytes);
  if (!rtp_content.ok()) return rtp_content.error();
  if (!rtp_content.value()) return build_sip_config(sip.value(), nullptr);
  auto rtp = read_asterisk_config(config_dir / "rtp.conf", loader);
  if (!rtp.ok()) return rtp.error();
  return build_sip_config(sip.value(), &rtp.value());
}

}  // namespace hapbx::pbx
