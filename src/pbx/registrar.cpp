// REGISTER processing (RFC 3261 10.3) over the binding table, with digest authentication and
// the per-source failure throttle. See registrar.h for the contract and the policy.
#include "pbx/registrar.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <utility>

#include <fmt/format.h>

#include "sip/message_writer.h"
#include "sip/uri.h"

namespace hapbx::pbx {
namespace {

using Level = RegistrarLog::Level;

void log(RegisterOutcome& out, Level level, std::string text) {
  out.log.push_back(RegistrarLog{level, std::move(text)});
}

int64_t unix_seconds(sip::WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Expires values are delta-seconds (RFC 3261 25.1: 1*DIGIT); anything huge is clamped later by
// maxexpiry, so saturate instead of failing.
std::optional<uint32_t> parse_delta_seconds(std::string_view text) {
  text = sip::trim(text);
  if (text.empty() || text.size() > 32) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = std::min<uint64_t>(value * 10 + static_cast<uint64_t>(c - '0'), UINT32_MAX);
  }
  return static_cast<uint32_t>(value);
}

// q-value (RFC 3261 25.1: "0" ["." 0*3DIGIT] / "1" ["." 0*3("0")]) in thousandths; -1 if absent
// or malformed (a bad q is not worth refusing a registration for).
int parse_q(std::optional<std::string_view> text) {
  if (!text) return -1;
  std::string_view t = sip::trim(*text);
  if (t.empty() || (t[0] != '0' && t[0] != '1')) return -1;
  int value = (t[0] - '0') * 1000;
  if (t.size() == 1) return value;
  if (t[1] != '.' || t.size() > 5) return -1;
  int scale = 100;
  for (char c : t.substr(2)) {
    if (c < '0' || c > '9') return -1;
    value += (c - '0') * scale;
    scale /= 10;
  }
  return value > 1000 ? -1 : value;
}

std::string format_q(int q) {
  if (q == 1000) return "1";
  return fmt::format("0.{:03d}", q);
}

// The whole text of the first header line with this id (no comma splitting: User-Agent and
// Authorization values contain commas).
std::optional<std::string_view> whole_header(const sip::Message& m, sip::HeaderId id) {
  for (const sip::Header& h : m.headers()) {
    if (h.id == id) return h.value;
  }
  return std::nullopt;
}

std::string joined_header(const sip::Message& m, std::string_view name) {
  std::string out;
  for (const sip::Header& h : m.headers()) {
    if (h.id != sip::HeaderId::Other || !sip::iequals(h.name, name)) continue;
    if (!out.empty()) out += ", ";
    out += h.value;
  }
  return out;
}

bool same_contact(const Binding& b, const sip::Uri& uri) {
  if (b.contact == uri.text) return true;
  auto parsed = sip::parse_uri(b.contact);
  return parsed.ok() && sip::uri_equal(*parsed, uri);
}

std::string_view auth_name(const SipPeer& peer) {
  return peer.default_user.empty() ? std::string_view(peer.name)
                                   : std::string_view(peer.default_user);
}

}  // namespace

RegistrarSettings registrar_settings(const SipGeneral& general) {
  RegistrarSettings s;
  s.realm = general.realm;
  s.server = general.user_agent;
  s.default_expiry = general.default_expiry;
  s.min_expiry = general.min_expiry;
  s.max_expiry = general.max_expiry;
  return s;
}

std::string format_sip_date(sip::WallTime when) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t secs = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} GMT", kDays[tm.tm_wday % 7],
                     tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

Registrar::Registrar(const SipConfig& config, BindingTable& table, sip::DigestVerifier& verifier,
                     AuthThrottle* throttle)
    : config_(&config), table_(table), verifier_(verifier), throttle_(throttle) {
  reconfigure(config);
}

void Registrar::reconfigure(const SipConfig& config) {
  const bool drop = settings_.drop_blocked;
  config_ = &config;
  settings_ = registrar_settings(config.general);
  settings_.drop_blocked = drop;
  offer_sha256_ = config.general.offer_sha256 && std::none_of(config.peers.begin(), config.peers.end(), [](const SipPeer& p) {
    return p.secret.empty() && !p.md5secret.empty();
  });
}

RegisterOutcome Registrar::reply(const sip::Message& request, int status, std::string_view reason,
                                 core::TimePoint now, sip::WallTime wall_now,
                                 RegisterOutcome&& outcome) const {
  auto w = sip::make_response(request, status, reason, sip::random_token(10));
  if (!settings_.server.empty()) w.header(sip::HeaderId::Server, settings_.server);
  if (status == 200) {
    for (const Binding& b : table_.contacts(outcome.aor)) {
      std::string value = fmt::format("<{}>;expires={}", b.contact,
                                      remaining_seconds(b, now));
      if (b.q >= 0) value += ";q=" + format_q(b.q);
      w.header(sip::HeaderId::Contact, value);
    }
    w.header(sip::HeaderId::Date, format_sip_date(wall_now));
  } else if (status == 423) {
    w.header(sip::HeaderId::MinExpires, std::to_string(settings_.min_expiry.count()));
  } else if (status == 503) {
    w.header(sip::HeaderId::RetryAfter, "60");
  }
  outcome.status = status;
  outcome.response = std::move(w).finish();
  return std::move(outcome);
}

RegisterOutcome Registrar::challenge(const sip::Message& request, bool stale, core::TimePoint now,
                                     sip::WallTime wall_now, RegisterOutcome&& outcome) const {
  auto values = verifier_.challenges(settings_.realm, wall_now, stale, offer_sha256_);
  if (!values.ok()) {  // the system RNG failed: nothing sensible to challenge with
    log(outcome, Level::Warning, "cannot issue a nonce: " + values.error().message);
    return reply(request, 500, "Server Internal Error", now, wall_now, std::move(outcome));
  }
  auto w = sip::make_response(request, 401, "Unauthorized", sip::random_token(10));
  if (!settings_.server.empty()) w.header(sip::HeaderId::Server, settings_.server);
  for (const std::string& v : *values) w.header(sip::HeaderId::WwwAuthenticate, v);
  outcome.status = 401;
  outcome.response = std::move(w).finish();
  return std::move(outcome);
}

RegisterOutcome Registrar::auth_failed(const sip::Message& request, const sip::Endpoint& source,
                                       core::TimePoint now, sip::WallTime wall_now,
                                       std::string why, RegisterOutcome&& outcome) {
  log(outcome, Level::Notice,
      fmt::format("Registration from '{}' failed for '{}' - {}", request.from().uri.text,
                  sip::to_string(source), why));
  if (throttle_ != nullptr) {
    const AuthFailureResult r = throttle_->record_failure(source.address, now);
    if (r.just_blocked) {
      log(outcome, Level::Warning,
          fmt::format("Blocking authentication from {} for {} s after {} failures",
                      source.address,
                      std::chrono::duration_cast<std::chrono::seconds>(
                          throttle_->options().block_for)
                          .count(),
                      r.failures));
    }
  }
  // The same 403 whatever the reason (alwaysauthreject): the reason is only in the log.
  return reply(request, 403, "Forbidden", now, wall_now, std::move(outcome));
}

RegisterOutcome Registrar::handle(const sip::Message& request, const sip::Endpoint& source,
                                  core::TimePoint now, sip::WallTime wall_now) {
  RegisterOutcome outcome;

  if (throttle_ != nullptr && throttle_->check(source.address, now).blocked) {
    if (settings_.drop_blocked) return outcome;  // status 0, no response, logged at block start
    return reply(request, 403, "Forbidden", now, wall_now, std::move(outcome));
  }

  // 10.3 step 1: the domain is not checked (as Asterisk); only the scheme must be ours.
  if (!request.request_uri().is_sip()) {
    return reply(request, 416, "Unsupported URI Scheme", now, wall_now, std::move(outcome));
  }

  // Steps 3-5: the To user names the peer; authenticate before saying anything about it.
  const sip::Uri& to = request.to().uri;
  const std::string_view user = to.is_sip() ? to.user : std::string_view{};
  const SipPeer* peer = user.empty() ? nullptr : config_->find_peer(user);
  const bool may_register = peer != nullptr && peer->can_register();
  const bool open_peer = may_register && peer->secret.empty() && peer->md5secret.empty();

  if (!open_peer) {
    std::optional<sip::DigestCredentials> credentials;
    for (const sip::Header& h : request.headers()) {
      if (h.id != sip::HeaderId::Authorization) continue;
      auto parsed = sip::parse_digest_credentials(h.value);
      if (parsed.ok() && parsed->realm == settings_.realm) {
        credentials = std::move(*parsed);
        break;
      }
    }
    if (!credentials) return challenge(request, false, now, wall_now, std::move(outcome));

    const std::string_view method = request.method_text();
    if (!may_register || credentials->username != auth_name(*peer)) {
      // Same work as a real check, so time does not tell unknown users apart.
      const auto result = verifier_.verify_unknown_user(*credentials, method, settings_.realm,
                                                        wall_now);
      std::string why = peer == nullptr    ? fmt::format("no peer named '{}'", user)
                        : !may_register    ? fmt::format("peer '{}' may not register ({})",
                                                         peer->name,
                                                         peer->dynamic ? "type=user"
                                                                       : "host is not dynamic")
                                           : fmt::format("digest username '{}' is not the one "
                                                         "of peer '{}'",
                                                         credentials->username, peer->name);
      if (result.reason != sip::DigestReason::UnknownUser) {
        why += fmt::format(" ({})", sip::to_string(result.reason));
      }
      return auth_failed(request, source, now, wall_now, std::move(why), std::move(outcome));
    }

    const sip::DigestSecret secret = peer->secret.empty()
                                         ? sip::DigestSecret::md5_ha1(peer->md5secret)
                                         : sip::DigestSecret::plaintext(peer->secret);
    const sip::DigestOutcome result =
        verifier_.verify(*credentials, method, secret, settings_.realm, wall_now);
    if (result.stale()) {
      log(outcome, Level::Debug,
          fmt::format("REGISTER for '{}' from {}: {}, new challenge with stale=true", peer->name,
                      sip::to_string(source), sip::to_string(result.reason)));
      return challenge(request, true, now, wall_now, std::move(outcome));
    }
    if (!result.ok()) {
      return auth_failed(request, source, now, wall_now,
                         fmt::format("peer '{}': {}", peer->name, sip::to_string(result.reason)),
                         std::move(outcome));
    }
    if (throttle_ != nullptr) throttle_->record_success(source.address, now);
  }

  outcome.aor = peer->name;
  // Step 1, relaxed as Asterisk: any domain is ours. Said at debug level for whoever wonders.
  log(outcome, Level::Debug,
      fmt::format("REGISTER for '{}' to domain '{}' accepted (domains are not checked)",
                  peer->name, request.request_uri().host));
  return update_bindings(request, source, *peer, now, wall_now, std::move(outcome));
}

RegisterOutcome Registrar::update_bindings(const sip::Message& request,
                                           const sip::Endpoint& source, const SipPeer& peer,
                                           core::TimePoint now, sip::WallTime wall_now,
                                           RegisterOutcome&& outcome) {
  const auto& contacts = request.contacts();
  const std::string_view call_id = request.call_id();
  const uint32_t cseq = request.cseq().number;

  // A REGISTER without Contact is a query (10.3 step 8 still applies).
  if (contacts.empty()) return reply(request, 200, "OK", now, wall_now, std::move(outcome));

  // Step 6: Contact: * is valid only alone and with Expires: 0.
  const bool star = std::any_of(contacts.begin(), contacts.end(),
                                [](const sip::NameAddr& c) { return c.star; });
  if (star) {
    if (contacts.size() != 1 || request.expires() != std::optional<uint32_t>(0)) {
      return reply(request, 400, "Invalid Contact *", now, wall_now, std::move(outcome));
    }
    for (const Binding& b : table_.contacts(peer.name)) {
      if (b.call_id == call_id && cseq <= b.cseq) {  // step 7's ordering rule, for every binding
        log(outcome, Level::Info,
            fmt::format("REGISTER * for '{}' with CSeq {} not above {}: refused", peer.name, cseq,
                        b.cseq));
        return reply(request, 500, "Out Of Order CSeq", now, wall_now, std::move(outcome));
      }
    }
    outcome.changes = table_.remove_all(peer.name);
    for (const BindingChange& c : outcome.changes) {
      log(outcome, Level::Notice, fmt::format("Unregistered SIP '{}' ({})", peer.name,
                                              c.binding().contact));
    }
    return reply(request, 200, "OK", now, wall_now, std::move(outcome));
  }

  // Step 7, first pass: decide everything, change nothing.
  struct Plan {
    std::string key;  // the stored contact text (the existing binding's, when one matches)
    uint32_t expiry = 0;
    int q = -1;
    bool existing = false;
  };
  std::vector<Plan> plans;
  bool too_brief = false;
  const uint32_t min_expiry = static_cast<uint32_t>(settings_.min_expiry.count());
  const uint32_t max_expiry = static_cast<uint32_t>(settings_.max_expiry.count());
  for (const sip::NameAddr& contact : contacts) {
    if (!contact.uri.is_sip() || contact.uri.host.empty()) {
      return reply(request, 400, "Unsupported Contact URI", now, wall_now, std::move(outcome));
    }
    uint32_t expiry = 0;
    if (auto param = sip::param_value(contact.params, "expires")) {
      auto parsed = parse_delta_seconds(*param);
      if (!parsed) {
        return reply(request, 400, "Bad Contact expires", now, wall_now, std::move(outcome));
      }
      expiry = *parsed;
    } else if (request.expires()) {
      expiry = *request.expires();
    } else {
      expiry = static_cast<uint32_t>(settings_.default_expiry.count());
    }
    if (expiry > 0 && expiry < min_expiry) too_brief = true;
    expiry = std::min(expiry, max_expiry);

    Plan plan{std::string(contact.uri.text), expiry, parse_q(sip::param_value(contact.params, "q")),
              false};
    for (const Binding& b : table_.contacts(peer.name)) {
      if (!same_contact(b, contact.uri)) continue;
      if (b.call_id == call_id && cseq <= b.cseq) {
        log(outcome, Level::Info,
            fmt::format("REGISTER for '{}' ({}) with CSeq {} not above {}: refused", peer.name,
                        b.contact, cseq, b.cseq));
        return reply(request, 500, "Out Of Order CSeq", now, wall_now, std::move(outcome));
      }
      plan.key = b.contact;
      plan.existing = true;
      break;
    }
    auto dup = std::find_if(plans.begin(), plans.end(),
                            [&](const Plan& p) { return p.key == plan.key; });
    if (dup != plans.end()) {
      *dup = std::move(plan);  // the same contact twice: the last one wins
    } else {
      plans.push_back(std::move(plan));
    }
  }
  if (too_brief) {  // 10.3 step 7 / 20.23: the whole request is refused, nothing changes
    return reply(request, 423, "Interval Too Brief", now, wall_now, std::move(outcome));
  }
  const auto kept = static_cast<size_t>(std::count_if(
      plans.begin(), plans.end(), [](const Plan& p) { return p.expiry > 0; }));
  if (kept > table_.limits().max_per_aor) {
    log(outcome, Level::Notice,
        fmt::format("REGISTER for '{}' from {} with {} contacts (limit {}): refused", peer.name,
                    sip::to_string(source), kept, table_.limits().max_per_aor));
    return reply(request, 403, "Too Many Contacts", now, wall_now, std::move(outcome));
  }

  // Second pass: apply. Removals first, so they make room for additions.
  const std::string user_agent(whole_header(request, sip::HeaderId::UserAgent).value_or(""));
  const std::string path = joined_header(request, "Path");
  const int64_t wall_secs = unix_seconds(wall_now);
  for (const Plan& p : plans) {
    if (p.expiry != 0) continue;
    if (auto removed = table_.remove(peer.name, p.key)) {
      log(outcome, Level::Notice, fmt::format("Unregistered SIP '{}' ({})", peer.name, p.key));
      outcome.changes.push_back(std::move(*removed));
    }
  }
  for (const Plan& p : plans) {
    if (p.expiry == 0) continue;
    Binding b;
    b.aor = peer.name;
    b.contact = p.key;
    b.source = source;
    b.source.connection_id = 0;  // connections do not survive a restart; address and port do
    b.expires_at = now + std::chrono::seconds(p.expiry);
    b.expires_wall = wall_secs + p.expiry;
    b.call_id = std::string(call_id);
    b.cseq = cseq;
    b.user_agent = user_agent;
    b.path = path;
    b.q = p.q;
    BindingChange change;
    auto put = table_.put(b, &change);
    while (put == BindingTable::PutOutcome::AorFull) {
      // Evict the binding closest to expiry that this request does not mention.
      const Binding* victim = nullptr;
      for (const Binding& existing : table_.contacts(peer.name)) {
        const bool mentioned = std::any_of(plans.begin(), plans.end(), [&](const Plan& other) {
          return other.key == existing.contact;
        });
        if (!mentioned && (victim == nullptr || existing.expires_at < victim->expires_at)) {
          victim = &existing;
        }
      }
      if (victim == nullptr) break;  // cannot happen: kept <= max_per_aor was checked
      log(outcome, Level::Notice,
          fmt::format("Peer '{}' is at its limit of {} contacts: dropping {}", peer.name,
                      table_.limits().max_per_aor, victim->contact));
      const std::string victim_contact = victim->contact;
      outcome.changes.push_back(*table_.remove(peer.name, victim_contact));
      put = table_.put(b, &change);
    }
    if (put == BindingTable::PutOutcome::TableFull || put == BindingTable::PutOutcome::AorFull) {
      table_.revert(outcome.changes);
      outcome.changes.clear();
      log(outcome, Level::Warning,
          fmt::format("Registration table full ({} contacts): refused '{}'", table_.size(),
                      peer.name));
      return reply(request, 503, "Service Unavailable", now, wall_now, std::move(outcome));
    }
    if (put == BindingTable::PutOutcome::Added) {
      log(outcome, Level::Notice,
          fmt::format("Registered SIP '{}' at {} ({}, expires {} s)", peer.name,
                      sip::to_string(source), p.key, p.expiry));
    } else {
      log(outcome, Level::Debug, fmt::format("Refreshed SIP '{}' at {} ({}, expires {} s)",
                                             peer.name, sip::to_string(source), p.key, p.expiry));
    }
    outcome.changes.push_back(std::move(change));
  }
  return reply(request, 200, "OK", now, wall_now, std::move(outcome));
}

std::string Registrar::failure_response(const sip::Message& request,
                                        sip::WallTime /*wall_now*/) const {
  auto w = sip::make_response(request, 500, "Server Internal Error", sip::random_token(10));
  if (!settings_.server.empty()) w.header(sip::HeaderId::Server, settings_.server);
  w.header(sip::HeaderId::RetryAfter, "5");
  return std::move(w).finish();
}

RegisterOutcome Registrar::expire(core::TimePoint now) {
  RegisterOutcome outcome;
  outcome.changes = table_.expire(now);
  for (const BindingChange& c : outcome.changes) {
    log(outcome, Level::Notice, fmt::format("Unregistered SIP '{}' ({}): registration expired",
                                            c.binding().aor, c.binding().contact));
  }
  return outcome;
}

}  // namespace hapbx::pbx
