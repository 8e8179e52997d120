#!/usr/bin/env bash
# Playback of a WAV file from the config's sounds/ folder: an extension answers, plays
# sounds/greeting.wav (2 s, 8 kHz, 16-bit, written here), then hangs up. The caller gets pbxd's
# BYE after the prompt; the relay played about 100 G.711 packets of 20 ms; a prompt that does not
# exist is skipped with a log line naming it, and the call still ends cleanly.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_call_init
hp_call_config "$HP_TMP/conf-src"
mkdir -p "$HP_TMP/conf-src/sounds"
python3 -I -S "$HP_ROOT/tests/integration/baresip/tones.py" make "$HP_TMP/conf-src/sounds/greeting.wav" 440 2 \
  || hp_fail "cannot write greeting.wav"
cat >>"$HP_TMP/conf-src/extensions.conf" <<'CONF'

[internal](+)
exten => 610,1,Answer()
 same => n,Playback(no-such-prompt&greeting)
 same => n,Hangup()
CONF
hp_start_pbxd "$HP_TMP/conf-src"

hp_caller caller 201 call_caller_wait_bye -s 610
hp_expect_exit "$HP_LAST_PID" 20 "caller 201 heard the greeting and got pbxd's BYE" 0
hp_expect_json "the relay played the 2 s greeting (about 100 packets of 20 ms)" \
  "95 <= d['rtp_played'] <= 110" sip show stats
grep -q "no prompt named 'no-such-prompt'" "$HP_TMP/pbxd.log" || hp_fail "no log line about the missing prompt"
hp_log "ok: the missing prompt was named in the log and skipped"
hp_wait_cdr 5 1
hp_expect_cdr "CDR: 201 -> 610 ANSWERED, billed about 2 s" \
  "src = '201' AND dst = '610' AND disposition = 'ANSWERED' AND billsec BETWEEN 1 AND 4"
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
