// What `hapbx pbx sip show peers|peer|registry` print: read-only views of the configuration,
// the binding table and the qualify machine, in Asterisk's layout or as JSON. Pure formatting,
// so it is tested without a daemon.
#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "pbx/bindings.h"
#include "pbx/qualify.h"
#include "pbx/sip_config.h"

namespace hapbx::pbx {

struct SipStatusView {
  const SipConfig& config;
  const BindingTable& bindings;
  const QualifyMachine& qualify;
  core::TimePoint now;
};

// One line per peer (columns as chan_sip: Name/username, Host, Dyn, Forcerport, Comedia, ACL,
// Port, Status, Description) and the summary line
// "3 sip peers [Monitored: 1 online, 2 offline Unmonitored: 0 online, 0 offline]".
std::string show_peers(const SipStatusView& view, bool json);
// Details of one peer; Error when there is no such peer ("Peer 209 not found.").
Result<std::string> show_peer(const SipStatusView& view, std::string_view name, bool json);
// Every current binding: AOR, contact, source, transport, expires in, user agent.
std::string show_registry(const SipStatusView& view, bool json);

}  // namespace hapbx::pbx
