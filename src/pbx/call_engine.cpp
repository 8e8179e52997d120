// The call engine's lifecycle: new INVITEs (authentication, limits, SDP, routing), hangup in
// every state, the CDR, timers and the admin views. Applications are in call_engine_apps.cpp,
// outbound legs in call_engine_dial.cpp, in-dialog requests in call_engine_dialog.cpp.
#include "pbx/call_engine.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pbx/caller_auth.h"
#include "sip/message_writer.h"

namespace hapbx::pbx {

std::string_view to_string(ChannelState state) {
  switch (state) {
    case ChannelState::Down: return "Down";
    case ChannelState::Ring: return "Ring";
    case ChannelState::Ringing: return "Ringing";
    case ChannelState::Up: return "Up";
  }
  return "Down";
}

CallEngine::CallEngine(CallEnvironment& env, const SipConfig& config,
                       std::shared_ptr<const Dialplan> plan, const BindingTable& bindings,
                       sip::DigestVerifier& verifier, AuthThrottle* throttle,
                       CallSettings settings)
    : env_(env), config_(&config), plan_(std::move(plan)),
      globals_(plan_ ? std::make_shared<DialplanGlobals>(*plan_)
                     : std::make_shared<DialplanGlobals>()),
      bindings_(bindings), verifier_(verifier), throttle_(throttle), settings_(settings) {}

CallEngine::~CallEngine() = default;

void CallEngine::reconfigure(const SipConfig& config) { config_ = &config; }
void CallEngine::set_dialplan(std::shared_ptr<const Dialplan> plan) {
  plan_ = std::move(plan);
  if (plan_) globals_->reload(*plan_);
}

Call* CallEngine::find_call(CallId id) {
  auto it = calls_.find(id);
  return it == calls_.end() ? nullptr : it->second.get();
}

void CallEngine::arm(core::TimePoint when, CallId call, LegId leg, TimerKind kind) {
  deadlines_.emplace(when, call, leg, kind);
}

std::string CallEngine::next_channel_name(std::string_view peer) {
  return fmt::format("SIP/{}-{:08x}", peer.empty() ? "guest" : peer, ++channel_counter_);
}

LegPeer CallEngine::leg_peer(const SipPeer* peer) const {
  LegPeer p;
  if (peer == nullptr) {
    p.codecs = config_->general.codecs;
    p.direct_media = config_->general.direct_media == DirectMedia::Yes;
    return p;
  }
  p.name = peer->name;
  p.codecs = peer->codecs;
  p.direct_media = peer->direct_media == DirectMedia::Yes;
  p.caller_number = peer->callerid_number.empty() ? peer->name : peer->callerid_number;
  p.caller_name = peer->callerid_name;
  p.account_code = peer->account_code;
  p.ama_flags = peer->ama_flags;
  p.call_limit = peer->call_limit;
  return p;
}

int CallEngine::calls_of_peer(std::string_view peer) const {
  int n = 0;
  for (const auto& [id, call] : calls_) {
    if (call->in.peer.name == peer) ++n;
    for (const auto& leg : call->out) {
      if (leg->peer.name == peer && !leg->abandoned && leg->final_status < 300) ++n;
    }
  }
  return n;
}

// ---- ingress ----

bool CallEngine::on_request(sip::TransactionId transaction, sip::Message&& request,
                            const sip::Endpoint& source, core::TimePoint now,
                            WallClock::time_point wall) {
  const bool in_dialog = !request.to().tag().empty();
  if (in_dialog) {
    on_in_dialog_request(transaction, std::move(request), source, now, wall);
    return true;
  }
  if (request.method() == sip::Method::Invite) {
    on_new_invite(transaction, std::move(request), source, now, wall);
    return true;
  }
  if (request.method() == sip::Method::Bye) {
    // A BYE without a To tag belongs to no dialog (12.2.2).
    reject(transaction, request, 481);
    return true;
  }
  return false;
}

void CallEngine::reject(sip::TransactionId transaction, const sip::Message& request, int status,
                        std::vector<std::pair<std::string, std::string>> headers) {
  auto w = sip::make_response(request, status, {},
                              request.to().tag().empty() ? sip::random_token(10) : std::string());
  for (const auto& [name, value] : headers) w.header(name, value);
  if (!config_->general.user_agent.empty()) {
    w.header(sip::HeaderId::Server, config_->general.user_agent);
  }
  env_.send_response(transaction, std::move(w).finish(), status);
}

void CallEngine::on_new_invite(sip::TransactionId transaction, sip::Message&& request,
                               const sip::Endpoint& source, core::TimePoint now,
                               WallClock::time_point wall) {
  if (overloaded_ || calls_.size() >= settings_.max_calls) {
    ++counters_.overload_rejections;
    reject(transaction, request, 503, {{"Retry-After", "5"}});
    return;
  }
  const CallerVerdict verdict =
      check_caller(request, source, *config_, verifier_, throttle_, now, wall);
  switch (verdict.kind) {
    case CallerVerdict::Kind::Challenge: {
      std::vector<std::pair<std::string, std::string>> headers;
      for (const auto& c : verdict.challenges) headers.emplace_back("Proxy-Authenticate", c);
      reject(transaction, request, 407, std::move(headers));
      return;
    }
    case CallerVerdict::Kind::Blocked:
    case CallerVerdict::Kind::Forbidden:
      ++counters_.calls_rejected;
      spdlog::info("Call from '{}' ({}) to '{}' rejected: {}", request.from().uri.text,
                   sip::to_string(source), request.request_uri().text, verdict.why);
      reject(transaction, request, 403);
      return;
    case CallerVerdict::Kind::Accept: break;
  }
  const SipPeer* peer = verdict.peer;
  LegPeer caller = leg_peer(peer);
  if (caller.call_limit > 0 && calls_of_peer(caller.name) >= caller.call_limit) {
    ++counters_.calls_rejected;
    spdlog::info("Call from '{}' rejected: call-limit {} reached", caller.name, caller.call_limit);
    reject(transaction, request, 486);
    return;
  }
  if (peer == nullptr) {
    // A guest's caller id is what it says in From.
    caller.caller_number = std::string(request.from().uri.user);
    caller.caller_name = sip::unquote(request.from().display_name);
  }

  // The offer. Without one (a late offer, RFC 3261 13.2.1) we make our own from the caller's
  // allowed codecs; the caller answers it in its ACK.
  const auto content_type = request.header(sip::HeaderId::ContentType);
  const bool late_offer = request.body().empty();
  if (!late_offer && (!content_type || !sip::iequals(sip::trim(content_type->substr(
                                                         0, content_type->find(';'))),
                                                     "application/sdp"))) {
    ++counters_.calls_rejected;
    spdlog::warn("Call from '{}': INVITE body is not SDP; 415", request.from().uri.text);
    reject(transaction, request, 415, {{"Accept", "application/sdp"}});
    return;
  }
  auto offer = late_offer ? offer_for_codecs(caller.codecs, source.address, 9)
                          : sip::parse_sdp(request.body());
  if (!offer) {
    ++counters_.calls_rejected;
    spdlog::warn("Call from '{}': {}: {}", request.from().uri.text,
                 late_offer ? "no codec to offer" : "unreadable SDP", offer.error().message);
    reject(transaction, request, late_offer ? 488 : 400);
    return;
  }
  auto filtered = filter_offer(*offer, caller.codecs);
  if (!filtered) {
    ++counters_.calls_rejected;
    spdlog::warn("Call from '{}' to '{}': {}; 488 Not Acceptable Here", request.from().uri.text,
                 request.request_uri().text, filtered.error().message);
    reject(transaction, request, 488, {{"Warning", "304 hapbx \"Media type not available\""}});
    return;
  }

  const std::string context = peer != nullptr && !peer->context.empty() ? peer->context
                                                                        : config_->general.context;
  const std::string exten = request.request_uri().user.empty()
                                ? std::string("s")
                                : std::string(request.request_uri().user);
  if (!plan_ || !dialplan_has_extension(*plan_, context, exten)) {
    ++counters_.calls_rejected;
    spdlog::info("Call from '{}' to extension '{}' rejected, no such extension in context '{}'",
                 caller.name.empty() ? request.from().uri.text : caller.name, exten, context);
    reject(transaction, request, 404);
    return;
  }

  auto call = std::make_unique<Call>();
  call->id = next_call_++;

  call->start_wall = wall;
  call->start = now;
  call->context = context;
  call->exten = exten;
  call->invite_transaction = transaction;

  Leg& in = call->in;
  in.id = next_leg_++;
  in.peer = std::move(caller);
  in.channel = next_channel_name(in.peer.name);
  in.uniqueid = fmt::format(
      "{}.{}", std::chrono::duration_cast<std::chrono::seconds>(wall.time_since_epoch()).count(),
      channel_counter_);
  call->uniqueid = in.uniqueid;
  in.state = ChannelState::Ring;
  in.dialog.peer = source;
  in.dialog.local = env_.local_address_for(source);
  init_uas_dialog(in.dialog, request);
  in.last_message = "Rx: INVITE";

  // The caller's offer narrowed to what it may use: what the callee will be offered. The relay
  // stream facing the caller is opened only when the call needs it (ensure_relay): a call with
  // direct media holds no port.
  call->late_offer = late_offer;
  if (late_offer) {
    call->own_offer = std::move(filtered).value();
  } else {
    in.remote_sdp = std::move(filtered).value();
    in.on_hold = is_hold(*in.remote_sdp);
  }
  if (auto target = media_target(late_offer ? *call->own_offer : *in.remote_sdp);
      target && !target->codecs.empty()) {
    in.payload_type = target->first_payload_type;
    in.format = target->codecs.front();
  }

  ChannelInfo info;
  info.channel = in.channel;
  info.uniqueid = call->uniqueid;
  info.caller_number = in.peer.caller_number;
  info.caller_name = in.peer.caller_name;
  info.account_code = in.peer.account_code;
  info.language = peer != nullptr ? peer->language : config_->general.language;
  call->run = std::make_unique<DialplanRun>(plan_, context, exten, std::move(info), globals_);

  by_invite_[transaction] = call->id;
  by_dialog_[in.dialog.key()] = DialogRef{call->id, in.id};
  call->invite.emplace(std::move(request));
  Call& ref = *call;
  calls_.emplace(call->id, std::move(call));
  spdlog::info("{} calls '{}' in context '{}' ({})", ref.in.channel, exten, context,
               ref.uniqueid);
  run_dialplan(ref, now, wall);
}

bool CallEngine::ensure_relay(Call& call, Leg& leg) {
  if (leg.stream.id != 0) return true;
  auto stream = env_.open_stream(leg.dialog.peer);
  if (!stream) {
    spdlog::warn("{}: {}", leg.channel, stream.error().message);
    return false;
  }
  leg.stream = *stream;
  leg.origin.address = leg.stream.address;
  by_stream_[leg.stream.id] = DialogRef{call.id, leg.id};
  if (leg.remote_sdp) {
    if (auto target = media_target(*leg.remote_sdp); target && target->rtp_port != 0) {
      env_.set_stream_remote(leg.stream.id, target->address, target->rtp_port, target->rtcp_port);
    }
  }
  return true;
}

// ---- hangup ----

void CallEngine::hangup(Call& call, HangupCause cause, core::TimePoint now,
                        WallClock::time_point wall) {
  if (call.ended) return;
  call.ended = true;
  call.cause = cause;
  (void)now;
  // The caller's side.
  if (!call.final_sent) {
    send_final_to_caller(call, sip_status_for_cause(cause));
  } else if (call.answered && !call.in.bye_sent) {
    send_bye(call, call.in);
  }
  // Every outbound leg still alive.
  for (auto& leg : call.out) {
    if (leg->answered) {
      if (!leg->bye_sent) send_bye(call, *leg);
    } else if (leg->final_status == 0) {
      cancel_leg(call, *leg);
    }
    leg->abandoned = true;
  }
  finish(call, wall);
}

// The call is over for both sides: media closed, `h` run, CDR written, state dropped.
void CallEngine::finish(Call& call, WallClock::time_point wall) {
  close_leg_media(call.in);
  for (auto& leg : call.out) close_leg_media(*leg);
  if (call.run) {
    call.last_app = call.run->last_app();
    call.last_data = call.run->last_data();
    call.run->set_variable("HANGUPCAUSE", std::to_string(static_cast<int>(call.cause)));
    if (call.dial_status) call.run->set_variable("DIALSTATUS", std::string(to_string(*call.dial_status)));
    // The `h` extension: internal applications run; those that need the call are skipped, as
    // there is no call any more.
    if (call.run->enter_hangup_handler()) {
      for (int steps = 0; steps < 1000; ++steps) {
        auto step = call.run->next();
        if (std::holds_alternative<RunFinished>(step)) break;
      }
    }
    for (auto& line : call.run->take_log()) spdlog::info("{}", line);
  }
  write_cdr(call, wall);
  ++counters_.calls_processed;
  spdlog::info("{} hung up (cause {}), {}", call.in.channel, static_cast<int>(call.cause),
               call.answered ? "answered" : "not answered");
  erase_call(call.id);
}

void CallEngine::write_cdr(Call& call, WallClock::time_point wall) {
  CdrRecord r;
  r.start = call.start_wall;
  r.answer = call.answer_wall;
  r.end = wall;
  r.clid = cdr_clid(call.in.peer.caller_name, call.in.peer.caller_number);
  r.src = call.in.peer.caller_number;
  r.dst = call.exten;
  r.dcontext = call.context;
  r.channel = call.in.channel;
  r.dstchannel = call.dst_channel;
  r.lastapp = call.last_app;
  r.lastdata = call.last_data;
  cdr_compute_durations(r);
  // As Asterisk: the outcome of the Dial decides, whatever the dialplan did after it (a
  // Congestion() after a NOANSWER is still NO ANSWER); without a Dial, how the call ended.
  // CONGESTION is logged as FAILED unless cdr.conf congestion=yes (the writer decides).
  if (call.answered) {
    r.disposition = CdrDisposition::Answered;
  } else if (call.dial_status) {
    switch (*call.dial_status) {
      case DialStatus::Busy: r.disposition = CdrDisposition::Busy; break;
      case DialStatus::NoAnswer:
      case DialStatus::Cancel:
      case DialStatus::Answer: r.disposition = CdrDisposition::NoAnswer; break;
      case DialStatus::Congestion: r.disposition = CdrDisposition::Congestion; break;
      default: r.disposition = CdrDisposition::Failed; break;
    }
  } else if (call.cause == HangupCause::UserBusy) {
    r.disposition = CdrDisposition::Busy;
  } else if (call.cause == HangupCause::Congestion) {
    r.disposition = CdrDisposition::Congestion;
  } else {
    r.disposition = CdrDisposition::NoAnswer;
  }
  r.amaflags = cdr_amaflags(call.in.peer.ama_flags);
  r.accountcode = call.in.peer.account_code;
  r.uniqueid = call.uniqueid;
  env_.write_cdr(std::move(r));
}

void CallEngine::erase_call(CallId id) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  Call& call = *it->second;
  by_invite_.erase(call.invite_transaction);
  by_dialog_.erase(call.in.dialog.key());
  for (auto& leg : call.out) {
    by_dialog_.erase(leg->dialog.key());
    if (leg->invite_transaction != 0 && leg->final_status == 0 && !leg->answered &&
        orphans_.size() < kMaxOrphans) {
      const sip::TransactionId txn = leg->invite_transaction;
      orphans_[txn] = std::move(leg);
    }
  }
  // Client transactions of this call (BYE, CANCEL) may still answer: their entries stay valid
  // to look up but find no call; drop them now so the table cannot grow.
  for (auto c = by_client_.begin(); c != by_client_.end();) {
    c = c->second.call == id ? by_client_.erase(c) : std::next(c);
  }
  for (auto r = relayed_.begin(); r != relayed_.end();) {
    r = r->second->call == id ? relayed_.erase(r) : std::next(r);
  }
  calls_.erase(it);
}

// ---- timers ----

std::optional<core::TimePoint> CallEngine::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return std::get<0>(*deadlines_.begin());
}

void CallEngine::on_timer(core::TimePoint now, WallClock::time_point wall) {
  while (!deadlines_.empty() && std::get<0>(*deadlines_.begin()) <= now) {
    const auto [when, call_id, leg_id, kind] = *deadlines_.begin();
    deadlines_.erase(deadlines_.begin());
    Call* call = find_call(call_id);
    if (call == nullptr || call->ended) continue;
    switch (kind) {
      case TimerKind::Wait:
        if (call->wait == AppWait::Wait && call->wait_until == when) {
          call->wait_until.reset();
          resume(*call, now, wall);
        }
        break;
      case TimerKind::DialTimeout:
        if (call->wait == AppWait::Dial && call->dial.deadline == when) {
          call->dial.deadline.reset();
          call->dial.timed_out = true;
          end_dial(*call, DialStatus::NoAnswer, now, wall);
        }
        break;
      case TimerKind::Retransmit2xx: {
        Leg* leg = call->leg(leg_id);
        if (leg != nullptr && leg->unacked_2xx && leg->unacked_2xx->next == when) {
          on_retransmit_2xx(*call, *leg, now, wall);
        }
        break;
      }
      case TimerKind::MediaCheck:
        if (call->media_check == when) {
          call->media_check.reset();
          on_media_check(*call, now, wall);
        }
        break;
    }
  }
}

// ---- admin ----

size_t CallEngine::request_hangup(std::string_view channel, core::TimePoint now,
                                  WallClock::time_point wall) {
  std::vector<CallId> victims;
  for (const auto& [id, call] : calls_) {
    bool match = channel == "all" || call->in.channel == channel;
    for (const auto& leg : call->out) match = match || leg->channel == channel;
    if (match) victims.push_back(id);
  }
  for (CallId id : victims) {
    if (Call* call = find_call(id)) {
      spdlog::info("Requested hangup of {}", call->in.channel);
      hangup(*call, HangupCause::NormalClearing, now, wall);
    }
  }
  return victims.size();
}

void CallEngine::hangup_all(core::TimePoint now, WallClock::time_point wall) {
  request_hangup("all", now, wall);
}

std::vector<ChannelView> CallEngine::channels(core::TimePoint now) const {
  std::vector<ChannelView> out;
  auto view = [&](const Call& call, const Leg& leg, bool inbound) {
    ChannelView v;
    v.channel = leg.channel;
    v.uniqueid = leg.uniqueid;
    v.peer = leg.peer.name;
    v.state = leg.state;
    v.context = call.context;
    v.exten = call.exten;
    v.inbound = inbound;
    if (inbound && call.run) {
      v.priority = call.run->priority();
      v.application = call.run->last_app();
      v.data = call.run->last_data();
      v.caller_number = leg.peer.caller_number;
      v.caller_name = leg.peer.caller_name;
      if (const Leg* b = call.bridged_leg()) v.bridged_to = b->channel;
    } else {
      v.application = "AppDial";
      v.data = "(Outgoing Line)";
      v.caller_number = call.in.peer.caller_number;
      v.caller_name = call.in.peer.caller_name;
      if (call.bridged_to == leg.id) v.bridged_to = call.in.channel;
    }
    v.call_id = leg.dialog.call_id;
    v.address = sip::to_string(leg.dialog.peer);
    v.format = leg.format;
    v.last_message = leg.last_message;
    v.duration_seconds = std::chrono::duration_cast<std::chrono::seconds>(now - call.start).count();
    if (leg.stream.id != 0) {
      v.rtp = env_.stream_counters(leg.stream.id);
      v.rtp_local_port = leg.stream.rtp_port;
    }
    out.push_back(std::move(v));
  };
  for (const auto& [id, call] : calls_) {
    view(*call, call->in, true);
    for (const auto& leg : call->out) {
      if (!leg->abandoned || call->bridged_to == leg->id) view(*call, *leg, false);
    }
  }
  return out;
}

}  // namespace hapbx::pbx
