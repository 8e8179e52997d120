// Cause, status and DIALSTATUS tables (see hangup_cause.h for the sources).
#include "pbx/hangup_cause.h"

#include <charconv>

#include "sip/uri.h"

namespace hapbx::pbx {

std::string_view to_string(DialStatus status) {
  switch (status) {
    case DialStatus::Answer: return "ANSWER";
    case DialStatus::Busy: return "BUSY";
    case DialStatus::NoAnswer: return "NOANSWER";
    case DialStatus::Cancel: return "CANCEL";
    case DialStatus::Congestion: return "CONGESTION";
    case DialStatus::ChanUnavail: return "CHANUNAVAIL";
    case DialStatus::DontCall: return "DONTCALL";
    case DialStatus::Torture: return "TORTURE";
    case DialStatus::InvalidArgs: return "INVALIDARGS";
  }
  return "CONGESTION";
}

DialStatus dial_status_for_sip(int code) {
  switch (code) {
    case 486: case 600: return DialStatus::Busy;
    case 404: case 408: case 410: case 480: case 484: case 604: return DialStatus::ChanUnavail;
    default: return DialStatus::Congestion;
  }
}

HangupCause cause_for_sip(int code) {
  switch (code) {
    case 404: case 485: case 604: return HangupCause::Unallocated;
    case 403: case 603: return HangupCause::CallRejected;
    case 408: return HangupCause::NoUserResponse;
    case 410: return HangupCause::NumberChanged;
    case 480: return HangupCause::NoAnswer;
    case 484: return HangupCause::InvalidNumberFormat;
    case 486: case 600: return HangupCause::UserBusy;
    case 487: return HangupCause::NormalClearing;  // cancelled by us
    case 488: case 606: return HangupCause::IncompatibleDestination;
    case 500: return HangupCause::TemporaryFailure;
    case 502: return HangupCause::DestinationOutOfOrder;
    case 503: return HangupCause::Congestion;
    case 504: return HangupCause::RecoveryOnTimerExpire;
    default: return code >= 500 ? HangupCause::TemporaryFailure : HangupCause::Interworking;
  }
}

int sip_status_for_cause(HangupCause cause) {
  switch (cause) {
    case HangupCause::Unallocated:
    case HangupCause::NoRouteDestination: return 404;
    case HangupCause::UserBusy: return 486;
    case HangupCause::NoUserResponse: return 408;
    case HangupCause::NoAnswer: return 480;
    case HangupCause::CallRejected: return 403;
    case HangupCause::NumberChanged: return 410;
    case HangupCause::DestinationOutOfOrder: return 502;
    case HangupCause::InvalidNumberFormat: return 484;
    case HangupCause::Congestion:
    case HangupCause::SwitchCongestion:
    case HangupCause::TemporaryFailure: return 503;
    case HangupCause::BearerCapabilityNotAvail: return 488;
    case HangupCause::IncompatibleDestination: return 488;
    case HangupCause::RecoveryOnTimerExpire: return 504;
    case HangupCause::Interworking: return 500;
    case HangupCause::NormalClearing:
    case HangupCause::NormalUnspecified: return 480;
  }
  return 603;
}

HangupCause parse_hangup_cause(std::string_view text) {
  text = sip::trim(text);
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc() && end == text.data() + text.size() && value > 0 && value < 128) {
    return static_cast<HangupCause>(value);
  }
  struct Named { std::string_view name; HangupCause cause; };
  static constexpr Named kNames[] = {
      {"UNALLOCATED", HangupCause::Unallocated},
      {"NO_ROUTE_DESTINATION", HangupCause::NoRouteDestination},
      {"NORMAL_CLEARING", HangupCause::NormalClearing},
      {"NORMAL", HangupCause::NormalClearing},
      {"USER_BUSY", HangupCause::UserBusy},
      {"BUSY", HangupCause::UserBusy},
      {"NO_USER_RESPONSE", HangupCause::NoUserResponse},
      {"NO_ANSWER", HangupCause::NoAnswer},
      {"NOANSWER", HangupCause::NoAnswer},
      {"CALL_REJECTED", HangupCause::CallRejected},
      {"NUMBER_CHANGED", HangupCause::NumberChanged},
      {"DESTINATION_OUT_OF_ORDER", HangupCause::DestinationOutOfOrder},
      {"INVALID_NUMBER_FORMAT", HangupCause::InvalidNumberFormat},
      {"NORMAL_UNSPECIFIED", HangupCause::NormalUnspecified},
      {"CONGESTION", HangupCause::Congestion},
      {"NORMAL_CIRCUIT_CONGESTION", HangupCause::Congestion},
      {"SWITCH_CONGESTION", HangupCause::SwitchCongestion},
      {"INCOMPATIBLE_DESTINATION", HangupCause::IncompatibleDestination},
      {"INTERWORKING", HangupCause::Interworking},
  };
  for (const auto& n : kNames) {
    if (sip::iequals(n.name, text)) return n.cause;
  }
  return HangupCause::NormalClearing;
}

}  // namespace hapbx::pbx
