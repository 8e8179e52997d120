// WAV prompts: RIFF WAVE files holding 8 kHz mono audio as 16-bit PCM (format 1) or G.711
// mu-law (7) / A-law (6), also inside WAVE_FORMAT_EXTENSIBLE (0xFFFE). Anything else is refused
// with an error naming the file and what it found (e.g. "22050 Hz"), since pbxd does not
// resample. The parser reads untrusted bytes: every size is checked against what is there.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>

#include "core/result.h"
#include "media/prompt.h"

namespace hapbx::media {

// Largest WAV file load_wav reads (about 70 minutes of 16-bit audio).
inline constexpr std::uintmax_t kMaxWavFileBytes = 64u << 20;

Result<std::shared_ptr<const Prompt>> load_wav(const std::filesystem::path& path);

// The parser behind load_wav, on bytes in memory; `name` is what errors call the file.
Result<std::shared_ptr<const Prompt>> parse_wav(std::span<const uint8_t> bytes,
                                                std::string_view name);

}  // namespace hapbx::media
