#!/usr/bin/env bash
# A basic call through pbxd with the thesis config: 202 (a sipp phone) registers; 201 calls 202
# with digest auth (407, then INVITE with Proxy-Authorization); pbxd rings 202 with its own INVITE
# and relays the media (canreinvite=no: each phone sees pbxd's address and an rtp.conf port); both
# phones send G.711 RTP and `sip show channels` shows packets in and out on both legs; 201 hangs
# up (BYE); the channels go away and one CDR says ANSWERED with the billed seconds, in cdr.db and
# (the config gets a cdr.conf with a [csv] section) in cdr-csv/Master.csv.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_call_init
hp_call_config "$HP_TMP/conf-src"
printf '[general]\nenable=yes\n\n[csv]\nusegmtime=no\nloguniqueid=yes\n' >"$HP_TMP/conf-src/cdr.conf"
hp_start_pbxd "$HP_TMP/conf-src"

hp_phone callee 202 callee_answer
CALLEE=$HP_LAST_PID
hp_wait_bound 202 10
hp_caller caller 201 call_caller -s 202 -d 4000
CALLER=$HP_LAST_PID

hp_wait_json 10 "one call, two channels Up" \
  "d['active_calls'] == 1 and len(channels()) == 2 and all(c['state'] == 'Up' for c in channels())" \
  core show channels
hp_wait_json 5 "RTP both ways on both legs (sip show channels counters)" \
  "all(chan(p)['rtp']['rtp_in'] > 0 and chan(p)['rtp']['rtp_out'] > 0 for p in ('201', '202'))" \
  sip show channels
hp_expect_json "both legs ulaw, on rtp.conf ports" \
  "all(chan(p)['format'] == 'ulaw' and 10000 <= chan(p)['rtp']['local_port'] <= 20000 for p in ('201', '202'))" \
  sip show channels

hp_expect_exit "$CALLER" 20 "caller 201 (call_caller)" 0
hp_expect_exit "$CALLEE" 10 "callee 202 (callee_answer)" 97
# A B2BUA: 202's INVITE is a new dialog (own Call-ID, From tag), not the caller's relayed.
python3 -I -S - "$HP_TMP/caller.msg" "$HP_TMP/callee.msg" <<'PY' || hp_fail "202's INVITE is not a dialog of its own"
import re, sys
def invite(path, direction):
    for block in open(path, errors="replace").read().split("-----------------------------------------------"):
        if direction in block and re.search(r"^INVITE ", block, re.M):
            callid = re.search(r"^Call-ID:\s*(\S+)", block, re.M | re.I).group(1)
            tag = re.search(r"^From:.*;tag=([^;\s]+)", block, re.M | re.I).group(1)
            return callid, tag
    sys.exit("no INVITE %s in %s" % (direction, path))
sent, got = invite(sys.argv[1], "message sent"), invite(sys.argv[2], "message received")
print("caller's INVITE Call-ID/From tag %s, callee's %s" % (sent, got), file=sys.stderr)
sys.exit(0 if sent[0] != got[0] and sent[1] != got[1] else 1)
PY
hp_log "ok: 202's INVITE has its own Call-ID and From tag"
hp_expect_relayed caller "answer-media" "${HP_MEDIA[callee]}"
hp_expect_relayed callee "offer-media" "${HP_MEDIA[caller]}"

hp_wait_json 5 "no channel left after the BYE" \
  "d['active_channels'] == 0 and d['active_calls'] == 0 and d['calls_processed'] == 1" core show channels
hp_expect_json "no SIP channel left" "len(channels()) == 0" sip show channels
hp_wait_cdr 5 1
hp_expect_cdr "CDR: 201 -> 202 ANSWERED, billed 3-8 s" \
  "src = '201' AND dst = '202' AND dcontext = 'internal' AND disposition = 'ANSWERED'
   AND channel LIKE 'SIP/201-%' AND dstchannel LIKE 'SIP/202-%' AND lastapp = 'Dial'
   AND billsec BETWEEN 3 AND 8 AND duration >= billsec AND answer <> '' AND uniqueid <> ''"
hp_wait_until 5 "cdr-csv/Master.csv written" test -s "$HP_STATE/cdr-csv/Master.csv"
python3 -I -S - "$HP_STATE/cdr-csv/Master.csv" <<'PY' || hp_fail "Master.csv lacks the call"
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
# Asterisk's column order: accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp,
# lastdata, start, answer, end, duration, billsec, disposition, amaflags[, uniqueid][, userfield]
ok = [r for r in rows if len(r) >= 16 and r[1] == "201" and r[2] == "202" and r[14] == "ANSWERED"
      and r[5].startswith("SIP/201-") and r[6].startswith("SIP/202-") and r[13].isdigit() and int(r[13]) >= 3]
print("Master.csv:", rows, file=sys.stderr)
sys.exit(0 if len(rows) == 1 and ok else 1)
PY
hp_log "ok: Master.csv: one row, 201 -> 202 ANSWERED"
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
