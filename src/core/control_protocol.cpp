// Encoding and incremental decoding of control-socket requests and responses (see the header
// for the grammar).
#include "core/control_protocol.h"

#include <charconv>

namespace hapbx::core {
namespace {

constexpr std::string_view kTextMode = "text";
constexpr std::string_view kJsonMode = "json";
constexpr std::string_view kOkStatus = "ok";
constexpr std::string_view kErrorStatus = "error";
constexpr char kHex[] = "0123456789ABCDEF";

// Bytes that would break the line-of-words framing are sent as %XX.
bool needs_escape(unsigned char c) { return c <= 0x20 || c == 0x7f || c == '%'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> decode_word(std::string_view token, std::size_t index) {
  std::string word;
  word.reserve(token.size());
  for (std::size_t i = 0; i < token.size(); ++i) {
    const auto c = static_cast<unsigned char>(token[i]);
    if (c != '%') {
      if (c < 0x20 || c == 0x7f) {
        return make_error("control request: word " + std::to_string(index + 1) +
                          " contains a raw control byte (must be %-encoded)");
      }
      word.push_back(token[i]);
      continue;
    }
    if (token.size() - i < 3) {
      return make_error("control request: word " + std::to_string(index + 1) +
                        " ends with an incomplete %-escape");
    }
    const int high = hex_value(token[i + 1]);
    const int low = hex_value(token[i + 2]);
    if (high < 0 || low < 0) {
      return make_error("control request: word " + std::to_string(index + 1) +
                        " has an invalid %-escape");
    }
    const int value = high * 16 + low;
    if (value == 0) {
      return make_error("control request: word " + std::to_string(index + 1) + " contains NUL");
    }
    word.push_back(static_cast<char>(value));
    i += 2;
  }
  return word;
}

// Splits on single spaces; an empty token (two spaces in a row, or a trailing space) is an error
// because the encoder never produces one.
std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> tokens;
  std::size_t start = 0;
  while (true) {
    const std::size_t space = line.find(' ', start);
    if (space == std::string_view::npos) {
      tokens.push_back(line.substr(start));
      return tokens;
    }
    tokens.push_back(line.substr(start, space - start));
    start = space + 1;
  }
}

// Strict unsigned decimal: digits only, no sign, no leading zeros except "0" itself.
std::optional<std::size_t> parse_length(std::string_view text) {
  if (text.empty() || text.size() > 12) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Returns the line before LF (and an optional CR), or nullopt when no LF is within `limit` bytes.
std::optional<std::string_view> find_line(std::string_view buffer, std::size_t limit) {
  const std::size_t newline = buffer.substr(0, limit).find('\n');
  if (newline == std::string_view::npos) return std::nullopt;
  std::string_view line = buffer.substr(0, newline);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

Result<std::string> encode_control_request(const ControlRequest& request) {
  if (request.words.size() > kMaxControlRequestWords) {
    return make_error("command has " + std::to_string(request.words.size()) +
                      " words (at most " + std::to_string(kMaxControlRequestWords) + ")");
  }
  std::string line(kControlMagic);
  line += ' ';
  line += request.json ? kJsonMode : kTextMode;
  for (std::size_t i = 0; i < request.words.size(); ++i) {
    const std::string& word = request.words[i];
    if (word.empty()) return make_error("command word " + std::to_string(i + 1) + " is empty");
    line += ' ';
    for (const char ch : word) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == 0) {
        return make_error("command word " + std::to_string(i + 1) + " contains a NUL byte");
      }
      if (needs_escape(c)) {
        line += '%';
        line += kHex[c >> 4];
        line += kHex[c & 0x0f];
      } else {
        line += ch;
      }
    }
  }
  line += '\n';
  if (line.size() > kMaxControlRequestBytes) {
    return make_error("command is too long (" + std::to_string(line.size()) +
                      " bytes encoded, at most " + std::to_string(kMaxControlRequestBytes) + ")");
  }
  return line;
}

std::string encode_control_response(const ControlResponse& response) {
  if (response.text.size() > kMaxControlResponsePayload) {
    return encode_control_response(
        {false, "response too large (" + std::to_string(response.text.size()) +
                    " bytes, at most " + std::to_string(kMaxControlResponsePayload) + ")"});
  }
  std::string out(kControlMagic);
  out += ' ';
  out += response.ok ? kOkStatus : kErrorStatus;
  out += ' ';
  out += std::to_string(response.text.size());
  out += '\n';
  out += response.text;
  return out;
}

Result<std::optional<Decoded<ControlRequest>>> try_decode_control_request(std::string_view buffer) {
  const std::optional<std::string_view> line = find_line(buffer, kMaxControlRequestBytes);
  if (!line) {
    if (buffer.size() >= kMaxControlRequestBytes) {
      return make_error("control request too large (no end of line within " +
                        std::to_string(kMaxControlRequestBytes) + " bytes)");
    }
    return std::optional<Decoded<ControlRequest>>();
  }
  const std::vector<std::string_view> tokens = split_spaces(*line);
  if (tokens[0] != kControlMagic) {
    return make_error("control request: expected '" + std::string(kControlMagic) +
                      "' at the start of the line (protocol mismatch: is the client from another "
                      "hapbx version?)");
  }
  if (tokens.size() < 2) return make_error("control request: missing mode (text or json)");
  ControlRequest request;
  if (tokens[1] == kJsonMode) {
    request.json = true;
  } else if (tokens[1] != kTextMode) {
    return make_error("control request: unknown mode (expected text or json)");
  }
  if (tokens.size() - 2 > kMaxControlRequestWords) {
    return make_error("control request: too many words (at most " +
                      std::to_string(kMaxControlRequestWords) + ")");
  }
  for (std::size_t i = 2; i < tokens.size(); ++i) {
    if (tokens[i].empty()) {
      return make_error("control request: empty word " + std::to_string(i - 1) +
                        " (words are separated by exactly one space)");
    }
    Result<std::string> word = decode_word(tokens[i], i - 2);
    if (!word) return word.error();
    request.words.push_back(std::move(word).value());
  }
  const std::size_t consumed = buffer.find('\n') + 1;
  return std::optional<Decoded<ControlRequest>>(Decoded<ControlRequest>{std::move(request), consumed});
}

Result<std::optional<Decoded<ControlResponse>>> try_decode_control_response(std::string_view buffer) {
  const std::optional<std::string_view> line = find_line(buffer, kMaxControlResponseHeaderBytes);
  if (!line) {
    if (buffer.size() >= kMaxControlResponseHeaderBytes) {
      return make_error("control response: header line too long (is this a hapbx daemon?)");
    }
    return std::optional<Decoded<ControlResponse>>();
  }
  const std::vector<std::string_view> tokens = split_spaces(*line);
  if (tokens[0] != kControlMagic) {
    return make_error("control response: expected '" + std::string(kControlMagic) +
                      "' (is this a hapbx daemon of the same version?)");
  }
  if (tokens.size() != 3) return make_error("control response: malformed header line");
  ControlResponse response;
  if (tokens[1] == kErrorStatus) {
    response.ok = false;
  } else if (tokens[1] != kOkStatus) {
    return make_error("control response: unknown status (expected ok or error)");
  }
  const std::optional<std::size_t> length = parse_length(tokens[2]);
  if (!length) return make_error("control response: malformed payload length");
  if (*length > kMaxControlResponsePayload) {
    return make_error("control response: payload of " + std::to_string(*length) +
                      " bytes is over the limit of " + std::to_string(kMaxControlResponsePayload));
  }
  const std::size_t header_size = buffer.find('\n') + 1;
  if (buffer.size() - header_size < *length) return std::optional<Decoded<ControlResponse>>();
  response.text.assign(buffer.substr(header_size, *length));
  return std::optional<Decoded<ControlResponse>>(
      Decoded<ControlResponse>{std::move(response), header_size + *length});
}

std::string join_control_words(const std::vector<std::string>& words) {
  std::string joined;
  for (const std::string& word : words) {
    if (!joined.empty()) joined += ' ';
    for (const char ch : word) {
      const auto c = static_cast<unsigned char>(ch);
      joined += (c < 0x20 || c == 0x7f) ? '?' : ch;  // never echo terminal control bytes
    }
  }
  return joined;
}

}  // namespace hapbx::core
