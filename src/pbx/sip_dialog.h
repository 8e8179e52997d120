// One SIP dialog as the B2BUA holds it (RFC 3261 12), seen from our side, and the requests we
// send in it. Both legs of a call are dialogs: on the inbound leg we are the UAS (the caller's
// INVITE created it), on an outbound leg the UAC. Pure: builds bytes, sends nothing.
//
// Routing of what we send: in-dialog requests go to `peer`, the address the other side's
// messages really came from (its registration source or the source of its INVITE), as
// chan_sip does with nat=force_rport; the Request-URI is still the remote target (the peer's
// Contact), as 12.2.1.1 asks. Record-Route sets are kept and sent as Route headers (12.1.1,
// 12.2.1.1 with loose routing only).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sip/endpoint.h"
#include "sip/message.h"

namespace hapbx::pbx {

// Our address as a peer reaches it: for Via, Contact and SDP.
struct LocalAddress {
  std::string host;   // numeric, IPv6 without brackets
  uint16_t port = 5060;
  sip::TransportKind transport = sip::TransportKind::Udp;

  std::string hostport() const;  // "198.18.0.10:5060", "[2001:db8::1]:5060"
};

struct Dialog {
  std::string call_id;
  std::string local_tag;
  std::string remote_tag;
  std::string local_uri;       // name-addr without tag: "\"Extension 201\" <sip:201@pbx>"
  std::string remote_uri;      // name-addr without tag
  std::string remote_target;   // the peer's Contact URI (Request-URI of our requests)
  std::vector<std::string> route_set;  // Route values, in the order we send them
  uint32_t local_cseq = 1;     // the last CSeq we used
  std::optional<uint32_t> remote_cseq;  // the last CSeq the peer used
  sip::Endpoint peer;          // where our requests go
  LocalAddress local;

  // "Call-ID|local tag": how requests and responses find their dialog.
  std::string key() const;
};
std::string dialog_key(std::string_view call_id, std::string_view local_tag);

struct BuiltRequest {
  std::string bytes;
  std::string branch;
  uint32_t cseq = 0;
};

struct RequestBody {
  std::string content_type;  // "" = no body
  std::string content;
};

// A request inside the dialog (BYE, re-INVITE, UPDATE, INFO...): next local CSeq, new branch.
BuiltRequest build_in_dialog_request(Dialog& dialog, std::string_view method,
                                     const RequestBody& body, std::string_view user_agent,
                                     const std::vector<std::pair<std::string, std::string>>&
                                         extra_headers = {});

// The ACK for a 2xx to our INVITE with CSeq `invite_cseq` (13.2.2.4): same CSeq number, a new
// branch, the dialog's route set.
std::string build_ack_for_2xx(const Dialog& dialog, uint32_t invite_cseq,
                              std::string_view user_agent);

// What an outbound leg's initial INVITE needs.
struct InviteParams {
  std::string request_uri;        // the callee's Contact (or sip:peer@host:port)
  std::string to_uri;             // "sip:202@198.18.0.10"
  std::string from_display;       // caller id name ("" = none)
  std::string from_user;          // caller id number
  std::string from_host;          // our host (or the peer's fromdomain)
  uint32_t max_forwards = 70;
  std::string user_agent;
  RequestBody body;
  std::vector<std::pair<std::string, std::string>> extra_headers;
};

// Builds the INVITE and fills `dialog` as the UAC side of the early dialog (no remote tag
// yet): Call-ID, local tag, URIs, CSeq 1, remote_target = request_uri. `dialog.local` and
// `dialog.peer` must be set by the caller.
BuiltRequest build_initial_invite(Dialog& dialog, const InviteParams& params);

// CANCEL for the INVITE `invite` we sent (9.1): same Request-URI, Call-ID, From, To, CSeq
// number and the same top Via (branch), so the callee matches it with the INVITE.
std::string build_cancel(const BuiltRequest& invite, const Dialog& dialog,
                         std::string_view user_agent);

// The UAS side: completes `dialog` from the request that created it (12.1.1): remote tag and
// URI from From, remote target from Contact, route set from Record-Route, our tag is chosen
// here. `dialog.local` and `dialog.peer` must be set by the caller.
void init_uas_dialog(Dialog& dialog, const sip::Message& invite);

// The UAC side, from the response that established (or early-established) the dialog
// (12.1.2): remote tag from To, remote target from Contact, route set from Record-Route
// (reversed).
void update_uac_dialog(Dialog& dialog, const sip::Message& response);

// A response on the UAS side: To gets our tag, Contact ours, optional body.
std::string build_uas_response(const sip::Message& request, int status, const Dialog& dialog,
                               std::string_view user_agent, const RequestBody& body = {},
                               const std::vector<std::pair<std::string, std::string>>&
                                   extra_headers = {},
                               std::string_view reason = {});

// The SIP URI of ourselves for Contact: <sip:pbx@host:port[;transport=tcp]>
std::string contact_uri(const LocalAddress& local, std::string_view user = "pbx");

}  // namespace hapbx::pbx
