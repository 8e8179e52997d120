// Wire format of the daemons' unix control socket (pure: no I/O, no clock).
//
// One connection carries exactly one request and one response, then the daemon closes it.
//
//   request  = "hapbx-control/1" SP mode *(SP word) [CR] LF      (at most kMaxRequestBytes)
//   mode     = "text" / "json"
//   word     = 1*(byte other than CTL, SP, "%", or "%" 2HEXDIG)  (percent-encoded, never empty)
//   response = "hapbx-control/1" SP status SP length LF payload  (payload is exactly length bytes)
//   status   = "ok" / "error"
//
// A line of words rather than JSON keeps the daemons free of a JSON parser and lets an operator
// talk to a daemon by hand (`echo 'hapbx-control/1 text help' | socat - UNIX:/run/hapbx/pbxd.sock`).
// Every size is bounded, and every decoding failure is an error value naming the fault: the
// socket may be reachable by local users, so its input is hostile.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hapbx::core {

inline constexpr std::string_view kControlMagic = "hapbx-control/1";
// Whole request line including the LF. A CLI command is a handful of short words.
inline constexpr std::size_t kMaxControlRequestBytes = 8192;
inline constexpr std::size_t kMaxControlRequestWords = 64;
// A response header line ("hapbx-control/1 error 67108864\n") is far shorter than this.
inline constexpr std::size_t kMaxControlResponseHeaderBytes = 64;
// Large enough for `sip show peers` with tens of thousands of peers.
inline constexpr std::size_t kMaxControlResponsePayload = 64 * 1024 * 1024;

struct ControlRequest {
  std::vector<std::string> words;
  bool json = false;

  bool operator==(const ControlRequest&) const = default;
};

struct ControlResponse {
  bool ok = true;
  std::string text;

  bool operator==(const ControlResponse&) const = default;
};

// A message decoded from the front of a buffer, and how many bytes of the buffer it used.
template <typename T>
struct Decoded {
  T message;
  std::size_t consumed = 0;
};

// Fails on an empty word, a word containing NUL, too many words or a line over the size limit.
Result<std::string> encode_control_request(const ControlRequest& request);

// Never fails: a payload over kMaxControlResponsePayload is replaced by an error response saying so.
std::string encode_control_response(const ControlResponse& response);

// Decoders look at the bytes received so far: a value when a whole message is there, nullopt when
// more bytes are needed, an error when the bytes can never become a valid message.
Result<std::optional<Decoded<ControlRequest>>> try_decode_control_request(std::string_view buffer);
Result<std::optional<Decoded<ControlResponse>>> try_decode_control_response(std::string_view buffer);

// "sip show peers" from {"sip","show","peers"}: for messages that quote a command back.
std::string join_control_words(const std::vector<std::string>& words);

}  // namespace hapbx::core
