#!/usr/bin/env bash
# Hold and resume from both sides: 201 calls 202; 201 holds (re-INVITE a=sendonly) and resumes;
# pbxd relays each re-INVITE to 202 with the SDP rewritten to its own media port; then 202 holds
# and resumes, relayed to 201 the same way (call_caller_hold.xml / callee_hold.xml check the
# directions: sendonly answered recvonly, then sendrecv). 201 hangs up; the CDR says ANSWERED.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_call_init
hp_start_call_pbxd

hp_phone callee 202 callee_hold
CALLEE=$HP_LAST_PID
hp_wait_bound 202 10
hp_caller caller 201 call_caller_hold -s 202
hp_expect_exit "$HP_LAST_PID" 30 "caller 201 held, resumed, was held and resumed (call_caller_hold)" 0
hp_expect_exit "$CALLEE" 10 "callee 202 was held, resumed, held and resumed (callee_hold)" 97
hp_expect_relayed callee "received reinvite sendonly" "${HP_MEDIA[caller]}"
hp_expect_relayed callee "received reinvite sendrecv" "${HP_MEDIA[caller]}"
hp_expect_relayed caller "received reinvite sendonly" "${HP_MEDIA[callee]}"
hp_expect_relayed caller "received reinvite sendrecv" "${HP_MEDIA[callee]}"
hp_wait_json 5 "no channel left" "d['active_channels'] == 0 and d['calls_processed'] == 1" core show channels
hp_wait_cdr 5 1
hp_expect_cdr "CDR: 201 -> 202 ANSWERED" "src = '201' AND dst = '202' AND disposition = 'ANSWERED'"
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
