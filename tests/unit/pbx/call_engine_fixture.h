// Test harness for the B2BUA call engine (pbx/call_engine.h): a CallEnvironment that records
// every SIP send, stream, bridge, prompt and CDR; the phones' side of the wire (INVITEs from a
// caller, responses and requests from a callee) built as text and parsed as the transaction
// layer would hand them up; and a manual clock with a wall clock that advances with it, so
// whole calls run in one thread in no real time.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "pbx/asterisk_config.h"
#include "pbx/bindings.h"
#include "pbx/call_engine.h"
#include "pbx/dialplan.h"
#include "pbx/sip_config.h"
#include "sip/digest.h"
#include "sip/digest_verifier.h"
#include "sip/message.h"
#include "sip/message_writer.h"
#include "sip/sdp.h"

namespace hapbx::pbx::testing {

inline sip::Message parse(std::string bytes) {
  auto m = sip::parse_message(std::move(bytes));
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  if (m.ok()) return std::move(m).value();
  // A well-formed stand-in, so that the failing test reports instead of crashing.
  return std::move(sip::parse_message("OPTIONS sip:x@198.18.0.1 SIP/2.0\r\n"
                                      "Via: SIP/2.0/UDP 198.18.0.1;branch=z9hG4bK-bad\r\n"
                                      "From: <sip:x@198.18.0.1>;tag=bad\r\n"
                                      "To: <sip:x@198.18.0.1>\r\n"
                                      "Call-ID: unparsable\r\nCSeq: 1 OPTIONS\r\n"
                                      "Content-Length: 0\r\n\r\n")
                       .value());
}

inline sip::SessionDescription parse_body_sdp(const sip::Message& m) {
  auto sdp = sip::parse_sdp(m.body());
  EXPECT_TRUE(sdp.ok()) << "no SDP in:\n" << m.raw();
  return sdp.ok() ? std::move(sdp).value() : sip::SessionDescription{};
}

struct SentRequest {
  sip::TransactionId transaction = 0;
  std::string bytes;
  sip::Endpoint to;
  sip::Message message() const { return parse(bytes); }
  std::string method() const { return std::string(message().method_text()); }
};

struct SentResponse {
  sip::TransactionId transaction = 0;
  std::string bytes;
  int status = 0;
  sip::Message message() const { return parse(bytes); }
};

struct SentStateless {
  sip::Endpoint to;
  std::string bytes;
  sip::Message message() const { return parse(bytes); }
};

struct PlayRequest {
  MediaStreamId stream = 0;
  std::string prompt;
  int payload_type = -1;
  uint64_t id = 0;
};

class FakeCallEnvironment final : public CallEnvironment {
 public:
  static constexpr const char* kRelayAddress = "198.18.0.10";

  // --- SIP ---
  Result<sip::TransactionId> send_request(std::string bytes, const sip::Endpoint& to) override {
    if (fail_requests) return Error{"transaction table full"};
    const sip::TransactionId id = next_transaction++;
    requests.push_back(SentRequest{id, std::move(bytes), to});
    return id;
  }
  void send_response(sip::TransactionId transaction, std::string bytes, int status) override {
    responses.push_back(SentResponse{transaction, std::move(bytes), status});
  }
  void send_stateless(const sip::Endpoint& to, std::string bytes) override {
    stateless.push_back(SentStateless{to, std::move(bytes)});
  }
  LocalAddress local_address_for(const sip::Endpoint& peer) override {
    return LocalAddress{kRelayAddress, 5060, peer.transport};
  }

  // --- media ---
  Result<MediaStream> open_stream(const sip::Endpoint& peer) override {
    if (open.size() >= max_open_streams) return Error{"no free RTP port pair"};
    MediaStream s;
    s.id = next_stream++;
    s.address = kRelayAddress;
    s.rtp_port = static_cast<uint16_t>(10000 + 2 * s.id);
    open.insert(s.id);
    opened.push_back(s);
    stream_peer[s.id] = peer;
    return s;
  }
  void set_stream_remote(MediaStreamId stream, const std::string& address, uint16_t rtp_port,
                         uint16_t rtcp_port) override {
    remotes[stream] = std::make_tuple(address, rtp_port, rtcp_port);
  }
  void bridge_streams(MediaStreamId a, MediaStreamId b) override { bridges.emplace_back(a, b); }
  void unbridge_stream(MediaStreamId stream) override { unbridged.push_back(stream); }
  void echo_stream(MediaStreamId stream) override { echoed.push_back(stream); }
  Result<uint64_t> play(MediaStreamId stream, std::string_view prompt,
                        int payload_type) override {
    if (failing_prompts.count(std::string(prompt))) {
      return Error{"unknown prompt '" + std::string(prompt) + "'"};
    }
    PlayRequest p{stream, std::string(prompt), payload_type, next_playback++};
    plays.push_back(p);
    return p.id;
  }
  void stop_playback(MediaStreamId stream) override { stopped.push_back(stream); }
  void close_stream(MediaStreamId stream) override {
    EXPECT_EQ(open.count(stream), 1u) << "stream " << stream << " closed twice or never opened";
    open.erase(stream);
    closed.push_back(stream);
  }
  std::optional<MediaStreamCounters> stream_counters(MediaStreamId stream) const override {
    if (!open.count(stream)) return std::nullopt;
    auto it = counters.find(stream);
    if (it == counters.end()) return MediaStreamCounters{};
    return it->second;
  }

  // --- records ---
  void write_cdr(CdrRecord&& record) override { cdrs.push_back(std::move(record)); }

  // Queries.
  std::vector<const SentRequest*> requests_of(std::string_view method) const {
    std::vector<const SentRequest*> out;
    for (const auto& r : requests) {
      if (r.method() == method) out.push_back(&r);
    }
    return out;
  }
  std::vector<const SentResponse*> responses_to(sip::TransactionId transaction) const {
    std::vector<const SentResponse*> out;
    for (const auto& r : responses) {
      if (r.transaction == transaction) out.push_back(&r);
    }
    return out;
  }
  std::vector<int> statuses_to(sip::TransactionId transaction) const {
    std::vector<int> out;
    for (const auto* r : responses_to(transaction)) out.push_back(r->status);
    return out;
  }
  // Whether some stream was pointed at this RTP port (set_stream_remote).
  bool has_remote_rtp_port(uint16_t port) const {
    for (const auto& [stream, remote] : remotes) {
      if (std::get<1>(remote) == port) return true;
    }
    return false;
  }
  const SentResponse* last_response_to(sip::TransactionId transaction) const {
    auto all = responses_to(transaction);
    return all.empty() ? nullptr : all.back();
  }

  // Recorded. Deques: tests keep pointers to earlier entries while more are added.
  std::deque<SentRequest> requests;
  std::deque<SentResponse> responses;
  std::deque<SentStateless> stateless;
  std::set<MediaStreamId> open;
  std::vector<MediaStream> opened;
  std::vector<MediaStreamId> closed;
  std::map<MediaStreamId, sip::Endpoint> stream_peer;
  std::map<MediaStreamId, std::tuple<std::string, uint16_t, uint16_t>> remotes;
  std::vector<std::pair<MediaStreamId, MediaStreamId>> bridges;
  std::vector<MediaStreamId> unbridged;
  std::vector<MediaStreamId> echoed;
  std::vector<MediaStreamId> stopped;
  std::vector<PlayRequest> plays;
  std::vector<CdrRecord> cdrs;

  // Knobs.
  size_t max_open_streams = 1000;
  bool fail_requests = false;
  std::set<std::string> failing_prompts;
  std::map<MediaStreamId, MediaStreamCounters> counters;

 private:
  sip::TransactionId next_transaction = 1;
  MediaStreamId next_stream = 1;
  uint64_t next_playback = 1;
};

// sip.conf of the tests. 201, 202, 203 and 206 call without a challenge (insecure=invite); 205
// must authenticate; 204 never registers; 206 may be in one call at a time.
inline std::string test_sip_conf(const std::string& extra_general) {
  return "[general]\n"
         "context=default\n"
         "allowguest=no\n"
         "realm=asterisk\n"
         "useragent=hapbx PBX\n"
         "disallow=all\n"
         "allow=ulaw\n"
         "allow=alaw\n" +
         extra_general +
         "\n"
         "[phone](!)\n"
         "type=friend\n"
         "host=dynamic\n"
         "context=internal\n"
         "canreinvite=no\n"
         "disallow=all\n"
         "allow=ulaw\n"
         "allow=alaw\n"
         "\n"
         "[201](phone)\n"
         "secret=201pass\n"
         "insecure=invite\n"
         "callerid=\"Extension 201\" <201>\n"
         "\n"
         "[202](phone)\n"
         "secret=202pass\n"
         "insecure=invite\n"
         "callerid=\"Extension 202\" <202>\n"
         "\n"
         "[203](phone)\n"
         "secret=203pass\n"
         "insecure=invite\n"
         "\n"
         "[204](phone)\n"
         "secret=204pass\n"
         "\n"
         "[205](phone)\n"
         "secret=205pass\n"
         "\n"
         "[206](phone)\n"
         "secret=206pass\n"
         "insecure=invite\n"
         "call-limit=1\n";
}

// extensions.conf of the tests. After a Dial the status picks a distinct end, so the caller's
// final response tells which DIALSTATUS the dialplan saw: BUSY -> Busy() (486), NOANSWER ->
// Hangup(19) (480), CHANUNAVAIL -> Hangup(27) (502), anything else Hangup(34) (503).
inline const char* kTestExtensions = R"(
[general]
autofallthrough=yes

[internal]
exten => _20[2-4],1,Dial(SIP/${EXTEN},5)
same => n,GotoIf($["${DIALSTATUS}" = "BUSY"]?busy)
same => n,GotoIf($["${DIALSTATUS}" = "NOANSWER"]?noanswer)
same => n,GotoIf($["${DIALSTATUS}" = "CHANUNAVAIL"]?unavail)
same => n,Hangup(34)
same => n(busy),Busy()
same => n(noanswer),Hangup(19)
same => n(unavail),Hangup(27)

exten => 700,1,Dial(SIP/202&SIP/203,10)
same => n,Hangup(34)

exten => 600,1,Echo()
exten => 610,1,Playback(beep&tone/ring)
same => n,Hangup(21)
exten => 620,1,Answer()
same => n,Wait(2)
same => n,Hangup()
exten => 630,1,Hangup(17)
exten => 640,1,Frobnicate(now)
exten => 650,1,Wait(100)
exten => 660,1,Dial(SIP/204)
same => n,Goto(1)

exten => h,1,NoOp(ended with ${DIALSTATUS})
)";

inline const sip::Endpoint kPhone201{sip::TransportKind::Udp, "198.18.0.101", 5060, 0};
inline const sip::Endpoint kPhone202{sip::TransportKind::Udp, "198.18.0.102", 5060, 0};
inline const sip::Endpoint kPhone203{sip::TransportKind::Udp, "198.18.0.103", 5060, 0};
inline const sip::Endpoint kPhone205{sip::TransportKind::Udp, "198.18.0.105", 5060, 0};
inline const sip::Endpoint kPhone206{sip::TransportKind::Udp, "198.18.0.106", 5060, 0};

// An SDP offer or answer of a phone.
inline std::string phone_sdp(const std::string& ip, int port, const std::string& formats = "0 8",
                             const std::string& direction = "sendrecv", int version = 1) {
  std::string s = "v=0\r\n";
  s += "o=phone 4242 " + std::to_string(version) + " IN IP4 " + ip + "\r\n";
  s += "s=-\r\n";
  s += "c=IN IP4 " + ip + "\r\n";
  s += "t=0 0\r\n";
  s += "m=audio " + std::to_string(port) + " RTP/AVP " + formats + "\r\n";
  if (formats.find('0') != std::string::npos) s += "a=rtpmap:0 PCMU/8000\r\n";
  if (formats.find('8') != std::string::npos) s += "a=rtpmap:8 PCMA/8000\r\n";
  if (formats.find("18") != std::string::npos) s += "a=rtpmap:18 G729/8000\r\n";
  s += "a=" + direction + "\r\n";
  return s;
}

// A call as the caller's phone sees it: its INVITE and the requests it sends in the dialog.
struct CallerSide {
  std::string user = "201";
  sip::Endpoint source = kPhone201;
  std::string exten = "202";
  std::string call_id;
  std::string from_tag;
  std::string pbx_tag;  // the To tag the PBX gave us (from its responses)
  uint32_t cseq = 1;
  sip::TransactionId invite_transaction = 0;
  std::string sdp;
  std::string proxy_authorization;

  std::string invite_text(bool with_sdp = true) const {
    std::string m = "INVITE sip:" + exten + "@198.18.0.10 SIP/2.0\r\n";
    m += "Via: SIP/2.0/UDP " + source.address + ":5060;branch=z9hG4bK-" + call_id + "-" +
         std::to_string(cseq) + ";rport\r\n";
    m += "Max-Forwards: 70\r\n";
    m += "From: <sip:" + user + "@198.18.0.10>;tag=" + from_tag + "\r\n";
    m += "To: <sip:" + exten + "@198.18.0.10>\r\n";
    m += "Call-ID: " + call_id + "\r\n";
    m += "CSeq: " + std::to_string(cseq) + " INVITE\r\n";
    m += "Contact: <sip:" + user + "@" + source.address + ":5060>\r\n";
    if (!proxy_authorization.empty()) m += "Proxy-Authorization: " + proxy_authorization + "\r\n";
    m += "User-Agent: TestPhone\r\n";
    if (with_sdp) {
      m += "Content-Type: application/sdp\r\n";
      m += "Content-Length: " + std::to_string(sdp.size()) + "\r\n\r\n" + sdp;
    } else {
      m += "Content-Length: 0\r\n\r\n";
    }
    return m;
  }

  // A request inside the dialog (BYE, re-INVITE, UPDATE ...), with the next CSeq.
  std::string in_dialog(const std::string& method, const std::string& body = {}) {
    ++cseq;
    return in_dialog_with_cseq(method, cseq, body);
  }
  std::string in_dialog_with_cseq(const std::string& method, uint32_t n,
                                  const std::string& body = {}) const {
    std::string m = method + " sip:pbx@198.18.0.10:5060 SIP/2.0\r\n";
    m += "Via: SIP/2.0/UDP " + source.address + ":5060;branch=z9hG4bK-" + call_id + "-" +
         method + std::to_string(n) + ";rport\r\n";
    m += "Max-Forwards: 70\r\n";
    m += "From: <sip:" + user + "@198.18.0.10>;tag=" + from_tag + "\r\n";
    m += "To: <sip:" + exten + "@198.18.0.10>;tag=" + pbx_tag + "\r\n";
    m += "Call-ID: " + call_id + "\r\n";
    m += "CSeq: " + std::to_string(n) + " " + method + "\r\n";
    if (method == "INVITE") m += "Contact: <sip:" + user + "@" + source.address + ":5060>\r\n";
    if (!body.empty()) {
      m += "Content-Type: application/sdp\r\n";
      m += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    } else {
      m += "Content-Length: 0\r\n\r\n";
    }
    return m;
  }
  // The CANCEL of the initial INVITE (same branch, CSeq number).
  std::string cancel_text() const {
    std::string m = "CANCEL sip:" + exten + "@198.18.0.10 SIP/2.0\r\n";
    m += "Via: SIP/2.0/UDP " + source.address + ":5060;branch=z9hG4bK-" + call_id + "-" +
         std::to_string(cseq) + ";rport\r\n";
    m += "Max-Forwards: 70\r\n";
    m += "From: <sip:" + user + "@198.18.0.10>;tag=" + from_tag + "\r\n";
    m += "To: <sip:" + exten + "@198.18.0.10>\r\n";
    m += "Call-ID: " + call_id + "\r\n";
    m += "CSeq: " + std::to_string(cseq) + " CANCEL\r\n";
    m += "Content-Length: 0\r\n\r\n";
    return m;
  }
};

// A callee's phone answering one INVITE the PBX sent.
struct CalleeSide {
  const SentRequest* invite = nullptr;  // as recorded by the fake
  std::string tag = "callee-tag";
  std::string contact = "<sip:202@198.18.0.102:5060>";
  uint32_t cseq = 100;  // the callee's own CSeq for its requests

  // A response to a request the PBX sent to this callee (the INVITE by default).
  std::string response(int status, const std::string& body = {},
                       const SentRequest* request = nullptr) const {
    const SentRequest* r = request != nullptr ? request : invite;
    auto req = r->message();
    auto w = sip::make_response(req, status, {}, status > 100 ? tag : std::string());
    if (req.method() == sip::Method::Invite && status > 100 && status < 300) {
      w.header(sip::HeaderId::Contact, contact);
    }
    if (!body.empty()) w.body("application/sdp", body);
    return std::move(w).finish();
  }
  // A request from the callee in the dialog (BYE, re-INVITE).
  std::string request(const std::string& method, const std::string& body = {}) {
    auto inv = invite->message();
    ++cseq;
    std::string m = method + " " + std::string(inv.contacts().front().uri.text) + " SIP/2.0\r\n";
    m += "Via: SIP/2.0/UDP 198.18.0.102:5060;branch=z9hG4bK-callee-" + std::to_string(cseq) +
         "\r\n";
    m += "Max-Forwards: 70\r\n";
    // From and To swap: the callee's From is the PBX's To with the callee's tag.
    m += "From: " + std::string(*inv.header(sip::HeaderId::To)) + ";tag=" + tag + "\r\n";
    m += "To: " + std::string(*inv.header(sip::HeaderId::From)) + "\r\n";
    m += "Call-ID: " + std::string(inv.call_id()) + "\r\n";
    m += "CSeq: " + std::to_string(cseq) + " " + method + "\r\n";
    if (method == "INVITE") m += "Contact: " + contact + "\r\n";
    if (!body.empty()) {
      m += "Content-Type: application/sdp\r\n";
      m += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    } else {
      m += "Content-Length: 0\r\n\r\n";
    }
    return m;
  }
};

class CallEngineTest : public ::testing::Test {
 protected:
  static constexpr int64_t kWallEpoch = 1700000000;

  CallEngineTest() : verifier_(sip::NonceKey{9, 8, 7, 6, 5, 4, 3, 2}) {}

  void SetUp() override { start(); }

  // (Re)builds the configuration and the engine; `extra_general` goes into sip.conf [general].
  void start(const std::string& extra_general = {}, const std::string& extensions = kTestExtensions,
             CallSettings settings = {}) {
    engine_.reset();
    MemoryConfigLoader loader;
    loader.add("/etc/hapbx/sip.conf", test_sip_conf(extra_general));
    loader.add("/etc/hapbx/extensions.conf", extensions);
    auto sip_file = read_asterisk_config("/etc/hapbx/sip.conf", loader);
    ASSERT_TRUE(sip_file.ok()) << sip_file.error().message;
    auto config = build_sip_config(*sip_file, nullptr);
    ASSERT_TRUE(config.ok()) << config.error().message;
    config_ = std::make_unique<SipConfig>(std::move(config).value());
    auto plan_file = read_asterisk_config("/etc/hapbx/extensions.conf", loader);
    ASSERT_TRUE(plan_file.ok()) << plan_file.error().message;
    auto plan = build_dialplan(*plan_file);
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    plan_ = std::make_shared<const Dialplan>(std::move(plan).value());

    bindings_ = BindingTable{};
    register_phone("202", kPhone202);
    register_phone("203", kPhone203);
    engine_ = std::make_unique<CallEngine>(env_, *config_, plan_, bindings_, verifier_, nullptr,
                                           settings);
  }

  void register_phone(const std::string& aor, const sip::Endpoint& source) {
    Binding b;
    b.aor = aor;
    b.contact = "sip:" + aor + "@" + source.address + ":" + std::to_string(source.port);
    b.source = source;
    b.expires_at = clock_.now() + std::chrono::hours(1);
    b.expires_wall = kWallEpoch + 3600;
    b.call_id = "reg-" + aor;
    b.cseq = 1;
    bindings_.put(std::move(b));
  }

  core::TimePoint now() const { return clock_.now(); }
  WallClock::time_point wall() const {
    return WallClock::time_point{std::chrono::seconds(kWallEpoch)} +
           std::chrono::duration_cast<WallClock::duration>(clock_.now() - start_);
  }

  // Moves time forward by `d`, firing every engine timer due on the way, at its own time.
  void advance(core::Duration d) {
    const core::TimePoint target = clock_.now() + d;
    while (auto next = engine_->next_deadline()) {
      if (*next > target) break;
      if (*next > clock_.now()) clock_.set(*next);
      engine_->on_timer(clock_.now(), wall());
    }
    clock_.set(target);
  }

  sip::TransactionId next_server_transaction() { return next_server_++; }

  // --- the caller's side ---
  CallerSide caller(const std::string& exten = "202", const std::string& user = "201",
                    const sip::Endpoint& source = kPhone201) {
    CallerSide c;
    c.user = user;
    c.source = source;
    c.exten = exten;
    c.call_id = "caller-" + std::to_string(++callers_) + "@" + source.address;
    c.from_tag = "ctag" + std::to_string(callers_);
    c.sdp = phone_sdp(source.address, 40000 + 2 * callers_);
    return c;
  }

  // Sends the caller's INVITE; remembers its transaction and, once a response carries it, the
  // PBX's tag.
  void send_invite(CallerSide& c, bool with_sdp = true) {
    c.invite_transaction = next_server_transaction();
    EXPECT_TRUE(engine_->on_request(c.invite_transaction, parse(c.invite_text(with_sdp)), c.source,
                                    now(), wall()));
    learn_tag(c);
  }
  void learn_tag(CallerSide& c) {
    for (const auto* r : env_.responses_to(c.invite_transaction)) {
      auto m = r->message();
      if (!m.to().tag().empty()) c.pbx_tag = std::string(m.to().tag());
    }
  }
  // Sends a request inside the caller's dialog; returns its server transaction.
  sip::TransactionId send_from_caller(CallerSide& c, const std::string& text) {
    learn_tag(c);
    const sip::TransactionId t = next_server_transaction();
    EXPECT_TRUE(engine_->on_request(t, parse(text), c.source, now(), wall()));
    return t;
  }
  void ack_from_caller(CallerSide& c, uint32_t cseq) {
    learn_tag(c);
    std::string text = c.in_dialog_with_cseq("ACK", cseq);
    engine_->on_ack(parse(text), now());
  }
  sip::TransactionId cancel_from_caller(CallerSide& c) {
    const sip::TransactionId t = next_server_transaction();
    EXPECT_TRUE(engine_->on_cancel(t, parse(c.cancel_text()), c.invite_transaction, now(), wall()));
    return t;
  }

  // --- the callee's side ---
  // The INVITEs the PBX sent so far to `to`.
  std::vector<const SentRequest*> invites_to(const sip::Endpoint& to) const {
    std::vector<const SentRequest*> out;
    for (const auto* r : env_.requests_of("INVITE")) {
      if (r->to.address == to.address && r->to.port == to.port) out.push_back(r);
    }
    return out;
  }
  CalleeSide callee_for(const sip::Endpoint& to, size_t index = 0) {
    CalleeSide c;
    auto invites = invites_to(to);
    EXPECT_GT(invites.size(), index) << "no INVITE to " << to.address;
    if (invites.size() > index) c.invite = invites[index];
    c.contact = "<sip:callee@" + to.address + ":5060>";
    c.tag = "tag-" + to.address;
    return c;
  }
  bool respond(const CalleeSide& c, int status, const std::string& body = {},
               const SentRequest* request = nullptr) {
    const SentRequest* r = request != nullptr ? request : c.invite;
    return engine_->on_response(r->transaction, parse(c.response(status, body, request)), now(),
                                wall());
  }
  sip::TransactionId send_from_callee(const std::string& text,
                                      const sip::Endpoint& from = kPhone202) {
    const sip::TransactionId t = next_server_transaction();
    EXPECT_TRUE(engine_->on_request(t, parse(text), from, now(), wall()));
    return t;
  }

  // A full call 201 -> 202 up to the caller's ACK: returns both sides.
  std::pair<CallerSide, CalleeSide> establish(const std::string& exten = "202") {
    CallerSide c = caller(exten);
    send_invite(c);
    CalleeSide callee = callee_for(kPhone202);
    if (callee.invite == nullptr) return {c, callee};
    respond(callee, 180);
    respond(callee, 200, phone_sdp("198.18.0.102", 50000));
    learn_tag(c);
    ack_from_caller(c, 1);
    return {c, callee};
  }

  std::string digest_answer(const std::string& challenge_value, const std::string& user,
                            const std::string& password, const std::string& uri) {
    auto ch = sip::parse_digest_challenge(challenge_value);
    EXPECT_TRUE(ch.ok());
    if (!ch.ok()) return {};
    sip::DigestCredentials cr;
    cr.username = user;
    cr.realm = ch->realm;
    cr.nonce = ch->nonce;
    cr.uri = uri;
    cr.algorithm = ch->algorithm;
    cr.algorithm_given = true;
    cr.qop = "auth";
    cr.cnonce = "c0ffee";
    cr.nc_text = "00000001";
    cr.nc = 1;
    auto response =
        sip::expected_digest_response(cr, "INVITE", sip::DigestSecret::plaintext(password));
    EXPECT_TRUE(response.ok());
    cr.response = response.ok() ? *response : std::string();
    return sip::format_digest_credentials(cr);
  }

  FakeCallEnvironment env_;
  core::ManualClock clock_;
  const core::TimePoint start_ = clock_.now();
  std::unique_ptr<SipConfig> config_;
  std::shared_ptr<const Dialplan> plan_;
  BindingTable bindings_;
  sip::DigestVerifier verifier_;
  std::unique_ptr<CallEngine> engine_;
  sip::TransactionId next_server_ = 100000;
  int callers_ = 0;
};

}  // namespace hapbx::pbx::testing
