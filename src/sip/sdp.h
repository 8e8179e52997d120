// SDP session descriptions (RFC 4566): parsed into an owned structure so that the media layer
// can rewrite connection (c=) and media (m=) lines, then printed back in RFC 4566 5 order.
// Unlike SIP messages this owns its strings: SDP is rewritten, not just read, and is never on
// the REGISTER hot path. Every parse error names the line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hapbx::sip {

struct SdpOrigin {  // o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
  std::string username = "-";
  std::string session_id = "0";
  std::string session_version = "0";
  std::string net_type = "IN";
  std::string addr_type = "IP4";
  std::string address;
  friend bool operator==(const SdpOrigin&, const SdpOrigin&) = default;
};

struct SdpConnection {  // c=<nettype> <addrtype> <connection-address> (address may carry /ttl)
  std::string net_type = "IN";
  std::string addr_type = "IP4";
  std::string address;
  friend bool operator==(const SdpConnection&, const SdpConnection&) = default;
};

struct SdpAttribute {  // a=<name>[:<value>]
  std::string name;
  std::string value;
  bool has_value = false;
  friend bool operator==(const SdpAttribute&, const SdpAttribute&) = default;
};

// A line kept as it is (i=, u=, e=, p=, b=, z=, k=, r= and unknown types), with its type letter.
struct SdpLine {
  char type = 0;
  std::string value;
  friend bool operator==(const SdpLine&, const SdpLine&) = default;
};

enum class SdpDirection { SendRecv, SendOnly, RecvOnly, Inactive };
std::string_view to_string(SdpDirection direction);

struct SdpRtpMap {  // a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]
  int payload_type = 0;
  std::string encoding;
  uint32_t clock_rate = 0;
  uint32_t channels = 0;  // 0 = not given (1 for audio)
};

struct SdpMedia {  // m=<media> <port>[/<number of ports>] <proto> <fmt> ...
  std::string media;    // "audio", "video", ...
  uint16_t port = 0;
  uint16_t port_count = 0;  // 0 = not given
  std::string proto;        // "RTP/AVP", "RTP/SAVP", "udp", ...
  std::vector<std::string> formats;
  std::optional<SdpConnection> connection;
  std::vector<SdpLine> lines;  // i=, b=, k= in order
  std::vector<SdpAttribute> attributes;

  const SdpAttribute* attribute(std::string_view name) const;  // first one, case-sensitive
  std::vector<SdpRtpMap> rtpmaps() const;                      // well-formed rtpmap lines
  std::optional<std::string> fmtp(int payload_type) const;     // parameters of a=fmtp:<pt>
  std::optional<SdpDirection> direction() const;                // from this media's attributes
  std::optional<uint32_t> ptime() const;
  std::optional<uint16_t> rtcp_port() const;                    // a=rtcp:<port> ...
  friend bool operator==(const SdpMedia&, const SdpMedia&) = default;
};

struct SessionDescription {
  int version = 0;
  SdpOrigin origin;
  std::string session_name = "-";
  std::optional<SdpConnection> connection;
  std::vector<SdpLine> lines;   // session-level i= u= e= p= b= z= k= and unknown types
  std::vector<SdpLine> times;   // t= and their r= lines, in order (at least one t=)
  std::vector<SdpAttribute> attributes;
  std::vector<SdpMedia> media;

  // Effective direction of a media stream: its own attribute, else the session's, else sendrecv.
  SdpDirection direction(const SdpMedia& m) const;
  // Effective connection of a media stream: its own c=, else the session's.
  const SdpConnection* connection_for(const SdpMedia& m) const;
  friend bool operator==(const SessionDescription&, const SessionDescription&) = default;
};

// Parses an SDP body (CRLF or LF line ends). Errors name the line: "SDP line 4: bad m= line".
Result<SessionDescription> parse_sdp(std::string_view text);
// Prints in RFC 4566 5 order with CRLF line ends.
std::string print_sdp(const SessionDescription& sdp);

}  // namespace hapbx::sip
