#!/usr/bin/env bash
# The callee is not registered: 201 calls 203, which has no contact; Dial ends at once with
# CHANUNAVAIL (no ring timeout) and Congestion() fails the call (480 or 503) within 5 s (the ring
# time is 20 s; the bound leaves room for sipp's start on a loaded machine). No
# channel is left; the CDR is not ANSWERED and bills nothing.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_call_init
hp_start_call_pbxd
hp_expect_json "203 has no contact" "len(contacts('203')) == 0" sip show peers

t0=$(hp_now_us)
hp_caller caller 201 call_caller_rejected -s 203
hp_expect_exit "$HP_LAST_PID" 20 "caller 201 got a final error (call_caller_rejected)" 0
took=$(( ($(hp_now_us) - t0) / 1000 ))
grep -Eq "^final (480|503)$" "$HP_TMP/caller.events.log" \
  || hp_fail "the caller got $(hp_events caller), expected 480 or 503"
hp_log "ok: the caller got $(hp_events caller) after $took ms"
[ "$took" -le 5000 ] || hp_fail "an unregistered callee took $took ms to fail (expected < 5 s, no ring timeout)"
hp_wait_json 5 "no channel left" "d['active_channels'] == 0 and d['calls_processed'] == 1" core show channels
hp_wait_cdr 5 1
hp_expect_cdr "CDR: 201 -> 203 failed (FAILED or CONGESTION), nothing billed" \
  "src = '201' AND dst = '203' AND disposition IN ('FAILED', 'CONGESTION') AND billsec = 0"
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
