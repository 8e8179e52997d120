#!/usr/bin/env bash
# No answer: with RINGTIME=3 in the dialplan's [globals], 202 rings (180) and never answers;
# after 3 s pbxd CANCELs it (202 answers 200 and 487) and the dialplan's Congestion() fails the
# call to 201 (480 or 503), no sooner than the ring time and well before the thesis' 20 s.
# The CDR says NO ANSWER.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_call_init
hp_start_call_pbxd 3

hp_phone callee 202 callee_ring
CALLEE=$HP_LAST_PID
hp_wait_bound 202 10
t0=$(hp_now_us)
hp_caller caller 201 call_caller_rejected -s 202
hp_wait_json 5 "202 rings" "any(c['state'] in ('Ring', 'Ringing') for c in channels())" core show channels
hp_expect_exit "$HP_LAST_PID" 20 "caller 201 got a final error (call_caller_rejected)" 0
took=$(( ($(hp_now_us) - t0) / 1000 ))
grep -Eq "^final (480|503)$" "$HP_TMP/caller.events.log" \
  || hp_fail "the caller got $(hp_events caller), expected 480 or 503 (Congestion)"
hp_log "ok: the caller got $(hp_events caller) after $took ms"
[ "$took" -ge 2800 ] && [ "$took" -le 10000 ] || hp_fail "the call failed after $took ms, expected about 3 s (RINGTIME=3)"
hp_expect_exit "$CALLEE" 10 "callee 202 got the CANCEL (callee_ring)" 97
hp_expect_event callee "cancelled" "202 was cancelled"
hp_wait_json 5 "no channel left" "d['active_channels'] == 0 and d['calls_processed'] == 1" core show channels
hp_wait_cdr 5 1
hp_expect_cdr "CDR: 201 -> 202 NO ANSWER" "src = '201' AND dst = '202' AND disposition = 'NO ANSWER' AND billsec = 0"
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
