// Builders for the transaction layer tests: requests and responses as bytes (MessageWriter),
// parsed Messages, and picking actions of one kind out of the layer's output.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "sip/message.h"
#include "sip/message_writer.h"
#include "sip/transaction_layer.h"

namespace hapbx::sip::testing {

struct RequestSpec {
  std::string method = "INVITE";
  std::string uri = "sip:201@198.18.0.10";
  std::string branch = "z9hG4bKbranch1";  // "" = RFC 2543 style, no branch parameter
  std::string via_host = "198.18.0.100";
  int via_port = 5060;
  bool rport = false;
  std::string from_tag = "from1";
  std::string to_tag;
  std::string call_id = "call-1@198.18.0.100";
  uint32_t cseq = 1;
  std::string cseq_method;  // "" = same as method
  std::vector<std::string> routes;
};

inline std::string build_request(const RequestSpec& spec) {
  std::string via = "SIP/2.0/UDP " + spec.via_host + ":" + std::to_string(spec.via_port);
  if (!spec.branch.empty()) via += ";branch=" + spec.branch;
  if (spec.rport) via += ";rport";
  MessageWriter w = MessageWriter::request(spec.method, spec.uri);
  w.header(HeaderId::Via, via);
  for (const std::string& route : spec.routes) w.header(HeaderId::Route, route);
  w.header(HeaderId::MaxForwards, "70");
  w.header(HeaderId::From, "\"Alice\" <sip:202@198.18.0.10>;tag=" + spec.from_tag);
  std::string to = "<sip:201@198.18.0.10>";
  if (!spec.to_tag.empty()) to += ";tag=" + spec.to_tag;
  w.header(HeaderId::To, to);
  w.header(HeaderId::CallId, spec.call_id);
  w.header(HeaderId::CSeq, std::to_string(spec.cseq) + " " +
                               (spec.cseq_method.empty() ? spec.method : spec.cseq_method));
  return std::move(w).finish();
}

inline Message parse(std::string bytes) {
  Result<Message> parsed = parse_message(std::move(bytes));
  if (!parsed.ok()) ADD_FAILURE() << "test message does not parse: " << parsed.error().message;
  return std::move(parsed).value();  // throws on failure: gtest reports it
}

inline Message request(const RequestSpec& spec) { return parse(build_request(spec)); }

// A response to the request in `request_bytes`, as a parsed Message.
inline Message response_to(std::string_view request_bytes, int status,
                           std::string_view to_tag = "totag9") {
  Message req = parse(std::string(request_bytes));
  return parse(make_response(req, status, {}, to_tag).finish());
}

// Moves every action of type T out of `actions` (the others stay, in order).
template <typename T>
std::vector<T> take(std::vector<LayerAction>& actions) {
  std::vector<T> out;
  std::vector<LayerAction> rest;
  for (LayerAction& action : actions) {
    if (auto* hit = std::get_if<T>(&action)) {
      out.push_back(std::move(*hit));
    } else {
      rest.push_back(std::move(action));
    }
  }
  actions = std::move(rest);
  return out;
}

inline Endpoint udp_peer(uint16_t port = 5060) {
  return Endpoint{TransportKind::Udp, "198.18.0.100", port, 0};
}
inline Endpoint tcp_peer(uint64_t connection = 7) {
  return Endpoint{TransportKind::Tcp, "198.18.0.100", 40000, connection};
}

}  // namespace hapbx::sip::testing
