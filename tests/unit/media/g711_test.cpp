// G.711 against the Recommendation's fixed points: silence, the end codes, and the property that
// decoding then encoding gives the code back.
#include "media/g711.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace hapbx::media {
namespace {

TEST(G711, SilenceCodesDecodeToZeroAndZeroEncodesToThem) {
  EXPECT_EQ(linear_to_ulaw(0), kUlawSilence);
  EXPECT_EQ(ulaw_to_linear(kUlawSilence), 0);
  EXPECT_EQ(linear_to_alaw(0), kAlawSilence);
  EXPECT_EQ(std::abs(alaw_to_linear(kAlawSilence)), 8);  // A-law has no zero level: +-1 step
}

TEST(G711, EndCodesAndClipping) {
  EXPECT_EQ(linear_to_ulaw(32767), 0x80);
  EXPECT_EQ(linear_to_ulaw(-32768), 0x00);
  EXPECT_EQ(ulaw_to_linear(0x80), 32124);
  EXPECT_EQ(ulaw_to_linear(0x00), -32124);
  EXPECT_EQ(linear_to_alaw(32767), 0xAA);
  EXPECT_EQ(linear_to_alaw(-32768), 0x2A);
  EXPECT_EQ(alaw_to_linear(0xAA), 32256);
  EXPECT_EQ(alaw_to_linear(0x2A), -32256);
}

TEST(G711, EveryCodeSurvivesDecodeThenEncode) {
  for (int code = 0; code < 256; ++code) {
    if (code != 0x7F) {  // mu-law's "negative zero" decodes to 0, which encodes as 0xFF
      EXPECT_EQ(linear_to_ulaw(ulaw_to_linear(static_cast<uint8_t>(code))), code) << code;
    }
    EXPECT_EQ(linear_to_alaw(alaw_to_linear(static_cast<uint8_t>(code))), code) << code;
  }
}

TEST(G711, EncodingIsMonotonicAndCloseToTheInput) {
  int previous_u = -40000;
  int previous_a = -40000;
  for (int s = -32768; s <= 32767; s += 7) {
    const int u = ulaw_to_linear(linear_to_ulaw(static_cast<int16_t>(s)));
    const int a = alaw_to_linear(linear_to_alaw(static_cast<int16_t>(s)));
    EXPECT_GE(u, previous_u);
    EXPECT_GE(a, previous_a);
    previous_u = u;
    previous_a = a;
    // Quantisation error stays within half a step of the top segment (1024 / 2), plus the few
    // units the 16 -> 14 or 13 bit truncation loses; clipping at the ends is excluded.
    if (std::abs(s) < 30000) {
      EXPECT_LE(std::abs(u - s), 512 + 4) << s;
      EXPECT_LE(std::abs(a - s), 512 + 8) << s;
    }
  }
}

}  // namespace
}  // namespace hapbx::media
