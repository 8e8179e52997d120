// Builds the extensions.conf model (see dialplan.h) from the generic Asterisk-syntax reader,
// and looks extensions up. [general] and [globals] are read first wherever they appear (as
// pbx_config does); every other non-template section is a context, and sections of the same
// name add to one context.
#include "pbx/dialplan.h"

#include <algorithm>
#include <array>
#include <limits>
#include <unordered_set>

#include "pbx/config_diagnostics.h"
#include "pbx/dialplan_expression.h"
#include "pbx/dialplan_pattern.h"
#include "pbx/sip_config_values.h"

namespace hapbx::pbx {

namespace fs = std::filesystem;

// ---- applications ------------------------------------------------------------------------------

namespace {

struct AppInfo {
  std::string_view name;
  bool internal;  // run by the interpreter itself; the others need the call
};

constexpr std::array<AppInfo, 20> kApplications = {{
    {"Answer", false},   {"Ringing", false}, {"Progress", false}, {"Dial", false},
    {"Hangup", false},   {"Busy", false},    {"Congestion", false}, {"Wait", false},
    {"Playback", false}, {"Echo", false},    {"NoOp", true},      {"Set", true},
    {"Goto", true},      {"GotoIf", true},   {"Gosub", true},     {"GosubIf", true},
    {"Return", true},    {"Verbose", true},  {"Log", true},       {"ExecIf", true},
}};

// The highest priority number accepted; leaves room for `n` and `+N` without overflow.
constexpr long long kMaxPriority = 1'000'000'000;
constexpr int kMaxIncludeDepth = 128;

}  // namespace

std::optional<std::string_view> canonical_application(std::string_view name) {
  for (const auto& app : kApplications) {
    if (iequals(app.name, name)) return app.name;
  }
  return std::nullopt;
}

bool is_internal_application(std::string_view name) {
  for (const auto& app : kApplications) {
    if (app.name == name) return app.internal;
  }
  return false;
}

// ---- model lookups -----------------------------------------------------------------------------

const DialplanPriority* DialplanExtension::find_priority(int number) const {
  auto it = std::lower_bound(priorities.begin(), priorities.end(), number,
                             [](const DialplanPriority& p, int n) { return p.number < n; });
  return it != priorities.end() && it->number == number ? &*it : nullptr;
}

const DialplanPriority* DialplanExtension::find_label(std::string_view label) const {
  for (const auto& p : priorities) {
    if (!label.empty() && p.label == label) return &p;
  }
  return nullptr;
}

const DialplanContext* Dialplan::find_context(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &contexts[it->second];
}

void Dialplan::reindex() {
  index_.clear();
  for (std::size_t i = 0; i < contexts.size(); ++i) index_.emplace(contexts[i].name, i);
}

namespace {

class Search {
 public:
  Search(const Dialplan& plan, std::string_view exten, std::string_view caller_id)
      : plan_(plan), exten_(exten), caller_id_(caller_id) {}

  std::optional<ExtensionMatch> in(const DialplanContext* context, int depth) {
    if (context == nullptr || depth > kMaxIncludeDepth) return std::nullopt;
    if (!visited_.insert(context).second) return std::nullopt;  // include loop
    for (const auto& ext : context->extensions) {
      if (ext.priorities.empty() || !pattern_matches(ext.name, exten_)) continue;
      if (!ext.caller_id_match.empty() &&
          (caller_id_.empty() || !pattern_matches(ext.caller_id_match, caller_id_))) {
        continue;
      }
      return ExtensionMatch{context, &ext};
    }
    for (const auto& name : context->includes) {
      if (auto found = in(plan_.find_context(name), depth + 1)) return found;
    }
    return std::nullopt;
  }

 private:
  const Dialplan& plan_;
  std::string_view exten_, caller_id_;
  std::unordered_set<const DialplanContext*> visited_;
};

}  // namespace

std::optional<ExtensionMatch> find_extension(const Dialplan& plan, std::string_view context,
                                             std::string_view exten, std::string_view caller_id) {
  Search search(plan, exten, caller_id);
  return search.in(plan.find_context(context), 0);
}

// ---- building ----------------------------------------------------------------------------------

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The first `sep` outside square brackets (patterns like _[1,2]X contain commas). With a '['
// that is never closed, simply the first `sep`.
std::size_t find_outside_brackets(std::string_view s, char sep) {
  int depth = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '[') ++depth;
    else if (s[i] == ']' && depth > 0) --depth;
    else if (s[i] == sep && depth == 0) return i;
  }
  return s.find(sep);
}

std::optional<long long> whole_number(std::string_view s) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

class Builder {
 public:
  explicit Builder(ConfigDiagnostics& diag) : diag_(diag) {}

  void general(const ConfigSection& section) {
    if (plan_.general.where.file.empty()) plan_.general.where = section.where;
    for (const auto& e : section.entries) {
      const std::string key = lowercase(e.key);
      auto flag = [&](bool& target) {
        auto b = conf::parse_bool(e.value);
        if (!b) {
          diag_.warn(e.where, e.key + ": '" + shown(e.value) + "' is not yes or no; keeping " +
                                  (target ? "yes" : "no"));
          return false;
        }
        target = *b;
        return true;
      };
      if (key == "static") {
        if (flag(plan_.general.static_plan) && !plan_.general.static_plan) {
          diag_.note_unused("extensions.conf", e.where, "static=no",
                            "hapbx never changes the dialplan at run time");
        }
      } else if (key == "writeprotect") {
        flag(plan_.general.write_protect);
        diag_.note_unused("extensions.conf", e.where, "writeprotect",
                          "hapbx has no 'dialplan save' and never writes extensions.conf");
      } else if (key == "autofallthrough") {
        if (flag(plan_.general.autofallthrough) && !plan_.general.autofallthrough) {
          diag_.note_unused("extensions.conf", e.where, "autofallthrough=no",
                            "the call is hung up at the end of the priorities all the same");
        }
      } else if (key == "clearglobalvars") {
        flag(plan_.general.clear_global_vars);
      } else if (key == "extenpatternmatchnew") {
        flag(plan_.general.exten_pattern_match_new);  // same match results either way
      } else if (key == "userscontext") {
        plan_.general.users_context = e.value;
        diag_.note_unused("extensions.conf", e.where, "userscontext", "hapbx reads no users.conf");
      } else {
        diag_.warn(e.where, "unknown option '" + shown(e.key) +
                                "' in [general] ignored (expected static, writeprotect, "
                                "autofallthrough, clearglobalvars, extenpatternmatchnew or "
                                "userscontext)");
      }
    }
  }

  // Values may use globals defined above them, as pbx_config substitutes them at load.
  void globals(const ConfigSection& section) {
    for (const auto& e : section.entries) {
      Substitution s = substitute_variables(e.value, scope_);
      for (const auto& p : s.problems) diag_.warn(e.where, "[globals] " + shown(e.key) + ": " + p);
      scope_.globals[e.key] = s.text;
      auto [it, fresh] = globals_index_.emplace(e.key, plan_.globals.size());
      if (fresh) {
        plan_.globals.emplace_back(e.key, std::move(s.text));
      } else {
        plan_.globals[it->second].second = std::move(s.text);  // a later line wins
      }
    }
  }

  void context(const ConfigSection& section) {
    auto [it, fresh] = context_index_.emplace(section.name, plan_.contexts.size());
    if (fresh) {
      plan_.contexts.push_back(DialplanContext{section.name, section.where, {}, {}, {}});
      states_.emplace_back();
    }
    const std::size_t ci = it->second;
    for (const auto& e : section.entries) entry(ci, e);
  }

  Dialplan finish() {
    for (std::size_t ci = 0; ci < plan_.contexts.size(); ++ci) {
      DialplanContext& c = plan_.contexts[ci];
      for (auto& ext : c.extensions) {
        std::sort(ext.priorities.begin(), ext.priorities.end(),
                  [](const DialplanPriority& a, const DialplanPriority& b) {
                    return a.number < b.number;  // numbers are unique
                  });
        check_extension(c, ext);
      }
      std::stable_sort(c.extensions.begin(), c.extensions.end(),
                       [](const DialplanExtension& a, const DialplanExtension& b) {
                         const int by_name = compare_extension_names(a.name, b.name);
                         if (by_name != 0) return by_name < 0;
                         // One name: the caller-id variants are tried first.
                         if (a.caller_id_match.empty() != b.caller_id_match.empty()) {
                           return !a.caller_id_match.empty();
                         }
                         return compare_extension_names(a.caller_id_match, b.caller_id_match) < 0;
                       });
    }
    plan_.reindex();
    for (const auto& c : plan_.contexts) {
      for (std::size_t i = 0; i < c.includes.size(); ++i) {
        if (plan_.find_context(c.includes[i]) == nullptr) {
          diag_.warn(c.include_where[i], "[" + shown(c.name) + "] includes '" +
                                             shown(c.includes[i]) +
                                             "', which is not defined (define [" +
                                             shown(c.includes[i]) +
                                             "] or remove the include); it is skipped");
        }
      }
    }
    return std::move(plan_);
  }

 private:
  // Per extension while building: priorities are appended and sorted in finish(), so a file
  // of many priorities in reverse order is not quadratic.
  struct ExtensionState {
    int last_priority = 0;  // 0: no priority line yet
    std::unordered_map<int, SourceLocation> numbers;
    std::unordered_map<std::string, std::pair<int, SourceLocation>> labels;
  };
  struct ContextState {
    std::unordered_map<std::string, std::size_t> extensions;  // name '\0' cid -> index
    std::vector<ExtensionState> ext_state;                    // parallel to extensions
    std::string last_name, last_cid;                          // for `same =>`
    bool has_last = false;
  };

  void entry(std::size_t ci, const ConfigEntry& e) {
    const std::string key = lowercase(e.key);
    if (key == "exten") {
      exten_line(ci, e, /*same=*/false);
    } else if (key == "same") {
      exten_line(ci, e, /*same=*/true);
    } else if (key == "include") {
      include_line(ci, e);
    } else if (key == "ignorepat") {
      diag_.note_unused("extensions.conf", e.where, "ignorepat", "hapbx plays no dial tone");
    } else if (key == "switch" || key == "eswitch" || key == "lswitch") {
      diag_.warn(e.where, "'" + shown(e.key) + "' (switches to other servers) is not supported "
                          "by hapbx; line ignored");
    } else {
      diag_.warn(e.where, "unknown line '" + shown(e.key) + "' in [" +
                              shown(plan_.contexts[ci].name) +
                              "] ignored (expected exten =>, same => or include =>)");
    }
  }

  void include_line(std::size_t ci, const ConfigEntry& e) {
    DialplanContext& c = plan_.contexts[ci];
    std::string_view value = e.value;
    const std::size_t cut = value.find_first_of(",|");
    const std::string_view name = trim(value.substr(0, cut));
    if (name.empty()) {
      diag_.warn(e.where, "include without a context name; line ignored (write include => other)");
      return;
    }
    if (cut != std::string_view::npos) {
      std::string_view times = value.substr(cut + 1);
      bool always = true;
      for (char ch : times) always = always && (ch == '*' || ch == ',' || ch == '|' || ch == ' ');
      if (!always) {
        diag_.warn(e.where, "time conditions on 'include => " + shown(name) +
                                "' are not supported; the include always applies");
      }
    }
    if (name == c.name) {
      diag_.warn(e.where, "[" + shown(c.name) + "] includes itself; line ignored");
      return;
    }
    if (std::find(c.includes.begin(), c.includes.end(), name) != c.includes.end()) return;
    c.includes.emplace_back(name);
    c.include_where.push_back(e.where);
  }

  void exten_line(std::size_t ci, const ConfigEntry& e, bool same) {
    DialplanContext& c = plan_.contexts[ci];
    ContextState& st = states_[ci];
    std::string_view rest = e.value;
    std::string name, cid;
    if (same) {
      if (!st.has_last) {
        diag_.warn(e.where, "'same =>' before any 'exten =>' line in [" + shown(c.name) +
                                "]; line ignored (start with exten => NAME,1,...)");
        return;
      }
      name = st.last_name;
      cid = st.last_cid;
    } else {
      const std::size_t comma = find_outside_brackets(rest, ',');
      std::string_view full = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const std::size_t slash = full.find('/');
      name = std::string(trim(full.substr(0, slash)));
      if (slash != std::string_view::npos) cid = std::string(trim(full.substr(slash + 1)));
      if (name.empty()) {
        diag_.warn(e.where, "exten line without an extension name; line ignored (write exten => "
                            "201,1,Dial(SIP/201))");
        return;
      }
    }
    const std::size_t comma = rest.find(',');
    if (comma == std::string_view::npos) {
      diag_.warn(e.where, "'" + shown(e.value) + "' has no application; line ignored (write " +
                              (same ? "same => n,App(data)" : "exten => NAME,PRIORITY,App(data)") +
                              ")");
      return;
    }
    const std::string_view priority_text = trim(rest.substr(0, comma));
    const std::string_view app_text = trim(rest.substr(comma + 1));

    st.last_name = name;
    st.last_cid = cid;
    st.has_last = true;

    // The extension, if it exists already; it is created once a line for it is valid.
    const std::string key = name + '\0' + cid;
    auto found = st.extensions.find(key);
    const ExtensionState& xs =
        found == st.extensions.end() ? no_state_ : st.ext_state[found->second];
    const int last_priority = xs.last_priority;

    // The priority: NUMBER | n | next | s | same | hint | label, then +N, then (label).
    std::string_view pri = priority_text;
    std::string label;
    if (const std::size_t open = pri.find('('); open != std::string_view::npos) {
      const std::size_t close = pri.find(')', open);
      if (close == std::string_view::npos) {
        diag_.warn(e.where, "label in priority '" + shown(priority_text) + "' has no closing ')'");
      }
      label = std::string(trim(pri.substr(open + 1, close == std::string_view::npos
                                                         ? std::string_view::npos
                                                         : close - open - 1)));
      pri = trim(pri.substr(0, open));
    }
    long long plus = 0;
    if (const std::size_t p = pri.find('+'); p != std::string_view::npos) {
      auto n = whole_number(trim(pri.substr(p + 1)));
      if (!n) {
        bad_priority(e, priority_text);
        return;
      }
      plus = *n;
      pri = trim(pri.substr(0, p));
    }
    if (iequals(pri, "hint")) {
      if (found != st.extensions.end() && !c.extensions[found->second].hint.empty()) {
        diag_.warn(e.where, "second hint for extension '" + shown(name) + "' in [" +
                                shown(c.name) + "]; the first is kept");
        return;
      }
      extension(ci, name, cid, e.where).hint = std::string(app_text);
      diag_.note_unused("extensions.conf", e.where, "hint",
                        "no presence or BLF subscriptions yet");
      return;
    }
    long long number = 0;
    if (iequals(pri, "n") || iequals(pri, "next") || iequals(pri, "s") || iequals(pri, "same")) {
      const bool next = pri.size() == 1 ? (pri[0] == 'n' || pri[0] == 'N') : iequals(pri, "next");
      if (last_priority == 0) {
        diag_.warn(e.where, "priority '" + shown(priority_text) + "' on the first line of "
                            "extension '" + shown(name) + "' in [" + shown(c.name) +
                            "]; taken as 1 (write 1)");
        number = 1;
      } else {
        number = next ? last_priority + 1 : last_priority;
      }
    } else if (auto n = whole_number(pri)) {
      number = *n;
      if (number < 1) {
        bad_priority(e, priority_text);
        return;
      }
    } else if (auto labelled = xs.labels.find(std::string(pri)); labelled != xs.labels.end()) {
      number = labelled->second.first;
    } else {
      bad_priority(e, priority_text);
      return;
    }
    number += plus;
    if (number > kMaxPriority) {
      diag_.warn(e.where, "priority " + std::to_string(number) + " is larger than " +
                              std::to_string(kMaxPriority) + "; line ignored");
      return;
    }

    DialplanPriority p;
    p.number = static_cast<int>(number);
    p.label = std::move(label);
    p.where = e.where;
    if (!parse_application(e, app_text, p)) return;

    if (auto dup = xs.numbers.find(p.number); dup != xs.numbers.end()) {
      diag_.warn(e.where, "priority " + std::to_string(p.number) + " of extension '" +
                              shown(name) + "' in [" + shown(c.name) +
                              "] is already defined at " + dup->second.str() +
                              "; this line is ignored (renumber one of them)");
      return;
    }
    if (!p.label.empty()) {
      if (auto other = xs.labels.find(p.label); other != xs.labels.end()) {
        diag_.warn(e.where, "label '" + shown(p.label) + "' of extension '" + shown(name) +
                                "' is already used at " + other->second.second.str() +
                                "; Goto finds the lower-numbered one (rename one of them)");
      }
    }
    DialplanExtension& target = extension(ci, name, cid, e.where);
    ExtensionState& state = st.ext_state[st.extensions.at(key)];
    state.last_priority = p.number;
    state.numbers.emplace(p.number, p.where);
    if (!p.label.empty()) state.labels.emplace(p.label, std::make_pair(p.number, p.where));
    target.priorities.push_back(std::move(p));
  }

  DialplanExtension& extension(std::size_t ci, const std::string& name, const std::string& cid,
                               const SourceLocation& where) {
    DialplanContext& c = plan_.contexts[ci];
    ContextState& st = states_[ci];
    auto [it, fresh] = st.extensions.emplace(name + '\0' + cid, c.extensions.size());
    if (fresh) {
      DialplanExtension ext;
      ext.name = name;
      ext.caller_id_match = cid;
      ext.where = where;
      c.extensions.push_back(std::move(ext));
      st.ext_state.emplace_back();
    }
    return c.extensions[it->second];
  }

  void bad_priority(const ConfigEntry& e, std::string_view text) {
    diag_.warn(e.where, "priority '" + shown(text) + "' is not a number from 1, 'n', 's', 'hint' "
                        "or a label defined above; line ignored (write e.g. 1, n or n(label))");
  }

  // App(data), App, or the old App,data form.
  bool parse_application(const ConfigEntry& e, std::string_view text, DialplanPriority& p) {
    std::string_view app, data;
    const std::size_t open = text.find('(');
    const std::size_t comma = text.find(',');
    if (open != std::string_view::npos && (comma == std::string_view::npos || open < comma)) {
      app = trim(text.substr(0, open));
      const std::size_t close = text.rfind(')');
      if (close == std::string_view::npos || close < open) {
        diag_.warn(e.where, "no closing ')' in '" + shown(text) + "'; the data runs to the end "
                            "of the line");
        data = text.substr(open + 1);
      } else {
        data = text.substr(open + 1, close - open - 1);
        if (!trim(text.substr(close + 1)).empty()) {
          diag_.warn(e.where, "text after ')' in '" + shown(text) + "' ignored");
        }
      }
    } else if (comma != std::string_view::npos) {
      app = trim(text.substr(0, comma));
      data = text.substr(comma + 1);
    } else {
      app = text;
    }
    if (app.empty()) {
      diag_.warn(e.where, "no application name in '" + shown(text) +
                              "'; line ignored (write e.g. Dial(SIP/201,20))");
      return false;
    }
    if (auto canonical = canonical_application(app)) {
      p.app = std::string(*canonical);
    } else {
      p.app = std::string(app);
      diag_.warn(e.where, "unknown application '" + shown(app) +
                              "' (it will hang up the call at run time)");
    }
    p.data = std::string(data);
    return true;
  }

  void check_extension(const DialplanContext& c, const DialplanExtension& ext) {
    const std::string what = "extension '" + shown(ext.name) + "' in [" + shown(c.name) + "]";
    if (!pattern_well_formed(ext.name) || !pattern_well_formed(ext.caller_id_match)) {
      diag_.warn(ext.where, "pattern of " + what + " has a '[' without ']', so it never "
                            "matches (close the set)");
    }
    if (ext.priorities.empty()) return;  // only a hint
    if (ext.priorities.front().number != 1) {
      diag_.warn(ext.priorities.front().where,
                 what + " has no priority 1, so calls to it find nothing (number its first "
                        "line 1)");
      return;
    }
    for (std::size_t i = 1; i < ext.priorities.size(); ++i) {
      const int expected = ext.priorities[i - 1].number + 1;
      if (ext.priorities[i].number != expected) {
        diag_.warn(ext.priorities[i].where,
                   what + " has no priority " + std::to_string(expected) + ", so priority " +
                       std::to_string(ext.priorities[i].number) +
                       " and later are reached only by Goto");
        return;
      }
    }
  }

  ConfigDiagnostics& diag_;
  Dialplan plan_;
  MapVariableScope scope_;  // [globals] so far, for substitution
  std::unordered_map<std::string, std::size_t> globals_index_;
  std::unordered_map<std::string, std::size_t> context_index_;
  std::vector<ContextState> states_;  // parallel to plan_.contexts
  const ExtensionState no_state_;     // of an extension without lines yet
};

}  // namespace

Result<Dialplan> build_dialplan(const ConfigFile& file) {
  ConfigDiagnostics diag;
  for (const auto& w : file.warnings) diag.warnings().push_back(w);
  Builder builder(diag);
  for (const auto& s : file.sections) {
    if (!s.is_template && iequals(s.name, "general")) builder.general(s);
  }
  for (const auto& s : file.sections) {
    if (!s.is_template && iequals(s.name, "globals")) builder.globals(s);
  }
  for (const auto& s : file.sections) {
    if (s.is_template || iequals(s.name, "general") || iequals(s.name, "globals")) continue;
    builder.context(s);
  }
  Dialplan plan = builder.finish();
  if (diag.failed()) return make_error(diag.error_text());
  plan.warnings = std::move(diag.warnings());
  return plan;
}

Result<Dialplan> load_dialplan(const fs::path& config_dir, ConfigLoader& loader) {
  auto file = read_asterisk_config(config_dir / "extensions.conf", loader);
  if (!file.ok()) return file.error();
  return build_dialplan(file.value());
}

}  // namespace hapbx::pbx
