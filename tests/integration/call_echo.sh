#!/usr/bin/env bash
# The thesis' echo test, extension 600 = Answer(), Playback(beep), Echo(): 201 calls 600 and
# plays a G.711 tone; pbxd answers, plays its built-in beep, then sends 201's own audio back.
# During the call 201's channel shows RTP out (the beep, then the echo) and in; afterwards
# `sip show stats` counts the echoed packets as relayed, and the CDR says ANSWERED to 600.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_call_init
hp_start_call_pbxd

hp_caller caller 201 call_caller -s 600 -d 3000
CALLER=$HP_LAST_PID
hp_wait_json 10 "201 is in the echo test" \
  "len(channels()) == 1 and channels()[0]['state'] == 'Up' and channels()[0]['application'] in ('Playback', 'Echo')" \
  core show channels
hp_wait_json 5 "pbxd sends RTP to 201 (beep, then echo) and receives 201's" \
  "chan('201')['rtp']['rtp_out'] > 20 and chan('201')['rtp']['rtp_in'] > 20" sip show channels
hp_wait_json 5 "the echo has begun" "channels()[0]['application'] == 'Echo'" core show channels
hp_expect_exit "$CALLER" 20 "caller 201 hung up after 3 s (call_caller)" 0
hp_expect_json "201's packets were echoed back" "d['rtp_relayed'] > 20" sip show stats
hp_wait_cdr 5 1
hp_expect_cdr "CDR: 201 -> 600 ANSWERED, last application Echo" \
  "src = '201' AND dst = '600' AND disposition = 'ANSWERED' AND lastapp = 'Echo'"
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
