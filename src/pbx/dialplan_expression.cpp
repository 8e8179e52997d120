// Variable substitution and $[...] expressions: see dialplan_expression.h for the language.
// The substituter is a recursive scan with an explicit depth; the expression evaluator is a
// precedence-climbing parser over a token list that evaluates as it parses (no side effects
// exist, so both branches of a ternary are parsed, and only the chosen one's error counts).
#include "pbx/dialplan_expression.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "pbx/config_diagnostics.h"

namespace hapbx::pbx {

// ---- small public pieces -----------------------------------------------------------------------

std::optional<std::string> MapVariableScope::variable(std::string_view key) const {
  if (auto it = variables.find(key); it != variables.end()) return it->second;
  return global(key);
}

std::optional<std::string> MapVariableScope::global(std::string_view key) const {
  if (auto it = globals.find(key); it != globals.end()) return it->second;
  return std::nullopt;
}

std::string substring(std::string_view value, long long offset, std::optional<long long> length) {
  const auto size = static_cast<long long>(value.size());
  if (offset < 0) {
    offset = size + offset;
    if (offset < 0) offset = 0;
  }
  if (offset >= size) return {};
  long long count = size - offset;
  if (length) {
    if (*length >= 0) {
      if (*length < count) count = *length;
    } else {
      count += *length;  // leave -length characters off the end
      if (count <= 0) return {};
    }
  }
  return std::string(value.substr(static_cast<std::size_t>(offset),
                                  static_cast<std::size_t>(count)));
}

bool condition_true(std::string_view text) {
  if (text.empty()) return false;
  std::size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' ||
                             text[i] == '\r' || text[i] == '\v' || text[i] == '\f')) {
    ++i;
  }
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  bool digits = false, nonzero = false;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    digits = true;
    nonzero = nonzero || text[i] != '0';
  }
  return digits ? nonzero : true;
}

std::string format_caller_id(std::string_view name, std::string_view number) {
  if (!name.empty() && !number.empty()) {
    return "\"" + std::string(name) + "\" <" + std::string(number) + ">";
  }
  return std::string(name.empty() ? number : name);
}

// ---- expressions -------------------------------------------------------------------------------

namespace {

enum class Tok {
  Text, Or, And, Eq, Ne, Lt, Gt, Le, Ge, Plus, Minus, Mul, Div, Mod, Not, Cond, Else, Regex,
  LParen, RParen, End,
};

struct Token {
  Tok kind = Tok::End;
  std::string text;  // Tok::Text only
};

bool operator_char(char c) {
  switch (c) {
    case '|': case '&': case '=': case '!': case '<': case '>': case '+': case '-': case '*':
    case '/': case '%': case '?': case ':': case '(': case ')': case '"':
      return true;
    default:
      return false;
  }
}

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

Result<std::vector<Token>> tokenize(std::string_view in) {
  std::vector<Token> out;
  std::size_t i = 0;
  auto op = [&](Tok kind, std::size_t len) {
    out.push_back(Token{kind, {}});
    i += len;
  };
  while (i < in.size()) {
    const char c = in[i];
    const char d = i + 1 < in.size() ? in[i + 1] : '\0';
    if (space(c)) { ++i; continue; }
    switch (c) {
      case '|': op(Tok::Or, 1); continue;
      case '&': op(Tok::And, 1); continue;
      case '=':
        if (d == '=') op(Tok::Eq, 2);
        else if (d == '~') op(Tok::Regex, 2);
        else op(Tok::Eq, 1);
        continue;
      case '!': d == '=' ? op(Tok::Ne, 2) : op(Tok::Not, 1); continue;
      case '<': d == '=' ? op(Tok::Le, 2) : op(Tok::Lt, 1); continue;
      case '>': d == '=' ? op(Tok::Ge, 2) : op(Tok::Gt, 1); continue;
      case '+': op(Tok::Plus, 1); continue;
      case '-': op(Tok::Minus, 1); continue;
      case '*': op(Tok::Mul, 1); continue;
      case '/': op(Tok::Div, 1); continue;
      case '%': op(Tok::Mod, 1); continue;
      case '?': op(Tok::Cond, 1); continue;
      case ':': d == ':' ? op(Tok::Else, 2) : op(Tok::Else, 1); continue;
      case '(': op(Tok::LParen, 1); continue;
      case ')': op(Tok::RParen, 1); continue;
      case '"': {
        const std::size_t close = in.find('"', i + 1);
        if (close == std::string_view::npos) {
          return make_error("unterminated quoted string in expression");
        }
        out.push_back(Token{Tok::Text, std::string(in.substr(i + 1, close - i - 1))});
        i = close + 1;
        continue;
      }
      default: break;
    }
    const std::size_t start = i;
    while (i < in.size() && !space(in[i]) && !operator_char(in[i])) ++i;
    out.push_back(Token{Tok::Text, std::string(in.substr(start, i - start))});
  }
  out.push_back(Token{Tok::End, {}});
  return out;
}

// Decimal numbers ("12", "-3", "2.5", ".5", "1e+21" as results print); hex, "inf" and "nan"
// are text.
std::optional<long double> to_number(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') { ++i; ++digits; }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') { ++i; ++digits; }
  }
  if (digits > 0 && i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    std::size_t exponent_digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') { ++i; ++exponent_digits; }
    if (exponent_digits == 0) return std::nullopt;
  }
  if (digits == 0 || i != s.size() || s.size() > 400) return std::nullopt;
  const std::string copy(s);
  const long double v = std::strtold(copy.c_str(), nullptr);
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

std::string format_number(long double v) {
  if (v == 0) return "0";  // also -0
  if (std::fabs(v) < 9.0e18L && v == std::trunc(v)) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.18Lg", v);
  return buf;
}

bool zero_or_empty(const std::string& s) {
  if (s.empty()) return true;
  auto n = to_number(s);
  return n && *n == 0;
}

// A value, or the error that produced it. Errors travel up through every operator; a ternary
// drops the error of the branch it does not take.
struct Value {
  std::string text;
  std::string error;
};

Value fail(std::string message) { return Value{{}, std::move(message)}; }

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, int max_depth) : t_(tokens), max_depth_(max_depth) {}

  Value parse_all() {
    if (peek() == Tok::End) return {};
    Value v = ternary();
    if (!syntax_.empty()) return fail(syntax_);
    if (peek() != Tok::End) return fail("syntax error: unexpected " + describe(t_[pos_]));
    return v;
  }

 private:
  Tok peek() const { return t_[pos_].kind; }
  void advance() {
    if (t_[pos_].kind != Tok::End) ++pos_;
  }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::Text: return "'" + shown(t.text) + "'";
      case Tok::End: return "end of expression";
      case Tok::RParen: return "')'";
      case Tok::Else: return "':'";
      default: return "operator";
    }
  }

  void syntax(std::string message) {
    if (syntax_.empty()) syntax_ = std::move(message);
  }

  bool enter() {
    if (++depth_ > max_depth_) {
      syntax("expression nested deeper than " + std::to_string(max_depth_) + " levels");
      return false;
    }
    return true;
  }

  Value ternary() {
    if (!enter()) return {};
    Value cond = or_expr();
    if (peek() == Tok::Cond) {
      advance();
      ++open_conditions_;
      Value yes = ternary();
      --open_conditions_;
      if (peek() != Tok::Else) {
        syntax("syntax error: '?' without ':' (write cond ? a :: b)");
        --depth_;
        return {};
      }
      advance();
      Value no = ternary();
      --depth_;
      if (!cond.error.empty()) return cond;
      return zero_or_empty(cond.text) ? no : yes;
    }
    --depth_;
    return cond;
  }

  Value or_expr() {
    Value left = and_expr();
    while (peek() == Tok::Or && syntax_.empty()) {
      advance();
      Value right = and_expr();
      if (!left.error.empty()) continue;
      if (!right.error.empty()) { left = right; continue; }
      if (zero_or_empty(left.text)) left = right;
    }
    return left;
  }

  Value and_expr() {
    Value left = comparison();
    while (peek() == Tok::And && syntax_.empty()) {
      advance();
      Value right = comparison();
      if (!left.error.empty()) continue;
      if (!right.error.empty()) { left = right; continue; }
      if (zero_or_empty(left.text) || zero_or_empty(right.text)) left = Value{"0", {}};
    }
    return left;
  }

  static bool is_comparison(Tok k) {
    return k == Tok::Eq || k == Tok::Ne || k == Tok::Lt || k == Tok::Gt || k == Tok::Le ||
           k == Tok::Ge;
  }

  Value comparison() {
    Value left = additive();
    while (is_comparison(peek()) && syntax_.empty()) {
      const Tok op = peek();
      advance();
      Value right = additive();
      if (!left.error.empty()) continue;
      if (!right.error.empty()) { left = right; continue; }
      int c = 0;
      auto a = to_number(left.text), b = to_number(right.text);
      if (a && b) {
        c = *a < *b ? -1 : (*a > *b ? 1 : 0);
      } else {
        const int r = left.text.compare(right.text);
        c = r < 0 ? -1 : (r > 0 ? 1 : 0);
      }
      bool result = false;
      switch (op) {
        case Tok::Eq: result = c == 0; break;
        case Tok::Ne: result = c != 0; break;
        case Tok::Lt: result = c < 0; break;
        case Tok::Gt: result = c > 0; break;
        case Tok::Le: result = c <= 0; break;
        default: result = c >= 0; break;
      }
      left = Value{result ? "1" : "0", {}};
    }
    return left;
  }

  static const char* symbol(Tok op) {
    switch (op) {
      case Tok::Plus: return "+";
      case Tok::Minus: return "-";
      case Tok::Mul: return "*";
      case Tok::Div: return "/";
      default: return "%";
    }
  }

  static Value arithmetic(Tok op, const Value& left, const Value& right) {
    if (!left.error.empty()) return left;
    if (!right.error.empty()) return right;
    auto a = to_number(left.text), b = to_number(right.text);
    if (!a || !b) {
      return fail(std::string("'") + symbol(op) + "' needs two numbers, got '" +
                  shown(a ? right.text : left.text) + "'");
    }
    long double r = 0;
    switch (op) {
      case Tok::Plus: r = *a + *b; break;
      case Tok::Minus: r = *a - *b; break;
      case Tok::Mul: r = *a * *b; break;
      case Tok::Div:
        if (*b == 0) return fail("division by zero");
        r = *a / *b;
        break;
      default:
        if (*b == 0) return fail("modulo by zero");
        r = std::fmod(*a, *b);
        break;
    }
    if (!std::isfinite(r)) return fail("number out of range");
    return Value{format_number(r), {}};
  }

  Value additive() {
    Value left = multiplicative();
    while ((peek() == Tok::Plus || peek() == Tok::Minus) && syntax_.empty()) {
      const Tok op = peek();
      advance();
      left = arithmetic(op, left, multiplicative());
    }
    return left;
  }

  Value multiplicative() {
    Value left = unary();
    while ((peek() == Tok::Mul || peek() == Tok::Div || peek() == Tok::Mod) && syntax_.empty()) {
      const Tok op = peek();
      advance();
      left = arithmetic(op, left, unary());
    }
    return left;
  }

  Value unary() {
    if (!enter()) return {};
    Value v;
    if (peek() == Tok::Not) {
      advance();
      v = unary();
      if (v.error.empty()) v.text = zero_or_empty(v.text) ? "1" : "0";
    } else if (peek() == Tok::Minus) {
      advance();
      v = unary();
      if (v.error.empty()) {
        auto n = to_number(v.text);
        v = n ? Value{format_number(-*n), {}}
              : fail("unary '-' needs a number, got '" + shown(v.text) + "'");
      }
    } else {
      v = primary();
    }
    --depth_;
    return v;
  }

  Value primary() {
    const Token& t = t_[pos_];
    Value v;
    switch (t.kind) {
      case Tok::Text:
        v.text = t.text;
        advance();
        break;
      case Tok::LParen:
        advance();
        v = ternary();
        if (peek() != Tok::RParen) {
          syntax("syntax error: missing ')'");
          return {};
        }
        advance();
        break;
      default:
        syntax("syntax error: expected a value, found " + describe(t));
        return {};
    }
    if (peek() == Tok::Regex || (peek() == Tok::Else && open_conditions_ == 0)) {
      // Asterisk's `:` and `=~` regular-expression match.
      syntax("regular expression matching (':' and '=~') is not supported");
    }
    return v;
  }

  const std::vector<Token>& t_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  int max_depth_;
  int open_conditions_ = 0;  // '?' whose ':' is still to come: a ':' then is no regex match
  std::string syntax_;
};

}  // namespace

Result<std::string> evaluate_expression(std::string_view expression,
                                        const ExpressionLimits& limits) {
  auto tokens = tokenize(expression);
  if (!tokens.ok()) return tokens.error();
  Parser parser(tokens.value(), limits.max_depth * 4);
  Value v = parser.parse_all();
  if (!v.error.empty()) return make_error(v.error);
  return std::move(v.text);
}

// ---- substitution ------------------------------------------------------------------------------

namespace {

class Substituter {
 public:
  Substituter(const VariableScope& scope, const ExpressionLimits& limits, Substitution& out)
      : scope_(scope), limits_(limits), out_(out) {}

  // Substitutes `text` into `result`. False once a limit was hit (the result is then cut).
  bool run(std::string_view text, int depth, std::string& result) {
    if (depth > limits_.max_depth) {
      problem("variables nested deeper than " + std::to_string(limits_.max_depth) + " levels");
      return false;
    }
    std::size_t i = 0;
    while (i < text.size()) {
      const std::size_t dollar = text.find('$', i);
      const std::size_t literal_end = dollar == std::string_view::npos ? text.size() : dollar;
      if (!append(result, text.substr(i, literal_end - i))) return false;
      if (dollar == std::string_view::npos) break;
      const char kind = dollar + 1 < text.size() ? text[dollar + 1] : '\0';
      if (kind != '{' && kind != '[') {
        if (!append(result, "$")) return false;
        i = dollar + 1;
        continue;
      }
      const char open = kind, close = kind == '{' ? '}' : ']';
      // Find the matching close, counting nested opens as Asterisk does.
      std::size_t j = dollar + 2;
      int level = 1;
      for (; j < text.size(); ++j) {
        if (text[j] == open) ++level;
        else if (text[j] == close && --level == 0) break;
      }
      const std::string_view body = text.substr(dollar + 2, j - (dollar + 2));
      if (j >= text.size()) {
        problem(std::string("missing '") + close + "' after '" + shown(text.substr(dollar)) + "'");
      }
      i = j >= text.size() ? text.size() : j + 1;

      std::string inner;
      if (!run(body, depth + 1, inner)) return false;
      std::string value = open == '{' ? lookup(inner) : expression(inner);
      if (!append(result, value)) return false;
    }
    return true;
  }

 private:
  void problem(std::string message) {
    if (out_.problems.size() < 16) out_.problems.push_back(std::move(message));
  }

  bool append(std::string& result, std::string_view piece) {
    if (result.size() + piece.size() > limits_.max_output) {
      result.append(piece.substr(0, limits_.max_output - result.size()));
      problem("substitution result longer than " + std::to_string(limits_.max_output) +
              " characters; cut");
      return false;
    }
    result.append(piece);
    return true;
  }

  std::string expression(const std::string& inner) {
    auto r = evaluate_expression(inner, limits_);
    if (r.ok()) return std::move(r.value());
    problem(r.error().message + " in $[" + shown(inner) + "]");
    return {};
  }

  // NAME, NAME:offset, NAME:offset:length, FUNC(args) and FUNC(args):offset:length.
  std::string lookup(const std::string& inner) {
    std::size_t name_end = inner.size();
    int parens = 0;
    for (std::size_t k = 0; k < inner.size(); ++k) {
      if (inner[k] == '(') ++parens;
      else if (inner[k] == ')' && parens > 0) --parens;
      else if (inner[k] == ':' && parens == 0) { name_end = k; break; }
    }
    const std::string_view name = std::string_view(inner).substr(0, name_end);
    std::string value;
    const std::size_t paren = name.find('(');
    if (paren != std::string_view::npos) {
      value = function(name.substr(0, paren), name.substr(paren + 1), name);
    } else {
      value = scope_.variable(name).value_or(std::string());
    }
    if (name_end == inner.size()) return value;
    const std::string_view rest = std::string_view(inner).substr(name_end + 1);
    const std::size_t colon = rest.find(':');
    const long long offset = to_int(rest.substr(0, colon));
    std::optional<long long> length;
    if (colon != std::string_view::npos) length = to_int(rest.substr(colon + 1));
    return substring(value, offset, length);
  }

  // atoi-like, as Asterisk reads offsets: leading sign and digits, anything else ends it.
  static long long to_int(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size() && space(s[i])) ++i;
    bool negative = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
    long long v = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (v < 1'000'000'000'000LL) v = v * 10 + (s[i] - '0');
    }
    return negative ? -v : v;
  }

  static std::string_view trim(std::string_view s) {
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
  }

  std::string function(std::string_view fname, std::string_view after_paren,
                       std::string_view whole) {
    const std::size_t close = after_paren.rfind(')');
    if (close == std::string_view::npos) {
      problem("function '" + shown(whole) + "' has no closing ')'");
    }
    const std::string_view args =
        close == std::string_view::npos ? after_paren : after_paren.substr(0, close);
    if (iequals(fname, "CALLERID")) {
      const std::string what = lowercase(trim(args));
      if (what == "num" || what == "number") return scope_.caller_number();
      if (what == "name") return scope_.caller_name();
      if (what == "all") return format_caller_id(scope_.caller_name(), scope_.caller_number());
      problem("CALLERID(" + shown(args) + "): expected num, name or all");
      return {};
    }
    if (iequals(fname, "IF")) {
      const std::size_t q = args.find('?');
      const std::string_view cond = trim(args.substr(0, q));
      std::string_view yes, no;
      if (q != std::string_view::npos) {
        const std::string_view branches = args.substr(q + 1);
        const std::size_t colon = branches.find(':');
        yes = branches.substr(0, colon);
        if (colon != std::string_view::npos) no = branches.substr(colon + 1);
      } else {
        problem("IF(" + shown(args) + "): expected IF(condition?true:false)");
      }
      return std::string(trim(condition_true(cond) ? yes : no));
    }
    if (iequals(fname, "LEN")) return std::to_string(args.size());
    if (iequals(fname, "EXISTS")) return args.empty() ? "0" : "1";
    if (iequals(fname, "ISNULL")) return args.empty() ? "1" : "0";
    if (iequals(fname, "GLOBAL")) return scope_.global(trim(args)).value_or(std::string());
    problem("unknown function '" + shown(fname) + "'");
    return {};
  }

  const VariableScope& scope_;
  const ExpressionLimits& limits_;
  Substitution& out_;
};

}  // namespace

Substitution substitute_variables(std::string_view text, const VariableScope& scope,
                                  const ExpressionLimits& limits) {
  Substitution out;
  Substituter s(scope, limits, out);
  (void)s.run(text, 0, out.text);
  return out;
}

}  // namespace hapbx::pbx
