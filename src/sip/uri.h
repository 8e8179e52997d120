// SIP URIs (RFC 3261 19.1) and the generic parameter lists they and many headers carry.
// Parsed into views: a Uri never owns its text; it points into the buffer of the Message (or
// the string) it was parsed from, which must outlive it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hapbx::sip {

// One `;name=value` (or `;name` flag) parameter. Names compare case-insensitively.
// `value` is the raw text (quotes kept for quoted-string values; use unquote() to read).
struct Param {
  std::string_view name;
  std::string_view value;
  bool has_value = false;
};

using Params = std::vector<Param>;

// First parameter named `name` (case-insensitive), if any.
const Param* find_param(const Params& params, std::string_view name);
// Value of that parameter; nullopt when absent, "" when a flag without value.
std::optional<std::string_view> param_value(const Params& params, std::string_view name);

struct Uri {
  std::string_view scheme;    // "sip", "sips" or "tel" (other absolute URIs: scheme + opaque)
  std::string_view user;      // may be empty; still percent-escaped as received
  std::string_view password;  // rarely used, still parsed
  std::string_view host;      // hostname, IPv4, or IPv6 *without* the brackets
  uint16_t port = 0;          // 0 = not given
  Params params;              // ;transport=tcp;lr ...
  Params headers;             // ?subject=...&priority=...
  std::string_view opaque;    // for schemes other than sip/sips: everything after ':'
  std::string_view text;      // the whole URI as received

  bool is_sip() const { return scheme == "sip" || scheme == "sips"; }
};

Result<Uri> parse_uri(std::string_view text);

// Canonical printing (RFC 3261 syntax; IPv6 hosts get their brackets back).
void print_uri(const Uri& uri, std::string& out);
std::string to_string(const Uri& uri);

// RFC 3261 19.1.4 URI comparison (user case-sensitive, host case-insensitive, params rules).
bool uri_equal(const Uri& a, const Uri& b);

// Helpers shared with header parsing.
bool iequals(std::string_view a, std::string_view b);
std::string_view trim(std::string_view text);
// Removes surrounding quotes and resolves backslash escapes of a quoted-string.
std::string unquote(std::string_view text);

}  // namespace hapbx::sip
