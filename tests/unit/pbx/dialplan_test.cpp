// Tests of the extensions.conf model: the thesis file, every line form (exten, same, n, labels,
// hints, caller id, includes, #include), priority ordering, every warning class with its
// file:line, [general] and [globals], and `dialplan show` in text and JSON.
#include "pbx/dialplan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "pbx/dialplan_run.h"
#include "pbx/dialplan_show.h"

namespace hapbx::pbx {
namespace {

Result<Dialplan> load(const std::string& text, MemoryConfigLoader* loader = nullptr) {
  MemoryConfigLoader own;
  MemoryConfigLoader& l = loader != nullptr ? *loader : own;
  l.add("/etc/hapbx/extensions.conf", text);
  return load_dialplan("/etc/hapbx", l);
}

Dialplan ok(const std::string& text) {
  auto plan = load(text);
  EXPECT_TRUE(plan.ok()) << plan.error().message;
  return plan.ok() ? std::move(plan.value()) : Dialplan{};
}

std::string all_warnings(const Dialplan& plan) {
  std::string out;
  for (const auto& w : plan.warnings) out += w + "\n";
  return out;
}

bool has_warning(const Dialplan& plan, const std::string& text) {
  return std::find(plan.warnings.begin(), plan.warnings.end(), text) != plan.warnings.end();
}

const DialplanExtension* ext(const Dialplan& plan, const std::string& context,
                             const std::string& name, const std::string& cid = {}) {
  const DialplanContext* c = plan.find_context(context);
  if (c == nullptr) return nullptr;
  for (const auto& e : c->extensions) {
    if (e.name == name && e.caller_id_match == cid) return &e;
  }
  return nullptr;
}

std::string numbers(const DialplanExtension* e) {
  if (e == nullptr) return "(no extension)";
  std::string out;
  for (const auto& p : e->priorities) {
    if (!out.empty()) out += ' ';
    out += std::to_string(p.number);
    if (!p.label.empty()) out += "(" + p.label + ")";
  }
  return out;
}

// ---- the thesis example ------------------------------------------------------------------------

TEST(Dialplan, ThesisFileLoadsAndRoutes201To202) {
  FileConfigLoader loader;
  auto plan = load_dialplan(HAPBX_TEST_DATA_DIR "/../examples/thesis", loader);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  // Only the deliberate note about writeprotect.
  ASSERT_EQ(plan->warnings.size(), 1u) << all_warnings(*plan);
  EXPECT_NE(plan->warnings[0].find("extensions.conf:"), std::string::npos);
  EXPECT_NE(plan->warnings[0].find("'writeprotect' is accepted but not used"), std::string::npos);
  EXPECT_TRUE(plan->general.static_plan);
  EXPECT_FALSE(plan->general.write_protect);
  EXPECT_TRUE(plan->general.autofallthrough);
  ASSERT_EQ(plan->globals.size(), 1u);
  EXPECT_EQ(plan->globals[0], (std::pair<std::string, std::string>{"RINGTIME", "20"}));
  for (const char* name : {"default", "internal"}) {
    EXPECT_NE(plan->find_context(name), nullptr) << name;
  }
  for (const char* dialled : {"201", "202", "203", "600", "601", "700", "h"}) {
    EXPECT_TRUE(dialplan_has_extension(*plan, "internal", dialled)) << dialled;
  }
  EXPECT_FALSE(dialplan_has_extension(*plan, "internal", "204"));
  EXPECT_TRUE(dialplan_has_extension(*plan, "default", "201"));

  auto shared = std::make_shared<const Dialplan>(std::move(plan.value()));
  DialplanRun run(shared, "internal", "202",
                  ChannelInfo{"SIP/201-00000001", "1700000000.1", "201", "Extension 201", "", ""});
  RunStep step = run.next();
  ASSERT_TRUE(std::holds_alternative<AppRequest>(step));
  const auto& dial = std::get<AppRequest>(step);
  EXPECT_EQ(dial.app, "Dial");
  EXPECT_EQ(dial.data, "SIP/202,20");
  EXPECT_EQ(dial.args, (std::vector<std::string>{"SIP/202", "20"}));
  EXPECT_EQ(dial.priority, 2);
  EXPECT_EQ(dial.context, "internal");
  EXPECT_EQ(dial.exten, "202");
  EXPECT_EQ(run.take_log(), (std::vector<std::string>{"202@internal:1 NoOp(201 calls 202)"}));
  run.set_variable("DIALSTATUS", "BUSY");
  step = run.next();
  ASSERT_TRUE(std::holds_alternative<AppRequest>(step));
  EXPECT_EQ(std::get<AppRequest>(step).app, "Busy");
  EXPECT_EQ(run.last_app(), "Busy");
  EXPECT_EQ(run.last_data(), "5");
}

// ---- line forms --------------------------------------------------------------------------------

TEST(Dialplan, ExtenSameNextAndLabels) {
  Dialplan plan = ok(
      "[c]\n"
      "exten => 201,1(start),Answer()\n"
      "same => n,Dial(SIP/201,20)\n"
      "same => n(busy),Busy(5)\n"
      "exten => 202,1,Answer\n"       // no parentheses
      "exten => 202,n,Dial,SIP/202\n"  // the old App,data form
      "exten => 201,busy+1,Hangup()\n"  // a label of the extension plus an offset
      "exten => 201 , 5 , NoOp( spaced )\n");
  EXPECT_TRUE(plan.warnings.empty()) << all_warnings(plan);
  const DialplanExtension* e = ext(plan, "c", "201");
  EXPECT_EQ(numbers(e), "1(start) 2 3(busy) 4 5");
  EXPECT_EQ(e->priorities[1].app, "Dial");
  EXPECT_EQ(e->priorities[1].data, "SIP/201,20");
  EXPECT_EQ(e->priorities[1].where.str(), "extensions.conf:3");
  EXPECT_EQ(e->priorities[4].data, " spaced ");
  EXPECT_EQ(e->where.str(), "extensions.conf:2");
  EXPECT_EQ(e->find_label("busy")->number, 3);
  EXPECT_EQ(e->find_priority(4)->app, "Hangup");
  EXPECT_EQ(e->find_priority(9), nullptr);
  const DialplanExtension* f = ext(plan, "c", "202");
  EXPECT_EQ(numbers(f), "1 2");
  EXPECT_EQ(f->priorities[0].app, "Answer");
  EXPECT_EQ(f->priorities[0].data, "");
  EXPECT_EQ(f->priorities[1].data, "SIP/202");
}

TEST(Dialplan, ApplicationNamesAreCanonical) {
  Dialplan plan = ok("[c]\nexten => 1,1,dial(SIP/1)\nsame => n,GOTOIF(1?2)\nsame => n,noop()\n");
  EXPECT_TRUE(plan.warnings.empty()) << all_warnings(plan);
  const DialplanExtension* e = ext(plan, "c", "1");
  EXPECT_EQ(e->priorities[0].app, "Dial");
  EXPECT_EQ(e->priorities[1].app, "GotoIf");
  EXPECT_EQ(e->priorities[2].app, "NoOp");
  EXPECT_EQ(canonical_application("EXECIF"), std::optional<std::string_view>("ExecIf"));
  EXPECT_EQ(canonical_application("Voicemail"), std::nullopt);
  EXPECT_TRUE(is_internal_application("Goto"));
  EXPECT_FALSE(is_internal_application("Dial"));
}

TEST(Dialplan, PrioritiesAreSortedAndSameRepeats) {
  Dialplan plan = ok(
      "[c]\n"
      "exten => 1,3,NoOp(three)\n"
      "exten => 1,1,NoOp(one)\n"
      "exten => 1,2,NoOp(two)\n"
      "exten => 2,1,NoOp()\n"
      "exten => 2,s,NoOp(again)\n");  // `s`: the same priority again: a duplicate
  const DialplanExtension* e = ext(plan, "c", "1");
  EXPECT_EQ(numbers(e), "1 2 3");
  EXPECT_EQ(e->priorities[0].data, "one");
  EXPECT_TRUE(has_warning(plan, "extensions.conf:6: priority 1 of extension '2' in [c] is already "
                                "defined at extensions.conf:5; this line is ignored (renumber "
                                "one of them)"))
      << all_warnings(plan);
}

TEST(Dialplan, DuplicatePriorityKeepsTheFirstAndNamesBothLines) {
  Dialplan plan = ok("[c]\nexten => 1,1,NoOp(first)\nexten => 1,1,NoOp(second)\n");
  EXPECT_EQ(ext(plan, "c", "1")->priorities.at(0).data, "first");
  ASSERT_EQ(plan.warnings.size(), 1u) << all_warnings(plan);
  EXPECT_EQ(plan.warnings[0], "extensions.conf:3: priority 1 of extension '1' in [c] is already "
                              "defined at extensions.conf:2; this line is ignored (renumber one "
                              "of them)");
}

TEST(Dialplan, UnknownApplicationIsAWarningNotAnError) {
  Dialplan plan = ok("[general]\n\n[c]\nexten => 1,1,Answer()\nexten => 1,2,Voicemial(201)\n");
  ASSERT_EQ(plan.warnings.size(), 1u) << all_warnings(plan);
  EXPECT_EQ(plan.warnings[0],
            "extensions.conf:5: unknown application 'Voicemial' (it will hang up the call at run "
            "time)");
  EXPECT_EQ(ext(plan, "c", "1")->priorities.at(1).app, "Voicemial");
}

TEST(Dialplan, HintsAreKeptWithOneNote) {
  Dialplan plan = ok(
      "[c]\nexten => 201,hint,SIP/201\nexten => 201,1,Dial(SIP/201)\nexten => 202,hint,SIP/202\n"
      "exten => 202,hint,SIP/other\n");
  EXPECT_EQ(ext(plan, "c", "201")->hint, "SIP/201");
  EXPECT_EQ(numbers(ext(plan, "c", "201")), "1");
  EXPECT_EQ(ext(plan, "c", "202")->hint, "SIP/202");
  EXPECT_TRUE(has_warning(plan, "extensions.conf:2: 'hint' is accepted but not used by hapbx yet "
                                "(no presence or BLF subscriptions yet); further uses are not "
                                "reported"))
      << all_warnings(plan);
  EXPECT_TRUE(has_warning(plan, "extensions.conf:5: second hint for extension '202' in [c]; the "
                                "first is kept"))
      << all_warnings(plan);
  EXPECT_EQ(plan.warnings.size(), 2u) << all_warnings(plan);
}

TEST(Dialplan, CallerIdMatchIsStored) {
  Dialplan plan = ok("[c]\nexten => _X./_20X,1,NoOp(office)\nsame => n,Hangup()\n"
                     "exten => _X.,1,NoOp(others)\n");
  EXPECT_TRUE(plan.warnings.empty()) << all_warnings(plan);
  EXPECT_EQ(numbers(ext(plan, "c", "_X.", "_20X")), "1 2");  // `same` keeps the caller id
  EXPECT_EQ(numbers(ext(plan, "c", "_X.")), "1");
  // The caller-id variant comes first in match order.
  EXPECT_EQ(plan.find_context("c")->extensions[0].caller_id_match, "_20X");
}

TEST(Dialplan, PatternsWithCommasInSets) {
  Dialplan plan = ok("[c]\nexten => _[1,2]X,1,NoOp(x)\n");
  EXPECT_TRUE(plan.warnings.empty()) << all_warnings(plan);
  EXPECT_NE(ext(plan, "c", "_[1,2]X"), nullptr);
  EXPECT_TRUE(find_extension(plan, "c", "25").has_value());
}

TEST(Dialplan, SectionsOfOneNameMergeAndTemplatesAreSkipped) {
  Dialplan plan = ok(
      "[tmpl](!)\nexten => 9,1,NoOp(template)\n"
      "[c](tmpl)\nexten => 1,1,NoOp()\n"
      "[d]\nexten => 2,1,NoOp()\n"
      "[c]\nexten => 3,1,NoOp()\nexten => 1,2,NoOp(more)\n");
  EXPECT_TRUE(plan.warnings.empty()) << all_warnings(plan);
  EXPECT_EQ(plan.find_context("tmpl"), nullptr);
  ASSERT_EQ(plan.contexts.size(), 2u);
  EXPECT_EQ(plan.contexts[0].name, "c");
  EXPECT_EQ(plan.contexts[0].where.str(), "extensions.conf:3");
  EXPECT_NE(ext(plan, "c", "9"), nullptr);  // inherited from the template
  EXPECT_NE(ext(plan, "c", "3"), nullptr);
  EXPECT_EQ(numbers(ext(plan, "c", "1")), "1 2");
  EXPECT_EQ(plan.find_context("C"), nullptr);  // case-sensitive
}

// ---- includes ----------------------------------------------------------------------------------

TEST(Dialplan, IncludesWarnAboutUnknownContextsAndLoopsAreFine) {
  Dialplan plan = ok(
      "[a]\ninclude => b\ninclude => missing\ninclude => a\ninclude => b\n"
      "[b]\ninclude => a\nexten => 1,1,NoOp()\n");
  EXPECT_EQ(plan.find_context("a")->includes, (std::vector<std::string>{"b", "missing"}));
  EXPECT_EQ(plan.find_context("a")->include_where.at(1).str(), "extensions.conf:3");
  EXPECT_TRUE(has_warning(plan, "extensions.conf:3: [a] includes 'missing', which is not defined "
                                "(define [missing] or remove the include); it is skipped"))
      << all_warnings(plan);
  EXPECT_TRUE(has_warning(plan, "extensions.conf:4: [a] includes itself; line ignored"));
  EXPECT_EQ(plan.warnings.size(), 2u) << all_warnings(plan);
  EXPECT_TRUE(find_extension(plan, "a", "1").has_value());
  EXPECT_FALSE(find_extension(plan, "b", "2").has_value());  // a <-> b loop ends
}

TEST(Dialplan, TimedIncludesAlwaysApplyWithAWarning) {
  Dialplan plan = ok("[a]\ninclude => day,09:00-17:00,mon-fri,*,*\ninclude => any,*,*,*,*\n"
                     "[day]\n[any]\n");
  EXPECT_EQ(plan.find_context("a")->includes, (std::vector<std::string>{"day", "any"}));
  ASSERT_EQ(plan.warnings.size(), 1u) << all_warnings(plan);
  EXPECT_EQ(plan.warnings[0], "extensions.conf:2: time conditions on 'include => day' are not "
                              "supported; the include always applies");
}

TEST(Dialplan, HashIncludeThroughTheLoader) {
  MemoryConfigLoader loader;
  loader.add("/etc/hapbx/dialplan/phones.conf",
             "exten => 201,1,Dial(SIP/201)\nexten => 201,2,Voicemial()\n");
  auto plan = load("[internal]\n#include \"dialplan/phones.conf\"\nexten => 202,1,NoOp()\n",
                   &loader);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_NE(ext(*plan, "internal", "201"), nullptr);
  EXPECT_NE(ext(*plan, "internal", "202"), nullptr);
  EXPECT_EQ(ext(*plan, "internal", "201")->where.str(), "dialplan/phones.conf:1");
  EXPECT_TRUE(has_warning(*plan, "dialplan/phones.conf:2: unknown application 'Voicemial' (it "
                                 "will hang up the call at run time)"))
      << all_warnings(*plan);
}

TEST(Dialplan, MissingFilesAreErrorsNamingThem) {
  MemoryConfigLoader loader;
  auto none = load_dialplan("/etc/hapbx", loader);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("extensions.conf"), std::string::npos)
      << none.error().message;
  auto inc = load("[c]\n#include nope.conf\n");
  ASSERT_FALSE(inc.ok());
  EXPECT_NE(inc.error().message.find("extensions.conf:2"), std::string::npos)
      << inc.error().message;
}

// ---- warnings ----------------------------------------------------------------------------------

TEST(Dialplan, EveryLineProblemNamesTheLine) {
  Dialplan plan = ok(
      "[c]\n"
      "same => n,NoOp()\n"                 // 2: same before exten
      "exten => 1,n,NoOp(first)\n"         // 3: n on the first line
      "exten => 1,x,NoOp()\n"              // 4: bad priority
      "exten => 1,0,NoOp()\n"              // 5: priority 0
      "exten => 1,2\n"                     // 6: no application
      "exten => ,1,NoOp()\n"               // 7: no name
      "exten => 1,3,NoOp(unclosed\n"       // 8: no ')'
      "exten => 1,4,NoOp(x) trailing\n"    // 9: text after ')'
      "exten => 1,5,(data)\n"              // 10: no application name
      "foo => bar\n"                       // 11: unknown line
      "switch => IAX2/other\n"             // 12: switches unsupported
      "ignorepat => 9\n"                   // 13: note
      "exten => _2[1,1,NoOp()\n"           // 14: unclosed set
      "exten => 1,2+x,NoOp()\n");          // 15: bad offset
  const std::string w = all_warnings(plan);
  auto expect = [&](const std::string& text) { EXPECT_TRUE(has_warning(plan, text)) << w; };
  expect("extensions.conf:2: 'same =>' before any 'exten =>' line in [c]; line ignored (start "
         "with exten => NAME,1,...)");
  expect("extensions.conf:3: priority 'n' on the first line of extension '1' in [c]; taken as 1 "
         "(write 1)");
  expect("extensions.conf:4: priority 'x' is not a number from 1, 'n', 's', 'hint' or a label "
         "defined above; line ignored (write e.g. 1, n or n(label))");
  expect("extensions.conf:5: priority '0' is not a number from 1, 'n', 's', 'hint' or a label "
         "defined above; line ignored (write e.g. 1, n or n(label))");
  expect("extensions.conf:6: '1,2' has no application; line ignored (write exten => "
         "NAME,PRIORITY,App(data))");
  expect("extensions.conf:7: exten line without an extension name; line ignored (write exten => "
         "201,1,Dial(SIP/201))");
  expect("extensions.conf:8: no closing ')' in 'NoOp(unclosed'; the data runs to the end of the "
         "line");
  expect("extensions.conf:9: text after ')' in 'NoOp(x) trailing' ignored");
  expect("extensions.conf:10: no application name in '(data)'; line ignored (write e.g. "
         "Dial(SIP/201,20))");
  expect("extensions.conf:11: unknown line 'foo' in [c] ignored (expected exten =>, same => or "
         "include =>)");
  expect("extensions.conf:12: 'switch' (switches to other servers) is not supported by hapbx; "
         "line ignored");
  expect("extensions.conf:13: 'ignorepat' is accepted but not used by hapbx yet (hapbx plays no "
         "dial tone); further uses are not reported");
  expect("extensions.conf:14: pattern of extension '_2[1' in [c] has a '[' without ']', so it "
         "never matches (close the set)");
  expect("extensions.conf:15: priority '2+x' is not a number from 1, 'n', 's', 'hint' or a label "
         "defined above; line ignored (write e.g. 1, n or n(label))");
  expect("extensions.conf:8: extension '1' in [c] has no priority 2, so priority 3 and later are "
         "reached only by Goto");
  EXPECT_EQ(plan.warnings.size(), 15u) << w;
  EXPECT_EQ(numbers(ext(plan, "c", "1")), "1 3 4");
  EXPECT_EQ(ext(plan, "c", "1")->priorities[1].data, "unclosed");
}

TEST(Dialplan, GapsAndMissingFirstPriorities) {
  Dialplan plan = ok("[c]\nexten => 1,1,NoOp()\nexten => 1,2,NoOp()\nexten => 1,102,NoOp()\n"
                     "exten => 2,2,NoOp()\n");
  EXPECT_TRUE(has_warning(plan, "extensions.conf:4: extension '1' in [c] has no priority 3, so "
                                "priority 102 and later are reached only by Goto"))
      << all_warnings(plan);
  EXPECT_TRUE(has_warning(plan, "extensions.conf:5: extension '2' in [c] has no priority 1, so "
                                "calls to it find nothing (number its first line 1)"))
      << all_warnings(plan);
  EXPECT_EQ(plan.warnings.size(), 2u);
}

TEST(Dialplan, DuplicateLabels) {
  Dialplan plan = ok("[c]\nexten => 1,1(a),NoOp()\nsame => n(a),NoOp()\nexten => 1,a+5,NoOp()\n");
  ASSERT_EQ(plan.warnings.size(), 2u) << all_warnings(plan);
  EXPECT_EQ(plan.warnings[0], "extensions.conf:3: label 'a' of extension '1' is already used at "
                              "extensions.conf:2; Goto finds the lower-numbered one (rename one "
                              "of them)");
  EXPECT_EQ(numbers(ext(plan, "c", "1")), "1(a) 2(a) 6");  // a+5: the first 'a'
}

TEST(Dialplan, ManyPrioritiesInReverseOrder) {
  std::string text = "[c]\n";
  for (int i = 50000; i >= 1; --i) text += "exten => 1," + std::to_string(i) + ",NoOp()\n";
  Dialplan plan = ok(text);
  EXPECT_TRUE(plan.warnings.empty());
  const DialplanExtension* e = ext(plan, "c", "1");
  ASSERT_EQ(e->priorities.size(), 50000u);
  EXPECT_EQ(e->priorities.front().number, 1);
  EXPECT_EQ(e->priorities.back().number, 50000);
  EXPECT_EQ(e->find_priority(777)->where.str(), "extensions.conf:" + std::to_string(50000 - 777 + 2));
}

TEST(Dialplan, HugePrioritiesAreRefused) {
  Dialplan plan = ok("[c]\nexten => 1,1,NoOp()\nexten => 1,999999999999,NoOp()\n"
                     "exten => 1,1000000000,NoOp()\nexten => 1,n,NoOp()\n");
  EXPECT_TRUE(has_warning(plan, "extensions.conf:5: priority 1000000001 is larger than "
                                "1000000000; line ignored"))
      << all_warnings(plan);
  EXPECT_EQ(numbers(ext(plan, "c", "1")), "1 1000000000");
}

// ---- [general] and [globals] -------------------------------------------------------------------

TEST(Dialplan, GeneralOptions) {
  Dialplan plan = ok(
      "[general]\nstatic=no\nwriteprotect=yes\nautofallthrough=no\nclearglobalvars=yes\n"
      "extenpatternmatchnew=yes\nuserscontext=users\npriorityjumping=yes\nautofallthrough=maybe\n");
  const DialplanGeneral& g = plan.general;
  EXPECT_EQ(g.where.str(), "extensions.conf:1");
  EXPECT_FALSE(g.static_plan);
  EXPECT_TRUE(g.write_protect);
  EXPECT_FALSE(g.autofallthrough);
  EXPECT_TRUE(g.clear_global_vars);
  EXPECT_TRUE(g.exten_pattern_match_new);
  EXPECT_EQ(g.users_context, "users");
  const std::string w = all_warnings(plan);
  EXPECT_TRUE(has_warning(plan, "extensions.conf:2: 'static=no' is accepted but not used by hapbx "
                                "yet (hapbx never changes the dialplan at run time); further "
                                "uses are not reported"))
      << w;
  EXPECT_TRUE(has_warning(plan, "extensions.conf:4: 'autofallthrough=no' is accepted but not used "
                                "by hapbx yet (the call is hung up at the end of the priorities "
                                "all the same); further uses are not reported"))
      << w;
  EXPECT_TRUE(has_warning(plan, "extensions.conf:8: unknown option 'priorityjumping' in [general] "
                                "ignored (expected static, writeprotect, autofallthrough, "
                                "clearglobalvars, extenpatternmatchnew or userscontext)"))
      << w;
  EXPECT_TRUE(has_warning(plan, "extensions.conf:9: autofallthrough: 'maybe' is not yes or no; "
                                "keeping no"))
      << w;
  EXPECT_EQ(plan.warnings.size(), 6u) << w;  // + writeprotect and userscontext notes
  EXPECT_TRUE(plan.contexts.empty());
}

TEST(Dialplan, DefaultsWithoutGeneral) {
  Dialplan plan = ok("[c]\nexten => 1,1,NoOp()\n");
  EXPECT_TRUE(plan.general.where.file.empty());
  EXPECT_TRUE(plan.general.autofallthrough);
  EXPECT_TRUE(plan.general.static_plan);
  EXPECT_FALSE(plan.general.clear_global_vars);
  EXPECT_TRUE(plan.warnings.empty());
}

TEST(Dialplan, GlobalsAreSubstitutedInOrder) {
  Dialplan plan = ok(
      "[c]\nexten => 1,1,NoOp()\n"
      "[globals]\nTRUNK=SIP/provider\nOUT => ${TRUNK}/out\nLATER=${UNDEFINED}x\nTRUNK=SIP/other\n");
  EXPECT_EQ(plan.globals, (std::vector<std::pair<std::string, std::string>>{
                              {"TRUNK", "SIP/other"}, {"OUT", "SIP/provider/out"}, {"LATER", "x"}}));
  EXPECT_EQ(plan.find_context("globals"), nullptr);
}

// ---- dialplan show -----------------------------------------------------------------------------

TEST(Dialplan, ShowAsAsterisk) {
  Dialplan plan = ok(
      "[internal]\n"
      "exten => 201,1,Dial(SIP/201,20)\n"
      "same => n(busy),Hangup()\n"
      "exten => 202,hint,SIP/202\n"
      "exten => 202,1,Answer()\n"
      "include => other\n"
      "[other]\n"
      "exten => _X./_20X,1,NoOp(x)\n");
  auto text = show_dialplan(plan, std::string_view("internal"), false);
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(*text,
            "[ Context 'internal' created by 'pbx_config' ]\n"
            "  '201' =>          1. Dial(SIP/201,20)                           [extensions.conf:2]\n"
            "     [busy]         2. Hangup()                                   [extensions.conf:3]\n"
            "  '202' =>          hint: SIP/202                                 [extensions.conf:4]\n"
            "                    1. Answer()                                   [extensions.conf:5]\n"
            "  Include =>        'other'                                       [extensions.conf:6]\n"
            "\n"
            "-= 2 extensions (4 priorities) in 1 context. =-\n");
  auto all = show_dialplan(plan, std::nullopt, false);
  ASSERT_TRUE(all.ok());
  EXPECT_NE(all->find("'_X.' (CID match '_20X') => "), std::string::npos) << *all;
  EXPECT_NE(all->find("-= 3 extensions (5 priorities) in 2 contexts. =-\n"), std::string::npos)
      << *all;
  auto missing = show_dialplan(plan, std::string_view("nope"), false);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "There is no existence of 'nope' context");
  EXPECT_EQ(show_dialplan(Dialplan{}, std::nullopt, false).value(), "There are no contexts\n");
}

TEST(Dialplan, ShowJson) {
  Dialplan plan = ok("[internal]\nexten => 201,1(go),Dial(SIP/201,\"x\")\ninclude => o\n[o]\n");
  auto json = show_dialplan(plan, std::string_view("internal"), true);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json,
            "{\"contexts\":[{\"name\":\"internal\",\"where\":\"extensions.conf:1\",\"extensions\":"
            "[{\"name\":\"201\",\"caller_id_match\":\"\",\"hint\":\"\",\"where\":"
            "\"extensions.conf:2\",\"priorities\":[{\"priority\":1,\"label\":\"go\",\"app\":"
            "\"Dial\",\"data\":\"SIP/201,\\\"x\\\"\",\"where\":\"extensions.conf:2\"}]}],"
            "\"includes\":[{\"name\":\"o\",\"where\":\"extensions.conf:3\"}]}],\"totals\":"
            "{\"extensions\":1,\"priorities\":1,\"contexts\":1}}");
  EXPECT_FALSE(show_dialplan(plan, std::string_view("x"), true).ok());
}

}  // namespace
}  // namespace hapbx::pbx
