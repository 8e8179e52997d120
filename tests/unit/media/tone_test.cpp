// Generated tones: known names, lengths and cadences.
#include <gtest/gtest.h>

#include <cstdlib>

#include "media/prompt.h"

namespace hapbx::media {
namespace {

using std::chrono::milliseconds;

// Peak absolute sample in [from_ms, to_ms).
int peak(const Prompt& p, int from_ms, int to_ms) {
  int best = 0;
  for (std::size_t i = static_cast<std::size_t>(from_ms) * 8;
       i < static_cast<std::size_t>(to_ms) * 8 && i < p.size(); ++i) {
    best = std::max(best, std::abs(int{p.samples()[i]}));
  }
  return best;
}

TEST(Tones, NaturalLengths) {
  EXPECT_EQ(make_tone("beep", milliseconds(0))->duration(), milliseconds(250));
  EXPECT_EQ(make_tone("ring", milliseconds(0))->duration(), milliseconds(5000));
  EXPECT_EQ(make_tone("busy", milliseconds(0))->duration(), milliseconds(1000));
  EXPECT_EQ(make_tone("congestion", milliseconds(0))->duration(), milliseconds(500));
  EXPECT_EQ(make_tone("silence", milliseconds(0))->duration(), milliseconds(1000));
  EXPECT_EQ(make_tone("busy", milliseconds(3000))->size(), 24000u);
}

TEST(Tones, UnknownNameIsNull) {
  EXPECT_EQ(make_tone("dialtone-of-mars", milliseconds(100)), nullptr);
  EXPECT_EQ(make_tone("", milliseconds(100)), nullptr);
}

TEST(Tones, RingIsOneSecondOnFourOff) {
  auto ring = make_tone("ring", milliseconds(10000));
  EXPECT_GT(peak(*ring, 0, 1000), 5000);
  EXPECT_EQ(peak(*ring, 1000, 5000), 0);
  EXPECT_GT(peak(*ring, 5000, 6000), 5000);
  EXPECT_EQ(peak(*ring, 6000, 10000), 0);
}

TEST(Tones, BusyAndCongestionCadences) {
  auto busy = make_tone("busy", milliseconds(0));
  EXPECT_GT(peak(*busy, 0, 500), 5000);
  EXPECT_EQ(peak(*busy, 500, 1000), 0);
  auto congestion = make_tone("congestion", milliseconds(0));
  EXPECT_GT(peak(*congestion, 0, 250), 5000);
  EXPECT_EQ(peak(*congestion, 250, 500), 0);
}

TEST(Tones, BeepIsOneKilohertz) {
  auto beep = make_tone("beep", milliseconds(0));
  // 1 kHz at 8 kHz: 8 samples a period, so 2 sign changes every 8 samples.
  int crossings = 0;
  const auto& s = beep->samples();
  for (std::size_t i = 1; i < s.size(); ++i) {
    if ((s[i - 1] < 0) != (s[i] < 0)) ++crossings;
  }
  EXPECT_NEAR(crossings, 500, 10);  // 250 periods in 250 ms
  EXPECT_EQ(peak(*make_tone("silence", milliseconds(0)), 0, 1000), 0);
}

TEST(Tones, EncodedFormsMatchTheSamples) {
  auto beep = make_tone("beep", milliseconds(0));
  EXPECT_EQ(beep->ulaw().size(), beep->size());
  EXPECT_EQ(beep->alaw().size(), beep->size());
}

}  // namespace
}  // namespace hapbx::media
