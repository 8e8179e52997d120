// The extensions.conf model: contexts, extensions and their priorities, [general] and
// [globals], as Asterisk's pbx_config reads them, plus the lookup of the extension a dialled
// string reaches. Built from the generic Asterisk-syntax reader (asterisk_config.h), so
// #include, comments, templates and (+) appends work as in sip.conf.
//
// Lines accepted in a context:
//   exten => NAME[/CID],PRIORITY,App(data)    also `App` alone and the old `App,data` form
//   same => PRIORITY,App(data)                 the extension of the previous exten line
//   include => other                           searched after this context's own extensions
//   ignorepat, switch, eswitch, lswitch        accepted with a warning: not used by hapbx
// PRIORITY is a number, `n`/`next` (previous priority of this extension + 1), `s`/`same` (the
// previous one again), `hint`, or a label defined earlier in the extension; each may carry
// `+N` and a label in parentheses: `1(start)`, `n(busy)`, `busy+1`.
//
// What is not fatal (Asterisk loads such files too) becomes a warning naming file:line: a
// priority that cannot be read (line ignored), a duplicate priority (first kept, both lines
// named), an unknown application (it hangs up the call at run time), an included context that
// does not exist, a gap in the priorities. Only the reader's own errors (a missing or unreadable
// file, an #include that cannot be found, limits) make the load fail.
//
// Differences from Asterisk, by design:
//   - `n` on the first line of an extension is taken as 1, with a warning (Asterisk continues
//     the numbering of whatever line came before, which leaves the extension without 1).
//   - The interpreter walks the priorities of the extension it matched; Asterisk looks each
//     next priority up again, so a pattern in the same context could supply a priority the
//     exact extension lacks. Nobody relies on that on purpose.
//   - Two different patterns that rank equal (`_X` and `_[0-9]`) stay two extensions, tried in
//     file order; Asterisk merges them into one.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/result.h"
#include "pbx/asterisk_config.h"

namespace hapbx::pbx {

// [general] of extensions.conf. hapbx has no `dialplan save` and no users.conf, so static,
// writeprotect and userscontext are stored for `dialplan show` but do not change anything.
struct DialplanGeneral {
  SourceLocation where;         // the [general] line; empty file when the section is absent
  bool static_plan = true;      // static=
  bool write_protect = false;   // writeprotect=
  bool autofallthrough = true;  // autofallthrough=: at the end of the priorities, hang up
  bool clear_global_vars = false;     // clearglobalvars=: see DialplanGlobals::reload()
  bool exten_pattern_match_new = false;  // extenpatternmatchnew=: same results either way
  std::string users_context;    // userscontext=
};

struct DialplanPriority {
  int number = 0;
  std::string label;  // n(label) / 1(label); empty if none
  std::string app;    // canonical spelling for known applications ("Dial"), else as written
  std::string data;   // raw, unsubstituted, without the parentheses
  SourceLocation where;
};

struct DialplanExtension {
  std::string name;             // as written: "201", "_2XX", "s", "h", "i", "t"
  std::string caller_id_match;  // the part after '/', empty if none
  std::vector<DialplanPriority> priorities;  // sorted by number, unique numbers
  std::string hint;             // `exten => 201,hint,SIP/201`: kept, not used yet
  SourceLocation where;         // the first line of this extension

  const DialplanPriority* find_priority(int number) const;
  const DialplanPriority* find_label(std::string_view label) const;
};

struct DialplanContext {
  std::string name;
  SourceLocation where;  // the first [name] line (sections of the same name are merged)
  // In Asterisk's match order (compare_extension_names; for one name, the caller-id variants
  // first), so the first extension that matches is the one Asterisk picks.
  std::vector<DialplanExtension> extensions;
  std::vector<std::string> includes;            // in file order
  std::vector<SourceLocation> include_where;    // parallel to includes
};

struct Dialplan {
  DialplanGeneral general;
  std::vector<std::pair<std::string, std::string>> globals;  // [globals], in order, substituted
  std::vector<DialplanContext> contexts;                     // file order
  std::vector<std::string> warnings;  // each "extensions.conf:12: ...", notes included

  // By name, case-sensitive (as Asterisk). O(1). Valid while `contexts` is not modified; call
  // reindex() after editing it by hand.
  const DialplanContext* find_context(std::string_view name) const;
  void reindex();

 private:
  std::unordered_map<std::string, std::size_t> index_;
};

// Reads config_dir/extensions.conf (required: a missing file is an Error naming it).
Result<Dialplan> load_dialplan(const std::filesystem::path& config_dir, ConfigLoader& loader);

// Builds the model from a file already read; the reader's warnings are carried over.
Result<Dialplan> build_dialplan(const ConfigFile& file);

struct ExtensionMatch {
  const DialplanContext* context = nullptr;    // where the extension was found (maybe included)
  const DialplanExtension* extension = nullptr;
};

// The extension `exten` reaches from `context`: the context's own extensions in match order
// (exact names, then the most specific pattern), then each include in order, depth first. A
// context is searched at most once per lookup (include loops end) and includes nest at most
// 128 deep. Extensions with a caller-id match only match when `caller_id` is given and matches;
// extensions with no priorities (only a hint) never match.
std::optional<ExtensionMatch> find_extension(const Dialplan& plan, std::string_view context,
                                             std::string_view exten,
                                             std::string_view caller_id = {});

// The canonical spelling of a known application ("dial" -> "Dial"), or nullopt.
std::optional<std::string_view> canonical_application(std::string_view name);

// Applications the interpreter runs itself (NoOp, Set, Goto ...) as opposed to those that need
// the call (Dial, Answer ...). `name` is canonical.
bool is_internal_application(std::string_view name);

}  // namespace hapbx::pbx
