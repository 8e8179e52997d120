#!/usr/bin/env bash
# A late offer (RFC 3261 13.2.1): 201's INVITE carries no SDP. pbxd offers 202 the codecs 201 may
# use (sip.conf allow=) through its relay, gives 201 its own offer in the 200, takes 201's answer
# from the ACK, and relays the audio both ways. 201 hangs up; the CDR says ANSWERED.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_call_init
hp_start_call_pbxd

hp_phone callee 202 callee_answer
CALLEE=$HP_LAST_PID
hp_wait_bound 202 10
hp_caller caller 201 call_caller_late_offer -s 202 -d 3000
CALLER=$HP_LAST_PID

hp_wait_json 10 "one call, two channels Up" \
  "d['active_calls'] == 1 and len(channels()) == 2 and all(c['state'] == 'Up' for c in channels())" \
  core show channels
hp_wait_json 5 "RTP both ways on both legs (sip show channels counters)" \
  "all(chan(p)['rtp']['rtp_in'] > 0 and chan(p)['rtp']['rtp_out'] > 0 for p in ('201', '202'))" \
  sip show channels
hp_expect_exit "$CALLER" 20 "caller 201 (call_caller_late_offer)" 0
hp_expect_exit "$CALLEE" 10 "callee 202 (callee_answer)" 97
hp_expect_relayed caller "answer-media" "${HP_MEDIA[callee]}"
hp_expect_relayed callee "offer-media" "${HP_MEDIA[caller]}"
hp_wait_cdr 5 1
hp_expect_cdr "CDR: 201 -> 202 ANSWERED" "src = '201' AND dst = '202' AND disposition = 'ANSWERED'"
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
