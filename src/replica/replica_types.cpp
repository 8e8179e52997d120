// Names of the replica vocabulary, as `drbdadm status` prints them.
#include "replica/replica_types.h"

namespace hapbx::replica {

bool is_connected(ConnectionState c) {
  switch (c) {
    case ConnectionState::Connected:
    case ConnectionState::StartingSyncS:
    case ConnectionState::StartingSyncT:
    case ConnectionState::SyncSource:
    case ConnectionState::SyncTarget:
    case ConnectionState::VerifyS:
    case ConnectionState::VerifyT: return true;
    default: return false;
  }
}

std::string_view to_string(Protocol p) {
  switch (p) {
    case Protocol::A: return "A";
    case Protocol::B: return "B";
    case Protocol::C: return "C";
  }
  return "?";
}

std::string_view to_string(Role r) {
  switch (r) {
    case Role::Unknown: return "Unknown";
    case Role::Secondary: return "Secondary";
    case Role::Primary: return "Primary";
  }
  return "?";
}

std::string_view to_string(ConnectionState c) {
  switch (c) {
    case ConnectionState::StandAlone: return "StandAlone";
    case ConnectionState::Disconnecting: return "Disconnecting";
    case ConnectionState::Unconnected: return "Unconnected";
    case ConnectionState::WFConnection: return "WFConnection";
    case ConnectionState::WFReportParams: return "WFReportParams";
    case ConnectionState::Connected: return "Connected";
    case ConnectionState::StartingSyncS: return "StartingSyncS";
    case ConnectionState::StartingSyncT: return "StartingSyncT";
    case ConnectionState::SyncSource: return "SyncSource";
    case ConnectionState::SyncTarget: return "SyncTarget";
    case ConnectionState::VerifyS: return "VerifyS";
    case ConnectionState::VerifyT: return "VerifyT";
  }
  return "?";
}

std::string_view to_string(DiskState d) {
  switch (d) {
    case DiskState::Diskless: return "Diskless";
    case DiskState::Attaching: return "Attaching";
    case DiskState::Failed: return "Failed";
    case DiskState::Inconsistent: return "Inconsistent";
    case DiskState::Outdated: return "Outdated";
    case DiskState::DUnknown: return "DUnknown";
    case DiskState::Consistent: return "Consistent";
    case DiskState::UpToDate: return "UpToDate";
  }
  return "?";
}

std::string_view to_string(SplitBrainPolicy p) {
  switch (p) {
    case SplitBrainPolicy::Disconnect: return "disconnect";
    case SplitBrainPolicy::DiscardYoungerPrimary: return "discard-younger-primary";
    case SplitBrainPolicy::DiscardOlderPrimary: return "discard-older-primary";
    case SplitBrainPolicy::DiscardZeroChanges: return "discard-zero-changes";
    case SplitBrainPolicy::DiscardLeastChanges: return "discard-least-changes";
    case SplitBrainPolicy::DiscardLocal: return "discard-local";
    case SplitBrainPolicy::DiscardRemote: return "discard-remote";
    case SplitBrainPolicy::Consensus: return "consensus";
    case SplitBrainPolicy::DiscardSecondary: return "discard-secondary";
    case SplitBrainPolicy::CallPrimaryLost: return "call-pri-lost-after-sb";
    case SplitBrainPolicy::Violently: return "violently-as0p";
  }
  return "?";
}

std::optional<Protocol> protocol_from_string(std::string_view s) {
  if (s == "A" || s == "a") return Protocol::A;
  if (s == "B" || s == "b") return Protocol::B;
  if (s == "C" || s == "c") return Protocol::C;
  return std::nullopt;
}

std::optional<SplitBrainPolicy> split_brain_policy_from_string(std::string_view s) {
  for (auto p : {SplitBrainPolicy::Disconnect, SplitBrainPolicy::DiscardYoungerPrimary,
                 SplitBrainPolicy::DiscardOlderPrimary, SplitBrainPolicy::DiscardZeroChanges,
                 SplitBrainPolicy::DiscardLeastChanges, SplitBrainPolicy::DiscardLocal,
                 SplitBrainPolicy::DiscardRemote, SplitBrainPolicy::Consensus,
                 SplitBrainPolicy::DiscardSecondary, SplitBrainPolicy::CallPrimaryLost,
                 SplitBrainPolicy::Violently}) {
    if (to_string(p) == s) return p;
  }
  return std::nullopt;
}

}  // namespace hapbx::replica
