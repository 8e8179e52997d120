// Parsers for the value syntaxes of sip.conf / rtp.conf options (booleans, numbers, host:port,
// ACL networks, callerid, nat=, codec lists ...). Each returns the value or an Error whose text
// says what was wrong and what is expected; the caller prefixes "file:line: key". Kept apart
// from sip_config.cpp so the option tables there read as tables.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pbx/sip_config.h"

namespace hapbx::pbx::conf {

// Asterisk's ast_true/ast_false words: yes/true/y/t/1/on and no/false/n/f/0/off.
std::optional<bool> parse_bool(std::string_view value);

// A whole decimal number in [min, max].
Result<long long> parse_number(std::string_view value, long long min, long long max);

// The same for an option, with the message users see: "key: 'x' is not a whole number (write
// e.g. key=120)" or "key: '70000' is out of range (expected 1 to 65535)".
Result<long long> parse_number_option(std::string_view key, std::string_view value, long long min,
                                      long long max, std::string_view example);

// "addr", "addr:port", "[v6]", "[v6]:port" or a bare IPv6 address (no port then).
Result<BindAddress> parse_host_port(std::string_view value, uint16_t default_port);

// A numeric IPv4 or IPv6 address into 16 bytes (IPv4 in the first 4). IPv4-mapped IPv6
// addresses (::ffff:a.b.c.d) come back as IPv4.
bool parse_ip(std::string_view text, std::array<uint8_t, 16>& bytes, bool& ipv6);

// "net", "net/bits" or "net/mask" (IPv4 dotted mask, contiguous). `host_bits_set` reports an
// address with bits beyond the prefix (they are cleared).
Result<AclRule> parse_acl_rule(bool permit, std::string_view value, bool& host_bits_set);

// `"Name" <number>`, `Name <number>`, `<number>` or `number`.
void parse_callerid(std::string_view value, std::string& name, std::string& number);

Result<PeerType> parse_peer_type(std::string_view value);
Result<DirectMedia> parse_direct_media(std::string_view value);
Result<DtmfMode> parse_dtmf_mode(std::string_view value);
Result<NatSettings> parse_nat(std::string_view value);
Result<Insecure> parse_insecure(std::string_view value);
// Parses `udp,tcp`: supported kinds in order; unsupported known ones (tls, ws, wss) are listed
// in `unsupported`.
Result<std::vector<sip::TransportKind>> parse_transports(std::string_view value,
                                                         std::vector<std::string>& unsupported);
// qualify=yes|no|<ms>: 0 = off, yes = 2000 (Asterisk's DEFAULT_MAXMS).
Result<int> parse_qualify(std::string_view value);

// Applies one allow= (allow=true) or disallow= line to the ordered codec list, Asterisk style:
// comma-separated names, `all`, `!name` (= disallow), `name:ms` framing (ignored). A codec
// already in the list keeps its place. Unknown names and non-codecs (telephone-event) are
// reported through `warn` and skipped.
void apply_codecs(bool allow, std::string_view value, std::vector<std::string>& codecs,
                  const std::function<void(const std::string&)>& warn);

// The audio codec names `allow=all` adds, in preference order.
const std::vector<std::string_view>& known_audio_codecs();

}  // namespace hapbx::pbx::conf
