// The WAV loader: the three formats pbxd plays, and clear errors for everything else, including
// files that lie about their sizes.
#include "media/wav.h"

#include <gtest/gtest.h>

#include <fstream>

#include "media/g711.h"
#include "support/temp_dir.h"
#include "unit/media/wav_builder.h"

namespace hapbx::media {
namespace {

using testing::WavBuilder;

std::string error_of(const std::vector<uint8_t>& bytes) {
  auto r = parse_wav(bytes, "hello.wav");
  return r ? std::string("(loaded)") : r.error().message;
}

TEST(Wav, LoadsPcm16Mono8k) {
  auto bytes = WavBuilder().fmt(1, 1, 8000, 16).pcm16({0, 1000, -1000, 32767, -32768}).bytes();
  auto r = parse_wav(bytes, "hello.wav");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)->samples(), (std::vector<int16_t>{0, 1000, -1000, 32767, -32768}));
}

TEST(Wav, LoadsMulawAndAlaw) {
  auto ulaw = WavBuilder().fmt(7, 1, 8000, 8).chunk("data", {0xFF, 0x80, 0x00}).bytes();
  auto r = parse_wav(ulaw, "u.wav");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)->samples(), (std::vector<int16_t>{0, 32124, -32124}));
  EXPECT_EQ((*r)->ulaw(), (std::vector<uint8_t>{0xFF, 0x80, 0x00}));  // re-encodes losslessly

  auto alaw = WavBuilder().fmt(6, 1, 8000, 8).chunk("data", {0xAA, 0x2A}).bytes();
  auto a = parse_wav(alaw, "a.wav");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ((*a)->samples(), (std::vector<int16_t>{32256, -32256}));
}

TEST(Wav, SkipsOtherChunksIncludingOddSizedOnes) {
  auto bytes = WavBuilder()
                   .chunk("LIST", {1, 2, 3})  // odd: padded
                   .fmt(1, 1, 8000, 16)
                   .chunk("fact", {0, 0, 0, 0})
                   .pcm16({7, 8})
                   .bytes();
  auto r = parse_wav(bytes, "x.wav");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)->size(), 2u);
}

TEST(Wav, AcceptsExtensibleFormatWithPcmSubformat) {
  std::vector<uint8_t> f;
  WavBuilder::put16(f, 0xFFFE);
  WavBuilder::put16(f, 1);
  WavBuilder::put32(f, 8000);
  WavBuilder::put32(f, 16000);
  WavBuilder::put16(f, 2);
  WavBuilder::put16(f, 16);
  WavBuilder::put16(f, 22);  // cbSize
  WavBuilder::put16(f, 16);  // valid bits
  WavBuilder::put32(f, 4);   // channel mask
  WavBuilder::put16(f, 1);   // sub-format GUID starts with the PCM tag
  f.resize(40, 0);
  auto bytes = WavBuilder().chunk("fmt ", f).pcm16({5}).bytes();
  auto r = parse_wav(bytes, "ext.wav");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)->samples(), (std::vector<int16_t>{5}));
}

TEST(Wav, RefusesWrongRateNamingFileAndRate) {
  auto e = error_of(WavBuilder().fmt(1, 1, 22050, 16).pcm16({1}).bytes());
  EXPECT_NE(e.find("hello.wav"), std::string::npos) << e;
  EXPECT_NE(e.find("22050 Hz"), std::string::npos) << e;
}

TEST(Wav, RefusesStereoEightBitPcmAndOtherCodecs) {
  EXPECT_NE(error_of(WavBuilder().fmt(1, 2, 8000, 16).pcm16({1, 2}).bytes()).find("2 channels"),
            std::string::npos);
  EXPECT_NE(error_of(WavBuilder().fmt(1, 1, 8000, 8).chunk("data", {1}).bytes()).find("8-bit PCM"),
            std::string::npos);
  EXPECT_NE(error_of(WavBuilder().fmt(0x31, 1, 8000, 0).chunk("data", {1}).bytes()).find("GSM"),
            std::string::npos);
  EXPECT_NE(
      error_of(WavBuilder().fmt(3, 1, 8000, 32).chunk("data", {1, 2, 3, 4}).bytes()).find("float"),
      std::string::npos);
}

TEST(Wav, RefusesTruncatedFiles) {
  auto good = WavBuilder().fmt(1, 1, 8000, 16).pcm16(std::vector<int16_t>(100, 3)).bytes();
  for (std::size_t cut : {0ul, 4ul, 11ul, 12ul, 20ul, 30ul, 44ul, 100ul, good.size() - 1}) {
    std::vector<uint8_t> part(good.begin(), good.begin() + static_cast<long>(cut));
    auto e = error_of(part);
    EXPECT_NE(e, "(loaded)") << cut;
    EXPECT_NE(e.find("hello.wav"), std::string::npos) << e;
  }
  EXPECT_NE(error_of(std::vector<uint8_t>(good.begin(), good.end() - 1)).find("truncated data"),
            std::string::npos);
}

TEST(Wav, HugeChunkSizesAreErrorsNotCrashes) {
  EXPECT_NE(error_of(WavBuilder().fmt(1, 1, 8000, 16).chunk("data", {1, 2}, 0xFFFFFFFF).bytes())
                .find("4294967295 bytes claimed"),
            std::string::npos);
  EXPECT_NE(
      error_of(
          WavBuilder().chunk("LIST", {1, 2}, 0xFFFFFFF0).fmt(1, 1, 8000, 16).pcm16({1}).bytes())
          .find("no fmt"),
      std::string::npos);
  EXPECT_NE(error_of(WavBuilder().chunk("fmt ", {1, 0}, 0xFFFFFFFF).bytes()).find("truncated fmt"),
            std::string::npos);
  EXPECT_NE(error_of(WavBuilder().chunk("fmt ", {1, 0}).bytes()).find("fmt chunk of 2 bytes"),
            std::string::npos);
}

TEST(Wav, RefusesNonWavAndMissingChunks) {
  EXPECT_NE(error_of({'O', 'g', 'g', 'S', 0, 0, 0, 0, 0, 0, 0, 0}).find("not a WAV"),
            std::string::npos);
  EXPECT_NE(error_of(WavBuilder().fmt(1, 1, 8000, 16).bytes()).find("no data chunk"),
            std::string::npos);
  EXPECT_NE(error_of(WavBuilder().pcm16({1}).bytes()).find("before the fmt"), std::string::npos);
}

TEST(Wav, LoadWavReadsFilesAndNamesMissingOnes) {
  hapbx::testing::TempDir dir("wav");
  ASSERT_FALSE(dir.path().empty());
  auto bytes =
      WavBuilder().fmt(7, 1, 8000, 8).chunk("data", std::vector<uint8_t>(800, 0xFF)).bytes();
  const auto path = dir.path() / "prompt.wav";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  auto r = load_wav(path);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)->duration(), std::chrono::milliseconds(100));

  auto missing = load_wav(dir.path() / "nope.wav");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope.wav"), std::string::npos);
}

}  // namespace
}  // namespace hapbx::media
