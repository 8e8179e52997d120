#!/usr/bin/env bash
# Parallel ringing: 203 calls 700, which the thesis dialplan sends to Dial(SIP/201&SIP/202,20).
# Both phones get an INVITE at once; 201 answers after 200 ms, 202 keeps ringing and gets a
# CANCEL (it answers 200 and 487). The caller is connected to 201 with media relayed; one CDR
# row for the call, ANSWERED, to 201's channel.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_call_init
hp_start_call_pbxd

hp_phone winner 201 callee_answer
WINNER=$HP_LAST_PID
hp_phone loser 202 callee_ring
LOSER=$HP_LAST_PID
hp_wait_bound 201 10
hp_wait_bound 202 10
hp_caller caller 203 call_caller -s 700 -d 2000
CALLER=$HP_LAST_PID
hp_expect_exit "$LOSER" 15 "202 rang and got the CANCEL once 201 answered (callee_ring)" 97
hp_expect_event loser "cancelled" "202 was cancelled"
hp_wait_json 5 "203 is bridged to 201 only" \
  "d['active_calls'] == 1 and len(channels()) == 2 and chan('203')['state'] == 'Up' and chan('201')['state'] == 'Up'" \
  core show channels
hp_expect_exit "$CALLER" 15 "caller 203 (call_caller to 700)" 0
hp_expect_exit "$WINNER" 10 "201 answered and got the BYE (callee_answer)" 97
hp_expect_relayed caller "answer-media" "${HP_MEDIA[winner]}"
hp_wait_json 5 "no channel left" "d['active_channels'] == 0 and d['calls_processed'] == 1" core show channels
hp_wait_cdr 5 1
hp_expect_cdr "CDR: 203 -> 700 ANSWERED by 201" \
  "src = '203' AND dst = '700' AND disposition = 'ANSWERED' AND dstchannel LIKE 'SIP/201-%'"
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
