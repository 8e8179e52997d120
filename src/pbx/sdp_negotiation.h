// SDP offer/answer (RFC 3264) for a B2BUA that relays the audio of a call: pure functions on
// parsed descriptions (sip/sdp.h). A call uses them in this order:
//
//   caller's offer --filter_offer(peer B's allow= codecs)--> media_target(offer) = where A wants RTP
//                  --rewrite_for_relay(relay address/port for B, B's origin)--> offer sent to B
//   B's answer     --answer_from(B's answer, offer sent to B)--> media_target(answer) = B's RTP
//                  --rewrite_for_relay(relay address/port for A, A's origin)--> answer sent to A
//
// Only the first audio stream is relayed. Every other m= line (video, a second audio stream,
// T.38 ...) is rejected with port 0 (RFC 3264 6) and keeps its formats, so the m= lines still
// match the offer one for one. The relay carries plain RTP: ICE, DTLS and SDES crypto
// attributes are dropped and RTP/SAVP(F) becomes RTP/AVP(F) on the relayed stream.
//
// Input is hostile (it comes from the network): no m= line, thousands of m= lines or formats,
// payload types out of range, rtpmaps that contradict each other never crash; the cost is
// linear in the size of the description.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "sip/sdp.h"

namespace hapbx::pbx {

using sip::SdpDirection;

// Where the first audio stream of a description wants its RTP, and what it carries.
struct MediaTarget {
  std::string address;  // numeric IPv4 or IPv6 address from c= (media level, else session)
  bool ipv6 = false;
  // 0 = the stream is rejected (in an answer) or disabled (in an offer), RFC 3264 5.1/6/8.2:
  // send nothing; address and codecs are then as written (possibly empty), direction Inactive.
  uint16_t rtp_port = 0;
  // a=rtcp (RFC 3605), else rtp_port + 1 (0 for RTP on 65535); rtp_port with a=rtcp-mux.
  uint16_t rtcp_port = 0;
  bool rtcp_mux = false;
  // As the SDP's author states it: SendOnly means it only sends (so send it nothing). An
  // RFC 2543 hold (c= 0.0.0.0) is folded in: it cannot receive, so SendRecv becomes SendOnly
  // and RecvOnly becomes Inactive.
  SdpDirection direction = SdpDirection::SendRecv;
  std::vector<std::string> codecs;  // Asterisk names in m= order (the negotiated preference)
  bool has_telephone_event = false;
  int telephone_event_pt = -1;      // its payload type (RFC 4733), -1 without
  int first_payload_type = -1;      // payload type of codecs.front(), -1 without codecs
  uint32_t ptime_ms = 0;            // a=ptime, 0 when not given

  bool disabled() const { return rtp_port == 0; }
};

// The offer to send to a peer: the caller's offer with, in its first audio m= line, only the
// formats whose codec the peer allows, ordered by the peer's preference (`allowed`, Asterisk
// names as in sip.conf allow=; Asterisk's default of preferring the callee's order), then every
// telephone-event format as offered; rtpmap, fmtp and rtcp-fb lines of removed formats are
// dropped. A disabled (port 0) audio stream is left as it is. Errors: no audio stream, or no
// codec in common: "no common codec: offer has PCMU,G729; peer allows alaw" (answer 488).
Result<sip::SessionDescription> filter_offer(const sip::SessionDescription& offer,
                                             const std::vector<std::string>& allowed);

// Where the first audio stream wants RTP. Errors: no audio stream; no c= for it (unless the
// stream is disabled); a c= that is not IN IP4/IP6 with a numeric unicast address of that
// family (multicast is refused); a protocol that is not RTP.
Result<MediaTarget> media_target(const sip::SessionDescription& sdp);

// The origin (o=) a B2BUA leg puts in the descriptions it sends. RFC 3264 8: the session id
// stays for the whole session; the version goes up by one each time the body sent changes and
// stays when the same body is sent again. Fill username (optional), session_id (numeric, e.g.
// from a random number), version (the first one sent) and address once per leg.
struct SdpOriginState {
  std::string username = "hapbx";
  std::string session_id;
  uint64_t version = 0;
  std::string address;  // IPv4 or IPv6 (the o= address type follows)
  std::optional<std::string> last_body;  // print_sdp() of what was last sent on this leg
};

// Puts the leg's origin into `sdp`, bumping the version when the body differs from the last
// one; then records the body. Send print_sdp(sdp) afterwards.
void apply_origin(sip::SessionDescription& sdp, SdpOriginState& origin);

// The description to send on the other leg, media through the relay: c= lines (session and
// media level; added at session level when absent) name `relay_address` (IP4 or IP6 from its
// form); the first audio m= port becomes `relay_rtp_port` (a disabled stream stays 0) and
// every other m= port 0; a=rtcp and a=rtcp-mux are dropped (RTCP goes to the relay's port + 1
// by RFC 3550's default); ICE, DTLS, SDES/MIKEY and BUNDLE attributes are dropped; the
// direction is kept, an RFC 2543 hold (c= 0.0.0.0) being written as the equivalent a=sendonly
// or a=inactive since c= no longer says it. Then apply_origin().
sip::SessionDescription rewrite_for_relay(const sip::SessionDescription& sdp,
                                          std::string_view relay_address,
                                          uint16_t relay_rtp_port, SdpOriginState& origin);

// Checks a peer's answer against the offer we sent it (RFC 3264 6): the same number of m=
// lines of the same media types (else an error); streams we offered with port 0 stay port 0;
// the first audio stream keeps only formats whose codec (or telephone-event) was in our offer
// for that stream, matched by encoding name, clock rate and channels (the answerer may use
// other payload type numbers), with their rtpmap/fmtp/rtcp-fb. Error when an accepted audio
// stream is left without a codec: "answer has no codec we offered: answer has G729; offer had
// PCMU,PCMA". A rejected (port 0) audio stream is returned as it is.
Result<sip::SessionDescription> answer_from(const sip::SessionDescription& answer_in,
                                            const sip::SessionDescription& our_offer);

// An offer of our own, for when the caller sent none (a late offer, RFC 3261 13.2.1): one audio
// stream at `address`:`port` with `codecs` (Asterisk names, preference order; unknown and video
// ones skipped; dynamic ones numbered from 96) and telephone-event 101. Error when no audio
// codec is left.
Result<sip::SessionDescription> offer_for_codecs(const std::vector<std::string>& codecs,
                                                 std::string_view address, uint16_t port);

// Hold (RFC 3264 8.4): the first audio stream is sendonly or inactive, or its c= address is
// 0.0.0.0 (RFC 2543 style). False without an (enabled) audio stream.
bool is_hold(const sip::SessionDescription& sdp);

// The direction an answer takes for an offered one (RFC 3264 6.1): sendonly <-> recvonly,
// sendrecv and inactive stay.
SdpDirection answer_direction(SdpDirection offered);

}  // namespace hapbx::pbx
