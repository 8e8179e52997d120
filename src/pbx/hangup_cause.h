// How a call ends, in the words each side speaks: Q.850 hangup causes (what the dialplan sees in
// ${HANGUPCAUSE} and Hangup(cause) takes), SIP status codes (what the phones see), and Dial's
// ${DIALSTATUS}. The mappings follow RFC 3398 (ISUP/Q.850 <-> SIP) and what chan_sip does, so
// dialplans written for Asterisk branch the same way.
#pragma once

#include <string_view>

namespace hapbx::pbx {

// The Q.850 causes the PBX uses (numeric values as in Q.850).
enum class HangupCause : int {
  Unallocated = 1,             // no such number
  NoRouteDestination = 3,
  NormalClearing = 16,
  UserBusy = 17,
  NoUserResponse = 18,         // nothing answered at all (e.g. SIP 408)
  NoAnswer = 19,               // rang, nobody picked up
  CallRejected = 21,
  NumberChanged = 22,
  DestinationOutOfOrder = 27,
  InvalidNumberFormat = 28,
  NormalUnspecified = 31,
  Congestion = 34,             // "no circuit available"
  TemporaryFailure = 41,
  SwitchCongestion = 42,
  BearerCapabilityNotAvail = 58,
  IncompatibleDestination = 88,  // SIP 488: no common codec
  RecoveryOnTimerExpire = 102,
  Interworking = 127,
};

enum class DialStatus { Answer, Busy, NoAnswer, Cancel, Congestion, ChanUnavail, DontCall, Torture, InvalidArgs };
std::string_view to_string(DialStatus status);  // "ANSWER", "BUSY", "NOANSWER", ...

// A SIP final failure of one Dial target, as Dial reports it (chan_sip's mapping):
// 486/600 busy; 408/480/404/410/484/604 and no response at all: the target is unavailable;
// everything else (5xx, 403, 488...) congestion.
DialStatus dial_status_for_sip(int status_code);
// The Q.850 cause a SIP failure stands for (RFC 3398 8.2.6.1).
HangupCause cause_for_sip(int status_code);
// The SIP final response that ends an unanswered incoming call for `cause` (RFC 3398 7.2.4.1,
// as chan_sip's hangup_cause2sip): 17 -> 486, 1/3 -> 404, 19 -> 480, 21 -> 403, 34/42 -> 503,
// 16 (a dialplan that hangs up an unanswered call) -> 480; numbers outside the table -> 603.
int sip_status_for_cause(HangupCause cause);
// Hangup(<cause>) as the dialplan writes it: a number, or a name Asterisk accepts
// ("NORMAL_CLEARING", "USER_BUSY", "CALL_REJECTED", ...). Unknown/empty -> NormalClearing.
HangupCause parse_hangup_cause(std::string_view text);

}  // namespace hapbx::pbx
