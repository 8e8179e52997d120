// RIFF WAVE parsing: "RIFF" size "WAVE", then chunks (4-byte id, 32-bit little-endian size,
// data padded to an even length). We need "fmt " (before "data") and "data"; other chunks
// (LIST, fact, cue ...) are skipped.
#include "media/wav.h"

#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "media/g711.h"

namespace hapbx::media {
namespace {

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatAlaw = 6;
constexpr uint16_t kFormatUlaw = 7;
constexpr uint16_t kFormatExtensible = 0xFFFE;

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

// A chunk id as text for errors; non-printable bytes shown as '?'.
std::string printable_id(const uint8_t* p) {
  std::string s(4, '?');
  for (int i = 0; i < 4; ++i) {
    if (p[i] >= 0x20 && p[i] < 0x7f) s[static_cast<std::size_t>(i)] = static_cast<char>(p[i]);
  }
  return s;
}

std::string format_name(uint16_t tag) {
  switch (tag) {
    case kFormatPcm:
      return "PCM";
    case 3:
      return "IEEE float";
    case kFormatAlaw:
      return "A-law";
    case kFormatUlaw:
      return "mu-law";
    case 0x11:
      return "IMA ADPCM";
    case 0x31:
      return "GSM 6.10";
    case 0x55:
      return "MP3";
    default:
      return fmt::format("format 0x{:04x}", tag);
  }
}

struct Format {
  uint16_t tag = 0;
  uint16_t channels = 0;
  uint32_t rate = 0;
  uint16_t bits = 0;
};

}  // namespace

Result<std::shared_ptr<const Prompt>> parse_wav(std::span<const uint8_t> bytes,
                                                std::string_view name) {
  auto fail = [&](const std::string& what) -> Error {
    return make_error(fmt::format("{}: {}", name, what));
  };
  if (bytes.size() < 12) return fail("not a WAV file (shorter than a RIFF header)");
  if (std::string_view(reinterpret_cast<const char*>(bytes.data()), 4) != "RIFF" ||
      std::string_view(reinterpret_cast<const char*>(bytes.data()) + 8, 4) != "WAVE") {
    return fail("not a WAV file (no RIFF/WAVE header)");
  }
  // The RIFF size is often wrong in files from streaming recorders; the chunks themselves are
  // checked against the real length instead.
  std::size_t pos = 12;
  bool have_format = false;
  Format format;
  while (pos + 8 <= bytes.size()) {
    const uint8_t* header = bytes.data() + pos;
    const std::string id = printable_id(header);
    const uint64_t size = le32(header + 4);
    pos += 8;
    const std::size_t left = bytes.size() - pos;
    if (id == "fmt ") {
      if (size < 16) return fail(fmt::format("fmt chunk of {} bytes (needs 16)", size));
      if (size > left)
        return fail(fmt::format("truncated fmt chunk ({} bytes claimed, {} present)", size, left));
      const uint8_t* f = bytes.data() + pos;
      format.tag = le16(f);
      format.channels = le16(f + 2);
      format.rate = le32(f + 4);
      format.bits = le16(f + 14);
      if (format.tag == kFormatExtensible) {
        // cbSize(2) validBits(2) channelMask(4) then the sub-format GUID, whose first two bytes
        // are the plain format tag.
        if (size < 40)
          return fail(fmt::format("extensible fmt chunk of {} bytes (needs 40)", size));
        format.tag = le16(f + 24);
      }
      have_format = true;
    } else if (id == "data") {
      if (!have_format) return fail("data chunk before the fmt chunk");
      if (size > left) {
        return fail(fmt::format("truncated data chunk ({} bytes claimed, {} present)", size, left));
      }
      if (format.tag != kFormatPcm && format.tag != kFormatUlaw && format.tag != kFormatAlaw) {
        return fail(fmt::format("{} audio; pbxd plays 16-bit PCM, mu-law or A-law",
                                format_name(format.tag)));
      }
      if (format.channels != 1) {
        return fail(fmt::format("{} channels; prompts must be mono", format.channels));
      }
      if (format.rate != static_cast<uint32_t>(kSampleRate)) {
        return fail(fmt::format(
            "{} Hz; prompts must be 8000 Hz (convert with: sox in.wav -r 8000 -c 1 out.wav)",
            format.rate));
      }
      const uint16_t want_bits = format.tag == kFormatPcm ? 16 : 8;
      if (format.bits != want_bits) {
        return fail(fmt::format("{}-bit {}; expected {}-bit", format.bits, format_name(format.tag),
                                want_bits));
      }
      const uint8_t* d = bytes.data() + pos;
      std::vector<int16_t> samples;
      if (format.tag == kFormatPcm) {
        samples.resize(size / 2);  // an odd trailing byte is not a sample
        for (std::size_t i = 0; i < samples.size(); ++i) {
          samples[i] = static_cast<int16_t>(le16(d + 2 * i));
        }
      } else {
        samples.resize(size);
        for (std::size_t i = 0; i < size; ++i) {
          samples[i] = format.tag == kFormatUlaw ? ulaw_to_linear(d[i]) : alaw_to_linear(d[i]);
        }
      }
      return std::shared_ptr<const Prompt>(std::make_shared<const Prompt>(std::move(samples)));
    }
    // Skip this chunk and its pad byte. 64-bit arithmetic: a size near 4 GiB cannot wrap.
    const uint64_t skip = size + (size & 1);
    if (skip > left) break;
    pos += static_cast<std::size_t>(skip);
  }
  return fail(have_format ? "no data chunk" : "no fmt chunk");
}

Result<std::shared_ptr<const Prompt>> load_wav(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return make_error(fmt::format("{}: cannot read: {}", name, ec.message()));
  if (size > kMaxWavFileBytes) {
    return make_error(fmt::format("{}: {} bytes, larger than the {} MiB a prompt may have", name,
                                  size, kMaxWavFileBytes >> 20));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(fmt::format("{}: cannot open", name));
  std::vector<uint8_t> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return parse_wav(bytes, name);
}

}  // namespace hapbx::media
