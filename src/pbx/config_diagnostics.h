// Collects what the typed config layers (sip.conf, rtp.conf, later extensions.conf) have to say
// about a file: errors (the load fails, all of them are reported at once), warnings, and the
// one-per-option "accepted but not used" notes. Messages are "file:line: text". An entry that
// many sections inherit from one template line is reported once, at the template's line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "pbx/asterisk_config.h"

namespace hapbx::pbx {

class ConfigDiagnostics {
 public:
  void warn(const SourceLocation& where, std::string_view message);
  void fail(const SourceLocation& where, std::string_view message);
  // "sip.conf:31: 'callgroup' is accepted but not used by hapbx yet", once per option name and
  // file kind (`scope`, e.g. "sip.conf"), at its first occurrence.
  void note_unused(std::string_view scope, const SourceLocation& where, std::string_view key,
                   std::string_view why = {});

  bool failed() const { return !errors_.empty(); }
  const std::vector<std::string>& errors() const { return errors_; }
  std::vector<std::string>& warnings() { return warnings_; }
  // All errors in one message, one per line (capped so a broken generated file stays readable).
  std::string error_text() const;

 private:
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
  std::unordered_set<std::string> seen_;  // full messages already emitted
  std::unordered_set<std::string> noted_keys_;
};

// Printable form of user input inside a message: at most 60 characters, control bytes as '?'.
std::string shown(std::string_view text);

// ASCII case-insensitive comparison and lowercase copy, as Asterisk compares option names.
bool iequals(std::string_view a, std::string_view b);
std::string lowercase(std::string_view text);

}  // namespace hapbx::pbx
