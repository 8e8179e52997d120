// Fuzz target for the WAV prompt parser: any bytes give a prompt or an error naming the file,
// never a crash; a prompt's encoded forms match its length.
#include <cstddef>
#include <cstdint>
#include <span>

#include "media/wav.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto prompt = hapbx::media::parse_wav(std::span<const uint8_t>(data, size), "fuzz.wav");
  if (!prompt.ok()) {
    if (prompt.error().message.rfind("fuzz.wav: ", 0) != 0) __builtin_trap();
    return 0;
  }
  const auto& p = **prompt;
  if (p.ulaw().size() != p.size() || p.alaw().size() != p.size()) __builtin_trap();
  if (p.size() > size) __builtin_trap();
  return 0;
}
