#!/usr/bin/env bash
# The caller gives up: 201 calls 202, 202 rings (180), after 1 s 201 sends CANCEL; pbxd answers
# the CANCEL 200 and the INVITE 487 and CANCELs its own INVITE to 202 (which answers 200 and 487).
# No channel is left; the CDR says NO ANSWER.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_call_init
hp_start_call_pbxd

hp_phone callee 202 callee_ring
CALLEE=$HP_LAST_PID
hp_wait_bound 202 10
hp_caller caller 201 call_caller_cancel -s 202 -d 1000
hp_expect_exit "$HP_LAST_PID" 20 "caller 201 cancelled: 200 to CANCEL, 487 (call_caller_cancel)" 0
hp_expect_exit "$CALLEE" 10 "callee 202 got pbxd's CANCEL (callee_ring)" 97
hp_expect_event callee "cancelled" "202 was cancelled"
hp_wait_json 5 "no channel left" "d['active_channels'] == 0 and d['calls_processed'] == 1" core show channels
hp_wait_cdr 5 1
hp_expect_cdr "CDR: 201 -> 202 NO ANSWER" "src = '201' AND dst = '202' AND disposition = 'NO ANSWER' AND billsec = 0"
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
