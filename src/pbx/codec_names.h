// Asterisk's codec names (sip.conf allow=ulaw,alaw,...) and the RTP payload formats they stand
// for in SDP: the static payload types of RFC 3551 (PCMU = 0, GSM = 3, G723 = 4, PCMA = 8,
// G722 = 9, G729 = 18 ...) and the rtpmap encoding names of dynamic ones (iLBC, opus/48000/2,
// speex ...). Encoding names compare case-insensitively (they are media subtypes, RFC 4855 3).
// telephone-event (RFC 4733 DTMF) is not a codec in Asterisk's sense and is not in the table.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace hapbx::pbx {

enum class CodecKind { Audio, Video, Text };

struct CodecInfo {
  std::string_view name;      // Asterisk's: "ulaw"
  std::string_view encoding;  // rtpmap encoding name: "PCMU"
  uint32_t clock_rate = 0;    // rtpmap clock rate (G722 says 8000, RFC 3551 4.5.2)
  uint32_t channels = 1;      // rtpmap channels (opus is always written /2, RFC 7587 7)
  int static_pt = -1;         // RFC 3551 static payload type, -1 for dynamic ones
  CodecKind kind = CodecKind::Audio;
};

// Every known codec, audio first in sip.conf's `allow=all` order.
std::span<const CodecInfo> all_codecs();

// By Asterisk name, case-insensitive ("ULAW" finds ulaw). nullptr when unknown.
const CodecInfo* find_codec(std::string_view asterisk_name);

// By static payload type 0..34 (only those with an Asterisk codec). nullptr otherwise.
const CodecInfo* codec_for_static_pt(int payload_type);

// By rtpmap: encoding name (case-insensitive) and clock rate; `channels` 0 means not given.
// Opus matches with or without "/2"; other codecs want 0 or their channel count.
const CodecInfo* codec_for_rtpmap(std::string_view encoding, uint32_t clock_rate,
                                  uint32_t channels = 0);

// The rtpmap attribute value for a codec under a payload type: "0 PCMU/8000",
// "107 opus/48000/2".
std::string rtpmap_value(const CodecInfo& codec, int payload_type);

// RFC 4733 named telephone events ("telephone-event", any case).
bool is_telephone_event(std::string_view encoding);

}  // namespace hapbx::pbx
