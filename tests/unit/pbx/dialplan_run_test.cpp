// Tests of the dialplan interpreter: the AppRequests a call gets, Goto/GotoIf/labels,
// Gosub/Return with arguments, the i and h extensions, unknown applications at run time, the
// loop limits, Dial argument splitting, DIALSTATUS branching as the call machine sets it,
// variables and globals.
#include "pbx/dialplan_run.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "pbx/dialplan_args.h"

namespace hapbx::pbx {
namespace {

std::shared_ptr<const Dialplan> plan_of(const std::string& text) {
  MemoryConfigLoader loader;
  loader.add("/etc/hapbx/extensions.conf", text);
  auto plan = load_dialplan("/etc/hapbx", loader);
  EXPECT_TRUE(plan.ok()) << plan.error().message;
  return std::make_shared<const Dialplan>(plan.ok() ? std::move(plan.value()) : Dialplan{});
}

ChannelInfo caller_201() {
  return ChannelInfo{"SIP/201-00000001", "1700000000.1", "201", "Extension 201", "acct", "en"};
}

// "App(data)" for a request, "finished: <reason>" at the end.
std::string step_text(const RunStep& step) {
  if (const auto* r = std::get_if<AppRequest>(&step)) return r->app + "(" + r->data + ")";
  return "finished: " + std::string(to_string(std::get<RunFinished>(step).reason));
}

// Every step until the end, as "App(data)" joined by " | ".
std::string run_all(DialplanRun& run) {
  std::string out;
  for (int i = 0; i < 100; ++i) {
    RunStep step = run.next();
    if (!out.empty()) out += " | ";
    out += step_text(step);
    if (std::holds_alternative<RunFinished>(step)) break;
  }
  return out;
}

std::string run_text(const std::string& conf, const std::string& context,
                     const std::string& exten) {
  DialplanRun run(plan_of(conf), context, exten, caller_201());
  return run_all(run);
}

TEST(DialplanRun, CallAppsComeOutInOrder) {
  auto plan = plan_of(
      "[c]\nexten => 600,1,Answer()\nsame => n,NoOp(internal)\nsame => n,Playback(beep)\n"
      "same => n,Echo()\n");
  DialplanRun run(plan, "c", "600", caller_201());
  RunStep step = run.next();
  ASSERT_TRUE(std::holds_alternative<AppRequest>(step));
  const AppRequest& answer = std::get<AppRequest>(step);
  EXPECT_EQ(answer.app, "Answer");
  EXPECT_EQ(answer.data, "");
  EXPECT_TRUE(answer.args.empty());
  EXPECT_EQ(answer.where.str(), "extensions.conf:2");
  EXPECT_EQ(answer.priority, 1);
  EXPECT_EQ(run.priority(), 2);  // what runs next
  EXPECT_EQ(step_text(run.next()), "Playback(beep)");
  EXPECT_EQ(run.take_log(), (std::vector<std::string>{"600@c:2 NoOp(internal)"}));
  EXPECT_EQ(step_text(run.next()), "Echo()");
  RunStep end = run.next();
  ASSERT_TRUE(std::holds_alternative<RunFinished>(end));
  EXPECT_EQ(std::get<RunFinished>(end).reason, RunFinished::Reason::EndOfPlan);
  EXPECT_EQ(std::get<RunFinished>(end).text,
            "extensions.conf:5: 600@c has no priority 5 (end of the dialplan)");
  // Finished stays finished.
  EXPECT_EQ(step_text(run.next()), "finished: end of plan");
  EXPECT_EQ(run.last_app(), "Echo");
}

TEST(DialplanRun, DialArgumentsAreSplitAsAsterisk) {
  auto plan = plan_of(
      "[globals]\nRINGTIME=20\n"
      "[c]\nexten => 700,1,Dial(SIP/201&SIP/202,${RINGTIME},tT)\n"
      "same => n,Dial(\"SIP/a,b\",(x,y),[p,q],a\\,b)\n");
  DialplanRun run(plan, "c", "700", caller_201());
  RunStep step = run.next();
  const AppRequest& dial = std::get<AppRequest>(step);
  EXPECT_EQ(dial.data, "SIP/201&SIP/202,20,tT");
  EXPECT_EQ(dial.args, (std::vector<std::string>{"SIP/201&SIP/202", "20", "tT"}));
  step = run.next();
  EXPECT_EQ(std::get<AppRequest>(step).args,
            (std::vector<std::string>{"SIP/a,b", "(x,y)", "[p,q]", "a,b"}));
  EXPECT_EQ(split_application_args("a,,b,"), (std::vector<std::string>{"a", "", "b", ""}));
  EXPECT_EQ(split_application_args(""), std::vector<std::string>{});
  EXPECT_EQ(split_application_args("x(a,b)", ',', false), std::vector<std::string>{"x(a,b)"});
  EXPECT_EQ(split_application_args("\"q\"\\,x", ',', false),
            std::vector<std::string>{"\"q\"\\,x"});
  EXPECT_EQ(split_application_args("a,b,c,d", ',', true, 2),
            (std::vector<std::string>{"a", "b,c,d"}));
}

TEST(DialplanRun, DialStatusBranchingAsTheCallSetsIt) {
  const std::string conf =
      "[internal]\n"
      "exten => _20[1-3],1,Dial(SIP/${EXTEN},20)\n"
      "same => n,GotoIf($[\"${DIALSTATUS}\" = \"BUSY\"]?busy:unavail)\n"
      "same => n(busy),Busy(5)\n"
      "same => n(unavail),Congestion(5)\n";
  auto plan = plan_of(conf);
  for (const auto& [status, expected] :
       std::vector<std::pair<std::string, std::string>>{{"BUSY", "Busy(5)"},
                                                        {"NOANSWER", "Congestion(5)"},
                                                        {"", "Congestion(5)"}}) {
    DialplanRun run(plan, "internal", "202", caller_201());
    EXPECT_EQ(step_text(run.next()), "Dial(SIP/202,20)");
    if (!status.empty()) run.set_variable("DIALSTATUS", status);
    EXPECT_EQ(run.variable("DIALSTATUS").value_or(""), status);
    EXPECT_EQ(step_text(run.next()), expected) << status;
  }
}

TEST(DialplanRun, GotoForms) {
  const std::string conf =
      "[c]\n"
      "exten => 1,1,Goto(5)\n"
      "same => 5,Goto(2,go)\n"
      "exten => 2,1,NoOp()\n"
      "same => n(go),Goto(d,3,1)\n"
      "[d]\n"
      "exten => 3,1,Goto(+2)\n"
      "same => n,Hangup(never)\n"
      "same => n,Goto(-1)\n";
  DialplanRun run(plan_of(conf), "c", "1", caller_201());
  EXPECT_EQ(step_text(run.next()), "Hangup(never)");
  EXPECT_EQ(run.context(), "d");
  EXPECT_EQ(run.exten(), "3");
  EXPECT_EQ(run.variable("CONTEXT"), std::optional<std::string>("d"));
  EXPECT_EQ(run.variable("EXTEN"), std::optional<std::string>("3"));
  EXPECT_EQ(run.variable("PRIORITY"), std::optional<std::string>("2"));
}

TEST(DialplanRun, BadGotoTargets) {
  auto expect_bad = [](const std::string& line, const std::string& text) {
    DialplanRun run(plan_of("[c]\nexten => 1,1," + line + "\nsame => n,NoOp()\n[d]\n"), "c", "1",
                    caller_201());
    RunStep step = run.next();
    ASSERT_TRUE(std::holds_alternative<RunFinished>(step)) << line;
    EXPECT_EQ(std::get<RunFinished>(step).reason, RunFinished::Reason::BadGoto) << line;
    EXPECT_EQ(std::get<RunFinished>(step).text, text);
  };
  expect_bad("Goto(nolabel)",
             "extensions.conf:2: Goto(nolabel): extension '1' in [c] has no label 'nolabel'");
  expect_bad("Goto(7)", "extensions.conf:2: Goto(7): extension '1' in [c] has no priority 7");
  expect_bad("Goto(9,1)", "extensions.conf:2: Goto(9,1): [c] has no extension '9'");
  expect_bad("Goto(x,1,1)", "extensions.conf:2: Goto(x,1,1): there is no context [x]");
  expect_bad("Goto(d,1,1)", "extensions.conf:2: Goto(d,1,1): [d] has no extension '1'");
  expect_bad("Goto(-5)", "extensions.conf:2: Goto(-5): extension '1' in [c] has no priority -4");
  expect_bad("Goto(a,b,c,d)",
             "extensions.conf:2: Goto(a,b,c,d): expected Goto([[context,]extension,]priority)");
  expect_bad("Goto()", "extensions.conf:2: Goto(): expected Goto([[context,]extension,]priority)");
  expect_bad("Return()", "extensions.conf:2: Return without Gosub; hanging up");
}

TEST(DialplanRun, GotoIfBranches) {
  const std::string conf =
      "[c]\n"
      "exten => t,1,GotoIf(1?yes:no)\n"
      "same => n(no),Hangup(no)\n"
      "same => n(yes),Hangup(yes)\n"
      "exten => f,1,GotoIf(0?t,yes:t,no)\n"
      "exten => empty,1,GotoIf(0?t,yes)\n"     // no false branch: continue
      "same => n,Hangup(continued)\n"
      "exten => word,1,GotoIf(${NOPE}?t,yes:t,no)\n"  // empty condition is false
      "exten => noq,1,GotoIf(1)\n"
      "same => n,Hangup(after)\n";
  EXPECT_EQ(run_text(conf, "c", "t"), "Hangup(yes) | finished: end of plan");
  EXPECT_EQ(run_text(conf, "c", "f"), "Hangup(no) | Hangup(yes) | finished: end of plan");
  EXPECT_EQ(run_text(conf, "c", "empty"), "Hangup(continued) | finished: end of plan");
  EXPECT_EQ(run_text(conf, "c", "word"), "Hangup(no) | Hangup(yes) | finished: end of plan");
  DialplanRun run(plan_of(conf), "c", "noq", caller_201());
  EXPECT_EQ(run_all(run), "Hangup(after) | finished: end of plan");
  EXPECT_EQ(run.take_log(),
            (std::vector<std::string>{"extensions.conf:9: GotoIf(1): no '?' (write "
                                      "GotoIf(condition?yes:no)); ignored"}));
}

TEST(DialplanRun, GosubReturnAndArguments) {
  const std::string conf =
      "[c]\n"
      "exten => 1,1,Set(ARG1=outer)\n"
      "same => n,Gosub(sub,s,1(first,\"two,parts\"))\n"
      "same => n,Hangup(${GOSUB_RETVAL}/${ARG1}/${ARG2})\n"
      "exten => 2,1,Gosub(s,1)\n"                 // same context
      "same => n,Hangup(back ${GOSUB_RETVAL})\n"
      "exten => s,1,Return(local)\n"
      "exten => 3,1,GosubIf(1?sub,s,1(a):sub,s,1(b))\n"
      "same => n,Hangup(${GOSUB_RETVAL})\n"
      "exten => 4,1,GosubIf(0?sub,s,1(a):sub,s,1(b))\n"
      "same => n,Hangup(${GOSUB_RETVAL})\n"
      "exten => 5,1,Gosub(sub,nested,1(x,y))\n"
      "same => n,Hangup(${GOSUB_RETVAL})\n"
      "[sub]\n"
      "exten => s,1,NoOp(${ARG1} ${ARG2} in ${CONTEXT})\n"
      "same => n,Return(${ARG1}+${ARG2})\n"
      "exten => nested,1,Gosub(s,1(only))\n"
      "same => n,Return(${GOSUB_RETVAL}/${ARG2})\n";
  DialplanRun run(plan_of(conf), "c", "1", caller_201());
  EXPECT_EQ(run_all(run), "Hangup(first+\"two,parts\"/outer/) | finished: end of plan");
  EXPECT_EQ(run.take_log(), (std::vector<std::string>{"s@sub:1 NoOp(first \"two,parts\" in sub)"}));
  EXPECT_EQ(run_text(conf, "c", "2"), "Hangup(back local) | finished: end of plan");
  EXPECT_EQ(run_text(conf, "c", "3"), "Hangup(a+) | finished: end of plan");
  EXPECT_EQ(run_text(conf, "c", "4"), "Hangup(b+) | finished: end of plan");
  // Inside the nested Gosub, ARG2 of the outer one is hidden; after Return it is back.
  EXPECT_EQ(run_text(conf, "c", "5"), "Hangup(only+/y) | finished: end of plan");
}

TEST(DialplanRun, RecursiveGosubHitsTheDepthLimit) {
  DialplanRun run(plan_of("[c]\nexten => s,1,Gosub(s,1)\n"), "c", "s", caller_201());
  RunStep step = run.next();
  ASSERT_TRUE(std::holds_alternative<RunFinished>(step));
  EXPECT_EQ(std::get<RunFinished>(step).reason, RunFinished::Reason::LoopLimit);
  EXPECT_EQ(std::get<RunFinished>(step).text,
            "extensions.conf:2: Gosub nested deeper than 128 (a recursive Gosub?); hanging up");
}

TEST(DialplanRun, InvalidExtensionGoesToI) {
  const std::string conf =
      "[c]\nexten => 201,1,Dial(SIP/201)\nexten => i,1,Playback(tone/congestion)\n"
      "same => n,Hangup(${INVALID_EXTEN})\n"
      "[noi]\nexten => 201,1,Dial(SIP/201)\n";
  auto plan = plan_of(conf);
  EXPECT_TRUE(dialplan_has_extension(*plan, "c", "999"));
  EXPECT_FALSE(dialplan_has_extension(*plan, "noi", "999"));
  EXPECT_FALSE(dialplan_has_extension(*plan, "nocontext", "201"));
  DialplanRun run(plan, "c", "999", caller_201());
  EXPECT_EQ(run.exten(), "i");
  EXPECT_EQ(run_all(run), "Playback(tone/congestion) | Hangup(999) | finished: end of plan");

  DialplanRun none(plan, "noi", "999", caller_201());
  RunStep step = none.next();
  ASSERT_TRUE(std::holds_alternative<RunFinished>(step));
  EXPECT_EQ(std::get<RunFinished>(step).reason, RunFinished::Reason::NoSuchExtension);
  EXPECT_EQ(std::get<RunFinished>(step).text,
            "extensions.conf:5: [noi] has no extension '999' (and no 'i' extension)");
  DialplanRun nowhere(plan, "nocontext", "201", caller_201());
  EXPECT_EQ(std::get<RunFinished>(nowhere.next()).text,
            "extensions.conf has no context [nocontext] (for extension '201')");
  // A Goto to a missing extension of a context with `i` lands there too.
  EXPECT_EQ(run_text(conf + "[g]\nexten => 1,1,Goto(c,555,1)\n", "g", "1"),
            "Playback(tone/congestion) | Hangup(555) | finished: end of plan");
}

TEST(DialplanRun, HangupHandler) {
  const std::string conf =
      "[c]\n"
      "exten => 201,1,Set(CDR_NOTE=x)\n"
      "same => n,Dial(SIP/201,20)\n"
      "exten => h,1,NoOp(ended ${DIALSTATUS} ${EXTEN})\n"
      "same => n,Hangup()\n"                 // a call app: comes out, treated as a no-op
      "same => n,Verbose(2,bye)\n"
      "[noh]\nexten => 1,1,Answer()\n";
  auto plan = plan_of(conf);
  DialplanRun run(plan, "c", "201", caller_201());
  EXPECT_EQ(step_text(run.next()), "Dial(SIP/201,20)");
  run.set_variable("DIALSTATUS", "ANSWER");
  EXPECT_FALSE(run.in_hangup_handler());
  ASSERT_TRUE(run.enter_hangup_handler());
  EXPECT_TRUE(run.in_hangup_handler());
  EXPECT_FALSE(run.enter_hangup_handler());  // already in it
  EXPECT_EQ(run.exten(), "h");
  EXPECT_EQ(run_all(run), "Hangup() | finished: end of plan");
  EXPECT_EQ(run.take_log(), (std::vector<std::string>{"h@c:1 NoOp(ended ANSWER h)", "bye"}));
  // The CDR keeps what the call did, not what the handler did.
  EXPECT_EQ(run.last_app(), "Dial");
  EXPECT_EQ(run.last_data(), "SIP/201,20");

  DialplanRun other(plan, "noh", "1", caller_201());
  EXPECT_EQ(step_text(other.next()), "Answer()");
  EXPECT_FALSE(other.enter_hangup_handler());
  // After a finished run (here: no such extension) the handler still runs.
  DialplanRun missing(plan, "c", "999", caller_201());
  EXPECT_EQ(step_text(missing.next()), "finished: no such extension");
  EXPECT_TRUE(missing.enter_hangup_handler());
  EXPECT_EQ(step_text(missing.next()), "Hangup()");
}

TEST(DialplanRun, UnknownApplicationAtRunTime) {
  auto plan = plan_of("[c]\nexten => 1,1,Answer()\nsame => n,Voicemial(201)\n"
                      "exten => 2,1,ExecIf(1?Nosuch(x))\n");
  EXPECT_EQ(plan->warnings.size(), 1u);
  DialplanRun run(plan, "c", "1", caller_201());
  EXPECT_EQ(step_text(run.next()), "Answer()");
  RunStep step = run.next();
  ASSERT_TRUE(std::holds_alternative<RunFinished>(step));
  EXPECT_EQ(std::get<RunFinished>(step).reason, RunFinished::Reason::UnknownApplication);
  EXPECT_EQ(std::get<RunFinished>(step).text,
            "extensions.conf:3: unknown application 'Voicemial'; hanging up (check the spelling)");
  DialplanRun exec(plan, "c", "2", caller_201());
  EXPECT_EQ(std::get<RunFinished>(exec.next()).text,
            "extensions.conf:4: ExecIf: unknown application 'Nosuch'; hanging up (check the "
            "spelling)");
}

TEST(DialplanRun, LoopLimit) {
  DialplanRun run(plan_of("[c]\nexten => s,1,Goto(1)\n"), "c", "s", caller_201());
  RunStep step = run.next();
  ASSERT_TRUE(std::holds_alternative<RunFinished>(step));
  EXPECT_EQ(std::get<RunFinished>(step).reason, RunFinished::Reason::LoopLimit);
  EXPECT_EQ(std::get<RunFinished>(step).text,
            "extensions.conf:2: more than 10000 dialplan steps without a call application (a "
            "Goto loop?); hanging up");

  // A call application in the loop resets the count: a loop with Wait() is a real IVR loop.
  DialplanRun ivr(plan_of("[c]\nexten => s,1,NoOp()\nsame => n,Wait(1)\nsame => n,Goto(1)\n"),
                  "c", "s", caller_201());
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(step_text(ivr.next()), "Wait(1)");

  // In the hangup handler call apps are no-ops, so they count too.
  DialplanRun h(plan_of("[c]\nexten => 1,1,Answer()\nexten => h,1,Ringing()\nsame => n,Goto(1)\n"),
                "c", "1", caller_201());
  EXPECT_EQ(step_text(h.next()), "Answer()");
  ASSERT_TRUE(h.enter_hangup_handler());
  int requests = 0;
  RunStep last = h.next();
  while (std::holds_alternative<AppRequest>(last) && requests < 100000) {
    ++requests;
    last = h.next();
  }
  ASSERT_TRUE(std::holds_alternative<RunFinished>(last));
  EXPECT_EQ(std::get<RunFinished>(last).reason, RunFinished::Reason::LoopLimit);
  EXPECT_EQ(requests, DialplanRun::kMaxInternalSteps / 2);
}

TEST(DialplanRun, SetAndVariables) {
  auto globals = std::make_shared<DialplanGlobals>();
  const std::string conf =
      "[globals]\nCOUNT=0\n"
      "[c]\n"
      "exten => 1,1,Set(A=one)\n"
      "same => n,Set(__INHERIT=two)\n"
      "same => n,Set(GLOBAL(COUNT)=$[${COUNT} + 1])\n"
      "same => n,Set(CALLERID(num)=555)\n"
      "same => n,Set(CALLERID(name)=Front desk)\n"
      "same => n,Set(EQ=a=b)\n"
      "same => n,Set(A=)\n"
      "same => n,Set(novalue)\n"
      "same => n,Set(FOO(x)=1)\n"
      "same => n,Hangup(${A}|${INHERIT}|${COUNT}|${CALLERID(all)}|${EQ}|${CHANNEL}|"
      "${UNIQUEID}|${ACCOUNTCODE}|${LANGUAGE})\n"
      "exten => 2,1,Set(CALLERID(all)=\"Bob\" <300>)\n"
      "same => n,Hangup(${CALLERID(num)} ${CALLERID(name)})\n";
  auto plan = plan_of(conf);
  globals->reload(*plan);
  DialplanRun run(plan, "c", "1", caller_201(), globals);
  EXPECT_EQ(run_all(run),
            "Hangup(|two|1|\"Front desk\" <555>|a=b|SIP/201-00000001|1700000000.1|acct|en) | "
            "finished: end of plan");
  EXPECT_EQ(run.take_log(),
            (std::vector<std::string>{
                "extensions.conf:11: Set(novalue): expected Set(name=value); ignored",
                "extensions.conf:12: Set(FOO(x)=...): function 'FOO' cannot be set (GLOBAL and "
                "CALLERID can); ignored"}));
  EXPECT_EQ(run.channel_info().caller_number, "555");
  EXPECT_EQ(run.variable("A"), std::nullopt);
  EXPECT_EQ(run.variable("INHERIT"), std::optional<std::string>("two"));
  // The shared globals table saw the increment; a second call increments again.
  EXPECT_EQ(globals->get("COUNT"), std::optional<std::string>("1"));
  DialplanRun second(plan, "c", "1", caller_201(), globals);
  (void)run_all(second);
  EXPECT_EQ(globals->get("COUNT"), std::optional<std::string>("2"));
  // A run without a shared table works on its own copy.
  DialplanRun own(plan, "c", "1", caller_201());
  (void)run_all(own);
  EXPECT_EQ(own.variable("COUNT"), std::optional<std::string>("1"));
  EXPECT_EQ(globals->get("COUNT"), std::optional<std::string>("2"));
  EXPECT_EQ(run_text(conf, "c", "2"), "Hangup(300 Bob) | finished: end of plan");
  // Built-ins cannot be overridden.
  DialplanRun b(plan, "c", "1", caller_201());
  b.set_variable("EXTEN", "999");
  EXPECT_EQ(b.variable("EXTEN"), std::optional<std::string>("1"));
}

TEST(DialplanRun, GlobalsReload) {
  auto first = plan_of("[globals]\nA=1\nB=2\n");
  DialplanGlobals globals(*first);
  ASSERT_TRUE(globals.set("RUNTIME", "x"));
  auto keep = plan_of("[globals]\nA=10\n");
  globals.reload(*keep);
  EXPECT_EQ(globals.get("A"), std::optional<std::string>("10"));
  EXPECT_EQ(globals.get("B"), std::optional<std::string>("2"));
  EXPECT_EQ(globals.get("RUNTIME"), std::optional<std::string>("x"));
  auto clear = plan_of("[general]\nclearglobalvars=yes\n[globals]\nC=3\n");
  globals.reload(*clear);
  EXPECT_EQ(globals.all().size(), 1u);
  EXPECT_EQ(globals.get("C"), std::optional<std::string>("3"));
  EXPECT_FALSE(globals.set("HUGE", std::string(DialplanGlobals::kMaxBytes, 'x')));
}

TEST(DialplanRun, VerboseLogExecIfAndNotes) {
  const std::string conf =
      "[c]\n"
      "exten => 1,1,Verbose(hello)\n"
      "same => n,Verbose(3,level three)\n"
      "same => n,Log(WARNING,careful)\n"
      "same => n,ExecIf($[1=1]?Set(X=yes):Set(X=no))\n"
      "same => n,ExecIf(0?Hangup(1):Playback(tone/busy))\n"
      "same => n,ExecIf(0?Hangup(1))\n"
      "same => n,NoOp($[1/0])\n"
      "same => n,ExecIf(1?ExecIf(1?Answer()))\n"
      "same => n,Hangup(${X})\n";
  DialplanRun run(plan_of(conf), "c", "1", caller_201());
  EXPECT_EQ(run_all(run),
            "Playback(tone/busy) | Answer() | Hangup(yes) | finished: end of plan");
  EXPECT_EQ(run.take_log(), (std::vector<std::string>{
                                "hello", "level three", "WARNING: 1@c:3: careful",
                                "extensions.conf:8: division by zero in $[1/0]"}));
  EXPECT_TRUE(run.take_log().empty());
}

TEST(DialplanRun, ExtensionFoundThroughAnIncludeKeepsTheDialledContext) {
  const std::string conf =
      "[phones]\ninclude => shared\n"
      "[shared]\nexten => _6XX,1,Hangup(${CONTEXT} ${EXTEN})\n";
  EXPECT_EQ(run_text(conf, "phones", "601"), "Hangup(phones 601) | finished: end of plan");
}

TEST(DialplanRun, LogIsBounded) {
  DialplanRun run(plan_of("[c]\nexten => s,1,Verbose(spam)\nsame => n,Goto(1)\n"), "c", "s",
                  caller_201());
  EXPECT_EQ(step_text(run.next()), "finished: loop limit");
  auto log = run.take_log();
  ASSERT_EQ(log.size(), DialplanRun::kMaxLogLines + 1);
  EXPECT_EQ(log.back(), "(4000 more dialplan log lines dropped)");
}

TEST(DialplanRun, VariablesAreBounded) {
  DialplanRun run(plan_of("[c]\nexten => s,1,Set(V${N}=${BIG})\nsame => n,Set(N=$[${N}+1])\n"
                          "same => n,Goto(1)\n"),
                  "c", "s", caller_201());
  run.set_variable("N", "0");
  run.set_variable("BIG", std::string(60000, 'x'));
  EXPECT_EQ(step_text(run.next()), "finished: loop limit");
  auto log = run.take_log();
  ASSERT_FALSE(log.empty());
  EXPECT_NE(log[0].find("channel variables exceed 1048576 bytes"), std::string::npos) << log[0];
}

TEST(DialplanRun, EmptyPlanAndNullPlan) {
  DialplanRun run(nullptr, "c", "1", caller_201());
  EXPECT_EQ(step_text(run.next()), "finished: no such extension");
  EXPECT_FALSE(run.enter_hangup_handler());
}

}  // namespace
}  // namespace hapbx::pbx
