// Fuzz target for the SDP parser: parse, use every helper, and check that printing a parsed
// description gives one that parses to the same structure.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sip/sdp.h"

using namespace hapbx::sip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto sdp = parse_sdp(input);
  if (!sdp.ok()) return 0;
  for (const SdpMedia& m : sdp->media) {
    (void)m.rtpmaps();
    (void)m.fmtp(0);
    (void)m.ptime();
    (void)m.rtcp_port();
    (void)sdp->direction(m);
    (void)sdp->connection_for(m);
  }
  const std::string printed = print_sdp(*sdp);
  auto again = parse_sdp(printed);
  if (!again.ok()) __builtin_trap();
  if (print_sdp(*again) != printed) __builtin_trap();
  return 0;
}
