// Audio the relay can play into a call: a prompt loaded from a WAV file or a generated tone.
// A Prompt is immutable once made and shared (std::shared_ptr<const Prompt>) between the
// signalling thread that loads it and the relay thread that plays it, so it needs no lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace hapbx::media {

inline constexpr int kSampleRate = 8000;       // 8 kHz, the G.711 rate
inline constexpr int kSamplesPerPacket = 160;  // 20 ms at 8 kHz

class Prompt {
 public:
  // 8 kHz mono linear 16-bit samples. Both G.711 encodings are made once here, so playing a
  // prompt costs the relay thread no encoding.
  explicit Prompt(std::vector<int16_t> samples);

  const std::vector<int16_t>& samples() const { return samples_; }
  const std::vector<uint8_t>& ulaw() const { return ulaw_; }
  const std::vector<uint8_t>& alaw() const { return alaw_; }
  std::size_t size() const { return samples_.size(); }
  std::chrono::milliseconds duration() const {
    return std::chrono::milliseconds(samples_.size() * 1000 / kSampleRate);
  }

 private:
  std::vector<int16_t> samples_;
  std::vector<uint8_t> ulaw_;
  std::vector<uint8_t> alaw_;
};

// Generated call-progress tones. Cadences follow the European (CEPT / ITU-T E.180) plan:
//   "beep"        1000 Hz, 250 ms
//   "ring"        425 Hz, 1 s on 4 s off      (ringback)
//   "busy"        425 Hz, 0.5 s on 0.5 s off
//   "congestion"  425 Hz, 0.25 s on 0.25 s off
//   "silence"     digital silence
// `duration` is the length of the prompt; a cadenced tone repeats its cadence within it. A
// duration <= 0 gives the tone's natural length: one beep, one cadence of the others, 1 s of
// silence (play it with loop=true for an endless tone). Returns nullptr for an unknown name.
std::shared_ptr<const Prompt> make_tone(std::string_view name, std::chrono::milliseconds duration);

}  // namespace hapbx::media
