// G.711 (ITU-T G.711, 1988) mu-law and A-law companding, written from the Recommendation's
// segment tables: 8-bit codes for 8 kHz telephone audio, the payload of RTP/AVP types 0 (PCMU)
// and 8 (PCMA). Used by the prompt player (encode) and the WAV loader (decode). Pure functions.
#pragma once

#include <cstdint>

namespace hapbx::media {

// 16-bit linear sample -> mu-law code (14-bit magnitude range; louder samples clip).
uint8_t linear_to_ulaw(int16_t sample);
// mu-law code -> 16-bit linear sample (the decision level's midpoint, scaled to 16 bits).
int16_t ulaw_to_linear(uint8_t code);
// 16-bit linear sample -> A-law code (13-bit magnitude range; even bits inverted, as sent).
uint8_t linear_to_alaw(int16_t sample);
// A-law code -> 16-bit linear sample.
int16_t alaw_to_linear(uint8_t code);

// The code of digital silence: the code that decodes to 0 (mu-law 0xFF, A-law 0xD5).
inline constexpr uint8_t kUlawSilence = 0xFF;
inline constexpr uint8_t kAlawSilence = 0xD5;

}  // namespace hapbx::media
