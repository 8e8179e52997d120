// The Asterisk codec name <-> RTP payload format table: see codec_names.h.
#include "pbx/codec_names.h"

#include "pbx/config_diagnostics.h"

namespace hapbx::pbx {

namespace {

using K = CodecKind;

// Static payload types from RFC 3551 table 4/5; dynamic ones with the encoding names Asterisk
// puts in its rtpmap lines.
constexpr CodecInfo kCodecs[] = {
    {"ulaw", "PCMU", 8000, 1, 0, K::Audio},
    {"alaw", "PCMA", 8000, 1, 8, K::Audio},
    {"gsm", "GSM", 8000, 1, 3, K::Audio},
    {"g722", "G722", 8000, 1, 9, K::Audio},
    {"g729", "G729", 8000, 1, 18, K::Audio},
    {"opus", "opus", 48000, 2, -1, K::Audio},
    {"ilbc", "iLBC", 8000, 1, -1, K::Audio},
    {"speex", "speex", 8000, 1, -1, K::Audio},
    {"speex16", "speex", 16000, 1, -1, K::Audio},
    {"speex32", "speex", 32000, 1, -1, K::Audio},
    {"g723", "G723", 8000, 1, 4, K::Audio},
    {"g726", "G726-32", 8000, 1, -1, K::Audio},
    {"g726aal2", "AAL2-G726-32", 8000, 1, -1, K::Audio},
    {"adpcm", "DVI4", 8000, 1, 5, K::Audio},
    {"lpc10", "LPC", 8000, 1, 7, K::Audio},
    {"siren7", "G7221", 16000, 1, -1, K::Audio},
    {"siren14", "G7221", 32000, 1, -1, K::Audio},
    {"g719", "G719", 48000, 1, -1, K::Audio},
    {"codec2", "codec2", 8000, 1, -1, K::Audio},
    {"silk8", "SILK", 8000, 1, -1, K::Audio},
    {"silk12", "SILK", 12000, 1, -1, K::Audio},
    {"silk16", "SILK", 16000, 1, -1, K::Audio},
    {"silk24", "SILK", 24000, 1, -1, K::Audio},
    {"slin", "L16", 8000, 1, -1, K::Audio},
    {"slin12", "L16", 12000, 1, -1, K::Audio},
    {"slin16", "L16", 16000, 1, -1, K::Audio},
    {"slin24", "L16", 24000, 1, -1, K::Audio},
    {"slin32", "L16", 32000, 1, -1, K::Audio},
    {"slin44", "L16", 44100, 1, 11, K::Audio},
    {"slin48", "L16", 48000, 1, -1, K::Audio},
    {"slin96", "L16", 96000, 1, -1, K::Audio},
    {"slin192", "L16", 192000, 1, -1, K::Audio},
    {"h261", "H261", 90000, 1, 31, K::Video},
    {"h263", "H263", 90000, 1, 34, K::Video},
    {"h263p", "H263-1998", 90000, 1, -1, K::Video},
    {"h264", "H264", 90000, 1, -1, K::Video},
    {"h265", "H265", 90000, 1, -1, K::Video},
    {"mpeg4", "MP4V-ES", 90000, 1, -1, K::Video},
    {"vp8", "VP8", 90000, 1, -1, K::Video},
    {"vp9", "VP9", 90000, 1, -1, K::Video},
    {"jpeg", "JPEG", 90000, 1, 26, K::Video},
    {"t140", "T140", 1000, 1, -1, K::Text},
    {"red", "red", 1000, 1, -1, K::Text},
};

}  // namespace

std::span<const CodecInfo> all_codecs() { return kCodecs; }

const CodecInfo* find_codec(std::string_view asterisk_name) {
  for (const CodecInfo& c : kCodecs) {
    if (iequals(c.name, asterisk_name)) return &c;
  }
  return nullptr;
}

const CodecInfo* codec_for_static_pt(int payload_type) {
  if (payload_type < 0 || payload_type > 34) return nullptr;
  for (const CodecInfo& c : kCodecs) {
    if (c.static_pt == payload_type) return &c;
  }
  return nullptr;
}

const CodecInfo* codec_for_rtpmap(std::string_view encoding, uint32_t clock_rate,
                                  uint32_t channels) {
  for (const CodecInfo& c : kCodecs) {
    if (c.clock_rate != clock_rate || !iequals(c.encoding, encoding)) continue;
    if (c.name == "opus" || channels == 0 || channels == c.channels) return &c;
  }
  return nullptr;
}

std::string rtpmap_value(const CodecInfo& codec, int payload_type) {
  std::string v = std::to_string(payload_type) + ' ' + std::string(codec.encoding) + '/' +
                  std::to_string(codec.clock_rate);
  if (codec.channels > 1) v += '/' + std::to_string(codec.channels);
  return v;
}

bool is_telephone_event(std::string_view encoding) {
  return iequals(encoding, "telephone-event");
}

}  // namespace hapbx::pbx
