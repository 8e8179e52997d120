// Generic reader for Asterisk-syntax configuration files (sip.conf, rtp.conf, extensions.conf).
// It knows the file syntax only, not what any key means: sections, templates and inheritance,
// `key = value` / `key => value`, comments, #include. Every entry remembers the file:line it came
// from so that the typed layers (sip_config, the dialplan) can name the place in their messages.
//
// Syntax accepted (as Asterisk's config.c does):
//   [name]                  a section
//   [name](!)               a template: kept, but typed layers never turn it into an object
//   [name](tmpl)            inherit every entry of tmpl (copied in place, before our own entries)
//   [name](a,b)             several bases, applied in order; `[name](!,tmpl)` is a template that
//                           itself inherits
//   [name](+)               append to the section of that name defined earlier
//   key = value, key => value   whitespace around key and value is trimmed; repeated keys are
//                           all kept, in order (allow= is cumulative)
//   ; comment               to end of line; `\;` is a literal semicolon in a value
//   ;-- block comment --;   may span lines and nest
//   #include file / #include "file"   relative to the including file's directory
//   #tryinclude file        the same, but a missing file is fine
//   #exec program           refused with a warning: hapbx never runs programs named in config
//
// Input is hostile: limits on sizes, line length, counts and include depth give a clear error
// instead of unbounded memory or recursion. Files are read through ConfigLoader so tests and the
// fuzzer run without a filesystem.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hapbx::pbx {

// Where every file read by the config readers comes from. Implementations must not throw.
class ConfigLoader {
 public:
  virtual ~ConfigLoader() = default;
  // The whole content of `path`. std::nullopt means the file does not exist (not an error for
  // #tryinclude or optional files); an Error means it exists but cannot be read, or is larger
  // than `max_bytes`.
  virtual Result<std::optional<std::string>> read(const std::filesystem::path& path,
                                                   std::size_t max_bytes) = 0;
};

// The real filesystem.
class FileConfigLoader final : public ConfigLoader {
 public:
  Result<std::optional<std::string>> read(const std::filesystem::path& path,
                                          std::size_t max_bytes) override;
};

// Files held in memory, keyed by their lexically normalised path. For tests and the fuzzer.
class MemoryConfigLoader final : public ConfigLoader {
 public:
  void add(const std::filesystem::path& path, std::string content);
  Result<std::optional<std::string>> read(const std::filesystem::path& path,
                                          std::size_t max_bytes) override;

 private:
  std::map<std::string, std::string> files_;
};

// A place in a config file. `file` is the name shown to users: the path relative to the
// directory of the top-level file ("sip.conf", "peers/office.conf"), or the full path when the
// file lies elsewhere.
struct SourceLocation {
  std::string file;
  int line = 0;

  std::string str() const;  // "sip.conf:14"
};

struct ConfigEntry {
  std::string key;    // as written (case kept); typed layers compare case-insensitively
  std::string value;  // trimmed, `\;` unescaped
  SourceLocation where;
  bool arrow = false;      // written `key => value` (extensions.conf cares, sip.conf does not)
  bool inherited = false;  // copied from a base section; `where` is then the base's line
};

struct ConfigSection {
  std::string name;
  SourceLocation where;  // the [name] line
  bool is_template = false;
  std::vector<std::string> bases;    // names given in parentheses, in order
  std::vector<ConfigEntry> entries;  // inherited entries first, then our own, in order

  // The last entry with this key (case-insensitive), or nullptr. Last wins for single-valued
  // keys, so a peer's own line overrides its template's.
  const ConfigEntry* find(std::string_view key) const;
};

struct ConfigFile {
  std::vector<ConfigSection> sections;  // file order (includes expanded in place), templates too
  std::vector<std::string> warnings;    // each "file:line: message"

  // The first section with this name (case-sensitive, as Asterisk), or nullptr.
  const ConfigSection* find_section(std::string_view name) const;
};

// Limits against hostile or runaway files. Exceeding one is an error naming file:line.
struct ConfigLimits {
  std::size_t max_file_bytes = 16u << 20;   // one file
  std::size_t max_total_bytes = 64u << 20;  // all files of one read, includes counted
  std::size_t max_line_length = 8192;
  std::size_t max_sections = 200000;
  std::size_t max_entries = 4000000;  // after inheritance copies
  int max_include_depth = 16;
  std::size_t max_files = 1024;
  int max_comment_nesting = 64;
};

// Reads `path` and everything it includes. Errors (unreadable top file, syntax that cannot be
// interpreted safely, limits) name file:line and the fix; recoverable oddities become warnings.
Result<ConfigFile> read_asterisk_config(const std::filesystem::path& path, ConfigLoader& loader,
                                        const ConfigLimits& limits = {});

}  // namespace hapbx::pbx
