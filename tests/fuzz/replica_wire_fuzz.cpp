// Fuzz target: the replication link's stream decoder over arbitrary bytes.
//
// Checks, beyond "no crash, no leak, no UB":
//  - canonical encoding: the messages decoded from a stream, re-encoded, are exactly the bytes
//    the decoder consumed (so decode -> encode -> decode gives the same messages);
//  - split independence: feeding the same bytes in pieces (sizes taken from the input itself)
//    yields the same messages and the same error;
//  - decode_frame agrees with the stream decoder on a single frame;
//  - the decoder stays bounded and a poisoned decoder keeps its error.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "replica/peer_message.h"

namespace {

using namespace hapbx::replica;

struct Outcome {
  Bytes reencoded;        // every decoded message, encoded again, in order
  std::size_t messages = 0;
  std::string error;      // empty when the stream ended without one
  std::size_t left = 0;   // bytes buffered at the end (an incomplete frame)
};

void check(bool ok) {
  if (!ok) std::abort();
}

void drain(MessageDecoder& d, Outcome& out) {
  while (auto m = d.next()) {
    if (!m->ok()) {
      if (out.error.empty()) out.error = m->error().message;
      check(m->error().message == out.error);  // the poisoned decoder repeats itself
      check(d.failed() && d.buffered() == 0);
      return;
    }
    encode_message(**m, out.reencoded);
    ++out.messages;
  }
  check(d.buffered() < kHeaderSize + kMaxBody);
}

Outcome run(std::span<const std::uint8_t> data, std::span<const std::uint8_t> cuts) {
  MessageDecoder d;
  Outcome out;
  std::size_t pos = 0;
  std::size_t i = 0;
  while (pos < data.size()) {
    std::size_t n = data.size() - pos;
    if (!cuts.empty()) n = std::min<std::size_t>(n, 1 + cuts[i++ % cuts.size()]);
    d.feed(data.subspan(pos, n));
    pos += n;
    drain(d, out);
  }
  if (!out.error.empty()) {
    auto again = d.next();  // still poisoned, still the same error
    check(again.has_value() && !again->ok() && again->error().message == out.error);
  }
  out.left = d.buffered();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::uint8_t> input(data, size);

  // All at once.
  const Outcome whole = run(input, {});
  if (whole.error.empty()) {
    // Everything consumed was a canonical encoding of what was decoded.
    check(whole.reencoded.size() + whole.left == size);
    check(std::equal(whole.reencoded.begin(), whole.reencoded.end(), input.begin()));
  } else {
    // The good messages before the error are a canonical prefix.
    check(whole.reencoded.size() <= size);
    check(std::equal(whole.reencoded.begin(), whole.reencoded.end(), input.begin()));
  }

  // Byte by byte, and in pieces whose sizes come from the input's first bytes.
  static const std::uint8_t kOne[] = {0};
  for (std::span<const std::uint8_t> cuts :
       {std::span<const std::uint8_t>(kOne), input.first(std::min<std::size_t>(size, 16))}) {
    const Outcome split = run(input, cuts);
    check(split.error == whole.error);
    check(split.messages == whole.messages);
    check(split.reencoded == whole.reencoded);
    check(split.left == whole.left);
  }

  // One frame: decode_frame agrees with the stream, and its encoding decodes to itself.
  auto single = decode_frame(input);
  if (single.ok()) {
    Bytes again;
    encode_message(*single, again);
    check(again.size() == size && std::equal(again.begin(), again.end(), input.begin()));
    check(whole.error.empty() && whole.messages == 1 && whole.left == 0);
    auto twice = decode_frame(again);
    check(twice.ok() && twice->index() == single->index());
    (void)message_name(*twice);
  } else if (whole.error.empty() && whole.messages == 1 && whole.left == 0) {
    std::abort();  // the stream decoded exactly one frame that decode_frame refused
  }
  return 0;
}
