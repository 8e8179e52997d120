// SDP (RFC 4566): parsing into the structure, the media helpers (rtpmap, fmtp, direction, ptime,
// rtcp), rewriting c=/m= and printing back; malformed descriptions name their line.
#include <gtest/gtest.h>

#include "sip/sdp.h"

namespace hapbx::sip {
namespace {

const char* kOffer =
    "v=0\r\n"
    "o=alice 2890844526 2890844527 IN IP4 198.18.0.100\r\n"
    "s=Call\r\n"
    "i=A call\r\n"
    "c=IN IP4 198.18.0.100\r\n"
    "b=AS:64\r\n"
    "t=0 0\r\n"
    "a=sendrecv\r\n"
    "m=audio 49170 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=ptime:20\r\n"
    "a=rtcp:49171 IN IP4 198.18.0.100\r\n"
    "a=recvonly\r\n"
    "m=video 51372/2 RTP/AVP 99\r\n"
    "c=IN IP6 2001:db8::2\r\n"
    "b=AS:512\r\n"
    "a=rtpmap:99 h263-1998/90000\r\n";

TEST(SdpTest, ParsesOffer) {
  auto sdp = parse_sdp(kOffer);
  ASSERT_TRUE(sdp.ok()) << sdp.error().message;
  EXPECT_EQ(sdp->version, 0);
  EXPECT_EQ(sdp->origin.username, "alice");
  EXPECT_EQ(sdp->origin.session_version, "2890844527");
  EXPECT_EQ(sdp->origin.address, "198.18.0.100");
  EXPECT_EQ(sdp->session_name, "Call");
  ASSERT_TRUE(sdp->connection.has_value());
  EXPECT_EQ(sdp->connection->address, "198.18.0.100");
  ASSERT_EQ(sdp->times.size(), 1u);
  EXPECT_EQ(sdp->times[0].value, "0 0");
  ASSERT_EQ(sdp->media.size(), 2u);

  const SdpMedia& audio = sdp->media[0];
  EXPECT_EQ(audio.media, "audio");
  EXPECT_EQ(audio.port, 49170);
  EXPECT_EQ(audio.port_count, 0);
  EXPECT_EQ(audio.proto, "RTP/AVP");
  EXPECT_EQ(audio.formats, (std::vector<std::string>{"0", "8", "101"}));
  const auto maps = audio.rtpmaps();
  ASSERT_EQ(maps.size(), 3u);
  EXPECT_EQ(maps[2].payload_type, 101);
  EXPECT_EQ(maps[2].encoding, "telephone-event");
  EXPECT_EQ(maps[2].clock_rate, 8000u);
  EXPECT_EQ(audio.fmtp(101), "0-16");
  EXPECT_EQ(audio.fmtp(0), std::nullopt);
  EXPECT_EQ(audio.ptime(), 20u);
  EXPECT_EQ(audio.rtcp_port(), 49171);
  EXPECT_EQ(audio.direction(), SdpDirection::RecvOnly);
  EXPECT_EQ(sdp->direction(audio), SdpDirection::RecvOnly);
  EXPECT_EQ(sdp->connection_for(audio)->address, "198.18.0.100");

  const SdpMedia& video = sdp->media[1];
  EXPECT_EQ(video.port, 51372);
  EXPECT_EQ(video.port_count, 2);
  EXPECT_EQ(video.connection->addr_type, "IP6");
  EXPECT_EQ(sdp->connection_for(video)->address, "2001:db8::2");
  EXPECT_EQ(sdp->direction(video), SdpDirection::SendRecv);  // from the session attribute
  EXPECT_EQ(video.rtpmaps()[0].clock_rate, 90000u);
  EXPECT_EQ(video.ptime(), std::nullopt);
}

TEST(SdpTest, PrintsBackExactlyAndRoundTrips) {
  auto sdp = parse_sdp(kOffer);
  ASSERT_TRUE(sdp.ok());
  EXPECT_EQ(print_sdp(*sdp), kOffer);
  auto again = parse_sdp(print_sdp(*sdp));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *sdp);
}

TEST(SdpTest, RewriteConnectionAndPort) {
  auto sdp = parse_sdp(kOffer);
  ASSERT_TRUE(sdp.ok());
  sdp->connection->address = "198.18.0.10";
  sdp->media[0].port = 10000;
  sdp->media[0].attributes.erase(sdp->media[0].attributes.begin() + 5);  // drop a=rtcp
  const std::string printed = print_sdp(*sdp);
  EXPECT_NE(printed.find("c=IN IP4 198.18.0.10\r\n"), std::string::npos);
  EXPECT_NE(printed.find("m=audio 10000 RTP/AVP 0 8 101\r\n"), std::string::npos);
  EXPECT_EQ(printed.find("a=rtcp"), std::string::npos);
  auto again = parse_sdp(printed);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->media[0].port, 10000);
}

TEST(SdpTest, LfLineEndsAndChannels) {
  auto sdp = parse_sdp(
      "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\nm=audio 0 RTP/AVP 111\n"
      "a=rtpmap:111 opus/48000/2\na=inactive\n\n");
  ASSERT_TRUE(sdp.ok()) << sdp.error().message;
  EXPECT_FALSE(sdp->connection.has_value());
  EXPECT_EQ(sdp->connection_for(sdp->media[0]), nullptr);
  EXPECT_EQ(sdp->media[0].port, 0);  // rejected stream
  EXPECT_EQ(sdp->media[0].rtpmaps()[0].channels, 2u);
  EXPECT_EQ(sdp->direction(sdp->media[0]), SdpDirection::Inactive);
}

TEST(SdpTest, ErrorsNameTheLine) {
  struct Bad {
    const char* text;
    const char* message;
  };
  for (const Bad& b : std::initializer_list<Bad>{
           {"", "empty"},
           {"o=- 1 1 IN IP4 h\r\n", "line 1: must start with v=0"},
           {"v=1\r\n", "line 1"},
           {"v=0\r\no=- 1 1 IN IP4\r\ns=-\r\nt=0 0\r\n", "line 2: bad o= line"},
           {"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4\r\nt=0 0\r\n", "line 4: bad c= line"},
           {"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0\r\n", "line 4: bad t= line"},
           {"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n", "line 5: bad m= port"},
           {"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 1/x RTP/AVP 0\r\n", "line 5: bad m= port count"},
           {"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP\r\n", "line 5: bad m= line"},
           {"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nx\r\n", "line 5: expected"},
           {"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\na=\r\n", "line 5: empty attribute"},
           {"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\na=x\x01y\r\n", "line 5: control"},
           {"v=0\r\no=- 1 1 IN IP4 h\r\nt=0 0\r\n", "missing s="},
           {"v=0\r\ns=-\r\nt=0 0\r\n", "missing o="},
           {"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\n", "missing t="},
           {"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=99999999999999999999999 0\r\n", "line 4: bad t= line"},
       }) {
    auto r = parse_sdp(b.text);
    ASSERT_FALSE(r.ok()) << b.text;
    EXPECT_NE(r.error().message.find(b.message), std::string::npos) << r.error().message << " for " << b.text;
  }
}

TEST(SdpTest, MalformedAttributesAreIgnoredByHelpers) {
  auto sdp = parse_sdp(
      "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
      "a=rtpmap:x PCMU/8000\r\na=rtpmap:0\r\na=rtpmap:0 PCMU\r\na=rtpmap:300 X/1\r\n"
      "a=ptime:abc\r\na=rtcp:99999\r\na=fmtp:0\r\n");
  ASSERT_TRUE(sdp.ok());
  EXPECT_TRUE(sdp->media[0].rtpmaps().empty());
  EXPECT_EQ(sdp->media[0].ptime(), std::nullopt);
  EXPECT_EQ(sdp->media[0].rtcp_port(), std::nullopt);
  EXPECT_EQ(sdp->media[0].fmtp(0), "");
}

}  // namespace
}  // namespace hapbx::sip
