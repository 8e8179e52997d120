// Requests inside a call's dialogs: BYE, CANCEL and ACK of the caller, re-INVITE (hold and
// resume, RFC 3264 8.4), UPDATE (RFC 3311) and INFO (RFC 6086) relayed to the other leg with
// their SDP rewritten for the relay, 2xx retransmission until the ACK (RFC 3261 13.3.1.4), and
// the rtptimeout watch.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pbx/call_engine.h"
#include "sip/message_writer.h"

namespace hapbx::pbx {
namespace {

bool has_sdp(const sip::Message& message) {
  if (message.body().empty()) return false;
  auto type = message.header(sip::HeaderId::ContentType);
  if (!type) return false;
  return sip::iequals(sip::trim(type->substr(0, type->find(';'))), "application/sdp");
}

}  // namespace

// The direction we answer with (RFC 3264 6.1): sendonly <-> recvonly, others unchanged.
sip::SessionDescription CallEngine::as_answer(const sip::SessionDescription& offer) {
  sip::SessionDescription answer = offer;
  auto flip = [](std::vector<sip::SdpAttribute>& attributes) {
    for (auto& a : attributes) {
      if (a.name == "sendonly") {
        a.name = "recvonly";
      } else if (a.name == "recvonly") {
        a.name = "sendonly";
      }
    }
  };
  flip(answer.attributes);
  for (auto& m : answer.media) flip(m.attributes);
  return answer;
}

Leg* CallEngine::other_leg(Call& call, Leg& leg) {
  if (&leg == &call.in) return call.bridged_leg();
  if (call.bridged_to == leg.id) return &call.in;
  return nullptr;
}

Status CallEngine::take_remote_sdp(Leg& leg, std::string_view body) {
  auto sdp = sip::parse_sdp(body);
  if (!sdp) return sdp.error();
  auto target = media_target(*sdp);
  if (!target) return target.error();
  if (leg.stream.id != 0 && target->rtp_port != 0) {
    env_.set_stream_remote(leg.stream.id, target->address, target->rtp_port, target->rtcp_port);
  }
  if (!target->codecs.empty()) {
    leg.payload_type = target->first_payload_type;
    leg.format = target->codecs.front();
  }
  leg.on_hold = is_hold(*sdp);
  leg.remote_sdp = std::move(sdp).value();
  return {};
}

void CallEngine::on_in_dialog_request(sip::TransactionId transaction, sip::Message&& request,
                                      const sip::Endpoint& source, core::TimePoint now,
                                      WallClock::time_point wall) {
  auto it = by_dialog_.find(dialog_key(request.call_id(), request.to().tag()));
  Call* call = it == by_dialog_.end() ? nullptr : find_call(it->second.call);
  Leg* leg = call == nullptr ? nullptr : call->leg(it->second.leg);
  if (leg == nullptr || call->ended) {
    reject(transaction, request, 481);
    return;
  }
  // 12.2.2: a CSeq lower than the last one is out of order.
  const uint32_t cseq = request.cseq().number;
  if (leg->dialog.remote_cseq && cseq < *leg->dialog.remote_cseq) {
    reject(transaction, request, 500, {{"Retry-After", "1"}});
    return;
  }
  leg->dialog.remote_cseq = cseq;
  leg->last_message = fmt::format("Rx: {}", request.method_text());
  (void)source;

  switch (request.method()) {
    case sip::Method::Bye:
      on_bye(*call, *leg, transaction, request, now, wall);
      return;
    case sip::Method::Invite:
      on_reinvite(*call, *leg, transaction, std::move(request), now);
      return;
    case sip::Method::Update:
    case sip::Method::Info:
    case sip::Method::Message:
    case sip::Method::Notify: {
      if (Leg* other = other_leg(*call, *leg)) {
        relay_request(*call, *leg, *other, transaction, std::move(request), now);
        return;
      }
      // Not bridged yet: answer here. An UPDATE offer gets our answer.
      RequestBody body;
      if (request.method() == sip::Method::Update && has_sdp(request) &&
          take_remote_sdp(*leg, request.body())) {
        body = our_sdp(*leg, as_answer(*leg->remote_sdp));
      }
      env_.send_response(transaction,
                         build_uas_response(request, 200, leg->dialog,
                                            config_->general.user_agent, body),
                         200);
      return;
    }
    case sip::Method::Options:
      env_.send_response(transaction,
                         build_uas_response(request, 200, leg->dialog, config_->general.user_agent),
                         200);
      return;
    default:
      // REFER (transfer), SUBSCRIBE in a call...: not in this version.
      reject(transaction, request, 501);
      return;
  }
}

void CallEngine::on_bye(Call& call, Leg& leg, sip::TransactionId transaction,
                        const sip::Message& request, core::TimePoint now,
                        WallClock::time_point wall) {
  env_.send_response(transaction,
                     build_uas_response(request, 200, leg.dialog, config_->general.user_agent),
                     200);
  leg.bye_sent = true;  // this dialog is over: nothing more goes to it
  leg.unacked_2xx.reset();
  if (&leg == &call.in) {
    spdlog::info("{} hung up (BYE)", call.in.channel);
    if (call.wait == AppWait::Dial) call.dial_status = DialStatus::Cancel;
    hangup(call, HangupCause::NormalClearing, now, wall);
    return;
  }
  if (call.bridged_to == leg.id) {
    spdlog::info("{} hung up (BYE), hanging up {}", leg.channel, call.in.channel);
    hangup(call, HangupCause::NormalClearing, now, wall);
  }
  // A BYE on an early dialog of a ringing leg ends just that leg.
  else if (!leg.abandoned) {
    on_leg_failed(call, leg, 487, now, wall);
  }
}

bool CallEngine::on_cancel(sip::TransactionId cancel, const sip::Message& request,
                           sip::TransactionId invite, core::TimePoint now,
                           WallClock::time_point wall) {
  auto it = by_invite_.find(invite);
  if (it == by_invite_.end()) return false;
  Call* call = find_call(it->second);
  if (call == nullptr) return false;
  // 9.2: the CANCEL itself gets 200; the INVITE, if not answered yet, 487.
  env_.send_response(cancel,
                     build_uas_response(request, 200, call->in.dialog, config_->general.user_agent),
                     200);
  if (call->final_sent || call->ended) return true;
  spdlog::info("{} cancelled by the caller", call->in.channel);
  send_final_to_caller(*call, 487);
  if (call->wait == AppWait::Dial) call->dial_status = DialStatus::Cancel;
  hangup(*call, HangupCause::NormalClearing, now, wall);
  return true;
}

void CallEngine::on_ack(const sip::Message& ack, core::TimePoint now) {
  (void)now;
  auto it = by_dialog_.find(dialog_key(ack.call_id(), ack.to().tag()));
  if (it == by_dialog_.end()) return;
  Call* call = find_call(it->second.call);
  Leg* leg = call == nullptr ? nullptr : call->leg(it->second.leg);
  if (leg == nullptr) return;
  if (leg->unacked_2xx && leg->unacked_2xx->cseq == ack.cseq().number) {
    leg->unacked_2xx.reset();
    leg->last_message = "Rx: ACK";
    // After an offer in our 2xx (late offer, offerless re-INVITE) the ACK carries the answer.
    if (leg->answer_in_ack && has_sdp(ack)) {
      leg->answer_in_ack = false;
      if (auto st = take_remote_sdp(*leg, ack.body()); !st) {
        spdlog::warn("{}: unreadable SDP answer in the ACK: {}", leg->channel,
                     st.error().message);
      }
    }
  }
}

void CallEngine::on_reinvite(Call& call, Leg& leg, sip::TransactionId transaction,
                             sip::Message&& request, core::TimePoint now) {
  Leg* other = other_leg(call, leg);
  // 14.2 glare: an INVITE transaction is already running on either dialog.
  if (leg.invite_in_progress || leg.unacked_2xx || (other != nullptr && other->invite_in_progress)) {
    reject(transaction, request, 491);
    return;
  }
  if (has_sdp(request)) {
    if (auto st = take_remote_sdp(leg, request.body()); !st) {
      spdlog::warn("{}: re-INVITE with unreadable SDP: {}", leg.channel, st.error().message);
      reject(transaction, request, 488);
      return;
    }
    spdlog::info("{} {}", leg.channel, leg.on_hold ? "puts the call on hold" : "resumes the call");
  }
  // Answered here when there is nobody to pass it to (Playback, Echo), and when it carries no
  // offer while the relay hides the other side (a session refresh, RFC 3261 14.1: the media
  // the other side sees does not change, so it need not hear of it). Without an offer, ours
  // goes in the 200 and the answer comes in the ACK.
  const bool offerless = !has_sdp(request);
  if (other == nullptr || (offerless && leg.stream.id != 0)) {
    if (!ensure_relay(call, leg)) {
      reject(transaction, request, 503, {{"Retry-After", "5"}});
      return;
    }
    const RequestBody body =
        leg.remote_sdp ? our_sdp(leg, as_answer(*leg.remote_sdp)) : RequestBody{};
    leg.answer_in_ack = offerless && !body.content.empty();
    auto bytes = build_uas_response(request, 200, leg.dialog, config_->general.user_agent, body);
    send_2xx(call, leg, transaction, std::move(bytes), request.cseq().number, now);
    return;
  }
  leg.invite_in_progress = true;
  other->invite_in_progress = true;
  relay_request(call, leg, *other, transaction, std::move(request), now);
}

void CallEngine::relay_request(Call& call, Leg& from, Leg& to, sip::TransactionId transaction,
                               sip::Message&& request, core::TimePoint now) {
  (void)now;
  RequestBody body;
  if (has_sdp(request) && from.remote_sdp) {
    if (to.stream.id == 0) {
      body = {"application/sdp", std::string(request.body())};  // direct media: as it came
    } else {
      auto offer = filter_offer(*from.remote_sdp, to.peer.codecs);
      if (!offer) {
        spdlog::warn("{}: cannot pass {} on to {}: {}", from.channel, request.method_text(),
                     to.channel, offer.error().message);
        from.invite_in_progress = to.invite_in_progress = false;
        reject(transaction, request, 488);
        return;
      }
      body = our_sdp(to, *offer);
    }
  } else if (!request.body().empty()) {
    auto type = request.header(sip::HeaderId::ContentType);
    body = {type ? std::string(*type) : std::string("application/octet-stream"),
            std::string(request.body())};
  }
  std::vector<std::pair<std::string, std::string>> extra;
  for (sip::HeaderId id : {sip::HeaderId::Event, sip::HeaderId::ContentDisposition}) {
    if (auto value = request.header(id)) extra.emplace_back(sip::canonical_name(id), *value);
  }
  auto built = build_in_dialog_request(to.dialog, request.method_text(), body,
                                       config_->general.user_agent, extra);
  auto client = env_.send_request(std::move(built.bytes), to.dialog.peer);
  if (!client) {
    from.invite_in_progress = to.invite_in_progress = false;
    reject(transaction, request, 500);
    return;
  }
  to.last_message = fmt::format("Tx: {}", request.method_text());
  by_client_[*client] = ClientEntry{call.id, to.id, ClientPurpose::Relay};
  auto rel = std::make_unique<RelayedRequest>(
      RelayedRequest{call.id, from.id, transaction, std::move(request)});
  relayed_[*client] = std::move(rel);
}

void CallEngine::on_relay_response(const ClientEntry& entry, sip::TransactionId transaction,
                                   sip::Message&& response, core::TimePoint now) {
  auto it = relayed_.find(transaction);
  if (it == relayed_.end()) return;
  RelayedRequest& rel = *it->second;
  Call* call = find_call(rel.call);
  Leg* from = call == nullptr ? nullptr : call->leg(rel.from);
  Leg* to = call == nullptr ? nullptr : call->leg(entry.leg);
  const int status = response.status_code();
  if (status == 100) return;
  if (from == nullptr || to == nullptr) {
    relayed_.erase(it);
    by_client_.erase(transaction);
    return;
  }
  to->last_message = fmt::format("Rx: {}", status);
  const bool is_invite = rel.request.method() == sip::Method::Invite;
  const bool success = status >= 200 && status < 300;

  RequestBody body;
  if (has_sdp(response)) {
    if (auto st = take_remote_sdp(*to, response.body()); !st) {
      spdlog::warn("{}: unreadable SDP in {}: {}", to->channel, status, st.error().message);
    } else if (from->stream.id == 0) {
      body = {"application/sdp", std::string(response.body())};
    } else {
      body = our_sdp(*from, *to->remote_sdp);
    }
  }
  if (is_invite && success) {
    update_uac_dialog(to->dialog, response);
    env_.send_stateless(to->dialog.peer, build_ack_for_2xx(to->dialog, response.cseq().number,
                                                           config_->general.user_agent));
  }
  auto bytes = build_uas_response(rel.request, status, from->dialog, config_->general.user_agent,
                                  body, {}, response.reason_phrase());
  if (status >= 200) {
    from->invite_in_progress = to->invite_in_progress = false;
  }
  if (is_invite && success) {
    send_2xx(*call, *from, rel.server_transaction, std::move(bytes), rel.request.cseq().number,
             now);
  } else {
    env_.send_response(rel.server_transaction, std::move(bytes), status);
  }
  from->last_message = fmt::format("Tx: {}", status);
  if (status >= 200) {
    relayed_.erase(it);
    by_client_.erase(transaction);
  }
}

void CallEngine::send_2xx(Call& call, Leg& leg, sip::TransactionId transaction, std::string bytes,
                          uint32_t cseq, core::TimePoint now) {
  env_.send_response(transaction, bytes, 200);
  leg.last_message = "Tx: 200";
  Unacked2xx u;
  u.transaction = transaction;
  u.bytes = std::move(bytes);
  u.cseq = cseq;
  u.interval = settings_.t1;
  u.next = now + settings_.t1;
  u.give_up = now + 64 * settings_.t1;
  leg.unacked_2xx = std::move(u);
  arm(leg.unacked_2xx->next, call.id, leg.id, TimerKind::Retransmit2xx);
}

void CallEngine::on_retransmit_2xx(Call& call, Leg& leg, core::TimePoint now,
                                   WallClock::time_point wall) {
  Unacked2xx& u = *leg.unacked_2xx;
  if (now >= u.give_up) {
    // 13.3.1.4: no ACK within 64*T1: the dialog is confirmed and then ended with a BYE.
    spdlog::warn("{}: no ACK for our 200 OK within {} s; hanging up", leg.channel,
                 std::chrono::duration_cast<std::chrono::seconds>(64 * settings_.t1).count());
    leg.unacked_2xx.reset();
    hangup(call, HangupCause::RecoveryOnTimerExpire, now, wall);
    return;
  }
  env_.send_response(u.transaction, u.bytes, 200);
  u.interval = std::min<core::Duration>(2 * u.interval, settings_.t2);
  u.next = std::min(now + u.interval, u.give_up);
  arm(u.next, call.id, leg.id, TimerKind::Retransmit2xx);
}

void CallEngine::on_media_check(Call& call, core::TimePoint now, WallClock::time_point wall) {
  const auto rtp_timeout = config_->general.rtp_timeout;
  const auto hold_timeout = config_->general.rtp_hold_timeout;
  Leg* other = call.bridged_leg();
  const bool on_hold = call.in.on_hold || (other != nullptr && other->on_hold);
  const core::Duration limit = on_hold ? core::Duration(hold_timeout) : core::Duration(rtp_timeout);
  if (limit > core::Duration::zero()) {
    for (Leg* leg : {&call.in, other}) {
      if (leg == nullptr || leg->stream.id == 0) continue;
      auto counters = env_.stream_counters(leg->stream.id);
      if (!counters) continue;
      core::TimePoint last = call.last_media_activity;
      if (counters->last_rtp_in && *counters->last_rtp_in > last) last = *counters->last_rtp_in;
      if (now - last >= limit) {
        ++counters_.media_timeouts;
        spdlog::warn("Disconnecting call '{}' for lack of RTP activity in {} seconds",
                     leg->channel, std::chrono::duration_cast<std::chrono::seconds>(limit).count());
        hangup(call, HangupCause::RecoveryOnTimerExpire, now, wall);
        return;
      }
    }
  }
  if (rtp_timeout.count() > 0 || hold_timeout.count() > 0) {
    call.media_check = now + std::chrono::seconds(1);
    arm(*call.media_check, call.id, 0, TimerKind::MediaCheck);
  }
}

}  // namespace hapbx::pbx
