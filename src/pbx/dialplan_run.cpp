// The dialplan interpreter: see dialplan_run.h for the contract and the Asterisk rules kept.
#include "pbx/dialplan_run.h"

#include <algorithm>

#include "pbx/config_diagnostics.h"
#include "pbx/dialplan_args.h"
#include "pbx/dialplan_expression.h"
#include "pbx/sip_config_values.h"

namespace hapbx::pbx {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<long long> whole_number(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Splits "cond?rest" at the first '?'. nullopt when there is none.
std::optional<std::pair<std::string_view, std::string_view>> split_condition(
    std::string_view data) {
  const std::size_t q = data.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  return std::make_pair(data.substr(0, q), data.substr(q + 1));
}

// "App(args)" -> {App, args}; "App" -> {App, ""}.
std::pair<std::string_view, std::string_view> split_call(std::string_view text) {
  text = trim(text);
  const std::size_t open = text.find('(');
  if (open == std::string_view::npos) return {text, {}};
  std::string_view args = text.substr(open + 1);
  const std::size_t close = args.rfind(')');
  if (close != std::string_view::npos) args = args.substr(0, close);
  return {trim(text.substr(0, open)), args};
}

}  // namespace

std::string_view to_string(RunFinished::Reason reason) {
  switch (reason) {
    case RunFinished::Reason::EndOfPlan: return "end of plan";
    case RunFinished::Reason::NoSuchExtension: return "no such extension";
    case RunFinished::Reason::UnknownApplication: return "unknown application";
    case RunFinished::Reason::LoopLimit: return "loop limit";
    case RunFinished::Reason::BadGoto: return "bad goto";
  }
  return "?";
}

// ---- globals -----------------------------------------------------------------------------------

std::optional<std::string> DialplanGlobals::get(std::string_view name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  return std::nullopt;
}

bool DialplanGlobals::set(std::string_view name, std::string value) {
  auto it = values_.find(name);
  const std::size_t old = it == values_.end() ? 0 : name.size() + it->second.size();
  if (value.empty()) {
    if (it != values_.end()) values_.erase(it);
    bytes_ -= old;
    return true;
  }
  const std::size_t fresh = name.size() + value.size();
  if (bytes_ - old + fresh > kMaxBytes) return false;
  bytes_ = bytes_ - old + fresh;
  if (it == values_.end()) {
    values_.emplace(std::string(name), std::move(value));
  } else {
    it->second = std::move(value);
  }
  return true;
}

void DialplanGlobals::reload(const Dialplan& plan) {
  if (plan.general.clear_global_vars) {
    values_.clear();
    bytes_ = 0;
  }
  for (const auto& [name, value] : plan.globals) (void)set(name, value);
}

// ---- variables as ${...} sees them -------------------------------------------------------------

class DialplanRun::Scope final : public VariableScope {
 public:
  explicit Scope(const DialplanRun& run) : run_(run) {}
  std::optional<std::string> variable(std::string_view name) const override {
    return run_.variable(name);
  }
  std::optional<std::string> global(std::string_view name) const override {
    return run_.globals_->get(name);
  }
  std::string caller_number() const override { return run_.info_.caller_number; }
  std::string caller_name() const override { return run_.info_.caller_name; }

 private:
  const DialplanRun& run_;
};

std::optional<std::string> DialplanRun::variable(std::string_view name) const {
  if (name == "EXTEN") return exten_;
  if (name == "CONTEXT") return context_;
  if (name == "PRIORITY") return std::to_string(current_ != 0 ? current_ : priority_);
  if (name == "UNIQUEID") return info_.uniqueid;
  if (name == "CHANNEL") return info_.channel;
  if (name == "ACCOUNTCODE") return info_.account_code;
  if (name == "LANGUAGE") return info_.language;
  if (auto it = variables_.find(name); it != variables_.end()) return it->second;
  return globals_->get(name);
}

void DialplanRun::set_variable(std::string_view name, std::string value) {
  store(std::string(name), std::move(value), nullptr);
}

void DialplanRun::store(std::string name, std::string value, const DialplanPriority* p) {
  auto it = variables_.find(name);
  const std::size_t old = it == variables_.end() ? 0 : name.size() + it->second.size();
  if (value.empty()) {
    if (it != variables_.end()) variables_.erase(it);
    variable_bytes_ -= old;
    return;
  }
  const std::size_t fresh = name.size() + value.size();
  if (variable_bytes_ - old + fresh > kMaxVariableBytes) {
    note(p, "channel variables exceed " + std::to_string(kMaxVariableBytes) +
                " bytes; '" + shown(name) + "' not set");
    return;
  }
  variable_bytes_ = variable_bytes_ - old + fresh;
  if (it == variables_.end()) {
    variables_.emplace(std::move(name), std::move(value));
  } else {
    it->second = std::move(value);
  }
}

// ---- the run -----------------------------------------------------------------------------------

DialplanRun::DialplanRun(std::shared_ptr<const Dialplan> plan, std::string context,
                         std::string exten, ChannelInfo info,
                         std::shared_ptr<DialplanGlobals> globals)
    : plan_(std::move(plan)),
      globals_(std::move(globals)),
      info_(std::move(info)),
      context_(std::move(context)),
      exten_(std::move(exten)) {
  if (!plan_) plan_ = std::make_shared<const Dialplan>();
  if (!globals_) globals_ = std::make_shared<DialplanGlobals>(*plan_);
  const DialplanContext* ctx = plan_->find_context(context_);
  if (ctx == nullptr) {
    finish(RunFinished::Reason::NoSuchExtension,
           "extensions.conf has no context [" + shown(context_) + "] (for extension '" +
               shown(exten_) + "')");
    return;
  }
  if (auto m = find_extension(*plan_, context_, exten_, info_.caller_number)) {
    extension_ = m->extension;
    return;
  }
  if (auto i = find_extension(*plan_, context_, "i", info_.caller_number)) {
    store("INVALID_EXTEN", exten_, nullptr);
    exten_ = "i";
    extension_ = i->extension;
    return;
  }
  finish(RunFinished::Reason::NoSuchExtension,
         ctx->where.str() + ": [" + shown(context_) + "] has no extension '" + shown(exten_) +
             "' (and no 'i' extension)");
}

RunStep DialplanRun::finish(RunFinished::Reason reason, std::string text) {
  finished_ = RunFinished{reason, std::move(text)};
  return *finished_;
}

std::string DialplanRun::position() const {
  return exten_ + "@" + context_ + ":" + std::to_string(current_);
}

void DialplanRun::log(std::string line) {
  if (log_.size() >= kMaxLogLines) {
    ++log_dropped_;
    return;
  }
  log_.push_back(std::move(line));
}

void DialplanRun::note(const DialplanPriority* p, const std::string& text) {
  log((p != nullptr ? p->where.str() + ": " : std::string()) + text);
}

std::vector<std::string> DialplanRun::take_log() {
  if (log_dropped_ > 0) {
    log_.push_back("(" + std::to_string(log_dropped_) + " more dialplan log lines dropped)");
    log_dropped_ = 0;
  }
  return std::exchange(log_, {});
}

std::string DialplanRun::substitute(const std::string& text, const DialplanPriority& p) {
  if (text.find('$') == std::string::npos) return text;
  Substitution s = substitute_variables(text, Scope(*this));
  for (const auto& problem : s.problems) note(&p, problem);
  return std::move(s.text);
}

AppRequest DialplanRun::request(const std::string& app, std::string data,
                                const DialplanPriority& p) const {
  AppRequest r;
  r.app = app;
  r.args = split_application_args(data);
  r.data = std::move(data);
  r.where = p.where;
  r.context = context_;
  r.exten = exten_;
  r.priority = current_;
  return r;
}

RunStep DialplanRun::next() {
  if (finished_) return *finished_;
  while (true) {
    const DialplanPriority* p = extension_ != nullptr ? extension_->find_priority(priority_)
                                                      : nullptr;
    if (p == nullptr) {
      std::string text = exten_ + "@" + context_ + " has no priority " +
                         std::to_string(priority_) + " (end of the dialplan)";
      if (previous_ != nullptr) text = previous_->where.str() + ": " + text;
      return finish(RunFinished::Reason::EndOfPlan, std::move(text));
    }
    if (++total_steps_ > kMaxTotalSteps || ++steps_ > kMaxInternalSteps) {
      const bool total = total_steps_ > kMaxTotalSteps;
      return finish(RunFinished::Reason::LoopLimit,
                    p->where.str() + ": more than " +
                        std::to_string(total ? kMaxTotalSteps : kMaxInternalSteps) +
                        (total || hangup_ ? " dialplan steps"
                                          : " dialplan steps without a call application") +
                        " (a Goto loop?); hanging up");
    }
    current_ = priority_;
    previous_ = p;
    priority_ = current_ + 1;
    if (!canonical_application(p->app)) {
      return finish(RunFinished::Reason::UnknownApplication,
                    p->where.str() + ": unknown application '" + shown(p->app) +
                        "'; hanging up (check the spelling)");
    }
    std::string data = substitute(p->data, *p);
    if (!hangup_) {
      last_app_ = p->app;
      last_data_ = data;
    }
    if (!is_internal_application(p->app)) {
      if (!hangup_) steps_ = 0;
      return request(p->app, std::move(data), *p);
    }
    if (auto step = run_internal(p->app, data, *p, 0)) return std::move(*step);
  }
}

std::optional<RunStep> DialplanRun::run_internal(const std::string& app, const std::string& data,
                                                 const DialplanPriority& p, int depth) {
  if (app == "NoOp") {
    if (!data.empty()) log(position() + " NoOp(" + data + ")");
    return std::nullopt;
  }
  if (app == "Set") return app_set(data, p);
  if (app == "Goto") return app_goto(data, p);
  if (app == "Gosub") return app_gosub(data, p);
  if (app == "Return") return app_return(data, p);
  if (app == "ExecIf") return app_exec_if(data, p, depth);
  if (app == "GotoIf" || app == "GosubIf") {
    auto parts = split_condition(data);
    if (!parts) {
      note(&p, app + "(" + shown(data) + "): no '?' (write " + app + "(condition?yes:no)); "
                     "ignored");
      return std::nullopt;
    }
    // The branches split at the first ':' outside parentheses (Gosub arguments have them).
    const auto branches = split_application_args(parts->second, ':', false, 2);
    const bool yes = condition_true(trim(parts->first));
    const std::size_t pick = yes ? 0 : 1;
    if (pick >= branches.size() || trim(branches[pick]).empty()) return std::nullopt;
    return app == "GotoIf" ? app_goto(branches[pick], p) : app_gosub(branches[pick], p);
  }
  if (app == "Verbose") {
    // Verbose([level,]message)
    const std::size_t comma = data.find(',');
    if (comma != std::string::npos && whole_number(trim(std::string_view(data).substr(0, comma)))) {
      log(data.substr(comma + 1));
    } else {
      log(data);
    }
    return std::nullopt;
  }
  if (app == "Log") {
    // Log(level,message)
    const std::size_t comma = data.find(',');
    const std::string level = comma == std::string::npos ? "NOTICE" : data.substr(0, comma);
    const std::string message = comma == std::string::npos ? data : data.substr(comma + 1);
    log(std::string(trim(level)) + ": " + position() + ": " + message);
    return std::nullopt;
  }
  // Not reached for the known set; kept so a new internal name cannot loop silently.
  return finish(RunFinished::Reason::UnknownApplication,
                p.where.str() + ": application '" + shown(app) + "' is not implemented");
}

std::optional<RunStep> DialplanRun::app_set(const std::string& data, const DialplanPriority& p) {
  const std::size_t eq = data.find('=');
  if (eq == std::string::npos) {
    note(&p, "Set(" + shown(data) + "): expected Set(name=value); ignored");
    return std::nullopt;
  }
  std::string_view name = trim(std::string_view(data).substr(0, eq));
  std::string value = data.substr(eq + 1);
  const std::size_t open = name.find('(');
  if (open != std::string_view::npos) {
    auto [func, arg_view] = split_call(name);
    const std::string arg(trim(arg_view));
    if (iequals(func, "GLOBAL")) {
      if (arg.empty()) {
        note(&p, "Set(GLOBAL()=...): no variable name; ignored");
      } else if (!globals_->set(arg, std::move(value))) {
        note(&p, "global variables exceed " + std::to_string(DialplanGlobals::kMaxBytes) +
                     " bytes; '" + shown(arg) + "' not set");
      }
      return std::nullopt;
    }
    if (iequals(func, "CALLERID")) {
      const std::string what = lowercase(arg);
      if (what == "num" || what == "number") {
        info_.caller_number = std::move(value);
      } else if (what == "name") {
        info_.caller_name = std::move(value);
      } else if (what == "all") {
        conf::parse_callerid(value, info_.caller_name, info_.caller_number);
      } else {
        note(&p, "Set(CALLERID(" + shown(arg) + ")=...): expected num, name or all; ignored");
      }
      return std::nullopt;
    }
    note(&p, "Set(" + shown(name) + "=...): function '" + shown(func) +
                 "' cannot be set (GLOBAL and CALLERID can); ignored");
    return std::nullopt;
  }
  while (!name.empty() && name.front() == '_') name.remove_prefix(1);
  if (name.empty()) {
    note(&p, "Set(" + shown(data) + "): no variable name; ignored");
    return std::nullopt;
  }
  store(std::string(name), std::move(value), &p);
  return std::nullopt;
}

std::optional<std::string> DialplanRun::jump(std::string_view context, std::string_view exten,
                                             std::string_view priority) {
  const std::string target_context(context.empty() ? std::string_view(context_) : context);
  std::string target_exten(exten.empty() ? std::string_view(exten_) : exten);
  const DialplanExtension* ext = nullptr;
  if (target_context == context_ && target_exten == exten_ && extension_ != nullptr) {
    ext = extension_;
  } else if (auto m = find_extension(*plan_, target_context, target_exten, info_.caller_number)) {
    ext = m->extension;
  } else if (plan_->find_context(target_context) == nullptr) {
    return "there is no context [" + shown(target_context) + "]";
  } else if (auto i = find_extension(*plan_, target_context, "i", info_.caller_number)) {
    store("INVALID_EXTEN", target_exten, nullptr);
    context_ = target_context;
    exten_ = "i";
    extension_ = i->extension;
    priority_ = 1;
    return std::nullopt;
  } else {
    return "[" + shown(target_context) + "] has no extension '" + shown(target_exten) + "'";
  }

  priority = trim(priority);
  long long number = 0;
  if (!priority.empty() && (priority.front() == '+' || priority.front() == '-')) {
    auto offset = whole_number(priority.substr(1));
    if (!offset) return "'" + shown(priority) + "' is not a priority";
    number = priority.front() == '+' ? current_ + *offset : current_ - *offset;
  } else if (auto n = whole_number(priority)) {
    number = *n;
  } else if (const DialplanPriority* labelled = ext->find_label(priority)) {
    number = labelled->number;
  } else {
    return "extension '" + shown(target_exten) + "' in [" + shown(target_context) +
           "] has no label '" + shown(priority) + "'";
  }
  if (number < 1 || number > 1'000'000'000 || ext->find_priority(static_cast<int>(number)) == nullptr) {
    return "extension '" + shown(target_exten) + "' in [" + shown(target_context) +
           "] has no priority " + std::to_string(number);
  }
  context_ = target_context;
  exten_ = std::move(target_exten);
  extension_ = ext;
  priority_ = static_cast<int>(number);
  return std::nullopt;
}

std::optional<RunStep> DialplanRun::app_goto(std::string_view spec, const DialplanPriority& p) {
  const auto parts = split_application_args(spec);
  std::optional<std::string> error;
  switch (parts.size()) {
    case 1: error = jump({}, {}, parts[0]); break;
    case 2: error = jump({}, trim(parts[0]), parts[1]); break;
    case 3: error = jump(trim(parts[0]), trim(parts[1]), parts[2]); break;
    default:
      error = "expected Goto([[context,]extension,]priority)";
      break;
  }
  if (!error) return std::nullopt;
  return finish(RunFinished::Reason::BadGoto,
                p.where.str() + ": " + p.app + "(" + shown(spec) + "): " + *error);
}

std::optional<RunStep> DialplanRun::app_gosub(std::string_view spec, const DialplanPriority& p) {
  if (stack_.size() >= kMaxGosubDepth) {
    return finish(RunFinished::Reason::LoopLimit,
                  p.where.str() + ": Gosub nested deeper than " +
                      std::to_string(kMaxGosubDepth) + " (a recursive Gosub?); hanging up");
  }
  // [[context,]exten,]priority[(arg1[,...])]: the arguments are in parentheses at the end.
  std::string_view target = spec, arg_text;
  bool has_args = false;
  if (const std::size_t open = spec.find('('); open != std::string_view::npos) {
    target = spec.substr(0, open);
    arg_text = spec.substr(open + 1);
    const std::size_t close = arg_text.rfind(')');
    if (close != std::string_view::npos) arg_text = arg_text.substr(0, close);
    has_args = true;
  }
  const auto args = has_args ? split_application_args(arg_text, ',', false)
                             : std::vector<std::string>{};

  Frame frame;
  frame.context = context_;
  frame.exten = exten_;
  frame.extension = extension_;
  frame.priority = priority_;  // already the priority after the Gosub
  frame.arg_count = args.size();

  const auto parts = split_application_args(target);
  std::optional<std::string> error;
  switch (parts.size()) {
    case 1: error = jump({}, {}, parts[0]); break;
    case 2: error = jump({}, trim(parts[0]), parts[1]); break;
    case 3: error = jump(trim(parts[0]), trim(parts[1]), parts[2]); break;
    default: error = "expected Gosub([[context,]extension,]priority[(arguments)])"; break;
  }
  if (error) {
    return finish(RunFinished::Reason::BadGoto,
                  p.where.str() + ": " + p.app + "(" + shown(spec) + "): " + *error);
  }
  // ARG1..ARGn for the subroutine; ARGs of an outer Gosub beyond n are hidden.
  const std::size_t outer = stack_.empty() ? 0 : stack_.back().arg_count;
  for (std::size_t i = 1; i <= std::max(args.size(), outer); ++i) {
    std::string name = "ARG" + std::to_string(i);
    auto it = variables_.find(name);
    frame.saved.emplace_back(name, it == variables_.end() ? std::nullopt
                                                          : std::optional<std::string>(it->second));
    store(name, i <= args.size() ? args[i - 1] : std::string(), &p);
  }
  stack_.push_back(std::move(frame));
  return std::nullopt;
}

std::optional<RunStep> DialplanRun::app_return(const std::string& data, const DialplanPriority& p) {
  if (stack_.empty()) {
    return finish(RunFinished::Reason::BadGoto,
                  p.where.str() + ": Return without Gosub; hanging up");
  }
  Frame frame = std::move(stack_.back());
  stack_.pop_back();
  for (auto& [name, value] : frame.saved) store(name, value.value_or(std::string()), &p);
  store("GOSUB_RETVAL", data, &p);
  context_ = std::move(frame.context);
  exten_ = std::move(frame.exten);
  extension_ = frame.extension;
  priority_ = frame.priority;
  return std::nullopt;
}

std::optional<RunStep> DialplanRun::app_exec_if(const std::string& data,
                                                const DialplanPriority& p, int depth) {
  auto parts = split_condition(data);
  if (!parts) {
    note(&p, "ExecIf(" + shown(data) + "): no '?' (write ExecIf(condition?App(args):App(args)))"
             "; ignored");
    return std::nullopt;
  }
  const auto branches = split_application_args(parts->second, ':', false, 2);
  const std::size_t pick = condition_true(trim(parts->first)) ? 0 : 1;
  if (pick >= branches.size() || trim(branches[pick]).empty()) return std::nullopt;
  auto [name, args] = split_call(branches[pick]);
  auto canonical = canonical_application(name);
  if (!canonical) {
    return finish(RunFinished::Reason::UnknownApplication,
                  p.where.str() + ": ExecIf: unknown application '" + shown(name) +
                      "'; hanging up (check the spelling)");
  }
  const std::string app(*canonical);
  const std::string inner(args);
  if (!hangup_) {
    last_app_ = app;
    last_data_ = inner;
  }
  if (!is_internal_application(app)) {
    if (!hangup_) steps_ = 0;
    return request(app, inner, p);
  }
  if (depth >= 8) {
    return finish(RunFinished::Reason::LoopLimit,
                  p.where.str() + ": ExecIf nested deeper than 8; hanging up");
  }
  return run_internal(app, inner, p, depth + 1);
}

bool DialplanRun::enter_hangup_handler() {
  if (hangup_) return false;
  auto h = find_extension(*plan_, context_, "h", info_.caller_number);
  if (!h) return false;
  hangup_ = true;
  stack_.clear();
  exten_ = "h";
  extension_ = h->extension;
  priority_ = 1;
  current_ = 0;
  steps_ = 0;
  finished_.reset();
  return true;
}

bool dialplan_has_extension(const Dialplan& plan, std::string_view context,
                            std::string_view exten, std::string_view caller_id) {
  return find_extension(plan, context, exten, caller_id).has_value() ||
         find_extension(plan, context, "i", caller_id).has_value();
}

}  // namespace hapbx::pbx
