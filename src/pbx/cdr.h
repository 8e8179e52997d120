// Call detail records (CDRs) as Asterisk writes them: one record per call leg pair, with the
// field names, disposition words and second counts of Asterisk's cdr.c, so that billing scripts
// written for Master.csv or an Asterisk CDR table read ours unchanged. The B2BUA fills a
// CdrRecord when a call ends and hands it to the CdrWriter (pbx/cdr_writer.h); this file holds
// the record and the pure rules about it (durations, caller id text, AMA flag words).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hapbx::pbx {

// How a call ended, as Asterisk's CDR dispositions. Congestion is only logged as such with
// cdr.conf `congestion=yes`; otherwise the writer records it as Failed (as Asterisk does).
enum class CdrDisposition { Answered, NoAnswer, Busy, Failed, Congestion };

// Asterisk's words: "ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION".
std::string_view to_string(CdrDisposition disposition);
// The reverse (exact words), for reading records back.
std::optional<CdrDisposition> parse_cdr_disposition(std::string_view text);

struct CdrRecord {
  std::chrono::system_clock::time_point start;                 // the call arrived
  std::optional<std::chrono::system_clock::time_point> answer;  // the callee answered
  std::chrono::system_clock::time_point end;                    // the last leg hung up
  std::string clid;        // caller id as `"Name" <number>` (cdr_clid() builds it)
  std::string src;         // caller id number
  std::string dst;         // the dialled extension
  std::string dcontext;    // the dialplan context of dst
  std::string channel;     // the calling channel, e.g. "SIP/201-00000001"
  std::string dstchannel;  // the called channel; empty when no callee was ever tried
  std::string lastapp;     // the last dialplan application, e.g. "Dial"
  std::string lastdata;    // its arguments, e.g. "SIP/202,30"
  int64_t duration = 0;    // end - start in whole seconds (cdr_compute_durations)
  int64_t billsec = 0;     // end - answer in whole seconds, 0 when not answered
  CdrDisposition disposition = CdrDisposition::NoAnswer;
  std::string amaflags = "DOCUMENTATION";  // OMIT, BILLING or DOCUMENTATION (cdr_amaflags())
  std::string accountcode;
  std::string uniqueid;    // the calling channel's unique id, e.g. "1700000000.42"
  std::string userfield;
};

// duration and billsec from the times, as Asterisk's cdr.c counts them: the difference is taken
// in whole milliseconds, then divided by 1000 and truncated (a 59.999 s call is 59 s). With
// cdr.conf `initiatedseconds=yes` billsec is rounded instead, halves up (59.5 s bills 60 s), as
// Asterisk's code does; duration is always truncated. billsec is 0 without an answer time. A
// negative difference (the wall clock stepped back during the call) counts as 0, never as a
// negative bill.
struct CdrDurations {
  int64_t duration = 0;
  int64_t billsec = 0;
};
CdrDurations cdr_durations(const CdrRecord& record, bool initiated_seconds = false);
// Sets record.duration and record.billsec from cdr_durations().
void cdr_compute_durations(CdrRecord& record, bool initiated_seconds = false);

// The clid field as Asterisk merges a caller id: `"Name" <number>`, just the name or just the
// number when only one is known, empty when neither is.
std::string cdr_clid(std::string_view name, std::string_view number);

// The amaflags word for a sip.conf `amaflags=` value: default (or empty) and documentation give
// "DOCUMENTATION", billing "BILLING", omit "OMIT" (case-insensitive); anything else
// "DOCUMENTATION" (sip.conf rejects other values at load time).
std::string cdr_amaflags(std::string_view sip_conf_value);

// 'YYYY-MM-DD HH:MM:SS' of a time (seconds truncated), in UTC when `gmt`, else in the local time
// zone, as Asterisk prints CDR times.
std::string format_cdr_time(std::chrono::system_clock::time_point t, bool gmt);

}  // namespace hapbx::pbx
