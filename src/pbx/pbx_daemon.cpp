// pbxd's wiring: transports -> screening -> transaction layer -> registrar / OPTIONS / qualify /
// the call engine, the binding store's group commit, the RTP relay, the CDR writer, the timers,
// and the control commands. Every protocol
// decision lives in the pure cores; this file only moves their actions to sockets, timers and
// the disk.
#include "pbx/pbx_daemon.h"

#include <asio.hpp>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/control_server.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "media/media_relay.h"
#include "pbx/auth_throttle.h"
#include "pbx/binding_store.h"
#include "pbx/call_engine.h"
#include "pbx/call_status_views.h"
#include "pbx/cdr_config.h"
#include "pbx/cdr_writer.h"
#include "pbx/daemon_call_environment.h"
#include "pbx/dialplan.h"
#include "pbx/dialplan_show.h"
#include "pbx/overload_guard.h"
#include "pbx/bindings.h"
#include "pbx/qualify.h"
#include "pbx/registrar.h"
#include "pbx/sip_config.h"
#include "pbx/sip_status_views.h"
#include "pbx/state_files.h"
#include "pbx/store_writer.h"
#include "sip/digest_verifier.h"
#include "sip/message_writer.h"
#include "sip/request_screening.h"
#include "sip/transaction_layer.h"
#include "sip/transport.h"

namespace hapbx::pbx {
namespace {

// What this UAS serves in this version; everything else recognised gets 405 with Allow.
const std::vector<sip::Method> kAllowedMethods = {
    sip::Method::Invite, sip::Method::Ack,  sip::Method::Cancel, sip::Method::Bye,
    sip::Method::Options, sip::Method::Register, sip::Method::Update, sip::Method::Info};

AuthThrottleOptions throttle_options(const SipGeneral& general) {
  AuthThrottleOptions o;
  o.max_failures = static_cast<uint32_t>(general.auth_fail_max);
  o.window = general.auth_fail_window;
  o.block_for = general.auth_fail_ban;
  return o;
}

sip::DigestVerifierOptions verifier_options(const SipGeneral& general) {
  sip::DigestVerifierOptions o;
  o.nonce_lifetime = general.nonce_lifetime;
  return o;
}

QualifySettings qualify_settings(const SipPeer& peer) {
  QualifySettings s;
  s.max = peer.qualify_max;
  s.frequency = peer.qualify_freq;
  return s;
}

void log_registrar(const std::vector<RegistrarLog>& lines) {
  for (const auto& line : lines) {
    switch (line.level) {
      case RegistrarLog::Level::Debug: spdlog::debug("{}", line.text); break;
      case RegistrarLog::Level::Info: spdlog::info("{}", line.text); break;
      case RegistrarLog::Level::Notice: spdlog::info("{}", line.text); break;
      case RegistrarLog::Level::Warning: spdlog::warn("{}", line.text); break;
    }
  }
}

}  // namespace

struct PbxDaemon::Impl {
  // A REGISTER answered in memory whose binding changes are not on disk yet. Its response goes
  // out only after the batch it belongs to is committed (durable before the 200 OK).
  struct PendingRegister {
    sip::TransactionId transaction;
    sip::Message request;
    std::string response;
    int status;
  };

  // A batch of REGISTERs whose changes the writer thread is committing (one at a time: the
  // REGISTERs that arrive meanwhile gather in the next batch, which is the group commit).
  struct BatchInFlight {
    uint64_t ticket;
    std::vector<PendingRegister> registers;
    SharedChanges changes;
  };

  // An OPTIONS probe of qualify in flight.
  struct ProbeInFlight {
    std::string peer;
    uint64_t probe_id;
  };

  // Room for a registration storm: at 5,000 REGISTER/s each 200 OK is kept 32 s (Timer J)
  // to absorb retransmissions, about 160,000 transactions of roughly 1 KB.
  static sip::TransactionLayerConfig layer_config() {
    sip::TransactionLayerConfig c;
    c.max_transactions = 200000;
    return c;
  }

  Impl(asio::io_context& io_, PbxOptions options_)
      : io(io_), options(std::move(options_)), layer(layer_config()), transaction_timer(io),
        expiry_timer(io),
        qualify_timer(io), call_timer(io), overload_timer(io), drop_log(5, core::seconds(10)) {}

  asio::io_context& io;
  PbxOptions options;
  core::SteadyClock clock;
  core::TimePoint started_at = clock.now();
  core::TimePoint reloaded_at = started_at;

  std::unique_ptr<SipConfig> config;
  std::unique_ptr<sip::DigestVerifier> verifier;
  std::unique_ptr<AuthThrottle> throttle;
  BindingTable bindings;
  std::unique_ptr<StoreWriter> store;
  std::unique_ptr<Registrar> registrar;
  QualifyMachine qualify;
  sip::TransactionLayer layer;
  std::unique_ptr<sip::Transport> transport;
  std::unique_ptr<core::ControlServer> control;

  asio::steady_timer transaction_timer;
  asio::steady_timer expiry_timer;
  asio::steady_timer qualify_timer;
  asio::steady_timer call_timer;
  asio::steady_timer overload_timer;
  OverloadGuard overload;
  std::optional<core::TimePoint> armed_call_deadline;

  // Calls: the dialplan, the RTP relay, the CDR writer and the engine that uses them.
  std::shared_ptr<const Dialplan> dialplan;
  std::unique_ptr<media::MediaRelay> relay;
  std::unique_ptr<CdrWriter> cdr;
  std::unique_ptr<DaemonCallEnvironment> call_env;
  std::unique_ptr<CallEngine> calls;
  core::LogRateLimiter drop_log;
  core::LogRateLimiter refused_log{5, core::seconds(10)};
  uint64_t dropped_unparseable = 0;

  std::vector<PendingRegister> pending_registers;
  std::vector<BindingChange> pending_changes;
  std::optional<BatchInFlight> in_flight;
  bool flush_posted = false;
  std::unordered_map<sip::TransactionId, ProbeInFlight> probes;
  uint32_t options_cseq = 1;
  bool stopped = false;

  // ---- start / reload / stop ----

  Status start() {
    FileConfigLoader loader;
    auto loaded = load_sip_config(options.config_dir, loader);
    if (!loaded) return loaded.error();
    config = std::make_unique<SipConfig>(std::move(loaded).value());
    for (const auto& w : config->warnings) spdlog::warn("{}", w);

    std::error_code ec;
    std::filesystem::create_directories(options.state_dir, ec);
    if (ec) {
      return make_error(fmt::format("cannot create state directory {}: {}",
                                    options.state_dir.string(), ec.message()));
    }
    auto key = load_or_create_nonce_key(options.state_dir);
    if (!key) return key.error();
    verifier = std::make_unique<sip::DigestVerifier>(*key, verifier_options(config->general));
    throttle = std::make_unique<AuthThrottle>(throttle_options(config->general));

    if (auto status = open_store(); !status) return status;
    registrar = std::make_unique<Registrar>(*config, bindings, *verifier,
                                            config->general.auth_fail_max > 0 ? throttle.get()
                                                                              : nullptr);
    configure_qualify();

    sip::TransportOptions transport_options;
    transport_options.bind_address = config->general.udp_bind.host;
    transport_options.bind_port = config->general.udp_bind.port;
    transport_options.enable_tcp = config->general.tcp_enabled;
    transport_options.tcp_idle_timeout =
        config->general.max_expiry + std::chrono::seconds(60);
    transport = std::make_unique<sip::Transport>(
        io, transport_options,
        [this](Result<sip::Message> message, const sip::Endpoint& source) {
          on_receive(std::move(message), source);
        });
    transport->set_burst_done_handler([this] { flush_registrations(); });
    if (auto status = transport->start(); !status) return status;
    if (auto status = start_calls(loader); !status) return status;

    control = std::make_unique<core::ControlServer>(
        io, options.socket_path.string(), core::ControlServerOptions{"pbxd", "hapbx pbx"});
    if (auto status = add_commands(); !status) return status;
    if (auto status = control->start(); !status) return status;

    spdlog::info("pbxd {} listening for SIP on {}:{} (UDP{}), {} peers, {} dialplan contexts, "
                 "RTP {}-{}, control socket {}",
                 HAPBX_VERSION, transport->local_address(), transport->local_port(),
                 transport->tcp_enabled() ? ", TCP" : "", config->peers.size(),
                 dialplan->contexts.size(), config->general.rtp_start, config->general.rtp_end,
                 options.socket_path.string());
    arm_expiry_timer();
    run_qualify();
    // From the first turn of the loop, so the time start() itself took is not taken for lag.
    asio::post(io, [this] { arm_overload_timer(clock.now()); });
    return {};
  }

  // Samples every period how far behind pbxd is (overload_guard.h); behind, it sheds new calls.
  void arm_overload_timer(core::TimePoint from) {
    if (stopped) return;
    const auto scheduled = from + overload.settings().period;
    overload_timer.expires_at(scheduled);
    overload_timer.async_wait([this, scheduled](const asio::error_code& ec) {
      if (ec) return;
      const auto now = clock.now();
      const core::Duration lag = std::max<core::Duration>(
          now - scheduled,
          std::chrono::duration_cast<core::Duration>(transport->take_queue_delay()));
      if (overload.on_lag(lag, now)) {
        calls->set_overloaded(overload.overloaded());
        if (overload.overloaded()) {
          spdlog::warn("overload: SIP messages wait {} ms before pbxd reads them; new calls get "
                       "503 until it catches up",
                       std::chrono::duration_cast<std::chrono::milliseconds>(lag).count());
        } else {
          spdlog::info("overload over: taking new calls again");
        }
      }
      arm_overload_timer(now);
    });
  }

  Status start_calls(ConfigLoader& loader) {
    auto plan = load_dialplan(options.config_dir, loader);
    if (!plan) return plan.error();
    for (const auto& w : plan->warnings) spdlog::warn("{}", w);
    dialplan = std::make_shared<const Dialplan>(std::move(plan).value());

    auto cdr_settings = load_cdr_settings(options.config_dir, loader);
    if (!cdr_settings) return cdr_settings.error();
    for (const auto& w : cdr_settings->warnings) spdlog::warn("{}", w);
    if (cdr_settings->enabled) {
      auto writer = CdrWriter::open(options.state_dir, std::move(cdr_settings).value(),
                                    [this] { asio::post(io, [this] { on_cdr_results(); }); },
                                    std::chrono::system_clock::now());
      if (!writer) return writer.error();
      cdr = std::move(writer).value();
      if (cdr->open_report().moved_aside) {
        spdlog::error("CDR database was corrupt; moved aside to {} and started a new one",
                      cdr->open_report().moved_aside->string());
      }
    }

    media::RelayOptions relay_options;
    relay_options.bind_address = config->general.udp_bind.host;
    relay_options.port_min = config->general.rtp_start;
    relay_options.port_max = config->general.rtp_end;
    auto started = media::MediaRelay::start(relay_options, [this] {
      asio::post(io, [this] { on_relay_events(); });
    });
    if (!started) return started.error();
    relay = std::move(started).value();

    call_env = std::make_unique<DaemonCallEnvironment>(
        layer, clock,
        [this](const sip::Endpoint& peer) {
          return LocalAddress{local_host_for(peer), transport->local_port(), peer.transport};
        },
        *relay, cdr.get(), options.config_dir / "sounds");
    calls = std::make_unique<CallEngine>(*call_env, *config, dialplan, bindings, *verifier,
                                         config->general.auth_fail_max > 0 ? throttle.get()
                                                                           : nullptr);
    return {};
  }

  Status reload_dialplan() {
    FileConfigLoader loader;
    auto plan = load_dialplan(options.config_dir, loader);
    if (!plan) return plan.error();
    for (const auto& w : plan->warnings) spdlog::warn("{}", w);
    dialplan = std::make_shared<const Dialplan>(std::move(plan).value());
    calls->set_dialplan(dialplan);
    call_env->forget_prompts();
    spdlog::info("dialplan reload: {} contexts", dialplan->contexts.size());
    return {};
  }

  void on_relay_events() {
    if (stopped || !relay) return;
    const auto now = clock.now();
    const auto wall = std::chrono::system_clock::now();
    for (const auto& e : relay->take_events()) {
      calls->on_playback_done(e.stream, e.playback, e.completed, now, wall);
    }
    process_layer_actions();
  }

  void on_cdr_results() {
    if (!cdr) return;
    for (const auto& r : cdr->take_results()) {
      if (!r.db) spdlog::error("CDR database: {}", r.db.error().message);
      if (!r.csv) spdlog::error("CDR CSV: {}", r.csv.error().message);
      for (const auto& line : r.unsaved) spdlog::error("CDR not stored anywhere: {}", line);
    }
  }

  void arm_call_timer() {
    if (stopped || !calls) return;
    auto next = calls->next_deadline();
    if (!next) return;
    if (armed_call_deadline && *armed_call_deadline <= *next) return;
    armed_call_deadline = *next;
    call_timer.expires_at(*next);
    call_timer.async_wait([this](const asio::error_code& ec) {
      if (ec) return;
      armed_call_deadline.reset();
      calls->on_timer(clock.now(), std::chrono::system_clock::now());
      process_layer_actions();
    });
  }

  Status open_store() {
    const auto wall_now = std::chrono::system_clock::now();
    auto opened = BindingStore::open(options.state_dir, wall_now);
    if (!opened) return opened.error();
    std::unique_ptr<BindingStore> db = std::move(opened).value();
    if (db->open_report().moved_aside) {
      spdlog::error("registration database was corrupt ({}); moved aside to {} and started empty",
                    db->open_report().corruption, db->open_report().moved_aside->string());
    }
    auto loaded = db->load(to_unix_seconds(wall_now));
    if (!loaded) return loaded.error();
    // From here on only the writer thread touches the database; its results come back here.
    store = std::make_unique<StoreWriter>(std::move(db), [this] {
      asio::post(io, [this] { on_store_results(); });
    });
    const auto now = clock.now();
    size_t restored = 0;
    for (auto& binding : loaded->bindings) {
      rebase_expiry(binding, now, to_unix_seconds(wall_now));
      if (bindings.put(std::move(binding)) == BindingTable::PutOutcome::Added) ++restored;
    }
    spdlog::info("restored {} registrations from {} ({} expired while down, {} unreadable)",
                 restored, store->path().string(), loaded->expired_dropped,
                 loaded->invalid_dropped);
    return {};
  }

  Status reload() {
    FileConfigLoader loader;
    auto loaded = load_sip_config(options.config_dir, loader);
    if (!loaded) return loaded.error();
    const auto& old_general = config->general;
    const auto& new_general = loaded->general;
    if (old_general.udp_bind.host != new_general.udp_bind.host ||
        old_general.udp_bind.port != new_general.udp_bind.port ||
        old_general.tcp_enabled != new_general.tcp_enabled) {
      spdlog::warn("sip reload: bindaddr/bindport/tcpenable changes take effect at restart");
    }
    auto next = std::make_unique<SipConfig>(std::move(loaded).value());
    for (const auto& w : next->warnings) spdlog::warn("{}", w);
    registrar->reconfigure(*next);
    if (calls) calls->reconfigure(*next);
    std::swap(config, next);  // the old config lives until here, after reconfigure()
    configure_qualify();
    reloaded_at = clock.now();
    run_qualify();
    spdlog::info("sip reload: {} peers, {} registrations kept", config->peers.size(),
                 bindings.size());
    return {};
  }

  void stop() {
    if (stopped) return;
    if (calls) {
      // Every call ends properly (BYE/CANCEL/final response, CDR) while the transport is open.
      calls->hangup_all(clock.now(), std::chrono::system_clock::now());
      process_layer_actions();
    }
    stopped = true;
    if (cdr) cdr->stop();
    on_cdr_results();
    relay.reset();
    call_timer.cancel();
    overload_timer.cancel();
    if (store) {
      // Commit what is queued and answer it (the transport is still open), then what is left.
      store->stop();
      on_store_results();
      while (in_flight || !pending_registers.empty()) {
        flush_registrations();  // the writer is stopped: this commits on this thread
        on_store_results();
      }
    }
    transaction_timer.cancel();
    expiry_timer.cancel();
    qualify_timer.cancel();
    if (transport) transport->stop();
    control.reset();
  }

  // ---- qualify ----

  void configure_qualify() {
    const auto now = clock.now();
    // Peers gone from the config stop being probed.
    std::vector<std::string> known;
    for (const auto& peer : config->peers) {
      qualify.set_peer(peer.name, qualify_settings(peer), now);
      qualify.set_target(peer.name, target_of(peer), now);
      known.push_back(peer.name);
    }
    for (const auto& name : qualified_peers) {
      if (std::find(known.begin(), known.end(), name) == known.end()) qualify.remove_peer(name);
    }
    qualified_peers = std::move(known);
  }
  std::vector<std::string> qualified_peers;

  std::optional<QualifyTarget> target_of(const SipPeer& peer) const {
    auto contacts = bindings.contacts(peer.name);
    if (!contacts.empty()) {
      const auto& newest = contacts.back();
      return QualifyTarget{newest.source, newest.contact};
    }
    if (!peer.dynamic) {
      asio::error_code ec;
      asio::ip::make_address(peer.host, ec);
      if (ec) return std::nullopt;  // names are resolved in a later version
      sip::Endpoint e{sip::TransportKind::Udp, peer.host, peer.port, 0};
      return QualifyTarget{e, fmt::format("sip:{}@{}:{}", peer.name, peer.host, peer.port)};
    }
    return std::nullopt;
  }

  // Returns whether the peer is qualified, i.e. whether its schedule may have changed: planning
  // the probes walks every peer, too much to do after each group commit for nothing.
  bool refresh_target(std::string_view aor) {
    const SipPeer* peer = config->find_peer(aor);
    if (peer == nullptr) return false;
    qualify.set_target(peer->name, target_of(*peer), clock.now());
    return peer->qualify_max.count() > 0;
  }

  void run_qualify() {
    if (stopped) return;
    const auto now = clock.now();
    log_events(qualify.check_no_answer(now));
    for (auto& probe : qualify.poll(now)) send_probe(probe, now);
    process_layer_actions();
    if (auto next = qualify.next_wakeup()) {
      qualify_timer.expires_at(*next);
      qualify_timer.async_wait([this](const asio::error_code& ec) {
        if (!ec) run_qualify();
      });
    }
  }

  // The local address a peer should see in our Via and From: the bind address, or when bound to
  // the wildcard, the source address the kernel would pick to reach that peer.
  std::string local_host_for(const sip::Endpoint& peer) const {
    const auto& bound = transport->local_address();
    if (bound != "0.0.0.0" && bound != "::") return bound;
    asio::error_code ec;
    asio::ip::udp::socket probe(io);
    const auto address = asio::ip::make_address(peer.address, ec);
    if (!ec) probe.connect(asio::ip::udp::endpoint(address, peer.port), ec);
    if (ec) return "127.0.0.1";
    return probe.local_endpoint(ec).address().to_string();
  }

  void send_probe(const QualifyProbe& probe, core::TimePoint now) {
    OptionsRequestParams params;
    params.request_uri = probe.target.request_uri;
    params.transport = probe.target.endpoint.transport;
    params.local_host = local_host_for(probe.target.endpoint);
    params.local_port = transport->local_port();
    params.cseq = options_cseq++;
    params.user_agent = config->general.user_agent;
    auto request = build_options_request(params);
    auto id = layer.send_request(std::move(request.bytes), probe.target.endpoint, now);
    if (!id) {
      spdlog::warn("qualify {}: cannot send OPTIONS: {}", probe.peer, id.error().message);
      log_events(qualify.on_timeout(probe.peer, probe.probe_id, now));
      return;
    }
    probes[*id] = ProbeInFlight{probe.peer, probe.probe_id};
  }

  void log_events(const std::vector<QualifyEvent>& events) {
    for (const auto& e : events) {
      if (e.to == QualifyState::Unreachable) {
        spdlog::warn("{}", e.text);
      } else {
        spdlog::info("{}", e.text);
      }
    }
  }

  // ---- SIP ingress ----

  void on_receive(Result<sip::Message> received, const sip::Endpoint& source) {
    if (!received) {
      ++dropped_unparseable;
      uint64_t suppressed = 0;
      if (drop_log.allow(clock.now(), suppressed)) {
        spdlog::warn("dropped unparseable message from {}: {}{}", sip::to_string(source),
                     received.error().message,
                     suppressed ? fmt::format(" ({} more dropped since the last report)", suppressed)
                                : std::string());
      }
      return;
    }
    sip::Message message = std::move(received).value();
    if (message.is_response()) {
      if (message.fault() != sip::ParseFault::None) return;  // never trust a broken response
      // RFC 3261 18.1.2: a response whose top Via is not ours was misrouted; drop it.
      if (message.vias().empty() || message.vias().front().port != transport->local_port()) return;
    } else {
      sip::ScreeningPolicy policy{kAllowedMethods, {}};
      if (auto rejection = sip::screen_request(message, policy)) {
        reject_statelessly(message, source, *rejection);
        return;
      }
      if (message.fault() != sip::ParseFault::None) return;  // a faulty ACK: nothing to answer
    }
    layer.on_message(std::move(message), source, clock.now());
    process_layer_actions();
  }

  void reject_statelessly(const sip::Message& request, const sip::Endpoint& source,
                          const sip::Rejection& rejection) {
    if (request.vias().empty()) return;
    spdlog::debug("{} {} from {}: {} {}", request.method_text(), request.call_id(),
                  sip::to_string(source), rejection.status_code, rejection.reason);
    auto writer = sip::make_response(request, rejection.status_code, rejection.reason,
                                     sip::random_token(10));
    for (const auto& [name, value] : rejection.headers) writer.header(name, value);
    writer.header(sip::HeaderId::Server, config->general.user_agent);
    transport->send(sip::response_destination(request.vias().front(), source),
                    std::move(writer).finish());
  }

  void process_layer_actions() {
    // Handling an action may queue more (a response, a request); loop until quiet.
    for (auto actions = layer.take_actions(); !actions.empty(); actions = layer.take_actions()) {
      for (auto& action : actions) {
        std::visit([this](auto& a) { handle(a); }, action);
      }
    }
    arm_transaction_timer();
    arm_call_timer();
  }

  void handle(sip::SendBytes& a) { transport->send(a.destination, std::move(a.bytes)); }

  void handle(sip::RequestForTu& a) {
    const auto now = clock.now();
    const auto wall = std::chrono::system_clock::now();
    if (a.request.method() == sip::Method::Cancel) {
      if (auto invite = layer.find_cancelled_invite(a.transaction);
          invite && calls->on_cancel(a.transaction, a.request, *invite, now, wall)) {
        return;
      }
    } else if (a.request.method() != sip::Method::Register &&
               (a.request.method() != sip::Method::Options || !a.request.to().tag().empty())) {
      // The call engine takes INVITE and everything inside a dialog; it hands back what is
      // not for it (it moves the request only when it takes it).
      if (calls->on_request(a.transaction, std::move(a.request), a.source, now, wall)) return;
    }
    switch (a.request.method()) {
      case sip::Method::Register: on_register(a.transaction, std::move(a.request), a.source); break;
      case sip::Method::Options: on_options(a.transaction, a.request); break;
      case sip::Method::Cancel:
        // RFC 3261 9.2: 481 when the CANCEL matches no transaction.
        respond(a.transaction, a.request, 481, {});
        break;
      default:
        respond(a.transaction, a.request, 405, {{"Allow", sip::allow_header_value(kAllowedMethods)}});
        break;
    }
  }

  void handle(sip::ResponseForTu& a) {
    if (calls->on_response(a.transaction, std::move(a.response), clock.now(),
                           std::chrono::system_clock::now())) {
      return;
    }
    if (a.response.status_code() < 200) return;
    auto it = probes.find(a.transaction);
    if (it == probes.end()) return;
    log_events(qualify.on_response(it->second.peer, it->second.probe_id, clock.now()));
    probes.erase(it);
    schedule_qualify();
  }

  // The probe schedule changed; re-plan after the current batch of layer actions is done.
  void schedule_qualify() {
    asio::post(io, [this] { run_qualify(); });
  }

  void handle(sip::ClientTransactionFailed& a) {
    if (calls->on_client_failure(a.transaction, clock.now(), std::chrono::system_clock::now())) {
      return;
    }
    auto it = probes.find(a.transaction);
    if (it == probes.end()) return;
    log_events(qualify.on_timeout(it->second.peer, it->second.probe_id, clock.now()));
    probes.erase(it);
    schedule_qualify();
  }

  void handle(sip::RequestRefused& a) {
    uint64_t suppressed = 0;
    if (refused_log.allow(clock.now(), suppressed)) {
      spdlog::warn("transaction table full: 503 to {} from {}{}", a.request.method_text(),
                   sip::to_string(a.source),
                   suppressed ? fmt::format(" ({} more since the last report)", suppressed)
                              : std::string());
    }
    if (a.request.method() == sip::Method::Ack || a.request.vias().empty()) return;
    auto writer = sip::make_response(a.request, 503, {}, sip::random_token(10));
    writer.header("Retry-After", "5");
    layer.send_stateless(sip::response_destination(a.request.vias().front(), a.source),
                         std::move(writer).finish());
  }

  void handle(sip::AckForTu& a) { calls->on_ack(a.ack, clock.now()); }
  void handle(sip::StrayResponseForTu& a) {
    if (a.response.status_code() >= 200 && a.response.status_code() < 300 &&
        a.response.cseq().method == sip::Method::Invite) {
      calls->on_stray_2xx(a.response, clock.now());
    }
  }
  void handle(sip::ServerTransactionFailed& a) {
    spdlog::debug("server transaction {} failed: {}", a.transaction, sip::txn::to_string(a.failure));
  }
  void handle(sip::ServerTransactionTerminated&) {}

  void respond(sip::TransactionId transaction, const sip::Message& request, int status,
               std::vector<std::pair<std::string, std::string>> headers) {
    auto writer = sip::make_response(request, status, {},
                                     request.to().tag().empty() ? sip::random_token(10)
                                                                : std::string());
    for (const auto& [name, value] : headers) writer.header(name, value);
    writer.header(sip::HeaderId::Server, config->general.user_agent);
    send_response(transaction, std::move(writer).finish(), status);
  }

  void send_response(sip::TransactionId transaction, std::string bytes, int status) {
    if (auto st = layer.send_response(transaction, std::move(bytes), status, clock.now()); !st) {
      spdlog::debug("response {} not sent: {}", status, st.error().message);
    }
  }

  void on_options(sip::TransactionId transaction, const sip::Message& request) {
    // RFC 3261 11.2: answer as we would an INVITE, with our capabilities.
    respond(transaction, request, 200,
            {{"Allow", sip::allow_header_value(kAllowedMethods)},
             {"Accept", "application/sdp"},
             {"Accept-Encoding", "identity"},
             {"Accept-Language", "en"},
             {"Supported", ""}});
  }

  // ---- REGISTER and the group commit ----

  void on_register(sip::TransactionId transaction, sip::Message request,
                   const sip::Endpoint& source) {
    auto outcome =
        registrar->handle(request, source, clock.now(), std::chrono::system_clock::now());
    log_registrar(outcome.log);
    if (!outcome.response) return;  // a blocked source, dropped by policy
    if (outcome.status == 401) {
      // A challenge is cheap to compute again for a retransmission; keeping a Completed
      // transaction for it (32 s over UDP) would double the memory of a registration storm.
      if (auto st = layer.send_final_and_forget(transaction, std::move(*outcome.response)); !st) {
        spdlog::debug("challenge not sent: {}", st.error().message);
      }
      return;
    }
    if (outcome.changes.empty()) {
      send_response(transaction, std::move(*outcome.response), outcome.status);
      return;
    }
    for (auto& change : outcome.changes) pending_changes.push_back(std::move(change));
    pending_registers.push_back(PendingRegister{transaction, std::move(request),
                                                std::move(*outcome.response), outcome.status});
    // The transport flushes after each burst of datagrams; this covers TCP and timers too.
    if (!flush_posted) {
      flush_posted = true;
      asio::post(io, [this] { flush_registrations(); });
    }
  }

  // Hands every pending binding change to the writer thread as one transaction, unless a batch
  // is already being committed: then they wait for it (and on_store_results() submits them).
  void flush_registrations() {
    flush_posted = false;
    if (in_flight || pending_registers.empty()) return;
    auto changes = std::make_shared<const std::vector<BindingChange>>(std::move(pending_changes));
    auto registers = std::move(pending_registers);
    pending_registers.clear();
    pending_changes.clear();
    in_flight = BatchInFlight{0, std::move(registers), changes};
    in_flight->ticket = store->submit(std::move(changes));
  }

  // Commit results from the writer thread: the batch in flight gets its responses sent (only
  // now: durable before the 200 OK); other tickets are expiry removals, only logged.
  void on_store_results() {
    bool completed = false;
    bool qualify_changed = false;
    for (auto& result : store->take_results()) {
      if (in_flight && result.ticket == in_flight->ticket) {
        qualify_changed = complete_batch(result.status);
        completed = true;
      } else if (!result.status) {
        // The binding is gone from memory either way; the row is dropped at the next load
        // because its wall-clock expiry has passed.
        spdlog::error("cannot remove expired registrations from {}: {}",
                      store->path().string(), result.status.error().message);
      }
    }
    if (!completed) return;
    flush_registrations();  // what gathered meanwhile
    process_layer_actions();
    arm_expiry_timer();
    if (qualify_changed) run_qualify();
  }

  // On a write failure nothing is acknowledged: the changes are undone in memory, newest
  // first (those handled after the failed batch too, since they were made on top of it), and
  // the phones get 500 (they retry).
  // Returns whether a qualified peer's target changed.
  bool complete_batch(const Status& committed) {
    bool qualify_changed = false;
    BatchInFlight batch = std::move(*in_flight);
    in_flight.reset();
    if (!committed) {
      spdlog::error("cannot store registrations in {}: {}; answering 500",
                    store->path().string(), committed.error().message);
      auto later = std::move(pending_registers);
      auto later_changes = std::move(pending_changes);
      pending_registers.clear();
      pending_changes.clear();
      bindings.revert(later_changes);
      bindings.revert(*batch.changes);
      const auto wall_now = std::chrono::system_clock::now();
      for (auto* group : {&batch.registers, &later}) {
        for (auto& p : *group) {
          send_response(p.transaction, registrar->failure_response(p.request, wall_now), 500);
        }
      }
      for (const auto& change : later_changes) {
        qualify_changed |= refresh_target(change.binding().aor);
      }
    } else {
      for (auto& p : batch.registers) send_response(p.transaction, std::move(p.response), p.status);
    }
    for (const auto& change : *batch.changes) {
      qualify_changed |= refresh_target(change.binding().aor);
    }
    return qualify_changed;
  }

  void arm_expiry_timer() {
    if (stopped) return;
    auto next = bindings.next_expiry();
    if (!next) {
      expiry_timer.cancel();
      return;
    }
    expiry_timer.expires_at(*next);
    expiry_timer.async_wait([this](const asio::error_code& ec) {
      if (ec) return;
      auto outcome = registrar->expire(clock.now());
      log_registrar(outcome.log);
      if (!outcome.changes.empty()) {
        store->submit(std::make_shared<const std::vector<BindingChange>>(outcome.changes));
        bool qualify_changed = false;
        for (const auto& change : outcome.changes) {
          qualify_changed |= refresh_target(change.binding().aor);
        }
        if (qualify_changed) run_qualify();
      }
      arm_expiry_timer();
    });
  }

  void arm_transaction_timer() {
    if (stopped) return;
    auto next = layer.next_deadline();
    if (!next) return;
    if (armed_transaction_deadline && *armed_transaction_deadline == *next) return;
    armed_transaction_deadline = *next;
    transaction_timer.expires_at(*next);
    transaction_timer.async_wait([this](const asio::error_code& ec) {
      if (ec) return;
      armed_transaction_deadline.reset();
      layer.on_timer(clock.now());
      process_layer_actions();
    });
  }
  std::optional<core::TimePoint> armed_transaction_deadline;

  // ---- control commands ----

  SipStatusView status_view() const {
    return SipStatusView{*config, bindings, qualify, clock.now()};
  }

  Status add_commands() {
    using core::CommandResult;
    using Args = std::vector<std::string>;
    struct Command {
      std::vector<std::string> words;
      std::string description;
      core::CommandHandler handler;
    };
    std::vector<Command> commands = {
        {{"sip", "show", "peers"}, "List the SIP peers and their status",
         [this](const Args&, bool json) {
           return CommandResult::success(show_peers(status_view(), json));
         }},
        {{"sip", "show", "peer"}, "Show the details of one SIP peer: sip show peer <name>",
         [this](const Args& args, bool json) {
           if (args.size() != 1) return CommandResult::failure("Usage: sip show peer <name>");
           auto text = show_peer(status_view(), args[0], json);
           return text ? CommandResult::success(std::move(text).value())
                       : CommandResult::failure(text.error().message);
         }},
        {{"sip", "show", "registry"}, "List the current registrations (bindings)",
         [this](const Args&, bool json) {
           return CommandResult::success(show_registry(status_view(), json));
         }},
        {{"sip", "reload"}, "Re-read sip.conf and rtp.conf, keeping registrations",
         [this](const Args&, bool) { return reload_command(); }},
        {{"core", "reload"}, "Re-read the whole configuration, keeping registrations",
         [this](const Args&, bool) {
           if (auto st = reload_dialplan(); !st) {
             return CommandResult::failure("reload refused, the running configuration stays: " +
                                           st.error().message);
           }
           return reload_command();
         }},
        {{"core", "show", "version"}, "Show the version",
         [](const Args&, bool json) {
           return CommandResult::success(
               json ? core::JsonWriter().begin_object().field("version", HAPBX_VERSION)
                              .end_object().take() + "\n"
                    : fmt::format("hapbx pbxd {}\n", HAPBX_VERSION));
         }},
        {{"core", "show", "uptime"}, "Show how long pbxd has run and since the last reload",
         [this](const Args&, bool json) { return uptime_command(json); }},
        {{"sip", "show", "stats"}, "SIP transport and transaction counters",
         [this](const Args&, bool json) { return stats_command(json); }},
        {{"sip", "show", "channels"}, "List the SIP channels of the calls, with RTP counters",
         [this](const Args&, bool json) {
           return CommandResult::success(show_sip_channels(calls->channels(clock.now()), json));
         }},
        {{"core", "show", "channels"}, "List the channels of the calls",
         [this](const Args&, bool json) {
           return CommandResult::success(
               show_channels(calls->channels(clock.now()), call_totals(), json));
         }},
        {{"core", "show", "calls"}, "Count active and processed calls",
         [this](const Args&, bool json) {
           return CommandResult::success(show_calls(call_totals(), json));
         }},
        {{"channel", "request", "hangup"},
         "Hang up a call: channel request hangup <channel>|all",
         [this](const Args& args, bool) {
           if (args.size() != 1) {
             return CommandResult::failure("Usage: channel request hangup <channel>|all");
           }
           const size_t n = calls->request_hangup(args[0], clock.now(),
                                                  std::chrono::system_clock::now());
           process_layer_actions();
           if (n == 0 && args[0] != "all") {
             return CommandResult::failure(fmt::format("No such channel: {}", args[0]));
           }
           return CommandResult::success(fmt::format("Requested hangup of {} call{}.\n", n,
                                                     n == 1 ? "" : "s"));
         }},
        {{"dialplan", "show"}, "Show the dialplan: dialplan show [context]",
         [this](const Args& args, bool json) {
           if (args.size() > 1) return CommandResult::failure("Usage: dialplan show [context]");
           std::optional<std::string_view> context;
           if (!args.empty()) context = args[0];
           auto text = show_dialplan(*dialplan, context, json);
           return text ? CommandResult::success(std::move(text).value())
                       : CommandResult::failure(text.error().message);
         }},
        {{"dialplan", "reload"}, "Re-read extensions.conf; running calls keep the old one",
         [this](const Args&, bool) {
           if (auto st = reload_dialplan(); !st) {
             return CommandResult::failure("dialplan reload refused, the running dialplan stays: " +
                                           st.error().message);
           }
           return CommandResult::success(
               fmt::format("Dialplan reloaded: {} contexts.\n", dialplan->contexts.size()));
         }},
    };
    for (auto& c : commands) {
      if (auto st = control->add_command(std::move(c.words), std::move(c.description),
                                         std::move(c.handler));
          !st) {
        return st;
      }
    }
    return {};
  }

  CallTotals call_totals() const {
    return CallTotals{calls->active_calls(), calls->counters().calls_processed};
  }

  core::CommandResult reload_command() {
    if (auto st = reload(); !st) {
      return core::CommandResult::failure("reload refused, the running configuration stays: " +
                                          st.error().message);
    }
    return core::CommandResult::success(
        fmt::format("Reloaded: {} peers, {} registrations kept.\n", config->peers.size(),
                    bindings.size()));
  }

  core::CommandResult uptime_command(bool json) const {
    const auto now = clock.now();
    const auto up = std::chrono::duration_cast<std::chrono::seconds>(now - started_at).count();
    const auto since_reload =
        std::chrono::duration_cast<std::chrono::seconds>(now - reloaded_at).count();
    if (json) {
      return core::CommandResult::success(core::JsonWriter()
                                              .begin_object()
                                              .field("uptime_seconds", static_cast<int64_t>(up))
                                              .field("last_reload_seconds",
                                                     static_cast<int64_t>(since_reload))
                                              .end_object()
                                              .take() +
                                          "\n");
    }
    return core::CommandResult::success(fmt::format(
        "System uptime: {}\nLast reload: {}\n", human_duration(up), human_duration(since_reload)));
  }

  static std::string human_duration(int64_t seconds) {
    const int64_t days = seconds / 86400, hours = seconds / 3600 % 24,
                  minutes = seconds / 60 % 60, secs = seconds % 60;
    std::string out;
    if (days) out += fmt::format("{} day{}, ", days, days == 1 ? "" : "s");
    if (days || hours) out += fmt::format("{} hour{}, ", hours, hours == 1 ? "" : "s");
    if (days || hours || minutes) out += fmt::format("{} minute{}, ", minutes, minutes == 1 ? "" : "s");
    out += fmt::format("{} second{}", secs, secs == 1 ? "" : "s");
    return out;
  }

  core::CommandResult stats_command(bool json) const {
    const auto& t = transport->counters();
    const auto& x = layer.counters();
    const std::vector<std::pair<const char*, uint64_t>> rows = {
        {"udp_received", t.udp_received},
        {"udp_sent", t.udp_sent},
        {"udp_send_dropped", t.udp_send_dropped},
        {"tcp_accepted", t.tcp_accepted},
        {"tcp_received", t.tcp_received},
        {"tcp_sent", t.tcp_sent},
        {"tcp_framing_errors", t.tcp_framing_errors},
        {"dropped_unparseable", dropped_unparseable},
        {"client_transactions", x.client_transactions},
        {"server_transactions", x.server_transactions},
        {"retransmissions_sent", x.retransmissions_sent},
        {"retransmissions_absorbed", x.retransmissions_absorbed},
        {"transaction_timeouts", x.timeouts},
        {"transactions_refused", x.refused},
        {"live_transactions", layer.size()},
        {"registrations", bindings.size()},
        {"store_commits", store->commits()},
        {"auth_blocks_started", throttle->blocks_started()},
        {"active_calls", calls->active_calls()},
        {"calls_processed", calls->counters().calls_processed},
        {"calls_rejected", calls->counters().calls_rejected},
        {"calls_overload_rejected", calls->counters().overload_rejections},
        {"overload_episodes", overload.episodes()},
        {"overloaded", calls->overloaded() ? 1u : 0u},
        {"rtp_timeouts", calls->counters().media_timeouts},
        {"rtp_streams_open", relay->counters().streams_open},
        {"rtp_ports_free", relay->counters().ports_free},
        {"rtp_relayed", relay->counters().rtp_relayed},
        {"rtcp_relayed", relay->counters().rtcp_relayed},
        {"rtp_dropped", relay->counters().dropped},
        {"rtp_played", relay->counters().played},
        {"cdrs_stored", cdr ? cdr->stored() : 0},
    };
    if (json) {
      core::JsonWriter out;
      out.begin_object();
      for (const auto& [name, value] : rows) out.field(name, value);
      out.end_object();
      return core::CommandResult::success(out.take() + "\n");
    }
    std::string out;
    for (const auto& [name, value] : rows) out += fmt::format("{:<26} {}\n", name, value);
    return core::CommandResult::success(std::move(out));
  }
};

PbxDaemon::PbxDaemon(asio::io_context& io, PbxOptions options)
    : impl_(std::make_unique<Impl>(io, std::move(options))) {}
PbxDaemon::~PbxDaemon() { impl_->stop(); }
Status PbxDaemon::start() { return impl_->start(); }
Status PbxDaemon::reload() {
  if (auto st = impl_->reload_dialplan(); !st) return st;
  return impl_->reload();
}
void PbxDaemon::stop() { impl_->stop(); }

}  // namespace hapbx::pbx
