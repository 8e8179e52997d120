// What `hapbx pbx core show channels|calls` and `sip show channels` print: views of the call
// engine's channels in Asterisk's layout or as JSON. Pure formatting over ChannelView.
#pragma once

#include <string>
#include <vector>

#include "pbx/call_engine.h"

namespace hapbx::pbx {

struct CallTotals {
  size_t active_calls = 0;
  uint64_t calls_processed = 0;
};

// "Channel  Location  State  Application(Data)" then "N active channels / N active calls /
// N calls processed", as Asterisk's core show channels.
std::string show_channels(const std::vector<ChannelView>& channels, const CallTotals& totals,
                          bool json);
std::string show_calls(const CallTotals& totals, bool json);
// Peer, Call ID, format, last message and the RTP counters of each SIP channel.
std::string show_sip_channels(const std::vector<ChannelView>& channels, bool json);

}  // namespace hapbx::pbx
