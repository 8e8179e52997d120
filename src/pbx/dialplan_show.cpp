// `dialplan show` text and JSON: see dialplan_show.h.
#include "pbx/dialplan_show.h"

#include <vector>

#include "core/json_writer.h"

namespace hapbx::pbx {

namespace {

// printf's "%-Ns": pads to `width`, never cuts.
std::string padded(std::string_view text, std::size_t width) {
  std::string out(text);
  if (out.size() < width) out.append(width - out.size(), ' ');
  return out;
}

std::string row(std::string_view first, std::string_view second, const SourceLocation& where) {
  return "  " + padded(first, 17) + " " + padded(second, 45) + " [" + where.str() + "]\n";
}

struct Totals {
  int extensions = 0;
  int priorities = 0;
  int contexts = 0;
};

void text_context(const DialplanContext& c, std::string& out, Totals& totals) {
  out += "[ Context '" + c.name + "' created by 'pbx_config' ]\n";
  ++totals.contexts;
  for (const auto& ext : c.extensions) {
    std::string name = ext.caller_id_match.empty()
                           ? "'" + ext.name + "' =>"
                           : "'" + ext.name + "' (CID match '" + ext.caller_id_match + "') => ";
    std::vector<std::pair<std::string, const SourceLocation*>> lines;
    std::vector<std::string> labels;
    if (!ext.hint.empty()) {
      lines.emplace_back("hint: " + ext.hint, &ext.where);
      labels.emplace_back();
    }
    for (const auto& p : ext.priorities) {
      lines.emplace_back(std::to_string(p.number) + ". " + p.app + "(" + p.data + ")", &p.where);
      labels.push_back(p.label.empty() ? std::string() : "   [" + p.label + "]");
    }
    if (lines.empty()) continue;
    ++totals.extensions;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      ++totals.priorities;
      out += row(i == 0 ? name : labels[i], lines[i].first, *lines[i].second);
    }
  }
  for (std::size_t i = 0; i < c.includes.size(); ++i) {
    out += "  Include =>        " + padded("'" + c.includes[i] + "'", 45) + " [" +
           c.include_where[i].str() + "]\n";
  }
  out += "\n";
}

void json_context(const DialplanContext& c, core::JsonWriter& w, Totals& totals) {
  ++totals.contexts;
  w.begin_object().field("name", c.name).field("where", c.where.str());
  w.key("extensions").begin_array();
  for (const auto& ext : c.extensions) {
    if (ext.priorities.empty() && ext.hint.empty()) continue;
    ++totals.extensions;
    totals.priorities += static_cast<int>(ext.priorities.size()) + (ext.hint.empty() ? 0 : 1);
    w.begin_object()
        .field("name", ext.name)
        .field("caller_id_match", ext.caller_id_match)
        .field("hint", ext.hint)
        .field("where", ext.where.str());
    w.key("priorities").begin_array();
    for (const auto& p : ext.priorities) {
      w.begin_object()
          .field("priority", p.number)
          .field("label", p.label)
          .field("app", p.app)
          .field("data", p.data)
          .field("where", p.where.str())
          .end_object();
    }
    w.end_array().end_object();
  }
  w.end_array();
  w.key("includes").begin_array();
  for (std::size_t i = 0; i < c.includes.size(); ++i) {
    w.begin_object().field("name", c.includes[i]).field("where", c.include_where[i].str())
        .end_object();
  }
  w.end_array().end_object();
}

std::string plural(int n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

Result<std::string> show_dialplan(const Dialplan& plan, std::optional<std::string_view> context,
                                  bool json) {
  std::vector<const DialplanContext*> shown_contexts;
  if (context) {
    const DialplanContext* c = plan.find_context(*context);
    if (c == nullptr) {
      return make_error("There is no existence of '" + std::string(*context) + "' context");
    }
    shown_contexts.push_back(c);
  } else {
    for (const auto& c : plan.contexts) shown_contexts.push_back(&c);
  }
  Totals totals;
  if (json) {
    core::JsonWriter w;
    w.begin_object().key("contexts").begin_array();
    for (const auto* c : shown_contexts) json_context(*c, w, totals);
    w.end_array();
    w.key("totals")
        .begin_object()
        .field("extensions", totals.extensions)
        .field("priorities", totals.priorities)
        .field("contexts", totals.contexts)
        .end_object();
    w.end_object();
    return w.take();
  }
  if (shown_contexts.empty()) return std::string("There are no contexts\n");
  std::string out;
  for (const auto* c : shown_contexts) text_context(*c, out, totals);
  out += "-= " + plural(totals.extensions, "extension", "extensions") + " (" +
         plural(totals.priorities, "priority", "priorities") + ") in " +
         plural(totals.contexts, "context", "contexts") + ". =-\n";
  return out;
}

}  // namespace hapbx::pbx
