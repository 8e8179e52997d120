#!/usr/bin/env bash
# The callee hangs up: 201 calls 202 (thesis config, digest auth); 202 answers, keeps the call 2 s
# and sends BYE; pbxd answers it and sends its own BYE to 201, which answers 200. The channels go
# away and the CDR says ANSWERED.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_call_init
hp_start_call_pbxd

hp_phone callee 202 callee_answer_bye
CALLEE=$HP_LAST_PID
hp_wait_bound 202 10
hp_caller caller 201 call_caller_wait_bye -s 202
CALLER=$HP_LAST_PID
hp_wait_json 10 "the call is Up" "d['active_calls'] == 1" core show calls
hp_expect_exit "$CALLEE" 15 "callee 202 hung up (callee_answer_bye)" 97
hp_expect_exit "$CALLER" 10 "caller 201 got pbxd's BYE (call_caller_wait_bye)" 0
hp_wait_json 5 "no channel left" "d['active_channels'] == 0 and d['calls_processed'] == 1" core show channels
hp_wait_cdr 5 1
hp_expect_cdr "CDR: 201 -> 202 ANSWERED" \
  "src = '201' AND dst = '202' AND disposition = 'ANSWERED' AND dstchannel LIKE 'SIP/202-%' AND billsec BETWEEN 1 AND 6"
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
