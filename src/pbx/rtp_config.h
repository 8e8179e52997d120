// rtp.conf [general]: the RTP port range (and, later, the other RTP options). Applied on top of
// what sip.conf's [general] said, so rtp.conf wins, as in Asterisk.
#pragma once

#include "pbx/asterisk_config.h"
#include "pbx/config_diagnostics.h"
#include "pbx/sip_config.h"

namespace hapbx::pbx {

// Where the RTP range came from, so the range check can name the line that set it.
struct RtpRangeOrigin {
  SourceLocation start;
  SourceLocation end;
};

// Parses rtpstart=/rtpend= (shared by sip.conf and rtp.conf). Returns false if `key` is not one
// of them.
bool apply_rtp_range_option(const ConfigEntry& entry, SipGeneral& general, RtpRangeOrigin& origin,
                            ConfigDiagnostics& diag);

// Applies every section of rtp.conf.
void apply_rtp_config(const ConfigFile& rtp, SipGeneral& general, RtpRangeOrigin& origin,
                      ConfigDiagnostics& diag);

// rtpstart < rtpend; rtpstart is made even (RTP on even ports, RTCP on the odd one above) with a
// note, as Asterisk does.
void check_rtp_range(SipGeneral& general, const RtpRangeOrigin& origin, ConfigDiagnostics& diag);

}  // namespace hapbx::pbx
