// Fuzz target for the control-socket wire format: arbitrary bytes through both decoders must
// yield a value or an error, never a crash; whatever decodes must re-encode to an equal message
// (the round trip the daemon and the CLI rely on).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/control_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hapbx::core;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  auto request = try_decode_control_request(bytes);
  if (request.ok() && request.value()) {
    const ControlRequest& decoded = request.value()->message;
    if (request.value()->consumed > size) __builtin_trap();
    auto encoded = encode_control_request(decoded);
    // Every decodable request is re-encodable, and decodes back to itself.
    if (!encoded.ok()) __builtin_trap();
    auto again = try_decode_control_request(encoded.value());
    if (!again.ok() || !again.value() || !(again.value()->message == decoded)) __builtin_trap();
    (void)join_control_words(decoded.words);
  }

  auto response = try_decode_control_response(bytes);
  if (response.ok() && response.value()) {
    const ControlResponse& decoded = response.value()->message;
    if (response.value()->consumed > size) __builtin_trap();
    const std::string encoded = encode_control_response(decoded);
    auto again = try_decode_control_response(encoded);
    if (!again.ok() || !again.value() || !(again.value()->message == decoded)) __builtin_trap();
  }
  return 0;
}
