#!/usr/bin/env bash
# A call between two real softphones through pbxd: two baresip instances (Debian) register as 201
# and 202 with the thesis config (digest auth); 202 answers automatically; 201 dials 202 (407,
# then the authenticated INVITE). 201's microphone is a 3 s 1 kHz tone, 202's a 440 Hz tone; when
# 201's file ends it hangs up. Each baresip records what it received (sndfile), and the test
# proves by frequency analysis that 202 heard 1 kHz and 201 heard 440 Hz: audio went both ways
# through pbxd's relay (canreinvite=no). The call leaves one CDR: ANSWERED, 201 -> 202.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_call_init
command -v baresip >/dev/null || hp_fail "baresip not installed (run: make deps)"
for m in aufile aubridge sndfile g711 menu account; do
  [ -f "/usr/lib/baresip/modules/$m.so" ] || hp_fail "baresip module $m.so missing (package baresip-core)"
done
hp_start_call_pbxd
TONES="$HP_ROOT/tests/integration/baresip/tones.py"
python3 -I -S "$TONES" make "$HP_TMP/tone1000.wav" 1000 3 || hp_fail "cannot write tone1000.wav"
python3 -I -S "$TONES" make "$HP_TMP/tone440.wav" 440 30 || hp_fail "cannot write tone440.wav"

# phone EXT SOURCE [ACCOUNT PARAMS]: a baresip for EXT; sets HP_LAST_PID. Its SIP port is even
# with the next free (baresip also binds port+1 for TLS); RTP ports from a private free block.
phone() {
  local ext=$1 src=$2 params=${3:-}
  local dir="$HP_TMP/baresip$ext" port rtp
  mkdir -p "$dir/rec"
  port=$(hp_media_port) || hp_fail "no free port"
  rtp=$(hp_media_port) || hp_fail "no free port"
  sed -e "s|@SIP_PORT@|$port|" -e "s|@RTP_PORTS@|$rtp-$((rtp + 3))|" -e "s|@SOURCE@|$src|" \
      -e "s|@NAME@|$ext|" -e "s|@REC@|$dir/rec|" \
      "$HP_ROOT/tests/integration/baresip/call_config.in" >"$dir/config"
  echo "<sip:$ext@127.0.0.1:$HP_PORT;transport=udp>;auth_pass=${ext}pass;regint=60$params" >"$dir/accounts"
  # -t bounds baresip's life even if this script is killed before its trap runs.
  hp_spawn "baresip$ext" baresip -f "$dir" -t 40 "${@:4}"
}

phone 202 "$HP_TMP/tone440.wav" ";answermode=auto"
CALLEE=$HP_LAST_PID
hp_wait_until 15 "baresip 202 registered (200 OK)" grep -q '202@127.0.0.1.*200 OK' "$HP_TMP/baresip202.log"
hp_wait_bound 202 5
phone 201 "$HP_TMP/tone1000.wav" "" -e "/dial sip:202@127.0.0.1:$HP_PORT"
CALLER=$HP_LAST_PID
hp_wait_json 15 "the call is Up" "d['active_calls'] == 1" core show calls
hp_wait_until 20 "201 hung up when its tone ended" grep -q 'terminated' "$HP_TMP/baresip201.log"
hp_wait_json 10 "no channel left" "d['active_channels'] == 0 and d['calls_processed'] == 1" core show channels
hp_stop "$CALLER"
hp_stop "$CALLEE"

rec202=$(ls "$HP_TMP"/baresip202/rec/dump-*-dec.wav 2>/dev/null | head -n 1)
rec201=$(ls "$HP_TMP"/baresip201/rec/dump-*-dec.wav 2>/dev/null | head -n 1)
[ -n "$rec202" ] || hp_fail "202 recorded nothing (no dump-*-dec.wav)"
[ -n "$rec201" ] || hp_fail "201 recorded nothing (no dump-*-dec.wav)"
python3 -I -S "$TONES" check "$rec202" 1000 440 >&2 || hp_fail "202 did not hear 201's 1 kHz tone"
hp_log "ok: 202 heard 201's 1 kHz tone"
python3 -I -S "$TONES" check "$rec201" 440 1000 >&2 || hp_fail "201 did not hear 202's 440 Hz tone"
hp_log "ok: 201 heard 202's 440 Hz tone"

hp_wait_cdr 5 1
hp_expect_cdr "CDR: 201 -> 202 ANSWERED, billed 1-8 s" \
  "src = '201' AND dst = '202' AND disposition = 'ANSWERED' AND channel LIKE 'SIP/201-%'
   AND dstchannel LIKE 'SIP/202-%' AND billsec BETWEEN 1 AND 8"
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
