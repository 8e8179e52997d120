// Tests of the generic Asterisk-syntax reader: sections, templates, inheritance, comments,
// includes, directives, limits, and the exact messages users see.
#include "pbx/asterisk_config.h"

#include <gtest/gtest.h>

#include <string>

namespace hapbx::pbx {
namespace {

Result<ConfigFile> read_text(const std::string& text, const ConfigLimits& limits = {}) {
  MemoryConfigLoader loader;
  loader.add("/etc/hapbx/sip.conf", text);
  return read_asterisk_config("/etc/hapbx/sip.conf", loader, limits);
}

std::vector<std::string> keys(const ConfigSection& s) {
  std::vector<std::string> out;
  for (const auto& e : s.entries) out.push_back(e.key + "=" + e.value);
  return out;
}

TEST(AsteriskConfig, SectionsEntriesAndLocations) {
  auto cfg = read_text("[general]\n  bindport   =  5060  \ncontext=>default\n\n[201]\nallow=ulaw\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_EQ(cfg->sections.size(), 2u);
  const auto& g = cfg->sections[0];
  EXPECT_EQ(g.name, "general");
  EXPECT_EQ(g.where.str(), "sip.conf:1");
  ASSERT_EQ(g.entries.size(), 2u);
  EXPECT_EQ(g.entries[0].key, "bindport");
  EXPECT_EQ(g.entries[0].value, "5060");
  EXPECT_EQ(g.entries[0].where.str(), "sip.conf:2");
  EXPECT_FALSE(g.entries[0].arrow);
  EXPECT_EQ(g.entries[1].value, "default");
  EXPECT_TRUE(g.entries[1].arrow);
  EXPECT_EQ(cfg->sections[1].entries[0].where.str(), "sip.conf:6");
  EXPECT_TRUE(cfg->warnings.empty());
}

TEST(AsteriskConfig, RepeatedKeysKeptInOrderAndFindTakesLastCaseInsensitive) {
  auto cfg = read_text("[p]\ndisallow=all\nallow=ulaw\nALLOW=alaw\n");
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(keys(cfg->sections[0]),
            (std::vector<std::string>{"disallow=all", "allow=ulaw", "ALLOW=alaw"}));
  ASSERT_NE(cfg->sections[0].find("allow"), nullptr);
  EXPECT_EQ(cfg->sections[0].find("allow")->value, "alaw");
  EXPECT_EQ(cfg->sections[0].find("secret"), nullptr);
}

TEST(AsteriskConfig, CrLfLineEndings) {
  auto cfg = read_text("[general]\r\nbindport=5060\r\n");
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->sections[0].name, "general");
  EXPECT_EQ(cfg->sections[0].entries[0].value, "5060");
}

TEST(AsteriskConfig, TemplatesAndInheritance) {
  auto cfg = read_text(
      "[office-phone](!)\n"
      "type=friend\n"
      "allow=ulaw\n"
      "[codecs](!)\n"
      "allow=g722\n"
      "[201](office-phone)\n"
      "secret=201pass\n"
      "[202](office-phone, codecs)\n"
      "[t2](!,office-phone)\n"
      "host=dynamic\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_EQ(cfg->sections.size(), 5u);
  EXPECT_TRUE(cfg->sections[0].is_template);
  const auto& p201 = cfg->sections[2];
  EXPECT_FALSE(p201.is_template);
  EXPECT_EQ(p201.bases, (std::vector<std::string>{"office-phone"}));
  EXPECT_EQ(keys(p201), (std::vector<std::string>{"type=friend", "allow=ulaw", "secret=201pass"}));
  EXPECT_TRUE(p201.entries[0].inherited);
  EXPECT_EQ(p201.entries[0].where.str(), "sip.conf:2");  // the template's line
  EXPECT_FALSE(p201.entries[2].inherited);
  EXPECT_EQ(keys(cfg->sections[3]),
            (std::vector<std::string>{"type=friend", "allow=ulaw", "allow=g722"}));
  const auto& t2 = cfg->sections[4];
  EXPECT_TRUE(t2.is_template);
  EXPECT_EQ(keys(t2), (std::vector<std::string>{"type=friend", "allow=ulaw", "host=dynamic"}));
  EXPECT_TRUE(cfg->warnings.empty());
}

TEST(AsteriskConfig, AppendToExistingSection) {
  auto cfg = read_text("[201]\nsecret=a\n[202]\nsecret=b\n[201](+)\ncontext=internal\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_EQ(cfg->sections.size(), 2u);
  EXPECT_EQ(keys(cfg->sections[0]), (std::vector<std::string>{"secret=a", "context=internal"}));
  EXPECT_EQ(cfg->sections[0].entries[1].where.str(), "sip.conf:6");
}

TEST(AsteriskConfig, AppendToMissingSectionIsAnError) {
  auto cfg = read_text("[general]\n[201](+)\nsecret=x\n");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().message,
            "sip.conf:2: [201](+) appends to a section that does not exist yet (define [201] "
            "before it)");
}

TEST(AsteriskConfig, InheritingFromUndefinedIsAnError) {
  auto cfg = read_text("[201](ofice-phone)\n[office-phone](!)\n");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().message,
            "sip.conf:1: [201] inherits from 'ofice-phone', which is not defined above (define "
            "[ofice-phone](!) before it)");
}

TEST(AsteriskConfig, SectionHeaderErrors) {
  auto a = read_text("[general\n");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().message, "sip.conf:1: section header '[general' has no closing ']'");
  auto b = read_text("[ ]\n");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().message, "sip.conf:1: empty section name '[]'; give the section a name");
  auto c = read_text("[201] office\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "sip.conf:1: unexpected 'office' after [201] (options go in parentheses, e.g. "
            "[201](!) or [201](template))");
}

TEST(AsteriskConfig, EntryOutsideSectionIsAnError) {
  auto cfg = read_text("; header comment\nbindport=5060\n[general]\n");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().message,
            "sip.conf:2: 'bindport=5060' is outside any section (put it under a [section] "
            "header, e.g. [general])");
}

TEST(AsteriskConfig, LineWithoutEqualsIsWarned) {
  auto cfg = read_text("[general]\nbindport 5060\n");
  ASSERT_TRUE(cfg.ok());
  ASSERT_EQ(cfg->warnings.size(), 1u);
  EXPECT_EQ(cfg->warnings[0],
            "sip.conf:2: line 'bindport 5060' ignored: expected 'key = value' or [section]");
  EXPECT_TRUE(cfg->sections[0].entries.empty());
}

TEST(AsteriskConfig, CommentsAndEscapes) {
  auto cfg = read_text(
      "[general] ; trailing comment\n"
      "secret=abc\\;def ; the rest is a comment\n"
      ";-- a block comment\n"
      "bindport=1\n"
      "--; realm=after-block\n"
      "a=1 ;-- inline block --; b=2\n"
      ";-- outer ;-- inner --; still comment --;\n"
      "c=3\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(keys(cfg->sections[0]),
            (std::vector<std::string>{"secret=abc;def", "realm=after-block", "a=1  b=2", "c=3"}));
  EXPECT_EQ(cfg->sections[0].entries[1].where.str(), "sip.conf:5");
  EXPECT_TRUE(cfg->warnings.empty());
}

TEST(AsteriskConfig, UnclosedBlockCommentIsWarned) {
  auto cfg = read_text("[general]\na=1\n;-- forgotten\nb=2\n");
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(keys(cfg->sections[0]), (std::vector<std::string>{"a=1"}));
  ASSERT_EQ(cfg->warnings.size(), 1u);
  EXPECT_EQ(cfg->warnings[0],
            "sip.conf:3: block comment ';--' is never closed with '--;' (the rest of the file "
            "was ignored)");
}

TEST(AsteriskConfig, BlockCommentDoesNotLeakOutOfAnIncludedFile) {
  MemoryConfigLoader loader;
  loader.add("/c/sip.conf", "[a]\n#include x.conf ;-- open here\nhidden=1\n--;\nafter=1\n");
  loader.add("/c/x.conf", "k=v\n;-- never closed\nlost=1\n");
  auto cfg = read_asterisk_config("/c/sip.conf", loader);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(keys(cfg->sections[0]), (std::vector<std::string>{"k=v", "after=1"}));
  ASSERT_EQ(cfg->warnings.size(), 1u);
  EXPECT_EQ(cfg->warnings[0],
            "x.conf:2: block comment ';--' is never closed with '--;' (the rest of the file was "
            "ignored)");
}

TEST(AsteriskConfig, IncludeIsRelativeToTheIncludingFile) {
  MemoryConfigLoader loader;
  loader.add("/etc/hapbx/sip.conf", "[general]\n#include peers/office.conf\n[tail]\n");
  loader.add("/etc/hapbx/peers/office.conf", "[201]\nsecret=x\n#include \"extra.conf\"\n");
  loader.add("/etc/hapbx/peers/extra.conf", "[202]\nsecret=y\n");
  auto cfg = read_asterisk_config("/etc/hapbx/sip.conf", loader);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_EQ(cfg->sections.size(), 4u);
  EXPECT_EQ(cfg->sections[1].name, "201");
  EXPECT_EQ(cfg->sections[1].where.str(), "peers/office.conf:1");
  EXPECT_EQ(cfg->sections[2].name, "202");
  EXPECT_EQ(cfg->sections[2].entries[0].where.str(), "peers/extra.conf:2");
  EXPECT_EQ(cfg->sections[3].where.str(), "sip.conf:3");
}

TEST(AsteriskConfig, IncludeContinuesTheCurrentSection) {
  MemoryConfigLoader loader;
  loader.add("/c/sip.conf", "[201]\n#include secret.conf\ncontext=internal\n");
  loader.add("/c/secret.conf", "secret=x\n");
  auto cfg = read_asterisk_config("/c/sip.conf", loader);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(keys(cfg->sections[0]), (std::vector<std::string>{"secret=x", "context=internal"}));
}

TEST(AsteriskConfig, MissingIncludeIsAnErrorTryincludeIsNot) {
  MemoryConfigLoader loader;
  loader.add("/c/sip.conf", "[general]\n#tryinclude local.conf\n#include peers.conf\n");
  auto cfg = read_asterisk_config("/c/sip.conf", loader);
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().message,
            "sip.conf:3: #include 'peers.conf': file not found (looked for /c/peers.conf; use "
            "#tryinclude if it is optional)");
}

TEST(AsteriskConfig, IncludeLoopIsAnError) {
  MemoryConfigLoader loader;
  loader.add("/c/sip.conf", "[general]\n#include a.conf\n");
  loader.add("/c/a.conf", "#include ./sub/../sip.conf\n");
  auto cfg = read_asterisk_config("/c/sip.conf", loader);
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().message,
            "a.conf:1: #include './sub/../sip.conf' includes a file that is already being read "
            "(include loop); remove one of the #include lines");
}

TEST(AsteriskConfig, SameFileIncludedTwiceInSequenceIsFine) {
  MemoryConfigLoader loader;
  loader.add("/c/sip.conf", "[a]\n#include x.conf\n[b]\n#include x.conf\n");
  loader.add("/c/x.conf", "k=v\n");
  auto cfg = read_asterisk_config("/c/sip.conf", loader);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->sections[1].entries.size(), 1u);
}

TEST(AsteriskConfig, IncludeDepthLimit) {
  MemoryConfigLoader loader;
  loader.add("/c/sip.conf", "[general]\n#include 1.conf\n");
  for (int i = 1; i <= 5; ++i) {
    loader.add("/c/" + std::to_string(i) + ".conf",
               "#include " + std::to_string(i + 1) + ".conf\n");
  }
  loader.add("/c/6.conf", "k=v\n");
  ConfigLimits limits;
  limits.max_include_depth = 3;
  auto cfg = read_asterisk_config("/c/sip.conf", loader, limits);
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().message,
            "3.conf:1: #include nested deeper than 3 levels; flatten the includes");
  EXPECT_TRUE(read_asterisk_config("/c/sip.conf", loader).ok());
}

TEST(AsteriskConfig, ExecIsRefusedWithAWarning) {
  auto cfg = read_text("[general]\n#exec /bin/echo '[evil]'\nk=v\n");
  ASSERT_TRUE(cfg.ok());
  ASSERT_EQ(cfg->sections.size(), 1u);
  ASSERT_EQ(cfg->warnings.size(), 1u);
  EXPECT_EQ(cfg->warnings[0],
            "sip.conf:2: #exec refused: hapbx never runs programs named in configuration (write "
            "the program's output to a file and #include it)");
}

TEST(AsteriskConfig, UnknownDirectiveAndWildcardsAreWarned) {
  auto cfg = read_text("[general]\n#includ x.conf\n#include peers/*.conf\n");
  ASSERT_TRUE(cfg.ok());
  ASSERT_EQ(cfg->warnings.size(), 2u);
  EXPECT_EQ(cfg->warnings[0],
            "sip.conf:2: unknown directive '#includ' ignored (expected #include, #tryinclude or "
            "#exec)");
  EXPECT_EQ(cfg->warnings[1],
            "sip.conf:3: #include 'peers/*.conf': wildcards are not supported; include each "
            "file by name");
}

TEST(AsteriskConfig, MissingTopFile) {
  MemoryConfigLoader loader;
  auto cfg = read_asterisk_config("/etc/hapbx/sip.conf", loader);
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().message,
            "sip.conf: file not found (looked for /etc/hapbx/sip.conf; create it or point "
            "--config-dir at the directory holding it)");
}

TEST(AsteriskConfig, Limits) {
  ConfigLimits limits;
  limits.max_line_length = 20;
  auto a = read_text("[general]\nuseragent=" + std::string(30, 'x') + "\n", limits);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().message, "sip.conf:2: line longer than 20 characters; split it");

  limits = {};
  limits.max_sections = 2;
  auto b = read_text("[a]\n[b]\n[c]\n", limits);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().message, "sip.conf:3: more than 2 sections; split the configuration");

  limits = {};
  limits.max_file_bytes = 10;
  auto c = read_text("[general]\nbindport=5060\n", limits);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "/etc/hapbx/sip.conf: larger than 10 bytes; config files are not that big, is it "
            "the right file?");

  limits = {};
  limits.max_entries = 6;
  auto d = read_text("[t](!)\na=1\nb=2\nc=3\n[x](t)\n[y](t)\n", limits);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message,
            "sip.conf:6: more than 6 entries after inheritance; simplify the templates");
}

TEST(AsteriskConfig, ControlBytesInMessagesAreMasked) {
  auto cfg = read_text(std::string("[general]\nbad\x1b[31mline\n"));
  ASSERT_TRUE(cfg.ok());
  ASSERT_EQ(cfg->warnings.size(), 1u);
  EXPECT_EQ(cfg->warnings[0].find('\x1b'), std::string::npos);
}

TEST(AsteriskConfig, RealFilesystemWithRelativeIncludes) {
  FileConfigLoader loader;
  auto cfg = read_asterisk_config(HAPBX_TEST_DATA_DIR "/unit/pbx/config/main.conf", loader);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_EQ(cfg->sections.size(), 4u);
  EXPECT_EQ(cfg->sections[1].name, "201");
  EXPECT_EQ(cfg->sections[1].where.str(), "sub/peers.conf:2");
  EXPECT_EQ(cfg->sections[2].name, "202");
  EXPECT_EQ(cfg->sections[2].where.str(), "sub/more.conf:2");
  EXPECT_EQ(cfg->sections[3].name, "after");
  EXPECT_TRUE(cfg->warnings.empty());

  auto missing = read_asterisk_config(HAPBX_TEST_DATA_DIR "/unit/pbx/config/nope.conf", loader);
  EXPECT_FALSE(missing.ok());
  auto dir = read_asterisk_config(HAPBX_TEST_DATA_DIR "/unit/pbx/config/sub", loader);
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.error().message.find("is a directory"), std::string::npos);
}

}  // namespace
}  // namespace hapbx::pbx
