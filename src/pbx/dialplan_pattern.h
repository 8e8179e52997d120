// Asterisk extension patterns: matching a dialled string against `_2XX`, `_X.`, `_[1-5]!` ...
// and the order in which Asterisk tries extensions of one context (exact names first, then the
// most specific pattern). Pure functions over strings; used by the dialplan lookup.
//
// Pattern syntax (a name starting with `_`; anything else is an exact name):
//   X  any digit 0-9          Z  1-9          N  2-9      (the class letters in either case)
//   [1-5] [a-c5-7] [15]       a set: single characters and ranges, taken literally inside
//   .  one or more characters of anything; the rest of the pattern after it is not looked at
//   !  zero or more characters of anything
//   -  ignored in the pattern and in the dialled string (a visual separator, as Asterisk)
//   any other character       itself, compared exactly (case-sensitive, as Asterisk)
// A set without its closing `]` never matches (the loader warns about it).
#pragma once

#include <string_view>

namespace hapbx::pbx {

bool is_pattern(std::string_view name);  // starts with '_'

// True if `exten` is matched by `pattern`: a pattern as above, or an exact name compared
// byte for byte.
bool pattern_matches(std::string_view pattern, std::string_view exten);

// Asterisk's ordering of extension names within a context (ext_cmp in main/pbx.c): negative if
// `a` is tried before `b`, 0 if they rank equal, positive otherwise.
//
// The rule: exact names come before every pattern (among themselves by byte order). Two
// patterns are compared element by element from the left, after the `_`. Each element gets a
// weight and the smaller weight wins at the first position where they differ:
//   a literal character c          0x100 | c              (a set of one)
//   a set of k characters          (k << 8) | lowest char  so N = 8 chars from '2' (0x832),
//                                                          Z = 9 from '1' (0x931),
//                                                          X = 10 from '0' (0xA30)
//   .                              0x18000
//   !                              0x28000
//   end of the pattern             0x30000
//   a malformed set (no ']')       0x40000
// So smaller sets are more specific, a literal beats any set, and at equal size the set
// starting at the lower character comes first. Example, for "201":
//   201  <  _201  <  _20[1-3]  <  _20N  <  _20X  <  _2[0-4]X  <  _2XX  <  _2X.  <  _2!  <  _X.
// (`_20[1-3]` has 3 characters at its third position, N has 8, X has 10.) Note that the end of
// a pattern weighs more than `.` and `!`: `_20X!` is tried before `_20X`.
int compare_extension_names(std::string_view a, std::string_view b);

// True if `pattern` is a pattern whose sets are all closed. Exact names are always well formed.
bool pattern_well_formed(std::string_view pattern);

}  // namespace hapbx::pbx
