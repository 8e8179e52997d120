// rtp.conf handling and the RTP port range checks: see rtp_config.h.
#include "pbx/rtp_config.h"

#include <string_view>

#include "pbx/sip_config_values.h"

namespace hapbx::pbx {

namespace {

// rtp.conf options Asterisk knows that pbxd does not act on yet.
constexpr std::string_view kRtpNotUsed[] = {
    "rtpchecksums", "dtmftimeout", "rtcpinterval", "strictrtp", "probation", "icesupport",
    "stunaddr", "turnaddr", "turnusername", "turnpassword", "ice_blacklist", "ice_acl",
    "ice_deny", "ice_permit", "stun_blacklist", "stun_acl", "stun_deny", "stun_permit",
    "ice_host_candidate", "srtpreplayprotection", "dtls_mtu", "rtpchecksum"};

}  // namespace

bool apply_rtp_range_option(const ConfigEntry& entry, SipGeneral& general, RtpRangeOrigin& origin,
                            ConfigDiagnostics& diag) {
  const bool is_start = iequals(entry.key, "rtpstart");
  if (!is_start && !iequals(entry.key, "rtpend")) return false;
  auto n = conf::parse_number_option(entry.key, entry.value, 1024, 65535,
                                     is_start ? "10000" : "20000");
  if (!n.ok()) {
    diag.fail(entry.where, n.error().message);
    return true;
  }
  if (is_start) {
    general.rtp_start = static_cast<uint16_t>(n.value());
    origin.start = entry.where;
  } else {
    general.rtp_end = static_cast<uint16_t>(n.value());
    origin.end = entry.where;
  }
  return true;
}

void apply_rtp_config(const ConfigFile& rtp, SipGeneral& general, RtpRangeOrigin& origin,
                      ConfigDiagnostics& diag) {
  for (const auto& section : rtp.sections) {
    if (section.name != "general") {
      diag.warn(section.where, "section [" + shown(section.name) +
                                   "] ignored: rtp.conf has only [general]");
      continue;
    }
    for (const auto& entry : section.entries) {
      if (apply_rtp_range_option(entry, general, origin, diag)) continue;
      const std::string key = lowercase(entry.key);
      bool not_used = false;
      for (std::string_view k : kRtpNotUsed) not_used = not_used || key == k;
      if (not_used || key.rfind("dtls", 0) == 0) {
        diag.note_unused("rtp.conf", entry.where, entry.key);
      } else {
        diag.warn(entry.where, "unknown option '" + shown(entry.key) +
                                   "' in rtp.conf ignored (check the spelling; known: rtpstart, "
                                   "rtpend)");
      }
    }
  }
}

void check_rtp_range(SipGeneral& general, const RtpRangeOrigin& origin, ConfigDiagnostics& diag) {
  const SourceLocation& where = !origin.start.file.empty() ? origin.start : origin.end;
  if (general.rtp_start >= general.rtp_end) {
    diag.fail(where.file.empty() ? origin.end : where,
              "rtpstart " + std::to_string(general.rtp_start) + " is not below rtpend " +
                  std::to_string(general.rtp_end) +
                  " (set rtpstart lower than rtpend, e.g. rtpstart=10000 and rtpend=20000)");
    return;
  }
  if (general.rtp_start % 2 != 0) {
    diag.warn(where, "rtpstart " + std::to_string(general.rtp_start) +
                         " is odd; RTP uses even ports, so the range starts at " +
                         std::to_string(general.rtp_start + 1));
    general.rtp_start = static_cast<uint16_t>(general.rtp_start + 1);
    if (general.rtp_start >= general.rtp_end) {
      diag.fail(where, "the RTP range " + std::to_string(general.rtp_start) + "-" +
                           std::to_string(general.rtp_end) +
                           " holds no port pair (widen it, e.g. rtpstart=10000 and rtpend=20000)");
    }
  }
}

}  // namespace hapbx::pbx
