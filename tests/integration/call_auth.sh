#!/usr/bin/env bash
# INVITE authentication: 201 calls 202 with a wrong password and gets 407 then 403, and no call
# is made (202 gets no INVITE, no channel, no CDR); an unknown caller gets the same. Then the right
# password gets through, proving the 403 was about the credentials.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_call_init
hp_start_call_pbxd

hp_phone callee 202 callee_answer
CALLEE=$HP_LAST_PID
hp_wait_bound 202 10
HP_PASSWORD=not-the-secret hp_caller wrongpw 201 call_caller_forbidden -s 202
hp_expect_exit "$HP_LAST_PID" 20 "wrong password: 407, then 403 (call_caller_forbidden)" 0
hp_caller unknown 999 call_caller_forbidden -s 202
hp_expect_exit "$HP_LAST_PID" 20 "unknown caller 999: 407, then 403 (call_caller_forbidden)" 0
hp_expect_json "no call was made" "d['active_calls'] == 0 and d['calls_processed'] == 0" core show calls
grep -q '^INVITE ' "$HP_TMP/callee.msg" && hp_fail "202 got an INVITE from a caller that failed auth"
hp_log "ok: 202 got no INVITE"
[ -f "$HP_STATE/cdr.db" ] && [ "$(hp_cdr 'SELECT count(*) FROM cdr')" != 0 ] && hp_fail "a refused INVITE left a CDR"
hp_log "ok: no CDR"

hp_caller caller 201 call_caller -s 202 -d 500
hp_expect_exit "$HP_LAST_PID" 20 "the right password gets the call through (call_caller)" 0
hp_expect_exit "$CALLEE" 10 "202 answered (callee_answer)" 97
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
