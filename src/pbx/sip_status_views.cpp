// Formatting of the SIP status commands. See sip_status_views.h.
#include "pbx/sip_status_views.h"

#include <fmt/format.h>

#include "core/json_writer.h"
#include "core/text_table.h"

namespace hapbx::pbx {
namespace {

const char* yes_no(bool b) { return b ? "Yes" : "No"; }

// chan_sip prints "Auto (No)"/"Auto (Yes)" when the setting is automatic.
std::string force_rport_text(const NatSettings& nat) {
  if (nat.force_rport) return "Yes";
  if (nat.auto_force_rport) return "Auto (No)";
  return "No";
}

std::string comedia_text(const NatSettings& nat) {
  if (nat.comedia) return "Yes";
  if (nat.auto_comedia) return "Auto (No)";
  return "No";
}

// The address a peer is reached at: its newest binding's source, or its static host.
struct PeerAddress {
  std::string host;  // "(Unspecified)" when unknown
  uint16_t port = 0;
  bool known = false;
  std::string transport;
};

PeerAddress address_of(const SipPeer& peer, const BindingTable& bindings) {
  auto contacts = bindings.contacts(peer.name);
  if (!contacts.empty()) {
    const auto& newest = contacts.back();
    return {newest.source.address, newest.source.port, true,
            std::string(sip::to_string(newest.source.transport))};
  }
  if (!peer.dynamic) return {peer.host, peer.port, true, "UDP"};
  return {"(Unspecified)", 0, false, ""};
}

std::string username_of(const SipPeer& peer) {
  return peer.default_user.empty() ? peer.name : peer.default_user;
}

void write_contacts(core::JsonWriter& json, const SipStatusView& view, std::string_view aor) {
  json.key("contacts").begin_array();
  for (const auto& b : view.bindings.contacts(aor)) {
    json.begin_object()
        .field("uri", b.contact)
        .field("source_address", b.source.address)
        .field("source_port", static_cast<unsigned>(b.source.port))
        .field("transport", std::string(sip::to_string(b.source.transport)))
        .field("expires_in", static_cast<unsigned>(remaining_seconds(b, view.now)))
        .field("user_agent", b.user_agent)
        .field("call_id", b.call_id)
        .end_object();
  }
  json.end_array();
}

void write_status(core::JsonWriter& json, const PeerQualifyStatus& status) {
  json.field("status", std::string(to_string(status.state)));
  json.key("latency_ms");
  if (status.latency) {
    json.value(static_cast<int64_t>(status.latency->count()));
  } else {
    json.null_value();
  }
  json.field("qualify_max_ms", static_cast<int64_t>(status.max.count()));
}

bool is_online(QualifyState state) {
  return state == QualifyState::Reachable || state == QualifyState::Lagged;
}

}  // namespace

std::string show_peers(const SipStatusView& view, bool json) {
  int monitored_online = 0, monitored_offline = 0, unmonitored_online = 0,
      unmonitored_offline = 0;
  for (const auto& peer : view.config.peers) {
    const auto status = view.qualify.status(peer.name);
    const bool has_address = address_of(peer, view.bindings).known;
    if (status.state == QualifyState::Unmonitored) {
      (has_address ? unmonitored_online : unmonitored_offline)++;
    } else {
      (is_online(status.state) ? monitored_online : monitored_offline)++;
    }
  }

  if (json) {
    core::JsonWriter out;
    out.begin_object().key("peers").begin_array();
    for (const auto& peer : view.config.peers) {
      const auto address = address_of(peer, view.bindings);
      out.begin_object()
          .field("name", peer.name)
          .field("username", username_of(peer))
          .field("type", std::string(to_string(peer.type)))
          .field("host", address.known ? address.host : std::string())
          .field("port", static_cast<unsigned>(address.port))
          .field("dynamic", peer.dynamic)
          .field("force_rport", peer.nat.force_rport)
          .field("comedia", peer.nat.comedia)
          .field("acl", !peer.acl.empty());
      write_status(out, view.qualify.status(peer.name));
      write_contacts(out, view, peer.name);
      out.end_object();
    }
    out.end_array()
        .key("summary")
        .begin_object()
        .field("peers", static_cast<unsigned>(view.config.peers.size()))
        .field("monitored_online", monitored_online)
        .field("monitored_offline", monitored_offline)
        .field("unmonitored_online", unmonitored_online)
        .field("unmonitored_offline", unmonitored_offline)
        .end_object()
        .end_object();
    return out.take() + "\n";
  }

  using Align = core::TextTable::Align;
  core::TextTable table({{"Name/username"}, {"Host"}, {"Dyn"}, {"Forcerport"}, {"Comedia"},
                         {"ACL"}, {"Port", Align::kRight}, {"Status"}, {"Description"}},
                        "  ");
  for (const auto& peer : view.config.peers) {
    const auto address = address_of(peer, view.bindings);
    const std::string name =
        address.known ? peer.name + "/" + username_of(peer) : peer.name;
    table.add_row({name, address.host, peer.dynamic ? "D" : "", force_rport_text(peer.nat),
                   comedia_text(peer.nat), peer.acl.empty() ? "" : "A",
                   std::to_string(address.port), status_text(view.qualify.status(peer.name)),
                   ""});
  }
  return table.render() +
         fmt::format("{} sip peers [Monitored: {} online, {} offline Unmonitored: {} online, {} "
                     "offline]\n",
                     view.config.peers.size(), monitored_online, monitored_offline,
                     unmonitored_online, unmonitored_offline);
}

Result<std::string> show_peer(const SipStatusView& view, std::string_view name, bool json) {
  const SipPeer* peer = view.config.find_peer(name);
  if (!peer) return make_error(fmt::format("Peer {} not found.", name));
  const auto address = address_of(*peer, view.bindings);
  const auto status = view.qualify.status(peer->name);

  if (json) {
    core::JsonWriter out;
    out.begin_object()
        .field("name", peer->name)
        .field("username", username_of(*peer))
        .field("type", std::string(to_string(peer->type)))
        .field("host", address.known ? address.host : std::string())
        .field("port", static_cast<unsigned>(address.port))
        .field("dynamic", peer->dynamic)
        .field("context", peer->context)
        .field("callerid_name", peer->callerid_name)
        .field("callerid_number", peer->callerid_number)
        .field("secret_set", !peer->secret.empty() || !peer->md5secret.empty())
        .field("direct_media", std::string(to_string(peer->direct_media)))
        .field("call_limit", peer->call_limit)
        .field("force_rport", peer->nat.force_rport)
        .field("comedia", peer->nat.comedia)
        .field("acl", !peer->acl.empty());
    out.key("codecs").begin_array();
    for (const auto& c : peer->codecs) out.value(c);
    out.end_array();
    write_status(out, status);
    write_contacts(out, view, peer->name);
    out.end_object();
    return out.take() + "\n";
  }

  std::string codecs;
  for (const auto& c : peer->codecs) codecs += (codecs.empty() ? "" : "|") + c;
  std::string text;
  auto line = [&](std::string_view label, std::string_view value) {
    text += fmt::format("  {:<14}: {}\n", label, value);
  };
  text += "\n";
  line("* Name", peer->name);
  line("Type", to_string(peer->type));
  line("Secret", peer->secret.empty() && peer->md5secret.empty() ? "<Not set>" : "<Set>");
  line("Context", peer->context);
  line("Callerid", peer->callerid.empty() ? "<unknown>" : peer->callerid);
  line("Call limit", std::to_string(peer->call_limit));
  line("Dynamic", yes_no(peer->dynamic));
  line("ACL", yes_no(!peer->acl.empty()));
  line("Force rport", force_rport_text(peer->nat));
  line("Comedia", comedia_text(peer->nat));
  line("DirectMedia", to_string(peer->direct_media));
  line("Addr->IP", address.known ? fmt::format("{} Port {}", address.host, address.port)
                                 : "(Unspecified) Port 0");
  line("Defaddr->IP", peer->default_ip.empty() ? "(null)" : peer->default_ip);
  line("Codecs", "(" + codecs + ")");
  line("Status", status_text(status));
  const auto contacts = view.bindings.contacts(peer->name);
  for (const auto& b : contacts) {
    line("Reg. Contact", fmt::format("{} (via {} {}:{}, expires in {} s, {})", b.contact,
                                     sip::to_string(b.source.transport), b.source.address,
                                     b.source.port, remaining_seconds(b, view.now),
                                     b.user_agent.empty() ? "no User-Agent" : b.user_agent));
  }
  if (contacts.empty()) line("Reg. Contact", "(none)");
  return text;
}

std::string show_registry(const SipStatusView& view, bool json) {
  if (json) {
    core::JsonWriter out;
    out.begin_object().key("bindings").begin_array();
    for (const auto& aor : view.bindings.aors()) {
      for (const auto& b : view.bindings.contacts(aor)) {
        out.begin_object()
            .field("aor", b.aor)
            .field("uri", b.contact)
            .field("source_address", b.source.address)
            .field("source_port", static_cast<unsigned>(b.source.port))
            .field("transport", std::string(sip::to_string(b.source.transport)))
            .field("expires_in", static_cast<unsigned>(remaining_seconds(b, view.now)))
            .field("user_agent", b.user_agent)
            .end_object();
      }
    }
    out.end_array().field("count", static_cast<unsigned>(view.bindings.size())).end_object();
    return out.take() + "\n";
  }
  using Align = core::TextTable::Align;
  core::TextTable table({{"AOR"}, {"Contact"}, {"Source"}, {"Transport"},
                         {"Expires", Align::kRight}, {"User-Agent"}},
                        "  ");
  for (const auto& aor : view.bindings.aors()) {
    for (const auto& b : view.bindings.contacts(aor)) {
      table.add_row({b.aor, b.contact, fmt::format("{}:{}", b.source.address, b.source.port),
                     std::string(sip::to_string(b.source.transport)),
                     std::to_string(remaining_seconds(b, view.now)), b.user_agent});
    }
  }
  return table.render() + fmt::format("{} SIP registrations.\n", view.bindings.size());
}

}  // namespace hapbx::pbx
