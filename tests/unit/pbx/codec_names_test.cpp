// Asterisk codec names <-> RTP payload formats: static payload types of RFC 3551, rtpmap
// encoding names (any case), clock rates that tell speex from speex16, opus with and without
// "/2", and every sip.conf `allow=all` codec being in the table.
#include "pbx/codec_names.h"

#include <gtest/gtest.h>

#include <set>

#include "pbx/sip_config_values.h"

namespace hapbx::pbx {
namespace {

TEST(CodecNames, StaticPayloadTypes) {
  const std::pair<int, std::string_view> expected[] = {
      {0, "ulaw"}, {3, "gsm"}, {4, "g723"}, {5, "adpcm"}, {7, "lpc10"},
      {8, "alaw"}, {9, "g722"}, {18, "g729"}, {31, "h261"}, {34, "h263"}};
  for (const auto& [pt, name] : expected) {
    const CodecInfo* c = codec_for_static_pt(pt);
    ASSERT_NE(c, nullptr) << pt;
    EXPECT_EQ(c->name, name);
    EXPECT_EQ(find_codec(name)->static_pt, pt);
  }
  for (int pt : {-1, 1, 2, 13, 35, 96, 101, 127, 1000}) {
    EXPECT_EQ(codec_for_static_pt(pt), nullptr) << pt;
  }
}

TEST(CodecNames, RtpmapEncodingsAnyCase) {
  EXPECT_EQ(codec_for_rtpmap("PCMU", 8000)->name, "ulaw");
  EXPECT_EQ(codec_for_rtpmap("pcma", 8000, 1)->name, "alaw");
  EXPECT_EQ(codec_for_rtpmap("G722", 8000)->name, "g722");
  EXPECT_EQ(codec_for_rtpmap("ilbc", 8000)->name, "ilbc");
  EXPECT_EQ(codec_for_rtpmap("iLBC", 8000)->static_pt, -1);
  EXPECT_EQ(codec_for_rtpmap("speex", 8000)->name, "speex");
  EXPECT_EQ(codec_for_rtpmap("SPEEX", 16000)->name, "speex16");
  EXPECT_EQ(codec_for_rtpmap("speex", 32000)->name, "speex32");
  EXPECT_EQ(codec_for_rtpmap("G726-32", 8000)->name, "g726");
  EXPECT_EQ(codec_for_rtpmap("L16", 16000)->name, "slin16");
  EXPECT_EQ(codec_for_rtpmap("H264", 90000)->kind, CodecKind::Video);
  EXPECT_EQ(codec_for_rtpmap("PCMU", 16000), nullptr);  // the clock rate must match
  EXPECT_EQ(codec_for_rtpmap("PCMU", 8000, 2), nullptr);
  EXPECT_EQ(codec_for_rtpmap("telephone-event", 8000), nullptr);  // not a codec
  EXPECT_EQ(codec_for_rtpmap("", 8000), nullptr);
}

TEST(CodecNames, OpusIsStereoInSdpButMatchesEitherWay) {
  const CodecInfo* opus = codec_for_rtpmap("opus", 48000, 2);
  ASSERT_NE(opus, nullptr);
  EXPECT_EQ(opus->name, "opus");
  EXPECT_EQ(codec_for_rtpmap("OPUS", 48000), opus);
  EXPECT_EQ(codec_for_rtpmap("opus", 48000, 1), opus);
  EXPECT_EQ(rtpmap_value(*opus, 107), "107 opus/48000/2");
  EXPECT_EQ(rtpmap_value(*find_codec("ulaw"), 0), "0 PCMU/8000");
}

TEST(CodecNames, NamesAnyCase) {
  EXPECT_EQ(find_codec("ULAW"), find_codec("ulaw"));
  EXPECT_EQ(find_codec("G729")->encoding, "G729");
  EXPECT_EQ(find_codec("telephone-event"), nullptr);
  EXPECT_EQ(find_codec(""), nullptr);
}

TEST(CodecNames, TelephoneEvent) {
  EXPECT_TRUE(is_telephone_event("telephone-event"));
  EXPECT_TRUE(is_telephone_event("Telephone-Event"));
  EXPECT_FALSE(is_telephone_event("telephone"));
}

TEST(CodecNames, EveryAllowAllCodecHasAnRtpFormatExceptTestlaw) {
  std::set<std::string_view> names;
  for (const CodecInfo& c : all_codecs()) {
    EXPECT_TRUE(names.insert(c.name).second) << "twice: " << c.name;
    EXPECT_GT(c.clock_rate, 0u) << c.name;
    // An entry finds itself by its own rtpmap.
    EXPECT_EQ(codec_for_rtpmap(c.encoding, c.clock_rate, c.channels), &c) << c.name;
  }
  for (std::string_view name : conf::known_audio_codecs()) {
    if (name == "testlaw") continue;  // Asterisk's internal test codec, never on the wire
    EXPECT_NE(find_codec(name), nullptr) << name;
  }
}

}  // namespace
}  // namespace hapbx::pbx
