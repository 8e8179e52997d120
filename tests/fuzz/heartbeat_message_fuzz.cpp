// Fuzz target: the heartbeat datagram decoder over arbitrary bytes, with a fixed key set (one
// key of each method; the corpus seeds are signed with them, so mutations reach the body parser
// through the crc key, whose signature a fuzzer can learn to fix).
//
// Checks, beyond "no crash, no leak, no UB":
//  - a decoded message re-encodes, with the key that verified it, and decodes to itself;
//  - every failure says why (a DecodeFailure and a message), and success reports none.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "cluster/heartbeat_message.h"

namespace {

using namespace hapbx::cluster;

void check(bool ok) {
  if (!ok) std::abort();
}

const std::vector<AuthKey>& keys() {
  static const std::vector<AuthKey> k = {
      {1, AuthMethod::Sha1, "fuzz sha1"},
      {2, AuthMethod::Md5, "fuzz md5"},
      {3, AuthMethod::Sha256, "fuzz sha256"},
      {4, AuthMethod::Crc, ""},
  };
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  DecodeFailure why = DecodeFailure::None;
  auto m = decode(std::span<const std::uint8_t>(data, size), keys(), &why);
  if (!m.ok()) {
    check(why != DecodeFailure::None && !m.error().message.empty());
    return 0;
  }
  check(why == DecodeFailure::None && size <= kMaxDatagram);
  const AuthKey* key = nullptr;
  for (const AuthKey& k : keys()) {
    if (k.index == m->key_index) key = &k;
  }
  check(key != nullptr);
  auto again = encode(*m, *key);
  check(again.ok());
  auto back = decode(*again, keys());
  check(back.ok() && *back == *m);
  return 0;
}
