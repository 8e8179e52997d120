// Signatures of heartbeat datagrams, per authkeys method: HMAC-MD5, HMAC-SHA1, HMAC-SHA256 (RFC
// 2104, from OpenSSL) and crc, which is CRC-32 (IEEE 802.3, as zlib computes it) and only a
// checksum: anyone can compute it, so it detects corruption, not forgery.
//
// All functions are pure and thread-safe. The secret of a crc key is not used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cluster/auth_key.h"

namespace hapbx::cluster {

using Bytes = std::vector<std::uint8_t>;

// Size of a signature in bytes: crc 4, md5 16, sha1 20, sha256 32 (all ≤ kMaxSignatureSize).
inline constexpr std::size_t kMaxSignatureSize = 32;
std::size_t signature_size(AuthMethod method);

// The signature of `data` with `key` (crc: the CRC-32 as 4 bytes, big-endian). Empty only if
// OpenSSL fails, which it does not for these digests.
Bytes sign(const AuthKey& key, std::span<const std::uint8_t> data);

// True when `signature` is sign(key, data). The comparison takes time that depends only on the
// lengths, so a forger learns nothing from how long a rejection took.
bool verify_signature(const AuthKey& key, std::span<const std::uint8_t> data,
                      std::span<const std::uint8_t> signature);

// CRC-32 (reflected polynomial 0xEDB88320, initial value and final xor 0xFFFFFFFF):
// crc32("123456789") == 0xCBF43926. `crc` continues an earlier call: crc32(b, crc32(a)) ==
// crc32(a || b).
std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc = 0);

}  // namespace hapbx::cluster
