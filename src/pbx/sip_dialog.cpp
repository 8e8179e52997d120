// Dialog bookkeeping and the requests the B2BUA sends inside its dialogs (RFC 3261 12, 13.2.2.4,
// 9.1).
#include "pbx/sip_dialog.h"

#include <algorithm>

#include <fmt/format.h>

#include "sip/message_writer.h"

namespace hapbx::pbx {
namespace {

std::string bracket(std::string_view host) {
  return host.find(':') != std::string_view::npos ? fmt::format("[{}]", host) : std::string(host);
}

// The name-addr of a From/To/Contact header without its header parameters (the tag is
// written separately).
std::string name_addr_without_params(const sip::NameAddr& na) {
  if (na.display_name.empty()) return fmt::format("<{}>", na.uri.text);
  return fmt::format("{} <{}>", na.display_name, na.uri.text);
}

std::string with_tag(std::string_view name_addr, std::string_view tag) {
  if (tag.empty()) return std::string(name_addr);
  return fmt::format("{};tag={}", name_addr, tag);
}

std::string via_value(const LocalAddress& local, std::string_view branch) {
  return fmt::format("SIP/2.0/{} {};branch={};rport", sip::to_string(local.transport),
                     local.hostport(), branch);
}

// A display name as it goes on the wire: quoted, with quotes and backslashes escaped.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\r' || c == '\n') continue;
    out += c;
  }
  out += '"';
  return out;
}

void write_routes(sip::MessageWriter& w, const std::vector<std::string>& routes) {
  for (const auto& r : routes) w.header(sip::HeaderId::Route, r);
}

}  // namespace

std::string LocalAddress::hostport() const { return fmt::format("{}:{}", bracket(host), port); }

std::string dialog_key(std::string_view call_id, std::string_view local_tag) {
  std::string key;
  key.reserve(call_id.size() + local_tag.size() + 1);
  key.append(call_id).append("|").append(local_tag);
  return key;
}

std::string Dialog::key() const { return dialog_key(call_id, local_tag); }

std::string contact_uri(const LocalAddress& local, std::string_view user) {
  return fmt::format("<sip:{}@{}{}>", user, local.hostport(),
                     local.transport == sip::TransportKind::Tcp ? ";transport=tcp" : "");
}

BuiltRequest build_in_dialog_request(Dialog& dialog, std::string_view method,
                                     const RequestBody& body, std::string_view user_agent,
                                     const std::vector<std::pair<std::string, std::string>>&
                                         extra_headers) {
  BuiltRequest out;
  out.branch = sip::new_branch();
  out.cseq = ++dialog.local_cseq;
  auto w = sip::MessageWriter::request(method, dialog.remote_target);
  w.header(sip::HeaderId::Via, via_value(dialog.local, out.branch));
  w.header(sip::HeaderId::MaxForwards, "70");
  write_routes(w, dialog.route_set);
  w.header(sip::HeaderId::From, with_tag(dialog.local_uri, dialog.local_tag));
  w.header(sip::HeaderId::To, with_tag(dialog.remote_uri, dialog.remote_tag));
  w.header(sip::HeaderId::CallId, dialog.call_id);
  w.header(sip::HeaderId::CSeq, fmt::format("{} {}", out.cseq, method));
  if (method == "INVITE" || method == "UPDATE") {
    w.header(sip::HeaderId::Contact, contact_uri(dialog.local));
  }
  for (const auto& [name, value] : extra_headers) w.header(name, value);
  if (!user_agent.empty()) w.header(sip::HeaderId::UserAgent, user_agent);
  if (!body.content_type.empty()) w.body(body.content_type, body.content);
  out.bytes = std::move(w).finish();
  return out;
}

std::string build_ack_for_2xx(const Dialog& dialog, uint32_t invite_cseq,
                              std::string_view user_agent) {
  auto w = sip::MessageWriter::request(sip::Method::Ack, dialog.remote_target);
  w.header(sip::HeaderId::Via, via_value(dialog.local, sip::new_branch()));
  w.header(sip::HeaderId::MaxForwards, "70");
  write_routes(w, dialog.route_set);
  w.header(sip::HeaderId::From, with_tag(dialog.local_uri, dialog.local_tag));
  w.header(sip::HeaderId::To, with_tag(dialog.remote_uri, dialog.remote_tag));
  w.header(sip::HeaderId::CallId, dialog.call_id);
  w.header(sip::HeaderId::CSeq, fmt::format("{} ACK", invite_cseq));
  if (!user_agent.empty()) w.header(sip::HeaderId::UserAgent, user_agent);
  return std::move(w).finish();
}

BuiltRequest build_initial_invite(Dialog& dialog, const InviteParams& p) {
  BuiltRequest out;
  out.branch = sip::new_branch();
  dialog.call_id = sip::random_token(24) + "@" + bracket(dialog.local.host);
  dialog.local_tag = sip::random_token(10);
  dialog.remote_tag.clear();
  const std::string from_uri = fmt::format("sip:{}@{}", p.from_user, bracket(p.from_host));
  dialog.local_uri = p.from_display.empty() ? fmt::format("<{}>", from_uri)
                                            : fmt::format("{} <{}>", quoted(p.from_display),
                                                          from_uri);
  dialog.remote_uri = fmt::format("<{}>", p.to_uri);
  dialog.remote_target = p.request_uri;
  dialog.route_set.clear();
  dialog.local_cseq = 1;
  dialog.remote_cseq.reset();
  out.cseq = 1;

  auto w = sip::MessageWriter::request(sip::Method::Invite, p.request_uri);
  w.header(sip::HeaderId::Via, via_value(dialog.local, out.branch));
  w.header(sip::HeaderId::MaxForwards, std::to_string(p.max_forwards));
  w.header(sip::HeaderId::From, with_tag(dialog.local_uri, dialog.local_tag));
  w.header(sip::HeaderId::To, dialog.remote_uri);
  w.header(sip::HeaderId::Contact, contact_uri(dialog.local));
  w.header(sip::HeaderId::CallId, dialog.call_id);
  w.header(sip::HeaderId::CSeq, "1 INVITE");
  w.header(sip::HeaderId::Allow, "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO");
  w.header(sip::HeaderId::Supported, "replaces");
  for (const auto& [name, value] : p.extra_headers) w.header(name, value);
  if (!p.user_agent.empty()) w.header(sip::HeaderId::UserAgent, p.user_agent);
  if (!p.body.content_type.empty()) w.body(p.body.content_type, p.body.content);
  out.bytes = std::move(w).finish();
  return out;
}

std::string build_cancel(const BuiltRequest& invite, const Dialog& dialog,
                         std::string_view user_agent) {
  auto w = sip::MessageWriter::request(sip::Method::Cancel, dialog.remote_target);
  w.header(sip::HeaderId::Via, via_value(dialog.local, invite.branch));
  w.header(sip::HeaderId::MaxForwards, "70");
  w.header(sip::HeaderId::From, with_tag(dialog.local_uri, dialog.local_tag));
  w.header(sip::HeaderId::To, dialog.remote_uri);  // no tag: as in the INVITE (9.1)
  w.header(sip::HeaderId::CallId, dialog.call_id);
  w.header(sip::HeaderId::CSeq, fmt::format("{} CANCEL", invite.cseq));
  if (!user_agent.empty()) w.header(sip::HeaderId::UserAgent, user_agent);
  return std::move(w).finish();
}

void init_uas_dialog(Dialog& dialog, const sip::Message& invite) {
  dialog.call_id = std::string(invite.call_id());
  dialog.remote_tag = std::string(invite.from().tag());
  if (dialog.local_tag.empty()) dialog.local_tag = sip::random_token(10);
  dialog.remote_uri = name_addr_without_params(invite.from());
  dialog.local_uri = name_addr_without_params(invite.to());
  dialog.remote_target = invite.contacts().empty() || invite.contacts().front().star
                             ? std::string(invite.from().uri.text)
                             : std::string(invite.contacts().front().uri.text);
  dialog.route_set.clear();
  for (auto value : invite.values(sip::HeaderId::RecordRoute)) {
    dialog.route_set.emplace_back(value);
  }
  dialog.remote_cseq = invite.cseq().number;
  dialog.local_cseq = 0;
}

void update_uac_dialog(Dialog& dialog, const sip::Message& response) {
  dialog.remote_tag = std::string(response.to().tag());
  if (!response.contacts().empty() && !response.contacts().front().star) {
    dialog.remote_target = std::string(response.contacts().front().uri.text);
  }
  auto routes = response.values(sip::HeaderId::RecordRoute);
  dialog.route_set.assign(routes.rbegin(), routes.rend());
}

std::string build_uas_response(const sip::Message& request, int status, const Dialog& dialog,
                               std::string_view user_agent, const RequestBody& body,
                               const std::vector<std::pair<std::string, std::string>>&
                                   extra_headers,
                               std::string_view reason) {
  auto w = sip::make_response(request, status, reason,
                              request.to().tag().empty() && status > 100 ? dialog.local_tag
                                                                         : std::string_view{});
  if (request.method() == sip::Method::Invite || request.method() == sip::Method::Update) {
    if (status > 100 && status < 300) {
      // 12.1.1: the UAS copies Record-Route into responses that establish the dialog.
      for (auto value : request.values(sip::HeaderId::RecordRoute)) {
        w.header(sip::HeaderId::RecordRoute, value);
      }
      w.header(sip::HeaderId::Contact, contact_uri(dialog.local));
    }
    if (status >= 200 && status < 300) {
      w.header(sip::HeaderId::Allow, "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO");
    }
  }
  for (const auto& [name, value] : extra_headers) w.header(name, value);
  if (!user_agent.empty()) w.header(sip::HeaderId::Server, user_agent);
  if (!body.content_type.empty()) w.body(body.content_type, body.content);
  return std::move(w).finish();
}

}  // namespace hapbx::pbx
