// Channel and call views (see call_status_views.h).
#include "pbx/call_status_views.h"

#include <fmt/format.h>

#include "core/json_writer.h"
#include "core/text_table.h"

namespace hapbx::pbx {
namespace {

std::string plural(uint64_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

void rtp_json(core::JsonWriter& out, const ChannelView& c) {
  out.key("rtp");
  if (!c.rtp) {
    out.null_value();
    return;
  }
  out.begin_object()
      .field("local_port", static_cast<uint64_t>(c.rtp_local_port))
      .field("remote", c.rtp->remote)
      .field("rtp_in", c.rtp->rtp_in)
      .field("rtp_out", c.rtp->rtp_out)
      .field("rtcp_in", c.rtp->rtcp_in)
      .field("rtcp_out", c.rtp->rtcp_out)
      .field("latched", c.rtp->latched)
      .end_object();
}

}  // namespace

std::string show_channels(const std::vector<ChannelView>& channels, const CallTotals& totals,
                          bool json) {
  if (json) {
    core::JsonWriter out;
    out.begin_object().key("channels").begin_array();
    for (const auto& c : channels) {
      out.begin_object()
          .field("channel", c.channel)
          .field("uniqueid", c.uniqueid)
          .field("peer", c.peer)
          .field("state", to_string(c.state))
          .field("context", c.context)
          .field("exten", c.exten)
          .field("priority", c.priority)
          .field("application", c.application)
          .field("data", c.data)
          .field("callerid", c.caller_number)
          .field("callerid_name", c.caller_name)
          .field("duration", c.duration_seconds)
          .field("bridged_to", c.bridged_to)
          .field("direction", c.inbound ? "inbound" : "outbound")
          .end_object();
    }
    out.end_array()
        .field("active_channels", static_cast<uint64_t>(channels.size()))
        .field("active_calls", static_cast<uint64_t>(totals.active_calls))
        .field("calls_processed", totals.calls_processed)
        .end_object();
    return out.take() + "\n";
  }
  core::TextTable table({{"Channel"}, {"Location"}, {"State"}, {"Application(Data)"}}, "  ");
  for (const auto& c : channels) {
    table.add_row({c.channel,
                   c.inbound ? fmt::format("{}@{}:{}", c.exten, c.context, c.priority) : "s@:1",
                   std::string(to_string(c.state)),
                   fmt::format("{}({})", c.application, c.data)});
  }
  return table.render() + plural(channels.size(), "active channel") + "\n" +
         plural(totals.active_calls, "active call") + "\n" +
         plural(totals.calls_processed, "call") + " processed\n";
}

std::string show_calls(const CallTotals& totals, bool json) {
  if (json) {
    return core::JsonWriter()
               .begin_object()
               .field("active_calls", static_cast<uint64_t>(totals.active_calls))
               .field("calls_processed", totals.calls_processed)
               .end_object()
               .take() +
           "\n";
  }
  return plural(totals.active_calls, "active call") + "\n" +
         plural(totals.calls_processed, "call") + " processed\n";
}

std::string show_sip_channels(const std::vector<ChannelView>& channels, bool json) {
  if (json) {
    core::JsonWriter out;
    out.begin_object().key("channels").begin_array();
    for (const auto& c : channels) {
      out.begin_object()
          .field("peer", c.peer)
          .field("channel", c.channel)
          .field("call_id", c.call_id)
          .field("address", c.address)
          .field("format", c.format)
          .field("state", to_string(c.state))
          .field("last_message", c.last_message);
      rtp_json(out, c);
      out.end_object();
    }
    out.end_array().field("active", static_cast<uint64_t>(channels.size())).end_object();
    return out.take() + "\n";
  }
  core::TextTable table({{"Peer"},
                         {"User/ANR"},
                         {"Call ID"},
                         {"Format"},
                         {"Last Message"},
                         {"RTP in", core::TextTable::Align::kRight},
                         {"RTP out", core::TextTable::Align::kRight}},
                        "  ");
  for (const auto& c : channels) {
    table.add_row({c.address, c.peer.empty() ? "(guest)" : c.peer, c.call_id.substr(0, 20),
                   c.format.empty() ? "(nothing)" : c.format, c.last_message,
                   c.rtp ? std::to_string(c.rtp->rtp_in) : "-",
                   c.rtp ? std::to_string(c.rtp->rtp_out) : "-"});
  }
  return table.render() + plural(channels.size(), "active SIP channel") + "\n";
}

}  // namespace hapbx::pbx
