// The line layer shared by the Heartbeat-syntax config parsers (ha.cf, authkeys, haresources):
// text becomes a list of logical lines, each a list of words with the number of the line it
// starts on. It knows nothing of what a word means.
//
//   line    := word* comment?            words separated by blanks (space, tab)
//   comment := '#' to the end of the line, where '#' starts a word (at the start of the line or
//              after a blank); a '#' inside a word is part of it (`1 sha1 ab#cd` keeps "ab#cd")
//   `\` as the last character of a line (blanks and a CR after it allowed) joins the next line
//              to it, when the caller asks for continuations (haresources); the logical line is
//              numbered by its first physical line
//
// CRLF line ends are accepted. A NUL or another control byte (other than tab, CR, LF) is an error
// naming file:line: these files are written by people, a control byte means a broken or foreign
// file. Input is hostile: bounded by HeartbeatConfigLimits, never throws, never crashes.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hapbx::cluster {

// A message about a line that was accepted but not (fully) applied, or is suspicious.
struct ConfigWarning {
  std::string file;
  int line = 0;          // 0: about the whole file
  std::string message;   // "ha.cf:7: unknown directive 'foo', ignored (check the spelling)"
};

// Bounds against hostile or runaway input. Exceeding one is an error naming file:line.
struct HeartbeatConfigLimits {
  std::size_t max_file_bytes = 1u << 20;
  std::size_t max_lines = 100000;          // physical lines
  std::size_t max_words_per_line = 1024;   // per logical line
  std::size_t max_word_length = 4096;
  std::size_t max_logical_line_bytes = 64u << 10;
};

namespace hb_config {

struct Line {
  int number = 0;                   // 1-based, the first physical line
  std::vector<std::string> words;   // never empty
};

// Splits `text` into logical lines; blank and comment-only lines are dropped.
Result<std::vector<Line>> split_lines(std::string_view text, const std::string& file,
                                      bool continuations, const HeartbeatConfigLimits& limits);

// Printable form of user input inside a message: at most 60 characters, control bytes as '?'.
std::string shown(std::string_view text);

// "file:line" (or "file" when line is 0).
std::string place(const std::string& file, int line);

// Collects errors (all of them, shown up to a bound) and warnings of one parse.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void error(int line, const std::string& message);
  void warn(int line, const std::string& message);
  bool failed() const { return !errors_.empty(); }
  // The errors, one per line, at most 20 and a count of the rest.
  Error take_error() const;
  std::vector<ConfigWarning> take_warnings() { return std::move(warnings_); }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<std::string> errors_;
  std::vector<ConfigWarning> warnings_;
};

// Reads a whole regular file of at most `max_bytes`. Errors name the path and the cause.
// `check`, when given, vets the opened file before anything is read: the fstat of the very
// descriptor that is read, not of a path that could change in between (authkeys' mode 600).
Result<std::string> read_text_file(const std::string& path, std::size_t max_bytes,
                                   const std::function<Status(const struct stat&)>& check = {});

// Value syntax shared by the parsers. Pure functions.
bool is_ipv4(std::string_view text);
bool is_ipv6(std::string_view text);
// A Linux interface name: 1..15 bytes, no '/', ':' allowed only as an alias ("eth0:1"), no
// blanks or control bytes, not "." or "..".
bool valid_interface_name(std::string_view name);
// Host/node names: letters, digits, '-', '_', '.', 1..253 bytes, not starting with '-' or '.'.
bool valid_node_name(std::string_view name);
// Decimal integer without sign, at most 9 digits.
std::optional<long> parse_uint(std::string_view text);
// Heartbeat booleans: on/off, yes/no, true/false, y/n, 1/0 (case-insensitive).
std::optional<bool> parse_bool(std::string_view text);

}  // namespace hb_config
}  // namespace hapbx::cluster
