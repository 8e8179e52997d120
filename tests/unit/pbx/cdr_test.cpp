// CDR record rules: Asterisk's disposition words, duration/billsec rounding (truncation, and
// initiatedseconds' rounding), caller id merging, AMA flag words, time text; and the cdr.conf
// policy applied on submit (congestion, unanswered, enable).
#include "pbx/cdr.h"

#include <gtest/gtest.h>

#include "pbx/cdr_policy.h"

namespace hapbx::pbx {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::system_clock;

const Clock::time_point kT0 = Clock::time_point{} + seconds(1'700'000'000);  // 2023-11-14 22:13:20 UTC

CdrRecord call(milliseconds answer_after, milliseconds end_after) {
  CdrRecord r;
  r.start = kT0;
  if (answer_after.count() >= 0) r.answer = kT0 + answer_after;
  r.end = kT0 + end_after;
  return r;
}

TEST(Cdr, DispositionWordsAreAsterisks) {
  EXPECT_EQ(to_string(CdrDisposition::Answered), "ANSWERED");
  EXPECT_EQ(to_string(CdrDisposition::NoAnswer), "NO ANSWER");
  EXPECT_EQ(to_string(CdrDisposition::Busy), "BUSY");
  EXPECT_EQ(to_string(CdrDisposition::Failed), "FAILED");
  EXPECT_EQ(to_string(CdrDisposition::Congestion), "CONGESTION");
  for (auto d : {CdrDisposition::Answered, CdrDisposition::NoAnswer, CdrDisposition::Busy,
                 CdrDisposition::Failed, CdrDisposition::Congestion}) {
    EXPECT_EQ(parse_cdr_disposition(to_string(d)), d);
  }
  EXPECT_EQ(parse_cdr_disposition("answered"), std::nullopt);
  EXPECT_EQ(parse_cdr_disposition("NOANSWER"), std::nullopt);
}

TEST(Cdr, DurationsAreTruncatedToWholeSeconds) {
  const auto d = cdr_durations(call(milliseconds(4'999), milliseconds(64'998)));
  EXPECT_EQ(d.duration, 64);  // 64.998 s
  EXPECT_EQ(d.billsec, 59);   // 59.999 s
  const auto exact = cdr_durations(call(milliseconds(5'000), milliseconds(65'000)));
  EXPECT_EQ(exact.duration, 65);
  EXPECT_EQ(exact.billsec, 60);
}

TEST(Cdr, InitiatedSecondsRoundsBillsecHalvesUp) {
  EXPECT_EQ(cdr_durations(call(milliseconds(0), milliseconds(59'499)), true).billsec, 59);
  EXPECT_EQ(cdr_durations(call(milliseconds(0), milliseconds(59'500)), true).billsec, 60);
  // duration is never rounded.
  EXPECT_EQ(cdr_durations(call(milliseconds(0), milliseconds(59'500)), true).duration, 59);
  // Sub-millisecond parts do not count (Asterisk works in whole milliseconds).
  CdrRecord r = call(milliseconds(0), milliseconds(0));
  r.end = kT0 + std::chrono::microseconds(1'499'999);
  EXPECT_EQ(cdr_durations(r, true).billsec, 1);
}

TEST(Cdr, UnansweredCallsBillNothing) {
  const auto d = cdr_durations(call(milliseconds(-1), milliseconds(12'300)));
  EXPECT_EQ(d.duration, 12);
  EXPECT_EQ(d.billsec, 0);
}

TEST(Cdr, ClockSteppingBackNeverGivesNegativeSeconds) {
  const auto d = cdr_durations(call(milliseconds(3'000), milliseconds(-5'000)));
  EXPECT_EQ(d.duration, 0);
  EXPECT_EQ(d.billsec, 0);
}

TEST(Cdr, ComputeDurationsSetsTheFields) {
  CdrRecord r = call(milliseconds(2'000), milliseconds(10'700));
  cdr_compute_durations(r);
  EXPECT_EQ(r.duration, 10);
  EXPECT_EQ(r.billsec, 8);
}

TEST(Cdr, CallerIdMergesAsAsterisk) {
  EXPECT_EQ(cdr_clid("Alice", "201"), "\"Alice\" <201>");
  EXPECT_EQ(cdr_clid("", "201"), "201");
  EXPECT_EQ(cdr_clid("Alice", ""), "Alice");
  EXPECT_EQ(cdr_clid("", ""), "");
}

TEST(Cdr, AmaFlagWordsFromSipConf) {
  EXPECT_EQ(cdr_amaflags(""), "DOCUMENTATION");
  EXPECT_EQ(cdr_amaflags("default"), "DOCUMENTATION");
  EXPECT_EQ(cdr_amaflags("documentation"), "DOCUMENTATION");
  EXPECT_EQ(cdr_amaflags("Billing"), "BILLING");
  EXPECT_EQ(cdr_amaflags("omit"), "OMIT");
  EXPECT_EQ(CdrRecord{}.amaflags, "DOCUMENTATION");
}

TEST(Cdr, TimeTextInUtc) {
  EXPECT_EQ(format_cdr_time(kT0 + milliseconds(999), true), "2023-11-14 22:13:20");
  EXPECT_EQ(format_cdr_time(Clock::time_point{}, true), "1970-01-01 00:00:00");
}

// ---- policy -------------------------------------------------------------------------------------

CdrRecord dialled(CdrDisposition d) {
  CdrRecord r = call(milliseconds(-1), milliseconds(5'000));
  r.channel = "SIP/201-00000001";
  r.dstchannel = "SIP/202-00000002";
  r.disposition = d;
  return r;
}

TEST(CdrPolicy, CongestionIsFailedUnlessConfigured) {
  CdrSettings settings;
  CdrRecord r = dialled(CdrDisposition::Congestion);
  EXPECT_EQ(apply_cdr_policy(r, settings), CdrVerdict::Log);
  EXPECT_EQ(r.disposition, CdrDisposition::Failed);

  settings.log_congestion = true;
  r = dialled(CdrDisposition::Congestion);
  EXPECT_EQ(apply_cdr_policy(r, settings), CdrVerdict::Log);
  EXPECT_EQ(r.disposition, CdrDisposition::Congestion);
}

TEST(CdrPolicy, UnansweredWithoutCalleeIsSkippedByDefault) {
  CdrSettings settings;
  for (auto d : {CdrDisposition::NoAnswer, CdrDisposition::Busy, CdrDisposition::Failed}) {
    CdrRecord r = dialled(d);
    EXPECT_EQ(apply_cdr_policy(r, settings), CdrVerdict::Log) << to_string(d);  // had a callee
    r = dialled(d);
    r.dstchannel.clear();
    EXPECT_EQ(apply_cdr_policy(r, settings), CdrVerdict::SkipUnanswered) << to_string(d);
  }
  // Congestion (with congestion=yes) is kept even without a callee, as in Asterisk...
  settings.log_congestion = true;
  CdrRecord r = dialled(CdrDisposition::Congestion);
  r.dstchannel.clear();
  EXPECT_EQ(apply_cdr_policy(r, settings), CdrVerdict::Log);
  // ...while without congestion=yes it is FAILED, and skipped.
  settings.log_congestion = false;
  r = dialled(CdrDisposition::Congestion);
  r.dstchannel.clear();
  EXPECT_EQ(apply_cdr_policy(r, settings), CdrVerdict::SkipUnanswered);

  settings.log_unanswered = true;
  r = dialled(CdrDisposition::NoAnswer);
  r.dstchannel.clear();
  EXPECT_EQ(apply_cdr_policy(r, settings), CdrVerdict::Log);
}

TEST(CdrPolicy, AnsweredCallsAreAlwaysLoggedAndDurationsRecomputed) {
  CdrSettings settings;
  settings.initiated_seconds = true;
  CdrRecord r = call(milliseconds(1'000), milliseconds(11'600));
  r.channel = "SIP/201-00000001";
  r.disposition = CdrDisposition::Answered;
  r.duration = 999;
  EXPECT_EQ(apply_cdr_policy(r, settings), CdrVerdict::Log);
  EXPECT_EQ(r.duration, 11);
  EXPECT_EQ(r.billsec, 11);  // 10.6 s rounded
}

TEST(CdrPolicy, DisabledSkipsEverything) {
  CdrSettings settings;
  settings.enabled = false;
  CdrRecord r = dialled(CdrDisposition::Answered);
  EXPECT_EQ(apply_cdr_policy(r, settings), CdrVerdict::SkipDisabled);
  EXPECT_NE(to_string(CdrVerdict::SkipDisabled).find("enable=no"), std::string_view::npos);
}

}  // namespace
}  // namespace hapbx::pbx
