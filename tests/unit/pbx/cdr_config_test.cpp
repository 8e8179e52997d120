// cdr.conf: defaults (no file, empty file), every option, every error with its file:line and
// fix, every warning with its file:line, [csv] switching the CSV backend on.
#include "pbx/cdr_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace hapbx::pbx {
namespace {

Result<CdrSettings> load(const std::string* text) {
  MemoryConfigLoader loader;
  if (text != nullptr) loader.add("/etc/hapbx/cdr.conf", *text);
  return load_cdr_settings("/etc/hapbx", loader);
}

CdrSettings ok(const std::string& text) {
  auto s = load(&text);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return s.ok() ? std::move(s.value()) : CdrSettings{};
}

std::string error_of(const std::string& text) {
  auto s = load(&text);
  EXPECT_FALSE(s.ok());
  return s.ok() ? std::string("(loaded)") : s.error().message;
}

std::string warnings_of(const CdrSettings& s) {
  std::string out;
  for (const auto& w : s.warnings) out += w + "\n";
  return out;
}

bool has_warning_starting(const CdrSettings& s, const std::string& prefix) {
  return std::any_of(s.warnings.begin(), s.warnings.end(),
                     [&](const std::string& w) { return w.rfind(prefix, 0) == 0; });
}

TEST(CdrConfig, MissingFileGivesDefaults) {
  auto s = load(nullptr);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->enabled);
  EXPECT_FALSE(s->log_unanswered);
  EXPECT_FALSE(s->log_congestion);
  EXPECT_FALSE(s->initiated_seconds);
  EXPECT_FALSE(s->db_use_gmt);
  EXPECT_FALSE(s->csv.enabled);
  EXPECT_TRUE(s->warnings.empty());
}

TEST(CdrConfig, GeneralOnlyKeepsCsvOff) {
  CdrSettings s = ok("[general]\nenable=yes\n");
  EXPECT_TRUE(s.enabled);
  EXPECT_FALSE(s.csv.enabled);
  EXPECT_TRUE(s.warnings.empty()) << warnings_of(s);
}

TEST(CdrConfig, EveryGeneralOption) {
  CdrSettings s = ok(
      "[general]\n"
      "enable = yes\n"
      "unanswered = yes\n"
      "congestion = on\n"
      "initiatedseconds = true\n"
      "usegmtime = 1\n"
      "batch = no\n"
      "size = 100\n"
      "time = 300\n"
      "scheduleronly = no\n"
      "safeshutdown = yes\n");
  EXPECT_TRUE(s.enabled);
  EXPECT_TRUE(s.log_unanswered);
  EXPECT_TRUE(s.log_congestion);
  EXPECT_TRUE(s.initiated_seconds);
  EXPECT_TRUE(s.db_use_gmt);
  EXPECT_TRUE(s.warnings.empty()) << warnings_of(s);
  EXPECT_FALSE(ok("[general]\nenable=no\n").enabled);
  EXPECT_FALSE(ok("[General]\nENABLE=No\n").csv.enabled);  // section names are case-sensitive
}

TEST(CdrConfig, CsvSectionTurnsCsvOnWithAsterisksDefaults) {
  CdrSettings s = ok("[csv]\nusegmtime=no\n");
  EXPECT_TRUE(s.csv.enabled);
  EXPECT_FALSE(s.csv.use_gmt);
  EXPECT_FALSE(s.csv.log_uniqueid);
  EXPECT_FALSE(s.csv.log_userfield);
  EXPECT_TRUE(s.csv.account_logs);
  s = ok("[csv]\nusegmtime=yes\nloguniqueid=yes\nloguserfield=yes\naccountlogs=no\n"
         "newcdrcolumns=no\n");
  EXPECT_TRUE(s.csv.use_gmt);
  EXPECT_TRUE(s.csv.log_uniqueid);
  EXPECT_TRUE(s.csv.log_userfield);
  EXPECT_FALSE(s.csv.account_logs);
  EXPECT_EQ(warnings_of(s),
            "cdr.conf:6: 'newcdrcolumns' is accepted but not used by hapbx yet (the peeraccount, "
            "linkedid and sequence columns are not written); further uses are not reported\n");
}

TEST(CdrConfig, BadValuesAreErrorsNamingTheLineAndTheFix) {
  EXPECT_EQ(error_of("[general]\nenable=maybe\n"),
            "cdr.conf:2: enable: 'maybe' is not a yes/no value (write enable=yes or enable=no)");
  EXPECT_EQ(error_of("[general]\n\nunanswered=sometimes\n"),
            "cdr.conf:3: unanswered: 'sometimes' is not a yes/no value (write unanswered=yes or "
            "unanswered=no)");
  EXPECT_EQ(error_of("[general]\ncongestion=\n"),
            "cdr.conf:2: congestion: '' is not a yes/no value (write congestion=yes or "
            "congestion=no)");
  EXPECT_EQ(error_of("[general]\nsize=0\n"),
            "cdr.conf:2: size: '0' is out of range (expected 1 to 1000)");
  EXPECT_EQ(error_of("[general]\ntime=soon\n"),
            "cdr.conf:2: time: 'soon' is not a whole number (write e.g. time=300)");
  EXPECT_EQ(error_of("[csv]\nusegmtime=gmt\n"),
            "cdr.conf:2: usegmtime: 'gmt' is not a yes/no value (write usegmtime=yes or "
            "usegmtime=no)");
  EXPECT_EQ(error_of("[general]\nbatch=perhaps\n"),
            "cdr.conf:2: batch: 'perhaps' is not a yes/no value (write batch=yes or batch=no)");
  EXPECT_EQ(error_of("[general]\nsafeshutdown=x\n"),
            "cdr.conf:2: safeshutdown: 'x' is not a yes/no value (write safeshutdown=yes or "
            "safeshutdown=no)");
  EXPECT_EQ(error_of("[general]\nendbeforehexten=x\n"),
            "cdr.conf:2: endbeforehexten: 'x' is not a yes/no value (write endbeforehexten=yes "
            "or endbeforehexten=no)");
  for (const char* key : {"initiatedseconds", "usegmtime", "scheduleronly"}) {
    EXPECT_NE(error_of(std::string("[general]\n") + key + "=x\n").find("cdr.conf:2: "),
              std::string::npos) << key;
  }
  for (const char* key : {"loguniqueid", "loguserfield", "accountlogs", "newcdrcolumns"}) {
    EXPECT_NE(error_of(std::string("[csv]\n") + key + "=x\n").find("cdr.conf:2: "),
              std::string::npos) << key;
  }
}

TEST(CdrConfig, AllErrorsAreReportedAtOnce) {
  EXPECT_EQ(error_of("[general]\nenable=x\ncongestion=z\n"),
            "cdr.conf:2: enable: 'x' is not a yes/no value (write enable=yes or enable=no)\n"
            "cdr.conf:3: congestion: 'z' is not a yes/no value (write congestion=yes or "
            "congestion=no)");
}

TEST(CdrConfig, UnknownKeysAndSectionsAreWarnings) {
  CdrSettings s = ok(
      "[general]\n"
      "enabel=yes\n"
      "[csv]\n"
      "loguniqeid=yes\n"
      "[sqlite3_custom]\n"
      "table=cdr\n"
      "[odbc]\n"
      "[phones]\n");
  EXPECT_EQ(warnings_of(s),
            "cdr.conf:2: unknown option 'enabel' in [general] ignored (known: enable, "
            "unanswered, congestion, initiatedseconds, batch, usegmtime; check the spelling)\n"
            "cdr.conf:4: unknown option 'loguniqeid' in [csv] ignored (known: usegmtime, "
            "loguniqueid, loguserfield, accountlogs; check the spelling)\n"
            "cdr.conf:5: [sqlite3_custom] ignored: that CDR backend is not supported by hapbx; "
            "CDRs go to cdr.db in the state directory (and to Master.csv with a [csv] section)\n"
            "cdr.conf:7: [odbc] ignored: that CDR backend is not supported by hapbx; CDRs go to "
            "cdr.db in the state directory (and to Master.csv with a [csv] section)\n"
            "cdr.conf:8: unknown section [phones] ignored (cdr.conf has [general] and [csv])\n");
  EXPECT_TRUE(s.csv.enabled);
  EXPECT_FALSE(s.csv.log_uniqueid);
}

TEST(CdrConfig, BatchYesIsExplained) {
  CdrSettings s = ok("[general]\nbatch=yes\nsize=50\n");
  EXPECT_EQ(warnings_of(s),
            "cdr.conf:2: batch=yes is accepted, but hapbx writes every CDR to disk when its call "
            "ends (calls ending together share one write), so no CDR waits in memory and none "
            "is lost by a crash\n");
}

TEST(CdrConfig, AsteriskOptionsWithoutAJobHereAreNotedOnce) {
  CdrSettings s = ok("[general]\nendbeforehexten=yes\ndebug=no\nchanneldefaultenabled=yes\n"
                     "ignorestatechanges=no\nignoredialchanges=no\ncanceldispositionenabled=no\n"
                     "debug=yes\n");
  ASSERT_EQ(s.warnings.size(), 6u) << warnings_of(s);
  EXPECT_EQ(s.warnings[0], "cdr.conf:2: 'endbeforehexten' is accepted but not used by hapbx yet; "
                           "further uses are not reported");
  EXPECT_TRUE(has_warning_starting(s, "cdr.conf:3: 'debug'"));
  EXPECT_FALSE(has_warning_starting(s, "cdr.conf:8:"));
}

TEST(CdrConfig, EmptyCsvSectionStillWritesCsvAndSaysSo) {
  CdrSettings s = ok("[general]\n[csv]\n");
  EXPECT_TRUE(s.csv.enabled);
  EXPECT_EQ(warnings_of(s),
            "cdr.conf:2: [csv] has no options: Asterisk's cdr_csv stays off for an empty [csv], "
            "hapbx writes Master.csv (remove [csv] to turn it off)\n");
}

TEST(CdrConfig, DisabledWithCsvWarns) {
  CdrSettings s = ok("[general]\nenable=no\n[csv]\nloguniqueid=yes\n");
  EXPECT_FALSE(s.enabled);
  EXPECT_EQ(warnings_of(s), "cdr.conf:3: [csv] has no effect: enable=no turns every CDR backend "
                            "off\n");
}

TEST(CdrConfig, RepeatedSectionsApplyAndWarn) {
  CdrSettings s = ok("[general]\nunanswered=yes\n[general]\ncongestion=yes\n");
  EXPECT_TRUE(s.log_unanswered);
  EXPECT_TRUE(s.log_congestion);
  EXPECT_TRUE(has_warning_starting(s, "cdr.conf:3: second [general] section"));
}

TEST(CdrConfig, SyntaxErrorsOfTheReaderPassThrough) {
  const std::string text = "[general\nenable=yes\n";
  auto s = load(&text);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message.rfind("cdr.conf:1: ", 0), 0u) << s.error().message;
}

}  // namespace
}  // namespace hapbx::pbx
