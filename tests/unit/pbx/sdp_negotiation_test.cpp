// RFC 3264 offer/answer for the B2BUA: codec intersection in the callee's preference order,
// telephone-event kept, other streams rejected with port 0, the "no common codec" text, media
// targets (session/media c=, a=rtcp, rtcp-mux, IPv6, port 0, bad addresses), the relay rewrite
// (c= lines, ports, a=rtcp, ICE/DTLS/crypto dropped, RFC 2543 hold kept as a direction), origin
// version rules, answers carrying formats we never offered, hold detection, hostile input.
#include "pbx/sdp_negotiation.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace hapbx::pbx {
namespace {

using sip::SdpAttribute;
using sip::SdpMedia;
using sip::SessionDescription;

SessionDescription parse(const std::string& text) {
  auto sdp = sip::parse_sdp(text);
  EXPECT_TRUE(sdp.ok()) << sdp.error().message;
  return sdp.ok() ? std::move(sdp.value()) : SessionDescription{};
}

const char* kHead =
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 198.18.0.100\r\n"
    "s=-\r\n"
    "c=IN IP4 198.18.0.100\r\n"
    "t=0 0\r\n";

// A phone's offer: PCMU, G729, PCMA, telephone-event, with fmtps, plus a video stream.
SessionDescription phone_offer() {
  return parse(std::string(kHead) +
               "m=audio 49170 RTP/AVP 0 18 8 101\r\n"
               "a=rtpmap:0 PCMU/8000\r\n"
               "a=rtpmap:18 G729/8000\r\n"
               "a=fmtp:18 annexb=no\r\n"
               "a=rtpmap:8 PCMA/8000\r\n"
               "a=rtpmap:101 telephone-event/8000\r\n"
               "a=fmtp:101 0-16\r\n"
               "a=ptime:20\r\n"
               "a=sendrecv\r\n"
               "m=video 51372 RTP/AVP 99\r\n"
               "a=rtpmap:99 H264/90000\r\n");
}

bool has_attribute(const SdpMedia& m, const std::string& name, const std::string& value) {
  return std::any_of(m.attributes.begin(), m.attributes.end(), [&](const SdpAttribute& a) {
    return a.name == name && a.value == value;
  });
}

bool has_attribute_named(const std::vector<SdpAttribute>& attrs, const std::string& name) {
  return std::any_of(attrs.begin(), attrs.end(),
                     [&](const SdpAttribute& a) { return a.name == name; });
}

// ---- filter_offer -------------------------------------------------------------------------------

TEST(SdpFilterOffer, KeepsAllowedCodecsInThePeersOrderPlusTelephoneEvent) {
  auto out = filter_offer(phone_offer(), {"alaw", "ulaw"});
  ASSERT_TRUE(out.ok()) << out.error().message;
  const SdpMedia& audio = out->media[0];
  EXPECT_EQ(audio.formats, (std::vector<std::string>{"8", "0", "101"}));
  EXPECT_TRUE(has_attribute(audio, "rtpmap", "8 PCMA/8000"));
  EXPECT_TRUE(has_attribute(audio, "rtpmap", "0 PCMU/8000"));
  EXPECT_TRUE(has_attribute(audio, "rtpmap", "101 telephone-event/8000"));
  EXPECT_TRUE(has_attribute(audio, "fmtp", "101 0-16"));
  EXPECT_FALSE(has_attribute(audio, "rtpmap", "18 G729/8000"));  // removed format's lines go
  EXPECT_FALSE(has_attribute(audio, "fmtp", "18 annexb=no"));
  EXPECT_TRUE(has_attribute(audio, "ptime", "20"));  // others stay
  EXPECT_EQ(audio.port, 49170);
}

TEST(SdpFilterOffer, OtherStreamsAreRejectedWithTheirFormatsKept) {
  auto out = filter_offer(phone_offer(), {"ulaw"});
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->media.size(), 2u);
  EXPECT_EQ(out->media[1].port, 0);
  EXPECT_EQ(out->media[1].formats, (std::vector<std::string>{"99"}));
  EXPECT_EQ(out->media[0].formats, (std::vector<std::string>{"0", "101"}));
}

TEST(SdpFilterOffer, SecondAudioStreamIsRejectedToo) {
  SessionDescription offer = parse(std::string(kHead) + "m=audio 4000 RTP/AVP 0\r\n"
                                                        "m=audio 4002 RTP/AVP 0\r\n");
  auto out = filter_offer(offer, {"ulaw"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->media[0].port, 4000);
  EXPECT_EQ(out->media[1].port, 0);
}

TEST(SdpFilterOffer, NoCommonCodecIsAnErrorNamingBothSides) {
  SessionDescription offer = parse(std::string(kHead) + "m=audio 4000 RTP/AVP 0 18 101\r\n"
                                                        "a=rtpmap:101 telephone-event/8000\r\n");
  auto out = filter_offer(offer, {"alaw"});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message, "no common codec: offer has PCMU,G729; peer allows alaw");
  auto none = filter_offer(offer, {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message, "no common codec: offer has PCMU,G729; peer allows nothing");
}

TEST(SdpFilterOffer, TelephoneEventAloneIsNoCodec) {
  SessionDescription offer = parse(std::string(kHead) + "m=audio 4000 RTP/AVP 101\r\n"
                                                        "a=rtpmap:101 telephone-event/8000\r\n");
  auto out = filter_offer(offer, {"ulaw"});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message, "no common codec: offer has nothing; peer allows ulaw");
}

TEST(SdpFilterOffer, DynamicCodecsAreMatchedByRtpmap) {
  SessionDescription offer = parse(std::string(kHead) +
                                   "m=audio 4000 RTP/AVP 96 97 98 0\r\n"
                                   "a=rtpmap:96 opus/48000/2\r\n"
                                   "a=fmtp:96 useinbandfec=1\r\n"
                                   "a=rtcp-fb:96 nack\r\n"
                                   "a=rtcp-fb:* trr-int 100\r\n"
                                   "a=rtpmap:97 speex/16000\r\n"
                                   "a=rtpmap:98 iLBC/8000\r\n");
  auto out = filter_offer(offer, {"ilbc", "opus", "speex"});
  ASSERT_TRUE(out.ok()) << out.error().message;
  const SdpMedia& m = out->media[0];
  EXPECT_EQ(m.formats, (std::vector<std::string>{"98", "96"}));  // speex/16000 is speex16
  EXPECT_TRUE(has_attribute(m, "fmtp", "96 useinbandfec=1"));
  EXPECT_TRUE(has_attribute(m, "rtcp-fb", "96 nack"));
  EXPECT_TRUE(has_attribute(m, "rtcp-fb", "* trr-int 100"));
  EXPECT_FALSE(has_attribute(m, "rtpmap", "97 speex/16000"));
}

TEST(SdpFilterOffer, UnknownDynamicTypesAndGarbageFormatsAreDropped) {
  SessionDescription offer = parse(std::string(kHead) +
                                   "m=audio 4000 RTP/AVP 0 96 abc 300 0 -1\r\n");
  auto out = filter_offer(offer, {"ulaw", "opus"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->media[0].formats, (std::vector<std::string>{"0"}));  // and only once
}

TEST(SdpFilterOffer, FormatsKeepTheirSpelling) {
  SessionDescription offer = parse(std::string(kHead) + "m=audio 4000 RTP/AVP 000 08\r\n");
  auto out = filter_offer(offer, {"alaw", "ulaw"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->media[0].formats, (std::vector<std::string>{"08", "000"}));
}

TEST(SdpFilterOffer, NoAudioStreamIsAnError) {
  SessionDescription offer = parse(std::string(kHead) + "m=video 4000 RTP/AVP 99\r\n");
  auto out = filter_offer(offer, {"ulaw"});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message, "offer has no audio stream (no m=audio line)");
  EXPECT_FALSE(filter_offer(parse(kHead), {"ulaw"}).ok());
}

TEST(SdpFilterOffer, DisabledAudioIsLeftAsItIs) {
  SessionDescription offer = parse(std::string(kHead) + "m=audio 0 RTP/AVP 18\r\n");
  auto out = filter_offer(offer, {"ulaw"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->media[0].port, 0);
  EXPECT_EQ(out->media[0].formats, (std::vector<std::string>{"18"}));
}

// ---- media_target -------------------------------------------------------------------------------

TEST(SdpMediaTarget, FromSessionLevelConnection) {
  auto t = media_target(phone_offer());
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->address, "198.18.0.100");
  EXPECT_FALSE(t->ipv6);
  EXPECT_EQ(t->rtp_port, 49170);
  EXPECT_EQ(t->rtcp_port, 49171);
  EXPECT_FALSE(t->rtcp_mux);
  EXPECT_EQ(t->direction, SdpDirection::SendRecv);
  EXPECT_EQ(t->codecs, (std::vector<std::string>{"ulaw", "g729", "alaw"}));
  EXPECT_EQ(t->first_payload_type, 0);
  EXPECT_TRUE(t->has_telephone_event);
  EXPECT_EQ(t->telephone_event_pt, 101);
  EXPECT_EQ(t->ptime_ms, 20u);
  EXPECT_FALSE(t->disabled());
}

TEST(SdpMediaTarget, MediaLevelConnectionWinsAndRtcpAttributeIsUsed) {
  SessionDescription sdp = parse(std::string(kHead) +
                                 "m=audio 5004 RTP/AVP 8 0\r\n"
                                 "c=IN IP4 198.18.0.101\r\n"
                                 "a=rtcp:6000 IN IP4 198.18.0.101\r\n"
                                 "a=sendonly\r\n");
  auto t = media_target(sdp);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->address, "198.18.0.101");
  EXPECT_EQ(t->rtcp_port, 6000);
  EXPECT_EQ(t->direction, SdpDirection::SendOnly);
  EXPECT_EQ(t->codecs, (std::vector<std::string>{"alaw", "ulaw"}));
  EXPECT_EQ(t->first_payload_type, 8);
  EXPECT_FALSE(t->has_telephone_event);
  EXPECT_EQ(t->telephone_event_pt, -1);
}

TEST(SdpMediaTarget, RtcpMuxUsesTheRtpPort) {
  SessionDescription sdp = parse(std::string(kHead) + "m=audio 5004 RTP/AVP 0\r\na=rtcp-mux\r\n");
  auto t = media_target(sdp);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->rtcp_mux);
  EXPECT_EQ(t->rtcp_port, 5004);
}

TEST(SdpMediaTarget, Ipv6) {
  SessionDescription sdp = parse(
      "v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\n"
      "m=audio 5004 RTP/AVP 0\r\n");
  auto t = media_target(sdp);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_TRUE(t->ipv6);
  EXPECT_EQ(t->address, "2001:db8::1");
}

TEST(SdpMediaTarget, PortZeroIsADisabledStreamNotAnError) {
  SessionDescription sdp = parse("v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=-\r\nt=0 0\r\n"
                                 "m=audio 0 RTP/AVP 0\r\n");  // no c= needed then
  auto t = media_target(sdp);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_TRUE(t->disabled());
  EXPECT_EQ(t->rtp_port, 0);
  EXPECT_EQ(t->rtcp_port, 0);
  EXPECT_EQ(t->direction, SdpDirection::Inactive);
}

TEST(SdpMediaTarget, Rfc2543HoldFoldsIntoTheDirection) {
  SessionDescription sdp = parse(
      "v=0\r\no=- 1 2 IN IP4 198.18.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
      "m=audio 5004 RTP/AVP 0\r\n");
  auto t = media_target(sdp);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->address, "0.0.0.0");
  EXPECT_EQ(t->direction, SdpDirection::SendOnly);  // it cannot receive
  sdp.media[0].attributes.push_back(SdpAttribute{"recvonly", "", false});
  EXPECT_EQ(media_target(sdp)->direction, SdpDirection::Inactive);
}

TEST(SdpMediaTarget, Errors) {
  const std::string head = "v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=-\r\nt=0 0\r\n";
  auto error = [](const std::string& text) {
    auto sdp = sip::parse_sdp(text);
    EXPECT_TRUE(sdp.ok());
    if (!sdp.ok()) return std::string("(unparsed)");
    auto t = media_target(sdp.value());
    EXPECT_FALSE(t.ok());
    return t.ok() ? std::string("(ok)") : t.error().message;
  };
  EXPECT_EQ(error(head), "SDP has no audio stream (no m=audio line)");
  EXPECT_EQ(error(head + "m=audio 5004 RTP/AVP 0\r\n"),
            "SDP audio stream has no connection address (no c= line at session or media level)");
  EXPECT_EQ(error(head + "m=audio 5004 RTP/AVP 0\r\nc=IN IP4 pbx.example.com\r\n"),
            "SDP c= address 'pbx.example.com' is not a numeric unicast IP4 address");
  EXPECT_EQ(error(head + "m=audio 5004 RTP/AVP 0\r\nc=IN IP4 2001:db8::1\r\n"),
            "SDP c= address '2001:db8::1' is not a numeric unicast IP4 address");
  EXPECT_EQ(error(head + "m=audio 5004 RTP/AVP 0\r\nc=IN IP4 224.2.1.1/127\r\n"),
            "SDP c= address '224.2.1.1/127' is not a numeric unicast IP4 address (multicast is "
            "not relayed)");
  EXPECT_EQ(error(head + "m=audio 5004 RTP/AVP 0\r\nc=IN IP6 ff02::1\r\n"),
            "SDP c= address 'ff02::1' is multicast; only unicast RTP is relayed");
  EXPECT_EQ(error(head + "m=audio 5004 RTP/AVP 0\r\nc=ATM NSAP 47.0091\r\n"),
            "SDP c= network type 'ATM' is not IN");
  EXPECT_EQ(error(head + "m=audio 5004 RTP/AVP 0\r\nc=IN IPX 10.0.0.1\r\n"),
            "SDP c= address type 'IPX' is not IP4 or IP6");
  EXPECT_EQ(error(head + "m=audio 5004 udp 0\r\nc=IN IP4 198.18.0.1\r\n"),
            "SDP audio stream uses protocol 'udp', not RTP (expected RTP/AVP)");
}

// ---- rewrite_for_relay --------------------------------------------------------------------------

SdpOriginState leg_origin() {
  SdpOriginState o;
  o.session_id = "4242";
  o.version = 1;
  o.address = "198.18.0.10";
  return o;
}

TEST(SdpRewrite, ConnectionPortsAndOrigin) {
  SessionDescription in = parse(std::string(kHead) +
                                "m=audio 49170 RTP/AVP 0 101\r\n"
                                "c=IN IP4 198.18.0.100\r\n"
                                "a=rtpmap:101 telephone-event/8000\r\n"
                                "a=rtcp:49171\r\n"
                                "a=sendrecv\r\n"
                                "m=video 51372 RTP/AVP 99\r\n"
                                "c=IN IP4 198.18.0.100\r\n");
  SdpOriginState origin = leg_origin();
  SessionDescription out = rewrite_for_relay(in, "198.18.0.10", 20000, origin);
  ASSERT_TRUE(out.connection);
  EXPECT_EQ(out.connection->address, "198.18.0.10");
  EXPECT_EQ(out.connection->addr_type, "IP4");
  ASSERT_TRUE(out.media[0].connection);
  EXPECT_EQ(out.media[0].connection->address, "198.18.0.10");
  EXPECT_EQ(out.media[1].connection->address, "198.18.0.10");  // nothing of the phone leaks
  EXPECT_EQ(out.media[0].port, 20000);
  EXPECT_EQ(out.media[1].port, 0);
  EXPECT_FALSE(has_attribute_named(out.media[0].attributes, "rtcp"));
  EXPECT_TRUE(has_attribute_named(out.media[0].attributes, "sendrecv"));
  EXPECT_EQ(out.media[0].formats, in.media[0].formats);
  EXPECT_EQ(out.origin.username, "hapbx");
  EXPECT_EQ(out.origin.session_id, "4242");
  EXPECT_EQ(out.origin.session_version, "1");
  EXPECT_EQ(out.origin.address, "198.18.0.10");
  const std::string body = sip::print_sdp(out);
  EXPECT_EQ(body.find("198.18.0.100"), std::string::npos) << body;
  EXPECT_EQ(origin.last_body, body);
}

TEST(SdpRewrite, IceDtlsAndCryptoAreDroppedAndSavpBecomesAvp) {
  SessionDescription in = parse(std::string(kHead) +
                                "a=ice-lite\r\n"
                                "a=group:BUNDLE 0 1\r\n"
                                "a=fingerprint:sha-256 AB:CD\r\n"
                                "m=audio 49170 RTP/SAVPF 111\r\n"
                                "a=rtpmap:111 opus/48000/2\r\n"
                                "a=ice-ufrag:abcd\r\n"
                                "a=ice-pwd:secretsecretsecretsecret\r\n"
                                "a=candidate:1 1 UDP 2130706431 198.18.0.100 49170 typ host\r\n"
                                "a=end-of-candidates\r\n"
                                "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc\r\n"
                                "a=setup:actpass\r\n"
                                "a=rtcp-mux\r\n"
                                "a=mid:0\r\n"
                                "a=ssrc:1234 cname:x\r\n");
  SdpOriginState origin = leg_origin();
  SessionDescription out = rewrite_for_relay(in, "198.18.0.10", 20000, origin);
  EXPECT_TRUE(out.attributes.empty());
  const SdpMedia& m = out.media[0];
  EXPECT_EQ(m.proto, "RTP/AVPF");
  for (const char* name : {"ice-ufrag", "ice-pwd", "candidate", "end-of-candidates", "crypto",
                           "setup", "rtcp-mux"}) {
    EXPECT_FALSE(has_attribute_named(m.attributes, name)) << name;
  }
  EXPECT_TRUE(has_attribute(m, "rtpmap", "111 opus/48000/2"));
  EXPECT_TRUE(has_attribute(m, "mid", "0"));
  EXPECT_TRUE(has_attribute(m, "ssrc", "1234 cname:x"));
  EXPECT_EQ(out.media[0].port, 20000);

  SessionDescription savp = parse(std::string(kHead) + "m=audio 4000 RTP/SAVP 0\r\n");
  EXPECT_EQ(rewrite_for_relay(savp, "198.18.0.10", 20000, origin).media[0].proto, "RTP/AVP");
}

TEST(SdpRewrite, Ipv6RelayAddressAndMissingConnectionIsAdded) {
  SessionDescription in = parse("v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=-\r\nt=0 0\r\n"
                                "m=audio 4000 RTP/AVP 0\r\n");
  SdpOriginState origin = leg_origin();
  origin.address = "2001:db8::10";
  SessionDescription out = rewrite_for_relay(in, "2001:db8::10", 30000, origin);
  ASSERT_TRUE(out.connection);
  EXPECT_EQ(out.connection->addr_type, "IP6");
  EXPECT_EQ(out.connection->address, "2001:db8::10");
  EXPECT_EQ(out.origin.addr_type, "IP6");
  auto t = media_target(out);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->rtp_port, 30000);
  EXPECT_EQ(t->rtcp_port, 30001);
}

TEST(SdpRewrite, Rfc2543HoldBecomesADirectionAttribute) {
  SessionDescription in = parse("v=0\r\no=- 1 2 IN IP4 198.18.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\n"
                                "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n");
  ASSERT_TRUE(is_hold(in));
  SdpOriginState origin = leg_origin();
  SessionDescription out = rewrite_for_relay(in, "198.18.0.10", 20000, origin);
  EXPECT_EQ(out.connection->address, "198.18.0.10");
  EXPECT_EQ(out.direction(out.media[0]), SdpDirection::SendOnly);
  EXPECT_FALSE(has_attribute_named(out.media[0].attributes, "sendrecv"));
  EXPECT_TRUE(is_hold(out));
}

TEST(SdpRewrite, DisabledAudioStaysDisabled) {
  SessionDescription in = parse(std::string(kHead) + "m=audio 0 RTP/AVP 0\r\n");
  SdpOriginState origin = leg_origin();
  EXPECT_EQ(rewrite_for_relay(in, "198.18.0.10", 20000, origin).media[0].port, 0);
}

TEST(SdpOrigin, VersionGoesUpOnlyWhenTheBodyChanges) {
  SdpOriginState origin = leg_origin();
  SessionDescription offer = phone_offer();
  SessionDescription first = rewrite_for_relay(offer, "198.18.0.10", 20000, origin);
  EXPECT_EQ(first.origin.session_version, "1");
  // The same description again (a retransmission, a re-INVITE without change): same version.
  SessionDescription again = rewrite_for_relay(offer, "198.18.0.10", 20000, origin);
  EXPECT_EQ(again.origin.session_version, "1");
  EXPECT_EQ(sip::print_sdp(again), sip::print_sdp(first));
  // The phone's own o= version changing alone does not change what we send.
  offer.origin.session_version = "2890844527";
  EXPECT_EQ(rewrite_for_relay(offer, "198.18.0.10", 20000, origin).origin.session_version, "1");
  // Hold: the body changes, so the version goes up, once.
  offer.media[0].attributes.push_back(SdpAttribute{"sendonly", "", false});
  std::erase_if(offer.media[0].attributes,
                [](const SdpAttribute& a) { return a.name == "sendrecv"; });
  SessionDescription hold = rewrite_for_relay(offer, "198.18.0.10", 20000, origin);
  EXPECT_EQ(hold.origin.session_version, "2");
  EXPECT_EQ(rewrite_for_relay(offer, "198.18.0.10", 20000, origin).origin.session_version, "2");
  // A new relay port is a change too.
  EXPECT_EQ(rewrite_for_relay(offer, "198.18.0.10", 20002, origin).origin.session_version, "3");
  EXPECT_EQ(hold.origin.session_id, "4242");  // the session id never changes
}

// ---- answer_from --------------------------------------------------------------------------------

SessionDescription our_offer() {
  auto filtered = filter_offer(phone_offer(), {"ulaw", "alaw"});
  EXPECT_TRUE(filtered.ok());
  return filtered.ok() ? filtered.value() : SessionDescription{};
}

TEST(SdpAnswerFrom, KeepsOnlyOfferedFormats) {
  SessionDescription answer = parse(std::string(kHead) +
                                    "m=audio 30000 RTP/AVP 18 8 0 100\r\n"
                                    "a=rtpmap:18 G729/8000\r\n"
                                    "a=fmtp:18 annexb=no\r\n"
                                    "a=rtpmap:100 telephone-event/8000\r\n"
                                    "a=fmtp:100 0-15\r\n"
                                    "m=video 0 RTP/AVP 99\r\n");
  auto out = answer_from(answer, our_offer());
  ASSERT_TRUE(out.ok()) << out.error().message;
  const SdpMedia& m = out->media[0];
  // G729 was not in our offer; telephone-event was, under another number (allowed).
  EXPECT_EQ(m.formats, (std::vector<std::string>{"8", "0", "100"}));
  EXPECT_FALSE(has_attribute(m, "rtpmap", "18 G729/8000"));
  EXPECT_FALSE(has_attribute(m, "fmtp", "18 annexb=no"));
  EXPECT_TRUE(has_attribute(m, "fmtp", "100 0-15"));
}

TEST(SdpAnswerFrom, NothingOfferedLeftIsAnError) {
  SessionDescription answer = parse(std::string(kHead) +
                                    "m=audio 30000 RTP/AVP 18 101\r\n"
                                    "a=rtpmap:101 telephone-event/8000\r\n"
                                    "m=video 0 RTP/AVP 99\r\n");
  auto out = answer_from(answer, our_offer());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message,
            "answer has no codec we offered: answer has G729; offer had PCMU,PCMA");
}

TEST(SdpAnswerFrom, StreamCountAndTypesMustMatch) {
  SessionDescription short_answer = parse(std::string(kHead) + "m=audio 30000 RTP/AVP 0\r\n");
  auto out = answer_from(short_answer, our_offer());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message,
            "answer has 1 m= lines, our offer had 2 (RFC 3264 6: one per offered stream)");
  SessionDescription swapped = parse(std::string(kHead) + "m=video 0 RTP/AVP 99\r\n"
                                                          "m=audio 30000 RTP/AVP 0\r\n");
  auto bad = answer_from(swapped, our_offer());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "answer m= line 1 is 'video', our offer had 'audio' there");
}

TEST(SdpAnswerFrom, StreamsWeRejectedStayRejected) {
  SessionDescription answer = parse(std::string(kHead) + "m=audio 30000 RTP/AVP 0\r\n"
                                                         "m=video 40000 RTP/AVP 99\r\n");
  auto out = answer_from(answer, our_offer());
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->media[1].port, 0);
}

TEST(SdpAnswerFrom, RejectedAudioIsPassedOn) {
  SessionDescription answer = parse(std::string(kHead) + "m=audio 0 RTP/AVP 18\r\n"
                                                         "m=video 0 RTP/AVP 99\r\n");
  auto out = answer_from(answer, our_offer());
  ASSERT_TRUE(out.ok()) << out.error().message;
  auto t = media_target(*out);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->disabled());
}

// ---- hold and directions ------------------------------------------------------------------------

TEST(SdpHold, Detection) {
  auto with = [](const std::string& media_lines) {
    return parse(std::string(kHead) + "m=audio 4000 RTP/AVP 0\r\n" + media_lines);
  };
  EXPECT_FALSE(is_hold(with("")));
  EXPECT_FALSE(is_hold(with("a=sendrecv\r\n")));
  EXPECT_FALSE(is_hold(with("a=recvonly\r\n")));
  EXPECT_TRUE(is_hold(with("a=sendonly\r\n")));
  EXPECT_TRUE(is_hold(with("a=inactive\r\n")));
  EXPECT_TRUE(is_hold(with("c=IN IP4 0.0.0.0\r\n")));
  // A session-level direction applies to the stream.
  EXPECT_TRUE(is_hold(parse(std::string(kHead) + "a=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n")));
  EXPECT_FALSE(is_hold(parse(std::string(kHead) + "m=audio 0 RTP/AVP 0\r\na=sendonly\r\n")));
  EXPECT_FALSE(is_hold(parse(kHead)));
}

TEST(SdpHold, AnswerDirections) {
  EXPECT_EQ(answer_direction(SdpDirection::SendOnly), SdpDirection::RecvOnly);
  EXPECT_EQ(answer_direction(SdpDirection::RecvOnly), SdpDirection::SendOnly);
  EXPECT_EQ(answer_direction(SdpDirection::SendRecv), SdpDirection::SendRecv);
  EXPECT_EQ(answer_direction(SdpDirection::Inactive), SdpDirection::Inactive);
}

// ---- hostile input ------------------------------------------------------------------------------

TEST(SdpHostile, ManyStreamsAndHugeFormatListsAreHandledInLinearTime) {
  std::string text = kHead;
  for (int i = 0; i < 2000; ++i) text += "m=video " + std::to_string(1000 + i) + " RTP/AVP 99\r\n";
  text += "m=audio 4000 RTP/AVP";
  for (int i = 0; i < 50000; ++i) text += ' ' + std::to_string(i % 200);
  text += "\r\n";
  for (int i = 0; i < 20000; ++i) text += "a=rtpmap:" + std::to_string(i % 128) + " PCMA/8000\r\n";
  for (int i = 0; i < 20000; ++i) text += "a=fmtp:" + std::to_string(i % 300) + " x\r\n";
  SessionDescription sdp = parse(text);
  ASSERT_EQ(sdp.media.size(), 2001u);
  auto out = filter_offer(sdp, {"alaw", "ulaw"});
  ASSERT_TRUE(out.ok()) << out.error().message;
  // Every type 0..127 is "PCMA" by its first rtpmap; each kept once.
  EXPECT_EQ(out->media[2000].formats.size(), 128u);
  for (size_t i = 0; i < 2000; ++i) ASSERT_EQ(out->media[i].port, 0);
  EXPECT_TRUE(media_target(*out).ok());
  SdpOriginState origin = leg_origin();
  SessionDescription relayed = rewrite_for_relay(*out, "198.18.0.10", 20000, origin);
  EXPECT_EQ(relayed.media[2000].port, 20000);
  EXPECT_TRUE(answer_from(relayed, *out).ok());
  EXPECT_FALSE(is_hold(relayed));
}

TEST(SdpHostile, OddButParseableDescriptionsNeverCrash) {
  const char* cases[] = {
      "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n",
      "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 65535 RTP/AVP 0\r\nc=IN IP4 1.2.3.4\r\n",
      "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 127 128 00000 0\r\n"
      "a=rtpmap:127 \r\na=rtpmap: x\r\na=fmtp:\r\na=rtcp:99999\r\na=rtcp-fb:\r\n",
      "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 5/2 RTP/AVP 0\r\nc=IN IP4 "
      "0.0.0.0/255/3\r\na=inactive\r\na=sendonly\r\n",
  };
  for (const char* text : cases) {
    SessionDescription sdp = parse(text);
    (void)filter_offer(sdp, {"ulaw"});
    (void)media_target(sdp);
    (void)is_hold(sdp);
    (void)answer_from(sdp, sdp);
    SdpOriginState origin = leg_origin();
    const SessionDescription out = rewrite_for_relay(sdp, "198.18.0.10", 20000, origin);
    EXPECT_TRUE(sip::parse_sdp(sip::print_sdp(out)).ok()) << text;
  }
  // RTP on 65535 has no port above it for RTCP: rtcp_port 0 (none), not a wrapped value.
  auto t = media_target(parse(cases[1]));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->rtp_port, 65535);
  EXPECT_EQ(t->rtcp_port, 0);
  EXPECT_FALSE(t->disabled());
}

// Our own offer for a late-offer INVITE: static payload types as RFC 3551 numbers them, dynamic
// ones from 96, video and unknown names skipped, telephone-event 101; it reads back as a
// target with the codecs in order.
TEST(SdpOwnOffer, OffersTheAllowedAudioCodecsInOrder) {
  auto sdp = offer_for_codecs({"alaw", "opus", "h264", "nonsense", "ulaw"}, "198.18.0.10", 10000);
  ASSERT_TRUE(sdp.ok()) << sdp.error().message;
  ASSERT_EQ(sdp->media.size(), 1u);
  EXPECT_EQ(sdp->media[0].formats, (std::vector<std::string>{"8", "96", "0", "101"}));
  auto target = media_target(*sdp);
  ASSERT_TRUE(target.ok()) << target.error().message;
  EXPECT_EQ(target->address, "198.18.0.10");
  EXPECT_EQ(target->rtp_port, 10000);
  EXPECT_EQ(target->codecs, (std::vector<std::string>{"alaw", "opus", "ulaw"}));
  EXPECT_TRUE(target->has_telephone_event);
  auto printed = sip::parse_sdp(sip::print_sdp(*sdp));
  ASSERT_TRUE(printed.ok()) << printed.error().message;
}

TEST(SdpOwnOffer, NoAudioCodecIsAnError) {
  auto sdp = offer_for_codecs({"h264", "nonsense"}, "2001:db8::1", 10000);
  ASSERT_FALSE(sdp.ok());
  EXPECT_NE(sdp.error().message.find("no audio codec"), std::string::npos);
}

}  // namespace
}  // namespace hapbx::pbx
