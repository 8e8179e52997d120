#!/usr/bin/env bash
# `make demo` (for now, one node on loopback): pbxd with the thesis config (sip.conf, rtp.conf,
# extensions.conf); two sipp desk phones, 201 and 202, register with digest auth; 201 calls 202
# through the dialplan (Dial(SIP/202,20)), pbxd relays the G.711 audio both ways; the channels and
# their RTP counters are shown mid-call; 201 hangs up; the CDR (cdr.db and Master.csv) is printed; everything is stopped
# and a timeline with measured times is printed. The two-node lab with a failover comes with the
# cluster. Usage: bash lab/demo.sh build/bin
source "$(dirname "$0")/../tests/integration/lib.sh"
hp_init "${1:-build/bin}"
hp_call_init

TIMELINE=()
mark() { TIMELINE+=("$(hp_elapsed)s  $*"); hp_log "$*"; }

hp_start_call_pbxd "" qualifyfreq=2
mark "pbxd started (pid $HP_PBXD_PID) on 127.0.0.1:$HP_PORT with ${HP_THESIS#"$HP_ROOT"/}"

hp_phone phone202 202 callee_answer
PHONE202=$HP_LAST_PID
mark "phone 202 (sipp pid $PHONE202) sends REGISTER"
hp_wait_bound 202 10
mark "202 registered (401 challenge, then 200 OK)"

t_invite=$(hp_now_us)
hp_caller phone201 201 call_caller -s 202 -d 4000
PHONE201=$HP_LAST_PID
mark "phone 201 (sipp pid $PHONE201) dials 202 (INVITE, 407, INVITE with credentials)"
hp_wait_json 10 "the call is up" \
  "d['active_calls'] == 1 and len(channels()) == 2 and all(c['state'] == 'Up' for c in channels())" \
  core show channels
t_up=$(hp_now_us)
mark "202 answered: call up $(( (t_up - t_invite) / 1000 )) ms after phone 201 was started"
hp_wait_json 5 "audio both ways through pbxd's relay" \
  "all(chan(p)['rtp']['rtp_in'] > 0 and chan(p)['rtp']['rtp_out'] > 0 for p in ('201', '202'))" \
  sip show channels
mark "RTP flows both ways through pbxd's relay"

echo
echo "\$ hapbx pbx core show channels"
hp_cli core show channels || hp_fail "core show channels failed"
echo
echo "\$ hapbx pbx sip show channels"
hp_cli sip show channels || hp_fail "sip show channels failed"
echo

hp_expect_exit "$PHONE201" 20 "201 hung up (BYE) after 4 s of audio" 0
mark "201 hung up (BYE); pbxd sent BYE to 202"
hp_expect_exit "$PHONE202" 10 "202 saw the BYE" 97
hp_wait_cdr 5 1
mark "CDR written"
echo
echo "\$ sqlite3 cdr.db 'SELECT calldate, src, dst, channel, dstchannel, disposition, billsec FROM cdr'"
sqlite3 -readonly -header -column "$HP_STATE/cdr.db" \
  "SELECT calldate, src, dst, channel, dstchannel, disposition, billsec FROM cdr"
echo
echo "\$ cat cdr-csv/Master.csv"
hp_wait_until 5 "Master.csv written" test -s "$HP_STATE/cdr-csv/Master.csv"
cat "$HP_STATE/cdr-csv/Master.csv"
echo

hp_stop "$HP_PBXD_PID"
mark "pbxd stopped"

echo
echo "Timeline"
printf '  %s\n' "${TIMELINE[@]}"
