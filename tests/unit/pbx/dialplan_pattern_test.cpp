// Tests of extension pattern matching and of Asterisk's extension ordering, alone and through
// find_extension (exact before pattern, most specific pattern, includes in order, caller id).
#include "pbx/dialplan_pattern.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "pbx/dialplan.h"

namespace hapbx::pbx {
namespace {

TEST(DialplanPattern, ExactNames) {
  EXPECT_TRUE(pattern_matches("201", "201"));
  EXPECT_FALSE(pattern_matches("201", "2010"));
  EXPECT_FALSE(pattern_matches("201", "20"));
  EXPECT_FALSE(pattern_matches("s", "S"));  // exact names are case-sensitive
  EXPECT_TRUE(pattern_matches("", ""));
  EXPECT_FALSE(is_pattern("201"));
  EXPECT_TRUE(is_pattern("_2XX"));
}

TEST(DialplanPattern, ClassLetters) {
  EXPECT_TRUE(pattern_matches("_X", "0"));
  EXPECT_TRUE(pattern_matches("_X", "9"));
  EXPECT_FALSE(pattern_matches("_X", "a"));
  EXPECT_FALSE(pattern_matches("_Z", "0"));
  EXPECT_TRUE(pattern_matches("_Z", "1"));
  EXPECT_FALSE(pattern_matches("_N", "1"));
  EXPECT_TRUE(pattern_matches("_N", "2"));
  EXPECT_TRUE(pattern_matches("_nxz", "201"));  // class letters in either case
  EXPECT_TRUE(pattern_matches("_2XX", "299"));
  EXPECT_FALSE(pattern_matches("_2XX", "2999"));
  EXPECT_FALSE(pattern_matches("_2XX", "29"));
  EXPECT_FALSE(pattern_matches("_2XX", "399"));
}

TEST(DialplanPattern, Sets) {
  EXPECT_TRUE(pattern_matches("_[1-5]XX", "100"));
  EXPECT_TRUE(pattern_matches("_[1-5]XX", "599"));
  EXPECT_FALSE(pattern_matches("_[1-5]XX", "600"));
  EXPECT_TRUE(pattern_matches("_[a-c5-7]", "b"));
  EXPECT_TRUE(pattern_matches("_[a-c5-7]", "6"));
  EXPECT_FALSE(pattern_matches("_[a-c5-7]", "d"));
  EXPECT_FALSE(pattern_matches("_[a-c5-7]", "4"));
  EXPECT_TRUE(pattern_matches("_[15]", "5"));
  EXPECT_FALSE(pattern_matches("_[15]", "3"));
  EXPECT_TRUE(pattern_matches("_[5-]", "-") == false);  // '-' in the data is skipped
  EXPECT_FALSE(pattern_matches("_[5-1]", "3"));         // reversed range: empty
  EXPECT_FALSE(pattern_matches("_2[1", "21"));          // unclosed set never matches
  EXPECT_FALSE(pattern_well_formed("_2[1"));
  EXPECT_TRUE(pattern_well_formed("_2[1]"));
  EXPECT_TRUE(pattern_well_formed("20[1"));  // an exact name
}

TEST(DialplanPattern, Wildcards) {
  EXPECT_FALSE(pattern_matches("_X.", "1"));  // X takes the 1, '.' then needs one more
  EXPECT_FALSE(pattern_matches("_X.", ""));
  EXPECT_TRUE(pattern_matches("_X.", "12"));
  EXPECT_TRUE(pattern_matches("_X.", "1abc"));
  EXPECT_TRUE(pattern_matches("_9.", "9123456"));
  EXPECT_FALSE(pattern_matches("_9.", "9"));  // '.' needs one or more
  EXPECT_TRUE(pattern_matches("_Z!", "1"));   // '!' zero or more
  EXPECT_TRUE(pattern_matches("_Z!", "123"));
  EXPECT_FALSE(pattern_matches("_Z!", "0"));
  EXPECT_FALSE(pattern_matches("_Z!", ""));
  EXPECT_TRUE(pattern_matches("_.", "anything"));
  EXPECT_TRUE(pattern_matches("_!", ""));
  EXPECT_TRUE(pattern_matches("_1.2", "1x"));  // after '.' the pattern is not looked at
}

TEST(DialplanPattern, DashesAreSeparators) {
  EXPECT_TRUE(pattern_matches("_555-XXXX", "5551234"));
  EXPECT_TRUE(pattern_matches("_555XXXX", "555-1234"));
  EXPECT_FALSE(pattern_matches("_555XXXX", "555-123"));
}

TEST(DialplanPattern, LiteralsAreCaseSensitive) {
  EXPECT_TRUE(pattern_matches("_alice", "alice"));
  EXPECT_FALSE(pattern_matches("_alice", "Alice"));
}

// Sorting by compare_extension_names gives Asterisk's order.
TEST(DialplanPattern, OrderingAsAsterisk) {
  std::vector<std::string> names = {"_X.",  "_2X.", "_2!",      "_2XX", "_20X",
                                    "_20N", "201",  "_20[1-3]", "_201", "_2[0-4]X"};
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return compare_extension_names(a, b) < 0;
  });
  EXPECT_EQ(names, (std::vector<std::string>{"201", "_201", "_20[1-3]", "_20N", "_20X",
                                             "_2[0-4]X", "_2XX", "_2X.", "_2!", "_X."}));
}

TEST(DialplanPattern, OrderingDetails) {
  // Smaller sets first: N (8) before Z (9) before X (10).
  EXPECT_LT(compare_extension_names("_N", "_Z"), 0);
  EXPECT_LT(compare_extension_names("_Z", "_X"), 0);
  // [1-5] has 5 characters: before N.
  EXPECT_LT(compare_extension_names("_[1-5]XX", "_NXX"), 0);
  // Equal size: the set starting lower first.
  EXPECT_LT(compare_extension_names("_[1-3]", "_[4-6]"), 0);
  // Equal rank: 0.
  EXPECT_EQ(compare_extension_names("_X", "_[0-9]"), 0);
  EXPECT_EQ(compare_extension_names("_2XX", "_2XX"), 0);
  // '.' before '!'; the end of a pattern after both.
  EXPECT_LT(compare_extension_names("_2.", "_2!"), 0);
  EXPECT_LT(compare_extension_names("_20X!", "_20X"), 0);
  // Exact names first, byte order among them.
  EXPECT_LT(compare_extension_names("999", "_1"), 0);
  EXPECT_GT(compare_extension_names("_1", "999"), 0);
  EXPECT_LT(compare_extension_names("201", "202"), 0);
  // Antisymmetric.
  EXPECT_GT(compare_extension_names("_X.", "_2XX"), 0);
}

// ---- through the dialplan lookup ---------------------------------------------------------------

Dialplan load(const std::string& text) {
  MemoryConfigLoader loader;
  loader.add("/etc/hapbx/extensions.conf", text);
  auto plan = load_dialplan("/etc/hapbx", loader);
  EXPECT_TRUE(plan.ok()) << plan.error().message;
  return plan.ok() ? std::move(plan.value()) : Dialplan{};
}

std::string reached(const Dialplan& plan, const std::string& context, const std::string& exten,
                    const std::string& cid = {}) {
  auto m = find_extension(plan, context, exten, cid);
  if (!m) return "(none)";
  return m->extension->name + (m->extension->caller_id_match.empty()
                                   ? ""
                                   : "/" + m->extension->caller_id_match) +
         "@" + m->context->name;
}

TEST(DialplanPattern, MostSpecificWinsInAContext) {
  // Written least specific first, so file order cannot be what decides.
  Dialplan plan = load(
      "[c]\n"
      "exten => _X.,1,NoOp(any)\n"
      "exten => _Z!,1,NoOp(z)\n"
      "exten => _[1-5]XX,1,NoOp(range)\n"
      "exten => _2XX,1,NoOp(2xx)\n"
      "exten => _20X,1,NoOp(20x)\n"
      "exten => 201,1,NoOp(exact)\n");
  EXPECT_EQ(reached(plan, "c", "201"), "201@c");
  EXPECT_EQ(reached(plan, "c", "202"), "_20X@c");
  EXPECT_EQ(reached(plan, "c", "210"), "_2XX@c");
  EXPECT_EQ(reached(plan, "c", "310"), "_[1-5]XX@c");
  EXPECT_EQ(reached(plan, "c", "610"), "_Z!@c");
  EXPECT_EQ(reached(plan, "c", "6"), "_Z!@c");
  EXPECT_EQ(reached(plan, "c", "0123"), "_X.@c");
  EXPECT_EQ(reached(plan, "c", "abc"), "(none)");
  EXPECT_EQ(reached(plan, "nope", "201"), "(none)");
  // The context's extensions are stored in match order.
  std::vector<std::string> names;
  for (const auto& e : plan.find_context("c")->extensions) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"201", "_20X", "_2XX", "_[1-5]XX", "_Z!", "_X."}));
}

TEST(DialplanPattern, OwnExtensionsBeforeIncludesAndIncludesInOrder) {
  Dialplan plan = load(
      "[main]\n"
      "include => first\n"
      "include => second\n"
      "exten => _X.,1,NoOp(catch-all)\n"
      "[first]\n"
      "exten => 201,1,NoOp(first)\n"
      "include => deep\n"
      "[second]\n"
      "exten => 201,1,NoOp(second)\n"
      "exten => 777,1,NoOp(second)\n"
      "exten => s,1,NoOp(second)\n"
      "[deep]\n"
      "exten => s,1,NoOp(deep)\n");
  // A pattern of the context itself beats an exact name in an include (as Asterisk).
  EXPECT_EQ(reached(plan, "main", "201"), "_X.@main");
  EXPECT_EQ(reached(plan, "main", "s"), "s@deep");  // depth first: first, then its include
  EXPECT_EQ(reached(plan, "first", "201"), "201@first");
  EXPECT_EQ(reached(plan, "second", "777"), "777@second");
}

TEST(DialplanPattern, IncludeLoopsEnd) {
  Dialplan plan = load(
      "[a]\ninclude => b\nexten => 1,1,NoOp()\n"
      "[b]\ninclude => c\ninclude => a\n"
      "[c]\ninclude => a\ninclude => b\nexten => 3,1,NoOp()\n");
  EXPECT_EQ(reached(plan, "a", "3"), "3@c");
  EXPECT_EQ(reached(plan, "b", "1"), "1@a");
  EXPECT_EQ(reached(plan, "a", "9"), "(none)");
}

TEST(DialplanPattern, CallerIdMatch) {
  Dialplan plan = load(
      "[c]\n"
      "exten => 100,1,NoOp(everyone)\n"
      "exten => 100/_20X,1,NoOp(office)\n"
      "exten => 100/201,1,NoOp(boss)\n");
  EXPECT_EQ(reached(plan, "c", "100"), "100@c");  // no caller id: the plain one
  EXPECT_EQ(reached(plan, "c", "100", "555"), "100@c");
  EXPECT_EQ(reached(plan, "c", "100", "202"), "100/_20X@c");
  EXPECT_EQ(reached(plan, "c", "100", "201"), "100/201@c");
}

TEST(DialplanPattern, HintOnlyExtensionsDoNotMatch) {
  Dialplan plan = load(
      "[c]\n"
      "exten => 201,hint,SIP/201\n"
      "exten => _2XX,1,NoOp(pattern)\n");
  EXPECT_EQ(reached(plan, "c", "201"), "_2XX@c");
}

}  // namespace
}  // namespace hapbx::pbx
