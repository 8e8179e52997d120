// The dialplan applications that touch a call (the interpreter runs the others itself):
// Answer, Ringing, Progress, Wait, Playback, Echo, Busy, Congestion, Hangup; Dial is in
// call_engine_dial.cpp. Each either finishes at once (the dialplan goes on) or leaves the call
// waiting (AppWait) for a timer, a prompt, a callee or a hangup.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pbx/call_app_args.h"
#include "pbx/call_engine.h"
#include "sip/message_writer.h"

namespace hapbx::pbx {

// Not re-entrant on purpose: an application that finishes at once from inside execute() (a
// Dial whose every target fails immediately) calls resume(), which then only clears the wait and
// lets this loop go on, so a dialplan that loops over such a Dial cannot grow the stack. The
// call may be hung up and erased by any step: it is looked up again each time round.
void CallEngine::run_dialplan(Call& start, core::TimePoint now, WallClock::time_point wall) {
  const CallId id = start.id;
  start.in_dialplan = true;
  for (int steps = 0; steps < 10000; ++steps) {
    Call* call = find_call(id);
    if (call == nullptr || call->ended) return;
    if (call->wait != AppWait::None) {
      call->in_dialplan = false;
      return;
    }
    auto step = call->run->next();
    for (auto& line : call->run->take_log()) spdlog::info("{}", line);
    if (auto* finished = std::get_if<RunFinished>(&step)) {
      if (finished->reason != RunFinished::Reason::EndOfPlan) {
        spdlog::warn("{}: {}", call->in.channel, finished->text);
      }
      const HangupCause cause = finished->reason == RunFinished::Reason::NoSuchExtension
                                    ? HangupCause::Unallocated
                                    : HangupCause::NormalClearing;
      hangup(*call, cause, now, wall);
      return;
    }
    execute(*call, std::get<AppRequest>(step), now, wall);
  }
  if (Call* call = find_call(id); call != nullptr && !call->ended) {
    spdlog::warn("{}: dialplan ran 10000 applications without waiting; hanging up",
                 call->in.channel);
    hangup(*call, HangupCause::NormalClearing, now, wall);
  }
}

// Resumes the dialplan after an application that waited.
void CallEngine::resume(Call& call, core::TimePoint now, WallClock::time_point wall) {
  call.wait = AppWait::None;
  if (call.in_dialplan) return;  // run_dialplan() is below us on the stack and goes on
  run_dialplan(call, now, wall);
}

void CallEngine::execute(Call& call, const AppRequest& app, core::TimePoint now,
                         WallClock::time_point wall) {
  const std::string& name = app.app;
  if (name == "Answer") {
    answer(call, now, wall);
    return;
  }
  if (name == "Ringing") {
    if (!call.final_sent) send_provisional(call, 180, false);
    return;
  }
  if (name == "Progress") {
    if (!call.final_sent) send_provisional(call, 183, true);
    return;
  }
  if (name == "Wait") {
    call.wait = AppWait::Wait;
    call.wait_until = now + seconds_arg(app.args, 0, std::chrono::seconds(0));
    arm(*call.wait_until, call.id, 0, TimerKind::Wait);
    return;
  }
  if (name == "Playback") {
    start_playback(call, app, now, wall);
    return;
  }
  if (name == "Echo") {
    if (!answer(call, now, wall)) return;
    env_.echo_stream(call.in.stream.id);
    call.wait = AppWait::Echo;  // until the caller hangs up
    return;
  }
  if (name == "Busy") {
    hangup(call, HangupCause::UserBusy, now, wall);
    return;
  }
  if (name == "Congestion") {
    hangup(call, HangupCause::Congestion, now, wall);
    return;
  }
  if (name == "Hangup") {
    hangup(call, app.args.empty() ? HangupCause::NormalClearing : parse_hangup_cause(app.args[0]),
           now, wall);
    return;
  }
  if (name == "Dial") {
    start_dial(call, app, now, wall);
    return;
  }
  // The interpreter reports unknown applications itself; anything else it hands us that we do
  // not implement ends the call cleanly rather than being silently skipped.
  spdlog::warn("{}: application '{}' is not supported ({}); hanging up", call.in.channel, name,
               app.where.str());
  hangup(call, HangupCause::NormalClearing, now, wall);
}

RequestBody CallEngine::our_sdp(Leg& leg, const sip::SessionDescription& basis) {
  if (leg.stream.id == 0) return {"application/sdp", sip::print_sdp(basis)};
  auto sdp = rewrite_for_relay(basis, leg.stream.address, leg.stream.rtp_port, leg.origin);
  return {"application/sdp", sip::print_sdp(sdp)};
}

void CallEngine::send_provisional(Call& call, int status, bool with_sdp,
                                  const sip::SessionDescription* basis) {
  RequestBody body;
  // With a late offer the caller's offer is still to come in our 200: no early media.
  if (with_sdp && call.in.remote_sdp && !call.late_offer && ensure_relay(call, call.in)) {
    body = basis != nullptr ? our_sdp(call.in, *basis)
                            : our_sdp(call.in, as_answer(*call.in.remote_sdp));
  }
  auto bytes = build_uas_response(*call.invite, status, call.in.dialog,
                                  config_->general.user_agent, body);
  env_.send_response(call.invite_transaction, std::move(bytes), status);
  if (status == 180) call.in.state = ChannelState::Ringing;
  call.in.last_message = fmt::format("Tx: {}", status);
}

void CallEngine::send_final_to_caller(Call& call, int status) {
  if (call.final_sent) return;
  call.final_sent = true;
  auto bytes = build_uas_response(*call.invite, status, call.in.dialog,
                                  config_->general.user_agent);
  env_.send_response(call.invite_transaction, std::move(bytes), status);
  call.in.last_message = fmt::format("Tx: {}", status);
}

bool CallEngine::answer(Call& call, core::TimePoint now, WallClock::time_point wall) {
  if (call.ended) return false;
  if (call.answered || call.final_sent) return true;  // nothing to do, or too late for it
  if (!ensure_relay(call, call.in)) {
    hangup(call, HangupCause::Congestion, now, wall);  // 503: no RTP port left
    return false;
  }
  // The answer to the caller's offer: its own (filtered) description, pointed at our relay;
  // after a late offer, our offer instead (the caller answers in its ACK).
  const RequestBody body = call.late_offer ? our_sdp(call.in, *call.own_offer)
                                           : our_sdp(call.in, as_answer(*call.in.remote_sdp));
  call.in.answer_in_ack = call.late_offer;
  auto bytes = build_uas_response(*call.invite, 200, call.in.dialog, config_->general.user_agent,
                                  body);
  call.final_sent = true;
  call.answered = true;
  call.answer_wall = wall;
  call.in.state = ChannelState::Up;
  call.last_media_activity = now;
  send_2xx(call, call.in, call.invite_transaction, std::move(bytes), call.invite->cseq().number,
           now);
  if (config_->general.rtp_timeout.count() > 0 || config_->general.rtp_hold_timeout.count() > 0) {
    call.media_check = now + std::chrono::seconds(1);
    arm(*call.media_check, call.id, 0, TimerKind::MediaCheck);
  }
  return true;
}

void CallEngine::start_playback(Call& call, const AppRequest& app, core::TimePoint now,
                                WallClock::time_point wall) {
  const std::string options = app.args.size() > 1 ? std::string(sip::trim(app.args[1])) : "";
  // Playback answers the call first unless told `noanswer` (then it is early media: 183).
  if (options.find("noanswer") != std::string::npos) {
    if (!call.final_sent) send_provisional(call, 183, true);
  } else if (!answer(call, now, wall)) {
    return;
  }
  if (call.ended || !ensure_relay(call, call.in)) {
    if (!call.ended) hangup(call, HangupCause::Congestion, now, wall);
    return;
  }
  call.playback = PlaybackState{};
  call.playback.files = split_list(app.args.empty() ? std::string_view{} : app.args[0], '&');
  call.wait = AppWait::Playback;
  play_next(call, now, wall);
}

void CallEngine::play_next(Call& call, core::TimePoint now, WallClock::time_point wall) {
  auto& p = call.playback;
  while (p.next < p.files.size()) {
    const std::string& file = p.files[p.next++];
    auto id = env_.play(call.in.stream.id, file, call.in.payload_type);
    if (id) {
      p.current = *id;
      return;
    }
    p.any_failed = true;
    spdlog::warn("{}: Playback: {}", call.in.channel, id.error().message);
  }
  p.current = 0;
  call.run->set_variable("PLAYBACKSTATUS", p.any_failed ? "FAILED" : "SUCCESS");
  resume(call, now, wall);
}

void CallEngine::on_playback_done(MediaStreamId stream, uint64_t playback, bool completed,
                                  core::TimePoint now, WallClock::time_point wall) {
  auto it = by_stream_.find(stream);
  if (it == by_stream_.end()) return;
  Call* call = find_call(it->second.call);
  if (call == nullptr || call->ended || call->wait != AppWait::Playback ||
      call->playback.current != playback) {
    return;
  }
  if (!completed) call->playback.any_failed = true;
  play_next(*call, now, wall);
}

}  // namespace hapbx::pbx
