// A small JSON text builder for the daemons' `--json` answers, so daemons need no JSON library.
// Commas and nesting are tracked for the caller; strings are escaped per RFC 8259, and bytes that
// are not valid UTF-8 (a hostile User-Agent, a config comment) become U+FFFD, so the output is
// always valid JSON text as long as the calls are balanced.
//
//   JsonWriter w;
//   w.begin_object().field("name", "201").field("port", 5060).key("tags").begin_array()
//    .value("a").end_array().end_object();
//   w.str()  ->  {"name":"201","port":5060,"tags":["a"]}
//
// Misuse (a value where a key is expected, unbalanced ends) is a programming error: it is not
// thrown or asserted, but complete() reports false, which tests check.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hapbx::core {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(bool flag);
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(std::uint64_t number);
  JsonWriter& value(int number) { return value(static_cast<std::int64_t>(number)); }
  JsonWriter& value(unsigned number) { return value(static_cast<std::uint64_t>(number)); }
  JsonWriter& value(long long number) { return value(static_cast<std::int64_t>(number)); }
  JsonWriter& value(unsigned long long number) { return value(static_cast<std::uint64_t>(number)); }
  JsonWriter& value(double number);  // NaN and infinities have no JSON form: written as null
  JsonWriter& null_value();

  template <typename T>
  JsonWriter& field(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }

  // True when exactly one top-level value was written, all containers are closed and no call
  // was out of place.
  bool complete() const { return stack_.empty() && top_level_done_ && !misused_; }
  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  struct Level {
    bool is_object = false;
    bool has_items = false;
    bool after_key = false;  // objects only: a key was written, its value comes next
  };
  void before_value();
  void append_string(std::string_view text);

  std::string out_;
  std::vector<Level> stack_;
  bool top_level_done_ = false;
  bool misused_ = false;
};

// Appends `text` to `out` as a quoted, escaped JSON string.
void append_json_string(std::string& out, std::string_view text);

}  // namespace hapbx::core
