// Tests of ${...} substitution and $[...] expressions: substrings (negative offsets and
// lengths), nesting, functions, every operator and its precedence, number versus string
// comparison, errors as values, and hostile input (deep nesting, huge output).
#include "pbx/dialplan_expression.h"

#include <gtest/gtest.h>

#include <string>

namespace hapbx::pbx {
namespace {

class DialplanExpression : public ::testing::Test {
 protected:
  void SetUp() override {
    scope.variables["EXTEN"] = "0123456789";
    scope.variables["NAME"] = "X";
    scope.variables["X"] = "indirect";
    scope.variables["EMPTY_INDIRECT"] = "";
    scope.variables["DIALSTATUS"] = "BUSY";
    scope.globals["RINGTIME"] = "20";
    scope.globals["X"] = "global-x";
    scope.number = "201";
    scope.name = "Extension 201";
  }

  std::string sub(const std::string& text) {
    Substitution s = substitute_variables(text, scope);
    EXPECT_TRUE(s.problems.empty()) << text << ": " << (s.problems.empty() ? "" : s.problems[0]);
    return s.text;
  }

  std::string problem(const std::string& text) {
    Substitution s = substitute_variables(text, scope);
    EXPECT_FALSE(s.problems.empty()) << text;
    return s.problems.empty() ? std::string("(none)") : s.problems[0];
  }

  static std::string eval(const std::string& expression) {
    auto r = evaluate_expression(expression);
    EXPECT_TRUE(r.ok()) << expression << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : "(error)";
  }

  static std::string eval_error(const std::string& expression) {
    auto r = evaluate_expression(expression);
    EXPECT_FALSE(r.ok()) << expression << " gave " << (r.ok() ? r.value() : "");
    return r.ok() ? "(ok)" : r.error().message;
  }

  MapVariableScope scope;
};

TEST_F(DialplanExpression, PlainVariables) {
  EXPECT_EQ(sub("SIP/${EXTEN:0:3},${RINGTIME}"), "SIP/012,20");
  EXPECT_EQ(sub("${UNDEFINED}"), "");
  EXPECT_EQ(sub("a${UNDEFINED}b"), "ab");
  EXPECT_EQ(sub("no variables"), "no variables");
  EXPECT_EQ(sub("$ alone, $$ and ${X}$"), "$ alone, $$ and indirect$");
  EXPECT_EQ(sub("${X}"), "indirect");  // channel variables before globals
  EXPECT_EQ(sub("${GLOBAL(X)}"), "global-x");
  EXPECT_EQ(sub(""), "");
}

TEST_F(DialplanExpression, SubstringsAsAsterisk) {
  EXPECT_EQ(sub("${EXTEN:1}"), "123456789");
  EXPECT_EQ(sub("${EXTEN:0}"), "0123456789");
  EXPECT_EQ(sub("${EXTEN:-4}"), "6789");
  EXPECT_EQ(sub("${EXTEN:-4:2}"), "67");
  EXPECT_EQ(sub("${EXTEN:2:3}"), "234");
  EXPECT_EQ(sub("${EXTEN:2:-3}"), "23456");   // leave 3 off the end
  EXPECT_EQ(sub("${EXTEN:-5:-1}"), "5678");
  EXPECT_EQ(sub("${EXTEN:0:-10}"), "");
  EXPECT_EQ(sub("${EXTEN:0:-11}"), "");
  EXPECT_EQ(sub("${EXTEN:10}"), "");
  EXPECT_EQ(sub("${EXTEN:99}"), "");
  EXPECT_EQ(sub("${EXTEN:-99}"), "0123456789");  // before the start: from the start
  EXPECT_EQ(sub("${EXTEN:3:0}"), "");
  EXPECT_EQ(sub("${EXTEN:3:100}"), "3456789");
  EXPECT_EQ(sub("${EXTEN:x}"), "0123456789");  // not a number: 0, as atoi
  EXPECT_EQ(sub("${EXTEN:99999999999999999999}"), "");
  EXPECT_EQ(substring("abc", 1, std::nullopt), "bc");
  EXPECT_EQ(substring("", -1, -1), "");
}

TEST_F(DialplanExpression, Nesting) {
  EXPECT_EQ(sub("${${NAME}}"), "indirect");
  EXPECT_EQ(sub("${${NAME}:2}"), "direct");
  EXPECT_EQ(sub("${EXTEN:${LEN(ab)}:2}"), "23");
  EXPECT_EQ(sub("${${EMPTY_INDIRECT}}"), "");
  // Values are not substituted again.
  scope.variables["TRICK"] = "${X}";
  EXPECT_EQ(sub("${TRICK}"), "${X}");
}

TEST_F(DialplanExpression, Functions) {
  EXPECT_EQ(sub("${CALLERID(num)}"), "201");
  EXPECT_EQ(sub("${CALLERID(number)}"), "201");
  EXPECT_EQ(sub("${CALLERID(name)}"), "Extension 201");
  EXPECT_EQ(sub("${CALLERID(all)}"), "\"Extension 201\" <201>");
  EXPECT_EQ(sub("${callerid(num):1}"), "01");  // function names are case-insensitive
  EXPECT_EQ(sub("${IF($[1 = 1]?yes:no)}"), "yes");
  EXPECT_EQ(sub("${IF($[1 = 2]?yes:no)}"), "no");
  EXPECT_EQ(sub("${IF(0?yes)}"), "");
  EXPECT_EQ(sub("${IF(${DIALSTATUS}?has:none)}"), "has");
  EXPECT_EQ(sub("${LEN(${EXTEN})}"), "10");
  EXPECT_EQ(sub("${LEN()}"), "0");
  EXPECT_EQ(sub("${EXISTS(${DIALSTATUS})}"), "1");
  EXPECT_EQ(sub("${EXISTS(${NOPE})}"), "0");
  EXPECT_EQ(sub("${ISNULL(${NOPE})}"), "1");
  EXPECT_EQ(format_caller_id("", "201"), "201");
  EXPECT_EQ(format_caller_id("Bob", ""), "Bob");
  EXPECT_EQ(problem("${NOSUCH(x)}"), "unknown function 'NOSUCH'");
  EXPECT_EQ(problem("${CALLERID(dnid)}"), "CALLERID(dnid): expected num, name or all");
  EXPECT_EQ(problem("${LEN(abc}"), "function 'LEN(abc' has no closing ')'");
}

TEST_F(DialplanExpression, ExpressionsInsideSubstitution) {
  EXPECT_EQ(sub("$[\"${DIALSTATUS}\" = \"BUSY\"]"), "1");
  EXPECT_EQ(sub("$[${RINGTIME} * 2]s"), "40s");
  EXPECT_EQ(sub("$[$[1+2]*3]"), "9");
  EXPECT_EQ(sub("${EXTEN:$[1+1]:1}"), "2");
  EXPECT_EQ(problem("x$[1/0]y"), "division by zero in $[1/0]");
  EXPECT_EQ(substitute_variables("x$[1/0]y", scope).text, "xy");
  EXPECT_EQ(problem("${X"), "missing '}' after '${X'");
  EXPECT_EQ(substitute_variables("${X", scope).text, "indirect");
}

TEST_F(DialplanExpression, Arithmetic) {
  EXPECT_EQ(eval("1 + 2"), "3");
  EXPECT_EQ(eval("1+2"), "3");
  EXPECT_EQ(eval("10 - 4 - 3"), "3");  // left associative
  EXPECT_EQ(eval("2 * 3 + 4"), "10");
  EXPECT_EQ(eval("2 + 3 * 4"), "14");
  EXPECT_EQ(eval("(2 + 3) * 4"), "20");
  EXPECT_EQ(eval("7 / 2"), "3.5");  // Asterisk 1.6+: floating point
  EXPECT_EQ(eval("8 / 2"), "4");
  EXPECT_EQ(eval("7 % 3"), "1");
  EXPECT_EQ(eval("-7 % 3"), "-1");
  EXPECT_EQ(eval("- 5 + 2"), "-3");
  EXPECT_EQ(eval("--5"), "5");
  EXPECT_EQ(eval("1.5 + 1.5"), "3");
  EXPECT_EQ(eval("0.1 * 3"), "0.3");
  EXPECT_EQ(eval("1 / 3"), "0.333333333333333333");
  EXPECT_EQ(eval("99999999999 * 99999999999"), "9.9999999998e+21");
  EXPECT_EQ(eval("1e3 + 1"), "1001");
}

TEST_F(DialplanExpression, Comparisons) {
  EXPECT_EQ(eval("1 = 1"), "1");
  EXPECT_EQ(eval("1 == 1"), "1");
  EXPECT_EQ(eval("1 != 1"), "0");
  EXPECT_EQ(eval("2 < 10"), "1");   // numbers compare as numbers
  EXPECT_EQ(eval("a < b"), "1");
  EXPECT_EQ(eval("b < a"), "0");
  EXPECT_EQ(eval("\"2\" < \"10\""), "1");  // quotes go, both are still numbers
  EXPECT_EQ(eval("2 < 1x"), "0");          // "2" vs "1x": strings, '2' > '1'
  EXPECT_EQ(eval("01 = 1"), "1");
  EXPECT_EQ(eval("abc = abc"), "1");
  EXPECT_EQ(eval("abc = ABC"), "0");
  EXPECT_EQ(eval("3 > 2"), "1");
  EXPECT_EQ(eval("3 >= 3"), "1");
  EXPECT_EQ(eval("3 <= 2"), "0");
  EXPECT_EQ(eval("\"\" = \"\""), "1");
  EXPECT_EQ(eval("\"a b\" = \"a b\""), "1");
  EXPECT_EQ(eval("1 + 1 = 2"), "1");  // + binds tighter than =
}

TEST_F(DialplanExpression, LogicAndPrecedence) {
  EXPECT_EQ(eval("a | b"), "a");
  EXPECT_EQ(eval("0 | b"), "b");
  EXPECT_EQ(eval("\"\" | b"), "b");
  EXPECT_EQ(eval("a & b"), "a");
  EXPECT_EQ(eval("a & 0"), "0");
  EXPECT_EQ(eval("0.0 & a"), "0");
  EXPECT_EQ(eval("!0"), "1");
  EXPECT_EQ(eval("!a"), "0");
  EXPECT_EQ(eval("!\"\""), "1");
  EXPECT_EQ(eval("1 = 1 & 2 = 3"), "0");  // = binds tighter than &
  EXPECT_EQ(eval("0 & 1 | 5"), "5");      // & binds tighter than |
  EXPECT_EQ(eval("1 | 0 & 0"), "1");
  EXPECT_EQ(eval("1 = 1 ? yes :: no"), "yes");
  EXPECT_EQ(eval("1 = 2 ? yes : no"), "no");
  EXPECT_EQ(eval("0 ? a : 1 ? b : c"), "b");  // nested ternaries
  EXPECT_EQ(eval("1 ? 2 + 3 : 4"), "5");
  EXPECT_EQ(eval("(1 ? 2 : 3) * 2"), "4");
  EXPECT_EQ(eval("1 ? 1 / 1 : 1 / 0"), "1");  // the branch not taken may fail
  EXPECT_EQ(eval(""), "");
  EXPECT_EQ(eval("   "), "");
  EXPECT_EQ(eval("word"), "word");
  EXPECT_EQ(eval("\"quoted\""), "quoted");
}

TEST_F(DialplanExpression, ErrorsAreValues) {
  EXPECT_EQ(eval_error("1 / 0"), "division by zero");
  EXPECT_EQ(eval_error("1 % 0"), "modulo by zero");
  EXPECT_EQ(eval_error("5 / 0.0"), "division by zero");
  EXPECT_EQ(eval_error("0 ? 1 : 1 / 0"), "division by zero");
  EXPECT_EQ(eval_error("abc + 1"), "'+' needs two numbers, got 'abc'");
  EXPECT_EQ(eval_error("1 * abc"), "'*' needs two numbers, got 'abc'");
  EXPECT_EQ(eval_error("-abc"), "unary '-' needs a number, got 'abc'");
  EXPECT_EQ(eval_error("(1 + 2"), "syntax error: missing ')'");
  EXPECT_EQ(eval_error("1 +"), "syntax error: expected a value, found end of expression");
  EXPECT_EQ(eval_error("1 2"), "syntax error: unexpected '2'");
  EXPECT_EQ(eval_error(")"), "syntax error: expected a value, found ')'");
  EXPECT_EQ(eval_error("1 ? 2"), "syntax error: '?' without ':' (write cond ? a :: b)");
  EXPECT_EQ(eval_error("\"open"), "unterminated quoted string in expression");
  EXPECT_EQ(eval_error("abc =~ a"), "regular expression matching (':' and '=~') is not supported");
  EXPECT_EQ(eval_error("abc : a"), "regular expression matching (':' and '=~') is not supported");
  EXPECT_EQ(eval_error("1e4000 * 1e4000"), "number out of range");
  EXPECT_EQ(eval_error("1e99999 + 1"), "'+' needs two numbers, got '1e99999'");  // infinite
  EXPECT_EQ(eval_error("0x10 + 1"), "'+' needs two numbers, got '0x10'");
  EXPECT_EQ(eval_error("inf + 1"), "'+' needs two numbers, got 'inf'");
}

TEST_F(DialplanExpression, ConditionTruth) {
  EXPECT_FALSE(condition_true(""));
  EXPECT_FALSE(condition_true("0"));
  EXPECT_FALSE(condition_true("00"));
  EXPECT_FALSE(condition_true(" 0"));
  EXPECT_FALSE(condition_true("-0"));
  EXPECT_FALSE(condition_true("0abc"));  // a leading integer decides
  EXPECT_TRUE(condition_true("1"));
  EXPECT_TRUE(condition_true("-3"));
  EXPECT_TRUE(condition_true("abc"));
  EXPECT_TRUE(condition_true(" "));
  EXPECT_TRUE(condition_true("99999999999999999999999"));
}

// ---- hostile input -----------------------------------------------------------------------------

TEST_F(DialplanExpression, DeepNestingStopsWithAProblem) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "${";
  Substitution s = substitute_variables(deep, scope);
  ASSERT_FALSE(s.problems.empty());
  std::string nested = "X";
  for (int i = 0; i < 200; ++i) nested = "${" + nested + "}";
  s = substitute_variables(nested, scope);
  ASSERT_FALSE(s.problems.empty());
  EXPECT_EQ(s.problems[0], "variables nested deeper than 32 levels");
  std::string brackets;
  for (int i = 0; i < 50000; ++i) brackets += "$[";
  s = substitute_variables(brackets, scope);
  EXPECT_FALSE(s.problems.empty());
}

TEST_F(DialplanExpression, DeepExpressionsStopWithAnError) {
  std::string parens(100000, '(');
  EXPECT_EQ(eval_error(parens + "1"), "expression nested deeper than 128 levels");
  std::string nots(100000, '!');
  EXPECT_EQ(eval_error(nots + "1"), "expression nested deeper than 128 levels");
  std::string minus(100000, '-');
  EXPECT_EQ(eval_error(minus + "1"), "expression nested deeper than 128 levels");
  std::string ternaries;
  for (int i = 0; i < 10000; ++i) ternaries += "1 ? ";
  EXPECT_FALSE(evaluate_expression(ternaries + "1").ok());
  // Long flat chains are loops, not recursion: fine.
  std::string sum = "0";
  for (int i = 0; i < 20000; ++i) sum += "+1";
  EXPECT_EQ(eval(sum), "20000");
}

TEST_F(DialplanExpression, OutputIsBounded) {
  scope.variables["BIG"] = std::string(10000, 'a');
  std::string many;
  for (int i = 0; i < 100; ++i) many += "${BIG}";
  Substitution s = substitute_variables(many, scope);
  EXPECT_EQ(s.text.size(), ExpressionLimits{}.max_output);
  ASSERT_EQ(s.problems.size(), 1u);
  EXPECT_EQ(s.problems[0], "substitution result longer than 65536 characters; cut");
  // A huge literal input is cut the same way.
  s = substitute_variables(std::string(1u << 20, 'x'), scope);
  EXPECT_EQ(s.text.size(), ExpressionLimits{}.max_output);
  // The problem list itself is bounded.
  std::string errors;
  for (int i = 0; i < 1000; ++i) errors += "$[1/0]";
  s = substitute_variables(errors, scope);
  EXPECT_LE(s.problems.size(), 16u);
}

}  // namespace
}  // namespace hapbx::pbx
