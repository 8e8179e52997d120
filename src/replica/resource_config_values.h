// Value syntax of the DRBD resource config: addresses, names, split-brain policies, digests,
// integers. Pure functions; errors are messages without a place (the caller adds file:line) that
// say what is expected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "replica/replica_types.h"

namespace hapbx::replica::config_values {

struct Endpoint {
  std::string address;  // without brackets
  std::uint16_t port = 0;
  bool ipv6 = false;
};

// `address [ipv4|ipv6] ADDR:PORT`: `family` is "" when not written. IPv6 literals are bracketed
// ("[fd00::1]:7788"); IPv4 literals and host names are not.
Result<Endpoint> parse_endpoint(std::string_view family, std::string_view text);

// Resource names become file and socket names: letters, digits, '_', '-', '.', not starting with
// '.' or '-', at most 64 characters. Host names: the same set, at most 253.
bool valid_resource_name(std::string_view name);
bool valid_host_name(std::string_view name);

// after-sb-0pri / -1pri / -2pri (`primaries` 0, 1 or 2) with DRBD's spellings for each. For
// `discard-node-NAME` (0pri only) sets `discard_node` to NAME and returns Disconnect (see
// ResourceConfig::after_sb_0pri_discard_node).
Result<SplitBrainPolicy> parse_after_sb(int primaries, std::string_view value,
                                        std::string& discard_node);
// The DRBD spelling of a policy as written in the config ("violently-as0p").
std::string_view after_sb_spelling(SplitBrainPolicy policy);

// cram-hmac-alg: sha1, sha256, md5. verify-alg, csums-alg, data-integrity-alg: those and crc32c.
// Case-insensitive; the result is lowercase.
Result<std::string> parse_digest(std::string_view option, std::string_view value, bool for_hmac);

// A non-negative decimal integer (no sign, no unit), at most 18 digits.
std::optional<std::int64_t> parse_integer(std::string_view text);

}  // namespace hapbx::replica::config_values
