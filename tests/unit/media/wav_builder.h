// Builds WAV files in memory for the loader tests (and the fuzz corpus generator): a RIFF
// header, chunks with any size field the test wants, honest or not.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hapbx::media::testing {

class WavBuilder {
 public:
  WavBuilder() { bytes_ = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E'}; }

  WavBuilder& fmt(uint16_t tag, uint16_t channels, uint32_t rate, uint16_t bits) {
    std::vector<uint8_t> f;
    put16(f, tag);
    put16(f, channels);
    put32(f, rate);
    put32(f, rate * channels * bits / 8);
    put16(f, static_cast<uint16_t>(channels * bits / 8));
    put16(f, bits);
    return chunk("fmt ", f);
  }
  // A chunk whose size field says `claimed` (default: its real size).
  WavBuilder& chunk(const std::string& id, const std::vector<uint8_t>& data, int64_t claimed = -1) {
    bytes_.insert(bytes_.end(), id.begin(), id.end());
    put32(bytes_,
          claimed >= 0 ? static_cast<uint32_t>(claimed) : static_cast<uint32_t>(data.size()));
    bytes_.insert(bytes_.end(), data.begin(), data.end());
    if (data.size() % 2 && claimed < 0) bytes_.push_back(0);  // RIFF pad byte
    return *this;
  }
  WavBuilder& pcm16(const std::vector<int16_t>& samples) {
    std::vector<uint8_t> d;
    for (int16_t s : samples) put16(d, static_cast<uint16_t>(s));
    return chunk("data", d);
  }
  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> out = bytes_;
    uint32_t riff = static_cast<uint32_t>(out.size() - 8);
    for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<uint8_t>(riff >> (8 * i));
    return out;
  }

  static void put16(std::vector<uint8_t>& v, uint16_t x) {
    v.push_back(static_cast<uint8_t>(x));
    v.push_back(static_cast<uint8_t>(x >> 8));
  }
  static void put32(std::vector<uint8_t>& v, uint32_t x) {
    for (int i = 0; i < 4; ++i) v.push_back(static_cast<uint8_t>(x >> (8 * i)));
  }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace hapbx::media::testing
