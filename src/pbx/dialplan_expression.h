// Variable substitution and `$[...]` expressions of the Asterisk dialplan: what turns the raw
// data of a priority (`Dial(SIP/${EXTEN},${RINGTIME})`) into the text an application gets.
// Pure: variables come from a VariableScope the caller supplies (the interpreter's channel and
// global variables), nothing reads a clock or a file.
//
// Substitution (as pbx_substitute_variables_helper):
//   ${NAME}                 the variable, or "" when it is not set
//   ${NAME:offset}          a substring; a negative offset counts from the end
//   ${NAME:offset:length}   a negative length leaves that many characters off the end
//   ${${X}}                 nesting: the inside is substituted first, then looked up
//   ${FUNC(args)}           CALLERID(num|name|all), IF(cond?then:else), LEN(text),
//                           EXISTS(text), ISNULL(text), GLOBAL(name); the substring suffix
//                           applies to functions too: ${CALLERID(num):-4}
//   $[expression]           the inside is substituted, then evaluated (evaluate_expression)
// Values are not substituted again: a variable holding "${X}" yields that text literally.
//
// Expressions (Asterisk's ast_expr2 grammar), from lowest to highest precedence:
//   cond ? a :: b   (also `cond ? a : b`)      ternary
//   a | b           a unless a is empty or zero, else b
//   a & b           a unless either is empty or zero, else 0
//   = == != < > <= >=                         1 or 0; numeric if both sides are numbers,
//                                              else byte-wise string comparison
//   + -             * / %                      numbers: decimal, maybe with a fraction or an
//                                              exponent (no hex, inf or nan)
//   !a  -a          unary not (1 if a is empty or zero, else 0), negation
//   ( )             grouping;  "quoted strings" lose their quotes
// Arithmetic is done in long double as Asterisk 1.6+ does (7/2 = 3.5); whole results print
// without a fraction. Division or modulo by zero, arithmetic on text, an unsupported operator
// (the regex match `:` / `=~`) and syntax errors are errors: the expression yields "" and the
// substitution reports the problem.
//
// Hostile input: nesting deeper than `max_depth` (of ${}/$[] and of parentheses) and output
// longer than `max_output` stop with a problem instead of recursing or growing without bound.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hapbx::pbx {

struct ExpressionLimits {
  int max_depth = 32;                   // nested ${...}/$[...]; parentheses nest 4x that
  std::size_t max_output = 64u << 10;   // characters of one substitution result
};

// Where ${...} looks things up. Implementations decide the order (the interpreter: built-ins
// such as EXTEN first, then channel variables, then globals).
class VariableScope {
 public:
  virtual ~VariableScope() = default;
  virtual std::optional<std::string> variable(std::string_view name) const = 0;
  virtual std::optional<std::string> global(std::string_view name) const = 0;
  virtual std::string caller_number() const = 0;
  virtual std::string caller_name() const = 0;
};

// A scope over plain maps (channel variables first, then globals), for tests and tools.
class MapVariableScope final : public VariableScope {
 public:
  std::map<std::string, std::string, std::less<>> variables;
  std::map<std::string, std::string, std::less<>> globals;
  std::string number, name;

  std::optional<std::string> variable(std::string_view key) const override;
  std::optional<std::string> global(std::string_view key) const override;
  std::string caller_number() const override { return number; }
  std::string caller_name() const override { return name; }
};

struct Substitution {
  std::string text;
  std::vector<std::string> problems;  // e.g. "division by zero in $[1/0]"; empty when clean
};

Substitution substitute_variables(std::string_view text, const VariableScope& scope,
                                  const ExpressionLimits& limits = {});

// Evaluates the inside of `$[...]` after substitution: "1 + 2" -> "3", "\"a\" = \"a\"" -> "1".
Result<std::string> evaluate_expression(std::string_view expression,
                                        const ExpressionLimits& limits = {});

// Asterisk's substring of `value`: see ${NAME:offset:length} above. No length = to the end.
std::string substring(std::string_view value, long long offset,
                      std::optional<long long> length = std::nullopt);

// The truth of a condition as GotoIf/ExecIf/IF see it (pbx_checkcondition): empty is false, a
// leading integer decides (0 false, other true), any other text is true.
bool condition_true(std::string_view text);

// `"name" <number>`, or whichever of the two is set (CALLERID(all)).
std::string format_caller_id(std::string_view name, std::string_view number);

}  // namespace hapbx::pbx
