// Error/warning collection for the typed config layers: see config_diagnostics.h.
#include "pbx/config_diagnostics.h"

namespace hapbx::pbx {

namespace {
constexpr std::size_t kMaxErrorsShown = 25;
}

void ConfigDiagnostics::warn(const SourceLocation& where, std::string_view message) {
  std::string line = where.str() + ": " + std::string(message);
  if (seen_.insert(line).second) warnings_.push_back(std::move(line));
}

void ConfigDiagnostics::fail(const SourceLocation& where, std::string_view message) {
  std::string line = where.str() + ": " + std::string(message);
  if (seen_.insert(line).second) errors_.push_back(std::move(line));
}

void ConfigDiagnostics::note_unused(std::string_view scope, const SourceLocation& where,
                                    std::string_view key, std::string_view why) {
  if (!noted_keys_.insert(std::string(scope) + '\0' + lowercase(key)).second) return;
  std::string message = "'" + shown(key) + "' is accepted but not used by hapbx yet";
  if (!why.empty()) message += std::string(" (") + std::string(why) + ")";
  message += "; further uses are not reported";
  warn(where, message);
}

std::string ConfigDiagnostics::error_text() const {
  std::string text;
  for (std::size_t i = 0; i < errors_.size() && i < kMaxErrorsShown; ++i) {
    if (i > 0) text += '\n';
    text += errors_[i];
  }
  if (errors_.size() > kMaxErrorsShown) {
    text += "\n... and " + std::to_string(errors_.size() - kMaxErrorsShown) + " more errors";
  }
  return text;
}

std::string shown(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 60)) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  if (text.size() > 60) out += "...";
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace hapbx::pbx
