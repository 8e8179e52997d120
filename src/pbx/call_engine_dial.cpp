// Dial: the outbound legs of a call. Each target gets its own INVITE (own Call-ID, tags and
// CSeq: a B2BUA, not a proxy); targets joined with '&' ring in parallel and the first 2xx wins,
// the others are CANCELled (9.1: only once they sent a provisional). A target that cannot be
// reached at all (no such peer, not registered) fails at once, so an unregistered extension
// gets its DIALSTATUS without waiting for a timeout.
//
//   DIALSTATUS: ANSWER (a 2xx), BUSY (486/600), NOANSWER (the ring timeout expired),
//   CHANUNAVAIL (unreachable: 404/408/480, no response at all, not registered, no such peer),
//   CONGESTION (other failures, no common codec), CANCEL (the caller hung up first).
//   With several targets: BUSY if any was busy, else CONGESTION if any was, else CHANUNAVAIL.
#include <algorithm>

#include <asio/ip/address.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pbx/call_app_args.h"
#include "pbx/call_engine.h"
#include "sip/message_writer.h"

namespace hapbx::pbx {
namespace {

bool is_numeric_address(const std::string& host) {
  asio::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string bracketed(std::string_view host) {
  return host.find(':') != std::string_view::npos ? fmt::format("[{}]", host) : std::string(host);
}

}  // namespace

void CallEngine::start_dial(Call& call, const AppRequest& app, core::TimePoint now,
                            WallClock::time_point wall) {
  call.dial = DialState{};
  call.dial.started = now;
  call.dial.options = app.args.size() > 2 ? app.args[2] : std::string();
  const auto targets = split_list(app.args.empty() ? std::string_view{} : app.args[0], '&');
  if (targets.empty()) {
    spdlog::warn("{}: Dial requires an argument (technology/resource) ({})", call.in.channel,
                 app.where.str());
    end_dial(call, DialStatus::InvalidArgs, now, wall);
    return;
  }
  for (char option : call.dial.options) {
    switch (option) {
      case 'r':
        if (!call.final_sent) send_provisional(call, 180, false);
        call.dial.ringing_sent = true;
        break;
      case 't': case 'T': case 'm': case 'g': case 'h': case 'H': case 'k': case 'K': case 'w':
      case 'W':
        spdlog::info("{}: Dial option '{}' is not supported yet; ignored", call.in.channel, option);
        break;
      default: break;  // option arguments such as m(class) land here too
    }
  }
  const uint32_t max_forwards =
      call.invite->max_forwards() ? std::max<uint32_t>(*call.invite->max_forwards(), 1) - 1 : 69;
  if (max_forwards == 0) {
    spdlog::warn("{}: Max-Forwards exhausted; not dialling", call.in.channel);
    end_dial(call, DialStatus::Congestion, now, wall);
    return;
  }

  // The CDR names the called channel: the first leg made, or the first target that could not
  // even be tried, so that a failed call still involves an outgoing party (cdr.conf
  // unanswered=no logs only such calls).
  for (const auto& target : targets) {
    if (auto failure = start_leg(call, target, max_forwards, now)) {
      call.dial.failures.push_back(*failure);
      if (call.dst_channel.empty()) call.dst_channel = target;
    } else if (call.dst_channel.empty() || call.dst_channel.find('-') == std::string::npos) {
      call.dst_channel = call.out.back()->channel;
    }
  }
  if (call.dial.legs.empty()) {
    DialStatus overall = DialStatus::ChanUnavail;
    for (auto f : call.dial.failures) {
      if (f == DialStatus::Busy) overall = DialStatus::Busy;
      if (f == DialStatus::Congestion && overall != DialStatus::Busy) overall = DialStatus::Congestion;
      if (f == DialStatus::InvalidArgs && overall == DialStatus::ChanUnavail) overall = f;
    }
    end_dial(call, overall, now, wall);
    return;
  }
  call.wait = AppWait::Dial;
  const auto timeout = seconds_arg(app.args, 1, core::Duration::zero());
  if (timeout > core::Duration::zero()) {
    call.dial.deadline = now + timeout;
    arm(*call.dial.deadline, call.id, 0, TimerKind::DialTimeout);
  }
}

std::optional<DialStatus> CallEngine::start_leg(Call& call, std::string_view target,
                                                uint32_t max_forwards, core::TimePoint now) {
  (void)now;
  const size_t slash = target.find('/');
  const std::string_view tech = target.substr(0, slash);
  if (slash == std::string_view::npos || !sip::iequals(tech, "SIP")) {
    spdlog::warn("{}: Dial target '{}': only SIP/<peer> is supported", call.in.channel, target);
    return DialStatus::InvalidArgs;
  }
  std::string_view resource = target.substr(slash + 1);
  std::string_view exten;
  if (const size_t second = resource.find('/'); second != std::string_view::npos) {
    exten = resource.substr(second + 1);
    resource = resource.substr(0, second);
  }
  const SipPeer* peer = config_->find_peer(resource);
  if (peer == nullptr) {
    spdlog::warn("{}: Unable to create channel SIP/{}: no such peer in sip.conf",
                 call.in.channel, resource);
    return DialStatus::ChanUnavail;
  }
  if (peer->type == PeerType::User) {
    spdlog::warn("{}: SIP/{} is type=user and cannot be called", call.in.channel, peer->name);
    return DialStatus::ChanUnavail;
  }
  if (peer->call_limit > 0 && calls_of_peer(peer->name) >= peer->call_limit) {
    spdlog::info("{}: SIP/{} is at its call-limit of {}", call.in.channel, peer->name,
                 peer->call_limit);
    return DialStatus::Busy;
  }

  sip::Endpoint destination;
  std::string request_uri;
  const std::string user = exten.empty() ? peer->name : std::string(exten);
  auto contacts = bindings_.contacts(peer->name);
  if (!contacts.empty()) {
    const Binding& newest = contacts.back();
    destination = newest.source;
    request_uri = newest.contact;
  } else if (!peer->dynamic && is_numeric_address(peer->host)) {
    const auto kind = peer->transports.empty() ? sip::TransportKind::Udp : peer->transports.front();
    destination = sip::Endpoint{kind, peer->host, peer->port, 0};
    request_uri = fmt::format("sip:{}@{}:{}", user, bracketed(peer->host), peer->port);
  } else {
    spdlog::info("{}: SIP/{} is not registered (no contact): CHANUNAVAIL", call.in.channel,
                 peer->name);
    return DialStatus::ChanUnavail;
  }

  auto leg = std::make_unique<Leg>();
  leg->id = next_leg_++;
  leg->peer = leg_peer(peer);
  leg->channel = next_channel_name(peer->name);
  leg->uniqueid = fmt::format(
      "{}.{}",
      std::chrono::duration_cast<std::chrono::seconds>(call.start_wall.time_since_epoch()).count(),
      channel_counter_);
  leg->target = std::string(target);
  leg->dialog.peer = destination;
  leg->dialog.local = env_.local_address_for(destination);

  // What the callee is offered: the caller's offer narrowed to the callee's codecs too.
  auto offer = filter_offer(call.late_offer ? *call.own_offer : *call.in.remote_sdp,
                            leg->peer.codecs);
  if (!offer) {
    spdlog::warn("{}: cannot call SIP/{}: {}", call.in.channel, peer->name,
                 offer.error().message);
    return DialStatus::Congestion;
  }
  leg->offer_sent = *offer;
  // Direct media needs the caller's own offer to pass on: not after a late offer.
  const bool direct = call.in.peer.direct_media && leg->peer.direct_media && !call.answered &&
                      !call.late_offer;
  RequestBody body;
  if (direct) {
    body = {"application/sdp", sip::print_sdp(*offer)};
  } else {
    if (!ensure_relay(call, call.in)) return DialStatus::Congestion;
    auto stream = env_.open_stream(destination);
    if (!stream) {
      spdlog::warn("{}: cannot call SIP/{}: {}", call.in.channel, peer->name,
                   stream.error().message);
      return DialStatus::Congestion;
    }
    leg->stream = *stream;
    leg->origin.address = leg->stream.address;
    by_stream_[leg->stream.id] = DialogRef{call.id, leg->id};
    body = our_sdp(*leg, *offer);
  }

  InviteParams params;
  params.request_uri = request_uri;
  params.to_uri = fmt::format("sip:{}@{}", user, bracketed(destination.address));
  params.from_display = call.in.peer.caller_name;
  params.from_user = call.in.peer.caller_number.empty() ? "anonymous" : call.in.peer.caller_number;
  params.from_host = peer->from_domain.empty() ? leg->dialog.local.host : peer->from_domain;
  if (!peer->from_user.empty()) params.from_user = peer->from_user;
  params.max_forwards = max_forwards;
  params.user_agent = config_->general.user_agent;
  params.body = std::move(body);
  leg->invite = build_initial_invite(leg->dialog, params);

  auto transaction = env_.send_request(leg->invite.bytes, destination);
  if (!transaction) {
    spdlog::warn("{}: cannot send INVITE to SIP/{}: {}", call.in.channel, peer->name,
                 transaction.error().message);
    close_leg_media(*leg);
    return DialStatus::Congestion;
  }
  leg->invite_transaction = *transaction;
  leg->invite_in_progress = true;
  leg->last_message = "Tx: INVITE";
  by_client_[*transaction] = ClientEntry{call.id, leg->id, ClientPurpose::Invite};
  by_dialog_[leg->dialog.key()] = DialogRef{call.id, leg->id};
  call.dial.legs.push_back(leg->id);
  spdlog::info("{}: Called SIP/{}{} as {}", call.in.channel, peer->name,
               exten.empty() ? "" : fmt::format("/{}", exten), leg->channel);
  call.out.push_back(std::move(leg));
  return std::nullopt;
}

void CallEngine::on_orphan_response(sip::TransactionId transaction,
                                    const sip::Message& response) {
  auto it = orphans_.find(transaction);
  Leg& leg = *it->second;
  const int status = response.status_code();
  if (status < 200) {
    leg.provisional_seen = true;
    if (leg.cancel_wanted && !leg.cancelled) {
      leg.cancelled = true;
      (void)env_.send_request(build_cancel(leg.invite, leg.dialog, config_->general.user_agent),
                              leg.dialog.peer);
    }
    return;
  }
  if (status < 300) {
    // The callee answered after the call was gone: confirm the dialog, then end it.
    update_uac_dialog(leg.dialog, response);
    env_.send_stateless(leg.dialog.peer, build_ack_for_2xx(leg.dialog, leg.invite.cseq,
                                                           config_->general.user_agent));
    auto bye = build_in_dialog_request(leg.dialog, "BYE", {}, config_->general.user_agent);
    (void)env_.send_request(std::move(bye.bytes), leg.dialog.peer);
  }
  orphans_.erase(it);
}

bool CallEngine::on_response(sip::TransactionId transaction, sip::Message&& response,
                             core::TimePoint now, WallClock::time_point wall) {
  if (orphans_.count(transaction) != 0) {
    on_orphan_response(transaction, response);
    return true;
  }
  auto it = by_client_.find(transaction);
  if (it == by_client_.end()) return false;
  const ClientEntry entry = it->second;
  const int status = response.status_code();
  if (status >= 200 && entry.purpose != ClientPurpose::Invite &&
      entry.purpose != ClientPurpose::Relay) {
    by_client_.erase(it);
  }
  Call* call = find_call(entry.call);
  if (call == nullptr) return true;
  switch (entry.purpose) {
    case ClientPurpose::Invite:
      if (Leg* leg = call->leg(entry.leg)) on_leg_response(*call, *leg, std::move(response), now, wall);
      break;
    case ClientPurpose::Relay:
      on_relay_response(entry, transaction, std::move(response), now);
      break;
    case ClientPurpose::Bye:
    case ClientPurpose::Cancel:
    case ClientPurpose::Other:
      break;
  }
  return true;
}

void CallEngine::on_leg_response(Call& call, Leg& leg, sip::Message&& response,
                                 core::TimePoint now, WallClock::time_point wall) {
  const int status = response.status_code();
  if (status == 100) {
    // 100 Trying counts as the provisional a CANCEL must wait for (9.1).
    leg.provisional_seen = true;
    if (leg.cancel_wanted && !leg.cancelled) cancel_leg(call, leg);
    return;
  }
  leg.last_message = fmt::format("Rx: {}", status);
  const bool success = status >= 200 && status < 300;

  if (leg.abandoned || call.ended || (call.bridged_to != 0 && call.bridged_to != leg.id)) {
    // Dial no longer wants this leg; a callee that answers anyway is ACKed and hung up
    // (the loser of a forking race, or a 200 crossing our CANCEL).
    if (success && !leg.answered) {
      leg.answered = true;
      leg.final_status = status;
      update_uac_dialog(leg.dialog, response);
      leg.ack_bytes = build_ack_for_2xx(leg.dialog, leg.invite.cseq, config_->general.user_agent);
      env_.send_stateless(leg.dialog.peer, leg.ack_bytes);
      send_bye(call, leg);
    } else if (success) {
      env_.send_stateless(leg.dialog.peer, leg.ack_bytes);
    } else if (status >= 300) {
      leg.final_status = status;
      leg.invite_in_progress = false;
    } else if (leg.cancel_wanted && !leg.cancelled) {
      leg.provisional_seen = true;
      cancel_leg(call, leg);
    }
    return;
  }

  if (status < 200) {
    if (!response.to().tag().empty()) update_uac_dialog(leg.dialog, response);
    leg.provisional_seen = true;
    if (leg.cancel_wanted && !leg.cancelled) {
      cancel_leg(call, leg);
      return;
    }
    const bool has_sdp = !response.body().empty();
    if (status == 183 && has_sdp && leg.stream.id != 0) {
      // Early media (RFC 3960 gateway model): the callee's media reaches the caller now.
      if (take_remote_sdp(leg, response.body()) && call.dial.early_media == 0) {
        env_.bridge_streams(call.in.stream.id, leg.stream.id);
        call.dial.early_media = leg.id;
      }
      if (!call.final_sent) {
        send_provisional(call, 183, true, leg.remote_sdp ? &*leg.remote_sdp : nullptr);
      }
    } else {
      leg.state = ChannelState::Ringing;
      if (!call.final_sent && call.dial.early_media == 0) send_provisional(call, 180, false);
    }
    return;
  }

  if (success) {
    if (leg.answered) {  // a retransmission: our ACK was lost (13.2.2.4)
      env_.send_stateless(leg.dialog.peer, leg.ack_bytes);
      return;
    }
    on_leg_answered(call, leg, response, now, wall);
    return;
  }
  on_leg_failed(call, leg, status, now, wall);
}

void CallEngine::on_leg_answered(Call& call, Leg& leg, const sip::Message& response,
                                 core::TimePoint now, WallClock::time_point wall) {
  update_uac_dialog(leg.dialog, response);
  leg.answered = true;
  leg.invite_in_progress = false;
  leg.final_status = response.status_code();
  leg.state = ChannelState::Up;
  leg.ack_bytes = build_ack_for_2xx(leg.dialog, leg.invite.cseq, config_->general.user_agent);
  env_.send_stateless(leg.dialog.peer, leg.ack_bytes);

  // RFC 3264 6: the answer may only pick from what we offered.
  Status usable = response.body().empty() ? Status(make_error("no SDP answer in the 2xx"))
                                          : take_remote_sdp(leg, response.body());
  if (usable && leg.offer_sent) {
    auto checked = answer_from(*leg.remote_sdp, *leg.offer_sent);
    if (checked) {
      leg.remote_sdp = std::move(checked).value();
    } else {
      usable = checked.error();
    }
  }
  if (!usable) {
    spdlog::warn("{}: {} answered without a usable SDP answer ({}); hanging it up",
                 call.in.channel, leg.channel, usable.error().message);
    send_bye(call, leg);
    on_leg_failed(call, leg, 488, now, wall);
    return;
  }
  // Everyone else stops ringing.
  for (auto& other : call.out) {
    if (other->id == leg.id || other->abandoned) continue;
    cancel_leg(call, *other);
    other->abandoned = true;
  }
  call.bridged_to = leg.id;
  call.dst_channel = leg.channel;
  call.dial_status = DialStatus::Answer;
  call.run->set_variable("DIALSTATUS", "ANSWER");
  call.dial.deadline.reset();
  call.wait = AppWait::Bridged;
  call.last_media_activity = now;
  if (leg.stream.id != 0 && call.in.stream.id != 0) {
    env_.bridge_streams(call.in.stream.id, leg.stream.id);
  }
  call.dial.early_media = 0;
  if (!call.answered && !call.final_sent) {
    RequestBody body;
    if (leg.stream.id == 0) {
      body = {"application/sdp", sip::print_sdp(*leg.remote_sdp)};  // direct media
    } else {
      body = our_sdp(call.in, *leg.remote_sdp);
    }
    auto bytes = build_uas_response(*call.invite, 200, call.in.dialog,
                                    config_->general.user_agent, body);
    call.in.answer_in_ack = call.late_offer;  // then our 200 holds an offer
    call.final_sent = true;
    call.answered = true;
    call.answer_wall = wall;
    call.in.state = ChannelState::Up;
    send_2xx(call, call.in, call.invite_transaction, std::move(bytes),
             call.invite->cseq().number, now);
  }
  call.in.format = leg.format;
  spdlog::info("{} answered {}", leg.channel, call.in.channel);
  if (config_->general.rtp_timeout.count() > 0 || config_->general.rtp_hold_timeout.count() > 0) {
    call.media_check = now + std::chrono::seconds(1);
    arm(*call.media_check, call.id, 0, TimerKind::MediaCheck);
  }
}

void CallEngine::on_leg_failed(Call& call, Leg& leg, int status, core::TimePoint now,
                               WallClock::time_point wall) {
  leg.final_status = status;
  leg.invite_in_progress = false;
  leg.state = ChannelState::Down;
  if (call.dial.early_media == leg.id) {
    env_.unbridge_stream(call.in.stream.id);
    call.dial.early_media = 0;
  }
  close_leg_media(leg);
  if (leg.abandoned || call.wait != AppWait::Dial) return;
  leg.abandoned = true;
  spdlog::info("{}: {} failed with {}", call.in.channel, leg.channel, status);
  call.dial.failures.push_back(dial_status_for_sip(status));
  for (LegId id : call.dial.legs) {
    const Leg* l = call.leg(id);
    if (l != nullptr && !l->abandoned) return;  // others still ring
  }
  DialStatus overall = DialStatus::ChanUnavail;
  for (auto f : call.dial.failures) {
    if (f == DialStatus::Busy) overall = DialStatus::Busy;
    if (f == DialStatus::Congestion && overall != DialStatus::Busy) overall = DialStatus::Congestion;
  }
  end_dial(call, overall, now, wall);
}

bool CallEngine::on_client_failure(sip::TransactionId transaction, core::TimePoint now,
                                   WallClock::time_point wall) {
  if (orphans_.erase(transaction) != 0) return true;
  auto it = by_client_.find(transaction);
  if (it == by_client_.end()) return false;
  const ClientEntry entry = it->second;
  by_client_.erase(it);
  Call* call = find_call(entry.call);
  if (call == nullptr) return true;
  if (entry.purpose == ClientPurpose::Invite) {
    if (Leg* leg = call->leg(entry.leg); leg != nullptr && !leg->answered) {
      // RFC 3261 17.1.1.2: Timer B fired; the TU acts as if 408 had come.
      on_leg_failed(*call, *leg, 408, now, wall);
    }
  } else if (entry.purpose == ClientPurpose::Relay) {
    auto r = relayed_.find(transaction);
    if (r != relayed_.end()) {
      RelayedRequest& rel = *r->second;
      if (Leg* from = call->leg(rel.from)) {
        auto bytes = build_uas_response(rel.request, 408, from->dialog, config_->general.user_agent);
        env_.send_response(rel.server_transaction, std::move(bytes), 408);
        from->invite_in_progress = false;
      }
      if (Leg* to = call->leg(entry.leg)) to->invite_in_progress = false;
      relayed_.erase(r);
    }
  }
  return true;
}

void CallEngine::on_stray_2xx(const sip::Message& response, core::TimePoint now) {
  (void)now;
  auto it = by_dialog_.find(dialog_key(response.call_id(), response.from().tag()));
  if (it == by_dialog_.end()) return;
  Call* call = find_call(it->second.call);
  if (call == nullptr) return;
  Leg* leg = call->leg(it->second.leg);
  if (leg != nullptr && !leg->ack_bytes.empty()) env_.send_stateless(leg->dialog.peer, leg->ack_bytes);
}

void CallEngine::cancel_leg(Call& call, Leg& leg) {
  if (leg.final_status != 0 || leg.cancelled || leg.answered) return;
  if (!leg.provisional_seen) {
    leg.cancel_wanted = true;  // 9.1: a CANCEL must wait for a provisional response
    return;
  }
  auto bytes = build_cancel(leg.invite, leg.dialog, config_->general.user_agent);
  auto transaction = env_.send_request(std::move(bytes), leg.dialog.peer);
  leg.cancelled = true;
  leg.last_message = "Tx: CANCEL";
  if (transaction) by_client_[*transaction] = ClientEntry{call.id, leg.id, ClientPurpose::Cancel};
}

void CallEngine::end_dial(Call& call, DialStatus status, core::TimePoint now,
                          WallClock::time_point wall) {
  for (auto& leg : call.out) {
    if (leg->abandoned) continue;
    cancel_leg(call, *leg);
    leg->abandoned = true;
  }
  if (call.dial.early_media != 0) {
    env_.unbridge_stream(call.in.stream.id);
    call.dial.early_media = 0;
  }
  call.dial.deadline.reset();
  call.dial_status = status;
  call.run->set_variable("DIALSTATUS", std::string(to_string(status)));
  spdlog::info("{}: Dial ended: {}", call.in.channel, to_string(status));
  resume(call, now, wall);
}

void CallEngine::close_leg_media(Leg& leg) {
  if (leg.stream.id == 0) return;
  env_.close_stream(leg.stream.id);
  by_stream_.erase(leg.stream.id);
  leg.stream.id = 0;
}

void CallEngine::send_bye(Call& call, Leg& leg) {
  if (leg.bye_sent) return;
  leg.bye_sent = true;
  leg.unacked_2xx.reset();
  auto built = build_in_dialog_request(leg.dialog, "BYE", {}, config_->general.user_agent);
  leg.last_message = "Tx: BYE";
  auto transaction = env_.send_request(std::move(built.bytes), leg.dialog.peer);
  if (transaction) by_client_[*transaction] = ClientEntry{call.id, leg.id, ClientPurpose::Bye};
}

}  // namespace hapbx::pbx
