// pbxd's CallEnvironment (see daemon_call_environment.h).
#include "pbx/daemon_call_environment.h"

#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "media/wav.h"

namespace hapbx::pbx {

DaemonCallEnvironment::DaemonCallEnvironment(sip::TransactionLayer& layer,
                                             const core::Clock& clock,
                                             LocalAddressFn local_address,
                                             media::MediaRelay& relay, CdrWriter* cdr,
                                             std::filesystem::path sounds_dir)
    : layer_(layer), clock_(clock), local_address_(std::move(local_address)), relay_(relay),
      cdr_(cdr), sounds_dir_(std::move(sounds_dir)) {}

Result<sip::TransactionId> DaemonCallEnvironment::send_request(std::string bytes,
                                                               const sip::Endpoint& to) {
  return layer_.send_request(std::move(bytes), to, clock_.now());
}

void DaemonCallEnvironment::send_response(sip::TransactionId transaction, std::string bytes,
                                          int status) {
  if (auto st = layer_.send_response(transaction, std::move(bytes), status, clock_.now()); !st) {
    spdlog::debug("response {} not sent: {}", status, st.error().message);
  }
}

void DaemonCallEnvironment::send_stateless(const sip::Endpoint& to, std::string bytes) {
  layer_.send_stateless(to, std::move(bytes));
}

LocalAddress DaemonCallEnvironment::local_address_for(const sip::Endpoint& peer) {
  return local_address_(peer);
}

Result<MediaStream> DaemonCallEnvironment::open_stream(const sip::Endpoint& peer) {
  auto opened = relay_.open_stream();
  if (!opened) return opened.error();
  return MediaStream{opened->id, local_address_(peer).host, opened->rtp_port};
}

void DaemonCallEnvironment::set_stream_remote(MediaStreamId stream, const std::string& address,
                                              uint16_t rtp_port, uint16_t rtcp_port) {
  relay_.set_remote(stream, media::RemoteAddress{address, rtp_port, rtcp_port});
}

void DaemonCallEnvironment::bridge_streams(MediaStreamId a, MediaStreamId b) {
  relay_.bridge(a, b);
}
void DaemonCallEnvironment::unbridge_stream(MediaStreamId stream) { relay_.unbridge(stream); }
void DaemonCallEnvironment::echo_stream(MediaStreamId stream) { relay_.echo(stream); }
void DaemonCallEnvironment::stop_playback(MediaStreamId stream) { relay_.stop_play(stream); }
void DaemonCallEnvironment::close_stream(MediaStreamId stream) { relay_.close_stream(stream); }

// Playback names, as the dialplan writes them:
//   beep, tone/ring, tone/busy, tone/congestion, silence/<seconds>   built-in
//   /absolute/file.wav                                               that file
//   name or dir/name                                                 <sounds dir>/name[.wav]
Result<std::shared_ptr<const media::Prompt>> DaemonCallEnvironment::prompt(std::string_view name) {
  if (auto it = prompts_.find(std::string(name)); it != prompts_.end()) return it->second;
  std::shared_ptr<const media::Prompt> made;
  if (name == "beep") {
    made = media::make_tone("beep", std::chrono::milliseconds(0));
  } else if (name.starts_with("tone/")) {
    made = media::make_tone(name.substr(5), std::chrono::milliseconds(0));
  } else if (name.starts_with("silence/")) {
    const auto digits = name.substr(8);
    int seconds = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seconds);
    if (ec != std::errc() || end != digits.data() + digits.size() || seconds < 0 ||
        seconds > 3600) {
      return make_error(fmt::format("bad silence length in '{}' (expected silence/<seconds>)", name));
    }
    made = media::make_tone("silence", std::chrono::seconds(seconds));
  }
  if (!made) {
    std::filesystem::path path(name);
    if (path.is_relative()) {
      if (name.find("..") != std::string_view::npos) {
        return make_error(fmt::format("prompt '{}' may not leave the sounds directory", name));
      }
      path = sounds_dir_ / path;
    }
    if (path.extension() != ".wav") path += ".wav";
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      return make_error(fmt::format("no prompt named '{}' (built-in: beep, tone/ring, tone/busy, "
                                    "tone/congestion, silence/N; files: {})",
                                    name, path.string()));
    }
    auto loaded = media::load_wav(path);
    if (!loaded) return loaded.error();
    made = std::move(loaded).value();
  }
  prompts_.emplace(std::string(name), made);
  return made;
}

Result<uint64_t> DaemonCallEnvironment::play(MediaStreamId stream, std::string_view name,
                                             int payload_type) {
  auto p = prompt(name);
  if (!p) return p.error();
  // The relay plays G.711 only: a call on another codec hears PCMU (most phones decode it).
  const int pt = payload_type == 8 ? 8 : 0;
  return relay_.play(stream, std::move(p).value(), pt, false);
}

std::optional<MediaStreamCounters> DaemonCallEnvironment::stream_counters(
    MediaStreamId stream) const {
  auto stats = relay_.stats(stream);
  if (!stats) return std::nullopt;
  MediaStreamCounters c;
  c.rtp_in = stats->rtp_in;
  c.rtp_out = stats->rtp_out;
  c.rtcp_in = stats->rtcp_in;
  c.rtcp_out = stats->rtcp_out;
  c.last_rtp_in = stats->last_rtp_in;
  c.latched = stats->latched;
  if (!stats->remote_address.empty()) {
    c.remote = stats->remote_address.find(':') != std::string::npos
                   ? fmt::format("[{}]:{}", stats->remote_address, stats->remote_rtp_port)
                   : fmt::format("{}:{}", stats->remote_address, stats->remote_rtp_port);
  }
  return c;
}

void DaemonCallEnvironment::write_cdr(CdrRecord&& record) {
  if (cdr_ == nullptr) return;
  cdr_->submit(std::move(record));
}

}  // namespace hapbx::pbx
