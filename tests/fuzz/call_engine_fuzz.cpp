// Fuzz target for the B2BUA call engine: whatever a caller or a callee sends, in whatever order,
// the engine must not crash, leak, or leave a call holding media after it ended. The input is a
// script of steps separated by NUL bytes; the first byte of a step says what it is:
//   'q' <SIP request>    a request from the caller's address, as a new server transaction
//   'r' <SIP response>   a response to the engine's latest client transaction
//   's' <SIP response>   a response to an earlier client transaction (next byte: how far back)
//   'a' <SIP ACK>        an ACK for a 2xx (as the transaction layer hands it up)
//   'c' <SIP CANCEL>     a CANCEL of the first INVITE
//   'f'                  the latest client transaction failed (Timer B/F)
//   'p'                  the latest playback finished
//   't' <byte>           time passes: byte * 100 ms, timers fire
// Messages are parsed as the transport would; faulty ones are dropped as the daemon does.
// After the script, hangup_all() must end every call and close every stream.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pbx/call_engine.h"
#include "pbx/dialplan.h"
#include "pbx/sip_config.h"

#include <spdlog/spdlog.h>

namespace {

using namespace hapbx;
using namespace hapbx::pbx;

void check(bool condition) {
  if (!condition) std::abort();
}

class FuzzEnvironment final : public CallEnvironment {
 public:
  Result<sip::TransactionId> send_request(std::string bytes, const sip::Endpoint&) override {
    check(!bytes.empty());
    client.push_back(next_id);
    return next_id++;
  }
  void send_response(sip::TransactionId, std::string bytes, int status) override {
    check(!bytes.empty() && status >= 100 && status < 700);
  }
  void send_stateless(const sip::Endpoint&, std::string bytes) override { check(!bytes.empty()); }
  LocalAddress local_address_for(const sip::Endpoint&) override {
    return LocalAddress{"127.0.0.1", 5060, sip::TransportKind::Udp};
  }
  Result<MediaStream> open_stream(const sip::Endpoint&) override {
    if (open.size() >= 64) return make_error("no free RTP port pair");
    const MediaStreamId id = next_stream++;
    open[id] = true;
    return MediaStream{id, "127.0.0.1", static_cast<uint16_t>(10000 + 2 * (id % 1000))};
  }
  void set_stream_remote(MediaStreamId s, const std::string&, uint16_t, uint16_t) override {
    check(open.count(s) == 1);
  }
  void bridge_streams(MediaStreamId a, MediaStreamId b) override {
    check(open.count(a) == 1 && open.count(b) == 1);
  }
  void unbridge_stream(MediaStreamId s) override { check(open.count(s) == 1); }
  void echo_stream(MediaStreamId s) override { check(open.count(s) == 1); }
  Result<uint64_t> play(MediaStreamId s, std::string_view, int) override {
    check(open.count(s) == 1);
    last_play = {s, ++next_play};
    return next_play;
  }
  void stop_playback(MediaStreamId) override {}
  void close_stream(MediaStreamId s) override { check(open.erase(s) == 1); }
  std::optional<MediaStreamCounters> stream_counters(MediaStreamId s) const override {
    if (open.count(s) == 0) return std::nullopt;
    return MediaStreamCounters{};
  }
  void write_cdr(CdrRecord&& record) override {
    check(!record.uniqueid.empty());
    ++cdrs;
  }

  sip::TransactionId next_id = 1000;
  std::vector<sip::TransactionId> client;
  MediaStreamId next_stream = 1;
  std::map<MediaStreamId, bool> open;
  std::pair<MediaStreamId, uint64_t> last_play{0, 0};
  uint64_t next_play = 0;
  size_t cdrs = 0;
};

constexpr std::string_view kSipConf =
    "[general]\ncontext=internal\nallowguest=yes\nrtptimeout=5\n"
    "[201]\ntype=friend\nhost=dynamic\ncontext=internal\ndisallow=all\nallow=ulaw\nallow=alaw\n"
    "[202]\ntype=friend\nhost=dynamic\ncontext=internal\nsecret=202pass\n"
    "[203]\ntype=friend\nhost=dynamic\ncanreinvite=yes\ncall-limit=1\n";
constexpr std::string_view kExtensions =
    "[internal]\n"
    "exten => 202,1,Dial(SIP/202&SIP/203,3)\n"
    " same => n,GotoIf($[\"${DIALSTATUS}\" = \"BUSY\"]?b)\n"
    " same => n,Congestion()\n"
    " same => n(b),Busy()\n"
    "exten => 600,1,Answer()\n same => n,Playback(beep&tone/ring)\n same => n,Echo()\n"
    "exten => 601,1,Progress()\n same => n,Wait(1)\n same => n,Dial(SIP/202,,r)\n"
    "exten => 602,1,Dial(SIP/nobody)\n same => n,Goto(1)\n"
    "exten => h,1,NoOp(${DIALSTATUS})\n";

struct World {
  World() : verifier(sip::NonceKey{1, 2, 3, 4, 5, 6, 7, 8}) {
    spdlog::set_level(spdlog::level::off);  // the engine's call log is not what is checked here
    MemoryConfigLoader loader;
    loader.add("/cfg/sip.conf", std::string(kSipConf));
    loader.add("/cfg/extensions.conf", std::string(kExtensions));
    auto sip_file = read_asterisk_config("/cfg/sip.conf", loader);
    check(sip_file.ok());
    auto built = build_sip_config(*sip_file, nullptr);
    check(built.ok());
    config = std::make_unique<SipConfig>(std::move(built).value());
    auto plan_file = read_asterisk_config("/cfg/extensions.conf", loader);
    check(plan_file.ok());
    auto built_plan = build_dialplan(*plan_file);
    check(built_plan.ok());
    plan = std::make_shared<const Dialplan>(std::move(built_plan).value());
  }
  sip::DigestVerifier verifier;
  std::unique_ptr<SipConfig> config;
  std::shared_ptr<const Dialplan> plan;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  if (size > 64 * 1024) return 0;
  FuzzEnvironment env;
  BindingTable bindings;
  core::ManualClock clock;
  const auto wall0 = std::chrono::system_clock::time_point{std::chrono::seconds(1800000000)};
  for (const char* aor : {"202", "203"}) {
    Binding b;
    b.aor = aor;
    b.contact = std::string("sip:") + aor + "@127.0.0.1:5070";
    b.source = sip::Endpoint{sip::TransportKind::Udp, "127.0.0.1", 5070, 0};
    b.expires_at = clock.now() + std::chrono::hours(1);
    b.expires_wall = 1800003600;
    bindings.put(std::move(b));
  }
  const auto start = clock.now();
  auto wall = [&] {
    return wall0 + std::chrono::duration_cast<std::chrono::system_clock::duration>(clock.now() - start);
  };
  CallEngine engine(env, *world.config, world.plan, bindings, world.verifier, nullptr);
  const sip::Endpoint caller{sip::TransportKind::Udp, "127.0.0.1", 5062, 0};
  sip::TransactionId next_server = 1;
  std::optional<sip::TransactionId> first_invite;

  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (int steps = 0; !input.empty() && steps < 64; ++steps) {
    const size_t end = input.find('\0');
    std::string_view step = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view{} : input.substr(end + 1);
    if (step.empty()) continue;
    const char op = step[0];
    step.remove_prefix(1);
    auto parsed = [&](std::string_view bytes) -> std::optional<sip::Message> {
      auto m = sip::parse_message(std::string(bytes));
      if (!m || m->fault() != sip::ParseFault::None) return std::nullopt;
      m->set_source(caller);
      return std::move(m).value();
    };
    switch (op) {
      case 'q': {
        auto m = parsed(step);
        if (!m || !m->is_request() || m->method() == sip::Method::Ack) break;
        const sip::TransactionId id = next_server++;
        if (m->method() == sip::Method::Invite && !first_invite && m->to().tag().empty()) {
          first_invite = id;
        }
        (void)engine.on_request(id, std::move(*m), caller, clock.now(), wall());
        break;
      }
      case 'r':
      case 's': {
        if (env.client.empty()) break;
        size_t back = 0;
        if (op == 's' && !step.empty()) {
          back = static_cast<uint8_t>(step[0]) % env.client.size();
          step.remove_prefix(1);
        }
        auto m = parsed(step);
        if (!m || !m->is_response()) break;
        (void)engine.on_response(env.client[env.client.size() - 1 - back], std::move(*m),
                                 clock.now(), wall());
        break;
      }
      case 'a': {
        auto m = parsed(step);
        if (m && m->is_request()) engine.on_ack(*m, clock.now());
        break;
      }
      case 'c': {
        auto m = parsed(step);
        if (m && m->is_request() && first_invite) {
          (void)engine.on_cancel(next_server++, *m, *first_invite, clock.now(), wall());
        }
        break;
      }
      case 'f':
        if (!env.client.empty()) (void)engine.on_client_failure(env.client.back(), clock.now(), wall());
        break;
      case 'p':
        engine.on_playback_done(env.last_play.first, env.last_play.second, true, clock.now(), wall());
        break;
      case 't':
        clock.advance(std::chrono::milliseconds(100) * (step.empty() ? 1 : static_cast<uint8_t>(step[0])));
        engine.on_timer(clock.now(), wall());
        break;
      default: break;
    }
    (void)engine.channels(clock.now());
  }
  const size_t calls_before = engine.active_calls();
  const size_t cdrs_before = env.cdrs;
  engine.hangup_all(clock.now(), wall());
  check(engine.active_calls() == 0);
  check(env.open.empty());  // every stream closed with its call
  check(env.cdrs == cdrs_before + calls_before);
  return 0;
}
