// The dialplan interpreter: walks the priorities of extensions.conf for one call, runs the
// applications that need no call itself (NoOp, Set, Goto, GotoIf, Gosub, GosubIf, Return,
// Verbose, Log, ExecIf) and hands every application that needs the call (Answer, Ringing,
// Progress, Dial, Hangup, Busy, Congestion, Wait, Playback, Echo) to the caller as an
// AppRequest. Pure: no I/O, no clock; the call state machine drives it and feeds results back
// as channel variables (DIALSTATUS, HANGUPCAUSE, ANSWEREDTIME, DIALEDTIME ...).
//
//   DialplanRun run(plan, "internal", "201", info);
//   for (RunStep step = run.next(); std::holds_alternative<AppRequest>(step); step = run.next()) {
//     ... perform the request, e.g. Dial, then run.set_variable("DIALSTATUS", "BUSY") ...
//   }
//   // RunFinished: hang up; then, once the call is down:
//   if (run.enter_hangup_handler()) { while (holds AppRequest: run.next()) {} }
//
// Semantics follow Asterisk's pbx.c / app_stack.c:
//   - A dialled extension that does not exist starts at `i` with ${INVALID_EXTEN} set, or ends
//     with NoSuchExtension. ${CONTEXT} stays the context dialled into even when the extension
//     was found through an include.
//   - After a priority comes priority + 1 of the same extension; none = EndOfPlan
//     (autofallthrough). An unknown application ends the run (UnknownApplication).
//   - Goto(prio), Goto(exten,prio), Goto(ctx,exten,prio); prio is a number, a label, or +N/-N
//     relative to the Goto. A target that does not exist ends the run with BadGoto, except a
//     missing extension in a context with `i`, which goes there (as Asterisk's pbx loop does).
//   - GotoIf(cond?a:b), either branch optional. Gosub(ctx,exten,prio(arg1,arg2)) sets ${ARG1}
//     ... for the subroutine (restored by Return); Return(value) sets ${GOSUB_RETVAL}. A Return
//     without Gosub ends the run (BadGoto).
//   - Set(var=value) sets a channel variable (an empty value removes it; leading `_`/`__`, the
//     inheritance marks, are dropped); Set(GLOBAL(var)=value) a global;
//     Set(CALLERID(num|name|all)=...) the caller id.
//   - Variables: the built-ins EXTEN, CONTEXT, PRIORITY, UNIQUEID, CHANNEL, ACCOUNTCODE,
//     LANGUAGE first (they cannot be overridden, as in Asterisk), then channel variables, then
//     globals. An unset variable is "".
//   - Limits: more than kMaxInternalSteps priorities in a row without a call application (in
//     the hangup handler: any priorities, since call applications are no-ops there), or
//     kMaxTotalSteps in all, end the run with LoopLimit, so `exten => s,1,Goto(1)` cannot hang
//     the event loop. Gosub nests at most kMaxGosubDepth deep.
//
// Globals: a run reads and writes a DialplanGlobals table. Pass the plan owner's shared table to
// share Set(GLOBAL(...)) between calls as Asterisk does; without one the run gets a private copy
// of the plan's [globals]. Not thread-safe: one event loop owns the table and its runs.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pbx/dialplan.h"

namespace hapbx::pbx {

struct ChannelInfo {
  std::string channel;   // "SIP/201-00000001"
  std::string uniqueid;
  std::string caller_number, caller_name;
  std::string account_code, language;
};

struct AppRequest {
  std::string app;   // canonical: "Dial", "Answer", ...
  std::string data;  // after substitution, for CDR lastdata
  // `data` split at ',' honouring quotes, () and [] nesting and backslash escapes (quotes and
  // escaping backslashes removed), as Asterisk's standard application arguments.
  std::vector<std::string> args;
  SourceLocation where;
  std::string context, exten;
  int priority = 0;
};

struct RunFinished {
  enum class Reason {
    EndOfPlan,           // no next priority: autofallthrough
    NoSuchExtension,     // the dialled extension does not exist, and there is no `i`
    UnknownApplication,
    LoopLimit,           // too many steps without a call application
    BadGoto,             // Goto/Gosub target missing, Return without Gosub
  };
  Reason reason = Reason::EndOfPlan;
  std::string text;  // for the log, naming file:line
};

std::string_view to_string(RunFinished::Reason reason);  // "end of plan", ...

using RunStep = std::variant<AppRequest, RunFinished>;

// The global variables Set(GLOBAL(x)=...) writes and ${x} falls back to.
class DialplanGlobals {
 public:
  DialplanGlobals() = default;
  explicit DialplanGlobals(const Dialplan& plan) { reload(plan); }

  std::optional<std::string> get(std::string_view name) const;
  // An empty value removes the variable. False (nothing stored) beyond kMaxBytes in all.
  bool set(std::string_view name, std::string value);
  // After loading a new plan: with clearglobalvars=yes the table becomes the new [globals];
  // otherwise the new [globals] values are set and globals set at run time are kept.
  void reload(const Dialplan& plan);
  const std::map<std::string, std::string, std::less<>>& all() const { return values_; }

  static constexpr std::size_t kMaxBytes = 4u << 20;

 private:
  std::map<std::string, std::string, std::less<>> values_;
  std::size_t bytes_ = 0;
};

class DialplanRun {
 public:
  static constexpr int kMaxInternalSteps = 10000;
  static constexpr long kMaxTotalSteps = 1000000;
  static constexpr std::size_t kMaxGosubDepth = 128;
  static constexpr std::size_t kMaxVariableBytes = 1u << 20;  // channel variables, in all
  static constexpr std::size_t kMaxLogLines = 1000;           // between two take_log()

  DialplanRun(std::shared_ptr<const Dialplan> plan, std::string context, std::string exten,
              ChannelInfo info, std::shared_ptr<DialplanGlobals> globals = nullptr);

  // Runs internal applications until one that needs the call, or the end. After an
  // AppRequest, the next call continues with the following priority. Once finished, returns
  // the same RunFinished again.
  RunStep next();

  // A channel variable (the call sets DIALSTATUS, HANGUPCAUSE, ANSWEREDTIME, DIALEDTIME ...).
  // An empty value removes it.
  void set_variable(std::string_view name, std::string value);
  // As ${name} sees it: built-ins, channel variables, then globals.
  std::optional<std::string> variable(std::string_view name) const;

  // After the call ended: continue at `h`,1 of the current context (searched with includes).
  // False if there is none, or the handler is already running. next() then runs it; call
  // applications still come out as AppRequests (the call machine treats them as no-ops).
  bool enter_hangup_handler();
  bool in_hangup_handler() const { return hangup_; }

  // Verbose/Log output and runtime notes ("extensions.conf:7: ..."), in order.
  std::vector<std::string> take_log();

  // For CDR lastapp/lastdata: the last application run outside the hangup handler.
  const std::string& last_app() const { return last_app_; }
  const std::string& last_data() const { return last_data_; }

  // Where the run is: the priority that runs next (or ran last, once finished).
  const std::string& context() const { return context_; }
  const std::string& exten() const { return exten_; }
  int priority() const { return priority_; }
  // The channel as the dialplan left it (Set(CALLERID(num)=...) changes the caller id).
  const ChannelInfo& channel_info() const { return info_; }

 private:
  class Scope;
  struct Frame {
    std::string context, exten;
    const DialplanExtension* extension = nullptr;
    int priority = 0;  // where Return continues
    std::size_t arg_count = 0;
    std::vector<std::pair<std::string, std::optional<std::string>>> saved;  // ARGn before
  };

  RunStep finish(RunFinished::Reason reason, std::string text);
  std::optional<RunStep> run_internal(const std::string& app, const std::string& data,
                                      const DialplanPriority& p, int depth);
  std::optional<RunStep> app_set(const std::string& data, const DialplanPriority& p);
  std::optional<RunStep> app_goto(std::string_view spec, const DialplanPriority& p);
  std::optional<RunStep> app_gosub(std::string_view spec, const DialplanPriority& p);
  std::optional<RunStep> app_return(const std::string& data, const DialplanPriority& p);
  std::optional<RunStep> app_exec_if(const std::string& data, const DialplanPriority& p,
                                     int depth);
  // Moves to ctx/exten/prio; an error text when the target does not exist.
  std::optional<std::string> jump(std::string_view context, std::string_view exten,
                                  std::string_view priority);
  AppRequest request(const std::string& app, std::string data, const DialplanPriority& p) const;
  std::string substitute(const std::string& text, const DialplanPriority& p);
  void store(std::string name, std::string value, const DialplanPriority* p);
  void note(const DialplanPriority* p, const std::string& text);
  void log(std::string line);
  std::string position() const;  // "201@internal:3"

  std::shared_ptr<const Dialplan> plan_;
  std::shared_ptr<DialplanGlobals> globals_;
  ChannelInfo info_;
  std::string context_, exten_;
  const DialplanExtension* extension_ = nullptr;
  int priority_ = 1;
  int current_ = 0;                            // the priority being run, for ${PRIORITY}
  const DialplanPriority* previous_ = nullptr; // the last priority run, for messages
  std::optional<RunFinished> finished_;
  bool hangup_ = false;
  int steps_ = 0;
  long total_steps_ = 0;
  std::map<std::string, std::string, std::less<>> variables_;
  std::size_t variable_bytes_ = 0;
  std::vector<Frame> stack_;
  std::vector<std::string> log_;
  std::size_t log_dropped_ = 0;
  std::string last_app_, last_data_;
};

// True if the call should be routed: `exten` (or `i`) exists in `context` (with includes).
bool dialplan_has_extension(const Dialplan& plan, std::string_view context,
                            std::string_view exten, std::string_view caller_id = {});

}  // namespace hapbx::pbx
