// Fuzz target for the dialplan: the input is split at NUL bytes into extensions.conf,
// inc.conf (reachable by #include), a dialled extension and an expression. The plan is built
// through the in-memory loader; then a DialplanRun walks it for a bounded number of steps
// (feeding back DIALSTATUS, entering the hangup handler) and the expression is substituted.
// Besides "no crash, no leak, no UB, no hang", it checks the promises: messages name a place,
// priorities are sorted and unique, lookups return extensions of the plan, substitution
// output stays within its limit.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "pbx/dialplan.h"
#include "pbx/dialplan_expression.h"
#include "pbx/dialplan_run.h"
#include "pbx/dialplan_show.h"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool names_a_place(std::string_view message) {
  const std::size_t colon = message.find(':');
  return colon != std::string_view::npos && colon > 0;
}

std::string_view next_part(std::string_view& input) {
  const std::size_t nul = input.find('\0');
  std::string_view part = input.substr(0, nul);
  input = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  return part;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hapbx::pbx;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  MemoryConfigLoader loader;
  loader.add("/cfg/extensions.conf", std::string(next_part(input)));
  loader.add("/cfg/inc.conf", std::string(next_part(input)));
  std::string exten(next_part(input));
  if (exten.empty()) exten = "201";
  const std::string expression(next_part(input).substr(0, 4096));

  auto loaded = load_dialplan("/cfg", loader);
  if (!loaded.ok()) {
    check(names_a_place(loaded.error().message));
    return 0;
  }
  for (const auto& w : loaded->warnings) check(names_a_place(w));
  for (const auto& c : loaded->contexts) {
    check(loaded->find_context(c.name) == &c);
    check(c.includes.size() == c.include_where.size());
    for (const auto& e : c.extensions) {
      for (std::size_t i = 1; i < e.priorities.size(); ++i) {
        check(e.priorities[i - 1].number < e.priorities[i].number);
      }
      for (const auto& p : e.priorities) check(p.number >= 1);
    }
  }
  (void)show_dialplan(*loaded, std::nullopt, false);
  (void)show_dialplan(*loaded, std::nullopt, true);

  auto plan = std::make_shared<const Dialplan>(std::move(loaded.value()));
  ChannelInfo info{"SIP/201-00000001", "1.1", "201", "Fuzz", "", ""};
  for (const auto& c : plan->contexts) {
    if (auto m = find_extension(*plan, c.name, exten, "201")) {
      check(m->extension != nullptr && m->context != nullptr);
      check(plan->find_context(m->context->name) == m->context);
    }
  }
  const std::string context = plan->contexts.empty() ? "default" : plan->contexts[0].name;
  auto globals = std::make_shared<DialplanGlobals>(*plan);
  DialplanRun run(plan, context, exten, info, globals);
  int requests = 0;
  for (int i = 0; i < 64; ++i) {
    RunStep step = run.next();
    if (std::holds_alternative<RunFinished>(step)) {
      check(!std::get<RunFinished>(step).text.empty());
      if (!run.enter_hangup_handler()) break;
      continue;
    }
    const AppRequest& r = std::get<AppRequest>(step);
    check(!r.app.empty() && r.priority >= 1);
    if (r.app == "Dial") run.set_variable("DIALSTATUS", ++requests % 2 ? "BUSY" : "NOANSWER");
  }
  (void)run.take_log();

  MapVariableScope scope;
  scope.variables["EXTEN"] = exten;
  scope.variables["NAME"] = "EXTEN";
  scope.number = "201";
  Substitution s = substitute_variables(expression, scope);
  check(s.text.size() <= ExpressionLimits{}.max_output);
  (void)evaluate_expression(expression);
  return 0;
}
