// Character classes of the SIP grammar (RFC 3261 25.1) as one lookup table: the parsers test
// every received byte, so a class test must be a single load, not a chain of comparisons.
// Internal to src/sip.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace hapbx::sip::chars {

enum Class : uint16_t {
  kAlpha = 1 << 0,
  kDigit = 1 << 1,
  kToken = 1 << 2,      // token (RFC 3261 25.1): alphanum and -.!%*_+`'~
  kUser = 1 << 3,       // user / password: unreserved, escaped, user-unreserved, &=+$,
  kUriParam = 1 << 4,   // paramchar: unreserved, escaped, param-unreserved []/:&+$
  kUriHeader = 1 << 5,  // hname/hvalue: unreserved, escaped, hnv-unreserved []/?:+$
  kHost = 1 << 6,       // hostname and IPv4 characters (underscore tolerated)
  kWs = 1 << 7,         // SP and HT
  kHex = 1 << 8,
  kSchemeRest = 1 << 9, // ALPHA / DIGIT / "+" / "-" / "."
};

constexpr std::array<uint16_t, 256> make_table() {
  std::array<uint16_t, 256> t{};
  auto add = [&t](std::string_view set, uint16_t cls) {
    for (char c : set) t[static_cast<unsigned char>(c)] |= cls;
  };
  for (int c = 'a'; c <= 'z'; ++c) t[c] |= kAlpha;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] |= kAlpha;
  for (int c = '0'; c <= '9'; ++c) t[c] |= kDigit | kHex;
  for (int c = 'a'; c <= 'f'; ++c) t[c] |= kHex;
  for (int c = 'A'; c <= 'F'; ++c) t[c] |= kHex;
  for (int c = 0; c < 256; ++c) {
    if (t[c] & (kAlpha | kDigit)) t[c] |= kToken | kUser | kUriParam | kUriHeader | kHost | kSchemeRest;
  }
  constexpr std::string_view mark = "-_.!~*'()";
  add(mark, kUser | kUriParam | kUriHeader);
  add("%", kUser | kUriParam | kUriHeader);
  add("-.!%*_+`'~", kToken);
  add("&=+$,;?/", kUser);
  add("[]/:&+$", kUriParam);
  add("[]/?:+$", kUriHeader);
  add("-._", kHost);
  add(" \t", kWs);
  add("+-.", kSchemeRest);
  return t;
}

inline constexpr std::array<uint16_t, 256> kTable = make_table();

inline bool is(char c, uint16_t cls) { return (kTable[static_cast<unsigned char>(c)] & cls) != 0; }
inline bool is_ws(char c) { return c == ' ' || c == '\t'; }
inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Skips SP/HT from `i`; returns the new index.
inline size_t skip_ws(std::string_view s, size_t i) {
  while (i < s.size() && is_ws(s[i])) ++i;
  return i;
}

// Parses 1*DIGIT at most `max` (no sign, leading zeros allowed, bounded digit count so a
// hostile 60 KB run of digits costs nothing extra). Returns false on empty, non-digit or > max.
inline bool parse_uint(std::string_view s, uint64_t max, uint64_t& out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > max) return false;
  }
  out = v;
  return true;
}

// A port number 1..65535 written in at most five digits (URI hostport, Via sent-by, rport).
inline bool parse_port(std::string_view digits, uint16_t& port) {
  uint64_t v = 0;
  if (digits.size() > 5 || !parse_uint(digits, 65535, v) || v == 0) return false;
  port = static_cast<uint16_t>(v);
  return true;
}

// The text between the brackets of an IPv6 reference: hex digits, colons (at least one) and the
// dots of an embedded IPv4 address. A shape check, not a full address parse.
inline bool valid_ipv6_text(std::string_view inner) {
  if (inner.size() < 2 || inner.size() > 45) return false;
  bool colon = false;
  for (char c : inner) {
    if (c == ':') {
      colon = true;
    } else if (!is(c, kHex) && c != '.') {
      return false;
    }
  }
  return colon;
}

}  // namespace hapbx::sip::chars
