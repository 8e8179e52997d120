// Digests of the replication link: csums-alg, verify-alg and data-integrity-alg (a digest of a
// block), and cram-hmac-alg (the HMAC of the handshake's challenge-response).
//
// sha1, sha256 and md5 come from OpenSSL (EVP); crc32c (Castagnoli, as iSCSI/ext4 use it) is ours
// and yields its 32-bit value as 4 bytes, big-endian. All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "replica/peer_message.h"  // Bytes

namespace hapbx::replica {

enum class DigestAlg { Sha1, Sha256, Md5, Crc32c };

// "sha1", "sha256", "md5", "crc32c" (lower case, as in a DRBD resource file); nullopt otherwise.
std::optional<DigestAlg> digest_alg_from_name(std::string_view name);
std::string_view to_string(DigestAlg alg);

// Digest size in bytes: 20, 32, 16, 4. Every one fits the wire's 64-byte digest fields.
std::size_t digest_size(DigestAlg alg);

// The digest of `data`; empty only if OpenSSL fails (it does not for these algorithms).
Bytes digest(DigestAlg alg, std::span<const std::uint8_t> data);

// CRC-32C of `data` (reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF):
// crc32c("123456789") == 0xE3069283. `crc` continues an earlier call: crc32c(b, crc32c(a)) ==
// crc32c(a || b).
std::uint32_t crc32c(std::span<const std::uint8_t> data, std::uint32_t crc = 0);

// HMAC (RFC 2104) with sha1, sha256 or md5. crc32c is not a hash for HMAC: returns empty.
Bytes hmac(DigestAlg alg, std::string_view key, std::span<const std::uint8_t> data);

// Compares in time that depends only on the lengths (different lengths: false at once).
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

// The challenge-response of the handshake (the AuthResponse a node sends to the peer that
// challenged it in its Hello):
//   HMAC_alg(key = secret,
//            u32be(len(challenge)) || challenge || u32be(len(responder_node)) || responder_node)
// where `responder_node` is the node name of the side that computes and sends the response
// (its own `on` name). The checker computes the same with the peer's node name as announced in
// the peer's Hello. The lengths make the message unambiguous; the responder's name means a
// challenge reflected back to its issuer yields a different answer than the one it expects.
// Empty for crc32c (not allowed as cram-hmac-alg).
Bytes auth_response(DigestAlg alg, std::string_view secret, std::span<const std::uint8_t> challenge,
                    std::string_view responder_node);

}  // namespace hapbx::replica
