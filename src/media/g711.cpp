// G.711 companding. Both laws split the magnitude into 8 segments whose step doubles from one
// segment to the next; a code is sign (1 bit) + segment (3 bits) + position in segment (4 bits).
// mu-law works on a 14-bit magnitude with a bias of 33 (so the segment boundaries fall on powers
// of two) and sends every bit inverted; A-law works on a 13-bit magnitude, segment 0 and 1 share
// the same step, and sends the even bits inverted (XOR 0x55).
#include "media/g711.h"

namespace hapbx::media {
namespace {

// Index of the highest set bit of v (v > 0), as a small portable loop: the inputs are < 2^13.
int highest_bit(int v) {
  int bit = 0;
  while (v >>= 1) ++bit;
  return bit;
}

constexpr int kUlawBias = 33;   // in 14-bit units
constexpr int kUlawMax = 8158;  // largest 14-bit magnitude mu-law represents (8191 - 33)

}  // namespace

uint8_t linear_to_ulaw(int16_t sample) {
  int value = sample >> 2;  // 16 -> 14 bits (arithmetic shift keeps the sign)
  int sign = 0;
  if (value < 0) {
    sign = 0x80;
    value = -value;
  }
  if (value > kUlawMax) value = kUlawMax;
  value += kUlawBias;  // now 33..8191: segment = position of the top bit - 5
  const int segment = highest_bit(value) - 5;
  const int mantissa = (value >> (segment + 1)) & 0x0F;
  return static_cast<uint8_t>(~(sign | (segment << 4) | mantissa));
}

int16_t ulaw_to_linear(uint8_t code) {
  const int c = static_cast<uint8_t>(~code);
  const int segment = (c >> 4) & 0x07;
  const int mantissa = c & 0x0F;
  // Midpoint of the decision interval, in 14-bit units, bias removed.
  const int magnitude = (((mantissa << 1) + 33) << segment) - kUlawBias;
  const int value = magnitude << 2;  // 14 -> 16 bits
  return static_cast<int16_t>((c & 0x80) ? -value : value);
}

uint8_t linear_to_alaw(int16_t sample) {
  int value = sample >> 3;  // 16 -> 13 bits
  int sign = 0x80;          // A-law: bit 8 set means positive
  if (value < 0) {
    sign = 0;
    value = -value - 1;  // one's complement, as the Recommendation's negative range is -4096..-1
  }
  if (value > 4095) value = 4095;
  int code;
  if (value < 32) {
    code = value >> 1;  // segment 0: step 2
  } else {
    const int segment = highest_bit(value) - 4;  // 1..7
    code = (segment << 4) | ((value >> segment) & 0x0F);
  }
  return static_cast<uint8_t>((sign | code) ^ 0x55);
}

int16_t alaw_to_linear(uint8_t code) {
  const int c = code ^ 0x55;
  const int segment = (c >> 4) & 0x07;
  const int mantissa = c & 0x0F;
  int magnitude;
  if (segment == 0) {
    magnitude = (mantissa << 1) + 1;
  } else {
    magnitude = ((mantissa << 1) + 33) << (segment - 1);
  }
  const int value = magnitude << 3;  // 13 -> 16 bits
  return static_cast<int16_t>((c & 0x80) ? value : -value);
}

}  // namespace hapbx::media
