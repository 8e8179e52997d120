// Application argument splitting: see dialplan_args.h.
#include "pbx/dialplan_args.h"

namespace hapbx::pbx {

std::vector<std::string> split_application_args(std::string_view data, char separator,
                                                 bool remove_quotes, std::size_t max_args) {
  std::vector<std::string> args;
  if (data.empty()) return args;
  std::string current;
  int parens = 0, brackets = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (c == '\\' && i + 1 < data.size()) {
      if (!remove_quotes) current += c;
      current += data[++i];
      continue;
    }
    if (c == '"') {
      quoted = !quoted;
      if (!remove_quotes) current += c;
      continue;
    }
    if (!quoted) {
      if (c == '(') ++parens;
      else if (c == ')' && parens > 0) --parens;
      else if (c == '[') ++brackets;
      else if (c == ']' && brackets > 0) --brackets;
      else if (c == separator && parens == 0 && brackets == 0 && args.size() + 1 < max_args) {
        args.push_back(std::move(current));
        current.clear();
        continue;
      }
    }
    current += c;
  }
  args.push_back(std::move(current));
  return args;
}

}  // namespace hapbx::pbx
