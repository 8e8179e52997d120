// Extension pattern matching and ordering: see dialplan_pattern.h for the rules.
#include "pbx/dialplan_pattern.h"

#include <bitset>
#include <cstddef>

namespace hapbx::pbx {

namespace {

enum class Kind { Set, OneOrMore, ZeroOrMore, End, Malformed };

struct Element {
  Kind kind = Kind::End;
  std::bitset<256> chars;  // Kind::Set only
};

unsigned char byte(char c) { return static_cast<unsigned char>(c); }

void add_range(std::bitset<256>& set, unsigned char from, unsigned char to) {
  for (unsigned c = from; c <= to; ++c) set.set(c);
}

// Reads the element at `pos` of a pattern body (after the '_') and advances `pos`.
// `skip_dashes`: matching ignores '-' in patterns; ordering does not (as Asterisk).
Element next_element(std::string_view p, std::size_t& pos, bool skip_dashes) {
  Element e;
  while (skip_dashes && pos < p.size() && p[pos] == '-') ++pos;
  if (pos >= p.size()) return e;  // End
  const char c = p[pos++];
  e.kind = Kind::Set;
  switch (c) {
    case 'X': case 'x': add_range(e.chars, '0', '9'); return e;
    case 'Z': case 'z': add_range(e.chars, '1', '9'); return e;
    case 'N': case 'n': add_range(e.chars, '2', '9'); return e;
    case '.': e.kind = Kind::OneOrMore; return e;
    case '!': e.kind = Kind::ZeroOrMore; return e;
    case '[': break;
    default: e.chars.set(byte(c)); return e;
  }
  const std::size_t close = p.find(']', pos);
  if (close == std::string_view::npos) {
    e.kind = Kind::Malformed;
    pos = p.size();
    return e;
  }
  const std::string_view body = p.substr(pos, close - pos);
  pos = close + 1;
  for (std::size_t i = 0; i < body.size(); ++i) {
    // "a-d" is a range; a '-' first or last is itself.
    if (i + 2 < body.size() && body[i + 1] == '-') {
      add_range(e.chars, byte(body[i]), byte(body[i + 2]));  // reversed range: empty
      i += 2;
    } else {
      e.chars.set(byte(body[i]));
    }
  }
  return e;
}

unsigned lowest(const std::bitset<256>& set) {
  for (unsigned c = 0; c < 256; ++c) {
    if (set.test(c)) return c;
  }
  return 0;
}

// The ordering weight of an element (see the table in dialplan_pattern.h).
unsigned weight(const Element& e) {
  switch (e.kind) {
    case Kind::Set: return static_cast<unsigned>(e.chars.count() << 8) | lowest(e.chars);
    case Kind::OneOrMore: return 0x18000;
    case Kind::ZeroOrMore: return 0x28000;
    case Kind::End: return 0x30000;
    case Kind::Malformed: return 0x40000;
  }
  return 0x40000;
}

}  // namespace

bool is_pattern(std::string_view name) { return !name.empty() && name.front() == '_'; }

bool pattern_matches(std::string_view pattern, std::string_view exten) {
  if (!is_pattern(pattern)) return pattern == exten;
  const std::string_view body = pattern.substr(1);
  std::size_t pos = 0;
  std::size_t i = 0;
  // Iterative: one pass over both strings, no backtracking (`.` and `!` end the comparison).
  while (true) {
    while (i < exten.size() && exten[i] == '-') ++i;
    const Element e = next_element(body, pos, /*skip_dashes=*/true);
    switch (e.kind) {
      case Kind::End: return i == exten.size();
      case Kind::Malformed: return false;
      case Kind::ZeroOrMore: return true;
      case Kind::OneOrMore: return i < exten.size();
      case Kind::Set:
        if (i >= exten.size() || !e.chars.test(byte(exten[i]))) return false;
        ++i;
        break;
    }
  }
}

int compare_extension_names(std::string_view a, std::string_view b) {
  const bool pa = is_pattern(a), pb = is_pattern(b);
  if (!pa || !pb) {
    if (pa != pb) return pa ? 1 : -1;  // exact names first
    const int c = a.compare(b);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  const std::string_view x = a.substr(1), y = b.substr(1);
  std::size_t px = 0, py = 0;
  while (true) {
    const Element ex = next_element(x, px, /*skip_dashes=*/false);
    const Element ey = next_element(y, py, /*skip_dashes=*/false);
    const unsigned wx = weight(ex), wy = weight(ey);
    if (wx != wy) return wx < wy ? -1 : 1;
    if (ex.kind == Kind::End || ex.kind == Kind::Malformed) return 0;
  }
}

bool pattern_well_formed(std::string_view pattern) {
  if (!is_pattern(pattern)) return true;
  const std::string_view body = pattern.substr(1);
  std::size_t pos = 0;
  while (true) {
    const Element e = next_element(body, pos, /*skip_dashes=*/false);
    if (e.kind == Kind::End) return true;
    if (e.kind == Kind::Malformed) return false;
  }
}

}  // namespace hapbx::pbx
