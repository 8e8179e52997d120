// Fuzz target for the B2BUA's SDP offer/answer helpers: any parseable description goes through
// filter_offer, media_target, rewrite_for_relay, answer_from and is_hold; the invariants of
// RFC 3264 that the helpers promise are checked (one m= line per offered stream, only offered
// formats kept, a re-sent body keeps its version, output parses again).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pbx/sdp_negotiation.h"

using namespace hapbx;
using namespace hapbx::pbx;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool subset(const std::vector<std::string>& small, const std::vector<std::string>& big) {
  for (const std::string& f : small) {
    bool found = false;
    for (const std::string& g : big) found = found || f == g;
    if (!found) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto sdp = sip::parse_sdp(input);
  if (!sdp.ok()) return 0;
  static const std::vector<std::vector<std::string>> kAllowed = {
      {"ulaw", "alaw", "gsm"}, {"opus", "g722", "ilbc", "speex16"}, {}, {"G729", "nonsense"}};
  const auto& allowed = kAllowed[size % kAllowed.size()];

  (void)media_target(*sdp);
  (void)is_hold(*sdp);
  (void)answer_from(*sdp, *sdp);

  SdpOriginState origin;
  origin.session_id = "1";
  origin.version = 1;
  origin.address = size % 2 ? "198.18.0.10" : "2001:db8::10";
  const sip::SessionDescription relayed =
      rewrite_for_relay(*sdp, origin.address, 20000, origin);
  check(relayed.media.size() == sdp->media.size());
  const std::string body = sip::print_sdp(relayed);
  check(sip::parse_sdp(body).ok());
  // The same description again: the same body and version (RFC 3264 8).
  const sip::SessionDescription again = rewrite_for_relay(*sdp, origin.address, 20000, origin);
  check(sip::print_sdp(again) == body);

  auto filtered = filter_offer(*sdp, allowed);
  if (!filtered.ok()) return 0;
  check(filtered->media.size() == sdp->media.size());
  for (size_t i = 0; i < sdp->media.size(); ++i) {
    check(subset(filtered->media[i].formats, sdp->media[i].formats));
  }
  check(sip::parse_sdp(sip::print_sdp(*filtered)).ok());
  (void)media_target(*filtered);
  // An answer that repeats our offer is always acceptable.
  auto answered = answer_from(*filtered, *filtered);
  check(answered.ok());
  check(answered->media.size() == filtered->media.size());
  return 0;
}
