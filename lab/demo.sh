#!/usr/bin/env bash
# `make demo`: the highly available PBX of the thesis, in the lab, in about a minute.
#   1. The lab comes up with examples/thesis: replicated disk r0 (initial sync), ext4 on it,
#      clusterd on both nodes; asterisk1 (preferred) promotes r0, mounts /replica, takes the VIP
#      198.18.0.10 and starts pbxd from the replicated disk.
#   2. Desk phones 201 and 202 (baresip, in the phones host) register to the VIP; 201 calls 202
#      and the two hear each other's tone (audio through the PBX's relay).
#   3. With a call in progress, asterisk1 loses power. asterisk2 notices, takes the disk, the
#      VIP and the PBX; the timeline shows when. The call in progress drops (this version does
#      not keep calls across a failover); 202's registration was kept, so 201 calls it again at
#      once, through the same VIP, and they hear each other.
#   4. asterisk1 powers on, resyncs only what changed while it was off, and takes the PBX back
#      (auto_failback on) once its disk is UpToDate.
# Everything is removed at the end, also on failure. Usage: bash lab/demo.sh build/bin
source "$(dirname "$0")/../tests/ha/ha_lib.sh" "${1:-build/bin}"

TIMELINE=()
mark() { TIMELINE+=("$(ha_elapsed)s  $*"); ha_log "$*"; }
since() { echo "$(( $1 - T_FAULT )) ms"; }

ha_up
mark "lab up: asterisk1 holds r0 (Primary), /replica, the VIP $HA_VIP and pbxd; disks UpToDate/UpToDate"
replica asterisk1 status r0 | sed 's/^/    /' | head -n 6 >&2

ha_phone 202
ha_phone 201
mark "phones 201 and 202 registered to the VIP (digest auth)"

ms=$(ha_call 201 202 10)
sleep 3  # three seconds of conversation, recorded by both phones
ha_hangup_all
ha_wait 10 "the first call's CDR on /replica" cdrs_at_least asterisk1 1
heard 202 1000 440 && heard 201 440 1000 || ha_fail "the phones did not hear each other"
mark "201 called 202: answered in $ms ms; 202 heard 201's 1 kHz tone and 201 heard 202's 440 Hz"
cdrs_before=$(cdr_count asterisk1)
sum=$(ha_write_file asterisk1 before-the-fault)
mark "asterisk1: $cdrs_before CDR(s) in /replica/lib/cdr.db, a file fsynced to /replica/data"

ha_call 201 202 10 >/dev/null
mark "a second call is up (201 -> 202)"
ha_watch_start
T_FAULT=$(ha_now_ms)
lab fault power-off asterisk1 >/dev/null &  # returns once the node's leftovers are cleaned up
POWER_OFF_PID=$!
ha_wait 10 "asterisk2 holds the VIP and it answers SIP" serves asterisk2
# The phones still think the old call is up; 201 calls 202 again at once, through the same VIP
# (baresip takes the second call beside the dead one).
t_dial=$(ha_now_ms)
ms=$(ha_call 201 202 10)
t_answered=$(( t_dial + ms ))
calls=$(pbx asterisk2 --json core show channels 2>/dev/null | python3 -c 'import json,sys; print(int(json.load(sys.stdin).get("active_calls", 1)) - 1)')
wait "$POWER_OFF_PID" || ha_fail "power-off"
mark "POWER OFF asterisk1 (everything SIGKILLed, no unmount, links down)"
ha_watch_stop
T_FAULT=$(fault_at asterisk1 "$T_FAULT")  # the instant the power went, not the command's start
gap=$(ha_gap "$T_FAULT")
t_dead=$(log_time asterisk2 clusterd "node asterisk1 is dead" "$T_FAULT")
t_running=$(log_time asterisk2 clusterd "-> Running" "$T_FAULT")
mark "asterisk2: heartbeat lost at +$(since "${t_dead:-$T_FAULT}"), group running (r0 Primary, fsck+mount, VIP, pbxd) at +$(since "${t_running:-$T_FAULT}")"
mark "the VIP answers SIP OPTIONS again at +$(json_field "$gap" answered_ms) ms (the phones' outage: $(json_field "$gap" gap_ms) ms)"
mark "201 calls 202 through the VIP: answered at +$(since "$t_answered") ($ms ms from dial to answer)"
bound_on asterisk2 202 || ha_fail "asterisk2 does not know 202's registration"
mark "asterisk2 restored 202's registration from /replica (the call reached 202 without a new REGISTER)"
[ "$calls" = 0 ] && mark "the call in progress at the power cut dropped: asterisk2 knows only the new call (calls are not kept across a failover yet; the dropped call's CDR is lost with it)"
sleep 2
ha_hangup_all
heard 202 1000 440 && heard 201 440 1000 || ha_fail "no audio on the call after the failover"
[ "$(ha_file_sum asterisk2 before-the-fault)" = "$sum" ] || ha_fail "the fsynced file is not on asterisk2's /replica"
ha_wait 10 "the CDRs on asterisk2" cdrs_at_least asterisk2 $(( cdrs_before + 1 ))
mark "audio both ways; asterisk2 has the fsynced file and $(cdr_count asterisk2) CDR(s) (none lost)"

on asterisk2 sh -c 'head -c 8388608 /dev/urandom > /replica/data/while-asterisk1-was-off && sync' || ha_fail "write on asterisk2"
T_ON=$(ha_now_ms)
lab fault power-on asterisk1 >/dev/null || ha_fail "power-on"
mark "POWER ON asterisk1 (8 MiB written on asterisk2 meanwhile)"
ha_wait 60 "asterisk1 resynced" in_sync asterisk1
resync=$(python3 - "$HAPBX_LAB_DIR/current/asterisk1/root/log/replicad.log" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
m = re.findall(r"resync[^\n]*?(\d+(?:\.\d+)? [KMG]iB)", text)
print(m[-1] if m else "")
PY
)
mark "asterisk1 UpToDate/UpToDate after $(( $(ha_now_ms) - T_ON )) ms${resync:+ (resync: $resync, not the whole disk)}"
ha_wait 20 "asterisk1 takes the PBX back (auto_failback on)" running_on asterisk1
ha_wait 10 "the VIP answers SIP on asterisk1" sip_answers
mark "failback done: asterisk1 holds the PBX again"
ms=$(ha_call 201 202 10)
ha_hangup_all
mark "201 calls 202 once more: answered in $ms ms"

echo
echo "Timeline (make demo):"
printf '  %s\n' "${TIMELINE[@]}"
echo "Everything the lab made is being removed."
