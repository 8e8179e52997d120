// How messages find their transaction (RFC 3261 17.1.3 for responses, 17.2.3 for requests, 9.2
// for CANCEL), as plain string keys for hash lookups. The rules live here and nowhere else.
//
// Client side: a response belongs to the client transaction whose request had the same top Via
// branch and the same CSeq method (so an INVITE and the CANCEL for it, which share a branch,
// are two transactions).
// Server side, RFC 3261 requests (branch starting with the magic cookie z9hG4bK): branch,
// sent-by (host and port of the top Via) and method, ACK counting as INVITE.
// Server side, RFC 2543 requests (no magic cookie): Request-URI, From tag, To tag, Call-ID,
// CSeq number and method, and the whole top Via. An ACK carries the To tag of our response,
// which the INVITE did not have, so an ACK is looked up both with its own To tag (re-INVITE in
// a dialog) and with none (initial INVITE) - see invite_keys_for().
//
// Precondition for every function: the message passed ingress validation (fault() == None,
// so it has a Via, From, To, Call-ID and CSeq). Without a Via the keys are still well defined
// (they just never match a real transaction), so a caller's slip cannot crash anything.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sip/message.h"

namespace hapbx::sip {

inline constexpr std::string_view kMagicCookie = "z9hG4bK";  // RFC 3261 8.1.1.7

// True when `branch` starts with the RFC 3261 magic cookie (case-sensitive, as written).
bool is_rfc3261_branch(std::string_view branch);

// Key of the client transaction a request we send creates, or a response we receive matches.
std::string client_transaction_key(const Message& message);
// The same from its parts (e.g. the INVITE a CANCEL we send is for: same branch, 9.1).
std::string client_transaction_key(std::string_view branch, std::string_view method);

// Key of the server transaction a received request (not ACK) creates or, when it is a
// retransmission, matches.
std::string server_transaction_key(const Message& request);

// Keys under which the INVITE server transaction an ACK or a CANCEL refers to may be stored,
// most specific first (17.2.3 for ACK, 9.2 for CANCEL). Empty for other methods.
std::vector<std::string> invite_keys_for(const Message& ack_or_cancel);

}  // namespace hapbx::sip
