// JsonWriter: structure, commas, escaping, UTF-8 repair, numbers and misuse detection.
#include "core/json_writer.h"

#include <gtest/gtest.h>

#include <limits>

namespace hapbx::core {
namespace {

std::string json_quoted(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

TEST(JsonWriter, NestedObjectsAndArrays) {
  JsonWriter w;
  w.begin_object()
      .field("name", "201")
      .field("port", 5060)
      .field("dynamic", true)
      .key("contacts")
      .begin_array()
      .value("sip:201@192.0.2.1")
      .begin_object()
      .field("expires", std::uint64_t{120})
      .end_object()
      .null_value()
      .end_array()
      .key("empty")
      .begin_object()
      .end_object()
      .key("none")
      .begin_array()
      .end_array()
      .end_object();
  EXPECT_TRUE(w.complete());
  EXPECT_EQ(w.str(),
            R"({"name":"201","port":5060,"dynamic":true,"contacts":["sip:201@192.0.2.1",)"
            R"({"expires":120},null],"empty":{},"none":[]})");
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(json_quoted("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json_quoted("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(json_quoted(std::string("\x01\x1f\x7f\0", 4)), R"("\u0001\u001f\u007f\u0000")");
  EXPECT_EQ(json_quoted("/"), R"("/")");
}

TEST(JsonWriter, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(json_quoted("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\x9E"), "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\x9E\"");
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(json_quoted("\xff"), "\"" + fffd + "\"");
  EXPECT_EQ(json_quoted("\xC3"), "\"" + fffd + "\"");                        // truncated sequence
  EXPECT_EQ(json_quoted("\xC0\xAF"), "\"" + fffd + fffd + "\"");             // overlong '/'
  EXPECT_EQ(json_quoted("\xED\xA0\x80"), "\"" + fffd + fffd + fffd + "\"");  // surrogate
  EXPECT_EQ(json_quoted("\xF4\x90\x80\x80"), "\"" + fffd + fffd + fffd + fffd + "\"");  // > U+10FFFF
  EXPECT_EQ(json_quoted("a\x80z"), "\"a" + fffd + "z\"");
}

TEST(JsonWriter, Numbers) {
  JsonWriter w;
  w.begin_array()
      .value(std::numeric_limits<std::int64_t>::min())
      .value(std::numeric_limits<std::uint64_t>::max())
      .value(0.25)
      .value(std::numeric_limits<double>::quiet_NaN())
      .value(std::numeric_limits<double>::infinity())
      .value(-3)
      .end_array();
  EXPECT_TRUE(w.complete());
  EXPECT_EQ(w.str(), "[-9223372036854775808,18446744073709551615,0.25,null,null,-3]");
}

TEST(JsonWriter, MisuseIsReported) {
  JsonWriter value_without_key;
  value_without_key.begin_object().value("no key").end_object();
  EXPECT_FALSE(value_without_key.complete());

  JsonWriter unclosed;
  unclosed.begin_array().value(1);
  EXPECT_FALSE(unclosed.complete());

  JsonWriter mismatched;
  mismatched.begin_array().end_object();
  EXPECT_FALSE(mismatched.complete());

  JsonWriter two_roots;
  two_roots.value(1).value(2);
  EXPECT_FALSE(two_roots.complete());

  JsonWriter key_without_value;
  key_without_value.begin_object().key("a").end_object();
  EXPECT_FALSE(key_without_value.complete());

  JsonWriter empty;
  EXPECT_FALSE(empty.complete());

  JsonWriter scalar;
  scalar.value("just a string");
  EXPECT_TRUE(scalar.complete());
  EXPECT_EQ(scalar.take(), R"("just a string")");
}

}  // namespace
}  // namespace hapbx::core
