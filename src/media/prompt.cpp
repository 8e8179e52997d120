// Prompt storage and the generated call-progress tones.
#include "media/prompt.h"

#include <cmath>
#include <numbers>

#include "media/g711.h"

namespace hapbx::media {

Prompt::Prompt(std::vector<int16_t> samples) : samples_(std::move(samples)) {
  ulaw_.reserve(samples_.size());
  alaw_.reserve(samples_.size());
  for (int16_t s : samples_) {
    ulaw_.push_back(linear_to_ulaw(s));
    alaw_.push_back(linear_to_alaw(s));
  }
}

namespace {

struct Cadence {
  double frequency_hz;  // 0 = silence
  int on_ms;            // tone part of one cycle
  int off_ms;           // silent part of one cycle
};

// About -10 dBm0: loud enough to hear, far from clipping either law.
constexpr double kAmplitude = 0.3 * 32767.0;

std::vector<int16_t> render(const Cadence& cadence, int total_ms) {
  const std::size_t total = static_cast<std::size_t>(total_ms) * kSampleRate / 1000;
  const std::size_t on = static_cast<std::size_t>(cadence.on_ms) * kSampleRate / 1000;
  const std::size_t cycle = on + static_cast<std::size_t>(cadence.off_ms) * kSampleRate / 1000;
  std::vector<int16_t> out(total, 0);
  if (cadence.frequency_hz <= 0 || cycle == 0) return out;
  const double step = 2.0 * std::numbers::pi * cadence.frequency_hz / kSampleRate;
  for (std::size_t i = 0; i < total; ++i) {
    if (i % cycle < on) out[i] = static_cast<int16_t>(std::lround(kAmplitude * std::sin(step * i)));
  }
  return out;
}

}  // namespace

std::shared_ptr<const Prompt> make_tone(std::string_view name, std::chrono::milliseconds duration) {
  Cadence cadence{};
  int natural_ms = 0;
  if (name == "beep") {
    cadence = {1000, 250, 0};
    natural_ms = 250;
  } else if (name == "ring") {
    cadence = {425, 1000, 4000};
    natural_ms = 5000;
  } else if (name == "busy") {
    cadence = {425, 500, 500};
    natural_ms = 1000;
  } else if (name == "congestion") {
    cadence = {425, 250, 250};
    natural_ms = 500;
  } else if (name == "silence") {
    cadence = {0, 0, 0};
    natural_ms = 1000;
  } else {
    return nullptr;
  }
  // Bounded so a caller's mistake cannot allocate gigabytes: one hour at most.
  constexpr int64_t kMaxMs = 3600 * 1000;
  int64_t ms = duration.count() > 0 ? duration.count() : natural_ms;
  if (ms > kMaxMs) ms = kMaxMs;
  return std::make_shared<const Prompt>(render(cadence, static_cast<int>(ms)));
}

}  // namespace hapbx::media
