#!/usr/bin/env bash
# Busy: 202 answers pbxd's INVITE with 486; the thesis dialplan sees DIALSTATUS BUSY and runs
# Busy(), so 201 gets 486 (and ACKs it). No channel is left; the CDR says BUSY.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_call_init
hp_start_call_pbxd

hp_phone callee 202 callee_busy
CALLEE=$HP_LAST_PID
hp_wait_bound 202 10
hp_caller caller 201 call_caller_rejected -s 202
hp_expect_exit "$HP_LAST_PID" 20 "caller 201 got a final error (call_caller_rejected)" 0
hp_expect_event caller "^final 486$" "the caller got 486 Busy Here"
hp_expect_exit "$CALLEE" 10 "callee 202 said busy and got the ACK (callee_busy)" 97
hp_wait_json 5 "no channel left" "d['active_channels'] == 0 and d['calls_processed'] == 1" core show channels
hp_wait_cdr 5 1
hp_expect_cdr "CDR: 201 -> 202 BUSY, nothing billed" \
  "src = '201' AND dst = '202' AND disposition = 'BUSY' AND billsec = 0"
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
