#!/usr/bin/env bash
# The call commands of the CLI, during real calls: `core show channels` (both channels with
# state, context, extension, application, callerid, duration and bridged_to), `core show calls`,
# `sip show channels` (peer, Call-ID, format, RTP port and counters), the human tables,
# `dialplan show`, `dialplan reload`, and `channel request hangup` of one channel by name (the
# bridged leg goes too) and of all: each hangup sends BYE to both phones, and each call leaves one
# ANSWERED CDR.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_call_init
hp_start_call_pbxd

hp_expect_json "no calls yet" "d['active_calls'] == 0 and d['calls_processed'] == 0" core show calls
hp_cli dialplan show internal >"$HP_TMP/dialplan.txt" 2>&1 || hp_fail "dialplan show internal failed"
grep -q "Dial" "$HP_TMP/dialplan.txt" || hp_fail "dialplan show internal does not list Dial: $(head -c 500 "$HP_TMP/dialplan.txt")"
hp_log "ok: dialplan show internal lists the Dial extensions"
hp_cli dialplan reload >&2 || hp_fail "dialplan reload failed"
hp_log "ok: dialplan reload"

# call NAME: 201 calls 202 and both wait (30 s at most) for pbxd's BYE.
call() {
  hp_phone "callee$1" 202 callee_answer
  CALLEE=$HP_LAST_PID
  hp_wait_bound 202 10
  hp_caller "caller$1" 201 call_caller_wait_bye -s 202
  CALLER=$HP_LAST_PID
  hp_wait_json 10 "call $1 is Up" "d['active_calls'] == 1 and len(channels()) == 2 and all(c['state'] == 'Up' for c in channels())" \
    core show channels
}

call 1
hp_expect_json "core show channels: the caller's channel" \
  "chan('201')['context'] == 'internal' and str(chan('201')['exten']) == '202' and chan('201')['application'] == 'Dial'
   and 'SIP/202' in chan('201')['data'] and '201' in str(chan('201')['callerid'])
   and isinstance(chan('201')['duration'], int) and chan('201')['bridged_to'] == chan('202')['channel']
   and chan('202')['bridged_to'] == chan('201')['channel']" \
  core show channels
# Asterisk gives every channel its own uniqueid (the CDR takes the caller's); checked at the end.
hp_cli --json core show channels >"$HP_TMP/call1-channels.json" || hp_fail "core show channels failed"
hp_expect_json "core show calls: one active" "d['active_calls'] == 1" core show calls
hp_expect_json "core show channels: every field of the contract" \
  "{'channels', 'active_channels', 'active_calls', 'calls_processed'} <= set(d) and d['active_channels'] == 2
   and all({'channel', 'uniqueid', 'state', 'context', 'exten', 'priority', 'application', 'data', 'callerid',
            'duration', 'bridged_to'} <= set(c) for c in channels())" core show channels
hp_expect_json "core show calls: both counters" "{'active_calls', 'calls_processed'} <= set(d)" core show calls
hp_expect_json "sip show channels: every field of the contract" \
  "len(channels()) == 2 and all({'peer', 'channel', 'call_id', 'address', 'format', 'state', 'rtp'} <= set(c)
   and {'local_port', 'remote', 'rtp_in', 'rtp_out', 'rtcp_in', 'rtcp_out', 'latched'} <= set(c['rtp'])
   for c in channels())" sip show channels
hp_wait_json 5 "sip show channels: both legs with Call-ID, ulaw, RTP port and counters" \
  "len(channels()) == 2 and chan('201')['call_id'] != chan('202')['call_id']
   and all(chan(p)['format'] == 'ulaw' and chan(p)['rtp']['local_port'] > 0 and chan(p)['rtp']['rtp_in'] > 0 for p in ('201', '202'))" \
  sip show channels
hp_cli core show channels >"$HP_TMP/channels.txt" 2>&1 || hp_fail "core show channels (table) failed"
grep -q "SIP/201-" "$HP_TMP/channels.txt" || hp_fail "core show channels (table) lacks SIP/201-: $(cat "$HP_TMP/channels.txt")"
hp_cli sip show channels >"$HP_TMP/sipchannels.txt" 2>&1 || hp_fail "sip show channels (table) failed"
grep -q "202" "$HP_TMP/sipchannels.txt" || hp_fail "sip show channels (table) lacks 202: $(cat "$HP_TMP/sipchannels.txt")"
hp_log "ok: human tables list the channels"

hp_cli --json core show channels >"$HP_TMP/ch.json" || hp_fail "core show channels failed"
CALLEE_CHANNEL=$(python3 -I -S -c 'import json,sys
for c in json.load(open(sys.argv[1]))["channels"]:
    if c["channel"].startswith("SIP/202-"): print(c["channel"])' "$HP_TMP/ch.json")
[ -n "$CALLEE_CHANNEL" ] || hp_fail "no SIP/202- channel"
hp_cli channel request hangup "$CALLEE_CHANNEL" >&2 || hp_fail "channel request hangup $CALLEE_CHANNEL failed"
hp_expect_exit "$CALLEE" 10 "hangup $CALLEE_CHANNEL: 202 got a BYE" 97
hp_expect_exit "$CALLER" 10 "hangup $CALLEE_CHANNEL: the bridged 201 got a BYE too" 0
hp_wait_json 5 "no channel left" "d['active_channels'] == 0 and d['calls_processed'] == 1" core show channels

call 2
hp_cli channel request hangup all >&2 || hp_fail "channel request hangup all failed"
hp_expect_exit "$CALLEE" 10 "hangup all: 202 got a BYE" 97
hp_expect_exit "$CALLER" 10 "hangup all: 201 got a BYE" 0
hp_wait_json 5 "no channel left, two calls processed" \
  "d['active_channels'] == 0 and d['active_calls'] == 0 and d['calls_processed'] == 2" core show channels
hp_expect_json "sip show channels empty" "len(channels()) == 0" sip show channels
hp_wait_cdr 5 2
hp_expect_cdr "hangup by name: CDR ANSWERED" "src = '201' AND dst = '202' AND disposition = 'ANSWERED' AND uniqueid = (SELECT min(uniqueid) FROM cdr)"
[ "$(hp_cdr "SELECT count(*) FROM cdr WHERE disposition = 'ANSWERED'")" = 2 ] || hp_fail "expected 2 ANSWERED CDRs"
hp_log "ok: two ANSWERED CDRs"
python3 -I -S -c 'import json,sys
c = json.load(open(sys.argv[1]))["channels"]
sys.exit(0 if len(c) == 2 and c[0]["uniqueid"] != c[1]["uniqueid"] else "same uniqueid on both channels: %s" % [x["uniqueid"] for x in c])' \
  "$HP_TMP/call1-channels.json" || hp_fail "each channel must have its own uniqueid (as in Asterisk)"
hp_log "ok: each channel has its own uniqueid"
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
