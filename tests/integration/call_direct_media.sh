#!/usr/bin/env bash
# canreinvite=yes on both phones: pbxd passes the SDP through and media goes phone to phone. 201
# calls 202; 202 is offered 201's own media port and 201 gets 202's in the answer; pbxd opens no
# relay stream for the call (sip show channels has no RTP counters, rtp_streams_open stays 0).
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_call_init
hp_call_config "$HP_TMP/conf-src"
sed -i 's/^canreinvite=no/canreinvite=yes/' "$HP_TMP/conf-src/sip.conf"
grep -q '^canreinvite=yes' "$HP_TMP/conf-src/sip.conf" || hp_fail "the thesis sip.conf changed: no canreinvite=no to flip"
hp_start_pbxd "$HP_TMP/conf-src"

hp_phone callee 202 callee_answer
CALLEE=$HP_LAST_PID
hp_wait_bound 202 10
hp_caller caller 201 call_caller -s 202 -d 3000
CALLER=$HP_LAST_PID

hp_wait_json 10 "one call, two channels Up" \
  "d['active_calls'] == 1 and len(channels()) == 2 and all(c['state'] == 'Up' for c in channels())" \
  core show channels
hp_expect_json "no relay stream on either leg" "all(c['rtp'] is None for c in channels())" sip show channels
hp_expect_json "no relay port open" "d['rtp_streams_open'] == 0" sip show stats

hp_expect_exit "$CALLER" 20 "caller 201 (call_caller)" 0
hp_expect_exit "$CALLEE" 10 "callee 202 (callee_answer)" 97
port=$(hp_logged_port callee "offer-media")
[ "$port" = "${HP_MEDIA[caller]}" ] || hp_fail "202 was offered media port '$port', not 201's own ${HP_MEDIA[caller]}"
hp_log "ok: 202 was offered 201's own media port $port"
port=$(hp_logged_port caller "answer-media")
[ "$port" = "${HP_MEDIA[callee]}" ] || hp_fail "201 got media port '$port' in the answer, not 202's ${HP_MEDIA[callee]}"
hp_log "ok: 201 got 202's own media port $port"
hp_wait_cdr 5 1
hp_expect_cdr "CDR: 201 -> 202 ANSWERED" "src = '201' AND dst = '202' AND disposition = 'ANSWERED'"
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
