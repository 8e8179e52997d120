#!/usr/bin/env bash
# A SIGKILLed clusterd never leaves the VIP on two nodes (resource_guard.h), in the lab with the
# vip example. A sampler reads both nodes' addresses every 10 ms for the whole test and fails it
# if at any sample both hold 198.18.0.10.
#  1. SIGKILL of asterisk1's clusterd alone (the holder): its guard removes the VIP within
#     milliseconds, asterisk2 takes it after deadtime, the guard exits.
#  2. clusterd restarted on asterisk1 rejoins (the lock is free again); the VIP stays on asterisk2
#     (auto_failback off); a second clusterd on asterisk1 is refused.
#  3. SIGKILL of asterisk2's guard: clusterd spawns a new one.
#  4. SIGKILL of asterisk2's clusterd AND its guard (nothing removes the VIP there): asterisk1
#     declares it dead, but its ARP probe sees the VIP still answering and does not add it; once
#     the address is removed by hand on asterisk2, asterisk1 adds it.
#  5. The thesis example (VIP, replicated disk, ext4, pbxd): SIGKILL of the holder's clusterd;
#     its guard removes the VIP first, then stops pbxd, unmounts and demotes (the order in its
#     log); asterisk2 runs the PBX and r0 is connected again without split brain.
source "$(dirname "$0")/cluster_lib.sh" "$1"
SAMPLES=$HAPBX_LAB_DIR/samples
STOP_SAMPLING=$HAPBX_LAB_DIR/stop-sampling
LOG1=$HAPBX_LAB_DIR/current/asterisk1/root/log/clusterd.log
LOG2=$HAPBX_LAB_DIR/current/asterisk2/root/log/clusterd.log

lab up >/dev/null || fail "lab up (the vip example, booting clusterd on both nodes)"
P=$(cat "$HAPBX_LAB_DIR/current/prefix")
# The sampler: one process reading each node's local routing table (/proc/PID/net/fib_trie of a
# process in its network namespace: the lab's holder) every 10 ms, so a sample costs microseconds
# and both nodes are read at nearly the same instant. A row: "time_us vip_on_asterisk1 vip_on_asterisk2".
sampler() {
  python3 - "$(cat "$HAPBX_LAB_DIR/current/asterisk1/holder.pid")" "$(cat "$HAPBX_LAB_DIR/current/asterisk2/holder.pid")" \
      "$STOP_SAMPLING" "$SAMPLES" <<'PY'
import os, sys, time
h1, h2, stop, out = sys.argv[1:]
def has_vip(pid):
    try:
        lines = open(f"/proc/{pid}/net/fib_trie").read().splitlines()
    except OSError:
        return 0
    return int(any(l.strip() == "|-- 198.18.0.10" and "/32 host LOCAL" in n for l, n in zip(lines, lines[1:])))
with open(out, "w", buffering=1) as f:
    while not os.path.exists(stop):
        f.write(f"{time.clock_gettime_ns(time.CLOCK_REALTIME) // 1000} {has_vip(h1)} {has_vip(h2)}\n")
        time.sleep(0.01)
PY
}
never_both_so_far() {  # the sampler's verdict: no sample with both, and how densely it sampled
  python3 - "$SAMPLES" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 3]
both = [r for r in rows if r[1] != "0" and r[2] != "0"]
gaps = [int(b[0]) - int(a[0]) for a, b in zip(rows, rows[1:])]
gaps.sort()
print(f"{len(rows)} samples, median interval {gaps[len(gaps)//2]/1000 if gaps else 0:.1f} ms, "
      f"max {max(gaps)/1000 if gaps else 0:.1f} ms; samples with the VIP on both nodes: {len(both)}")
sys.exit(1 if both or len(rows) < 10 else 0)
PY
}
first_sample() {  # SINCE_US COLUMN VALUE: ms from SINCE_US to the first sample where COLUMN (1, 2) is VALUE
  python3 - "$SAMPLES" "$@" <<'PY'
import sys
f, since, col, val = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for l in open(f):
    r = l.split()
    if len(r) == 3 and int(r[0]) >= since and r[col] == val:
        print(f"{(int(r[0]) - since) / 1000:.0f}"); break
else:
    print("?")
PY
}
json_ok() { json "$@" >/dev/null 2>&1; }
no_vip() { ! has_vip "$1"; }
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }

wait_for 10 "asterisk1 (preferred) holds the VIP" has_vip asterisk1
wait_for 10 "asterisk1's group is running" running asterisk1
wait_for 10 "asterisk2 sees asterisk1" peer_up asterisk2
sampler &
SAMPLER=$!
trap 'rc=$?; touch "$STOP_SAMPLING"; wait $SAMPLER 2>/dev/null; [ -n "${KEEP_LOGS:-}" ] && cp -r "$HAPBX_LAB_DIR" "$KEEP_LOGS"; (exit $rc); cleanup' EXIT

# --- 1. SIGKILL of the holder's clusterd -------------------------------------------------------
pid=$(json asterisk1 's["pid"]') && gpid=$(json asterisk1 's["guard_pid"]') || fail "status --json: pid, guard_pid"
[ "$(cat /proc/"$pid"/comm)" = clusterd ] || fail "pid $pid is not clusterd: $(cat /proc/"$pid"/comm)"
[ "$(cat /proc/"$gpid"/comm)" = clusterd-guard ] || fail "guard pid $gpid is not clusterd-guard"
# Every descriptor of clusterd beyond stdio is close-on-exec: a copy of its end of the guard's
# channel inherited by an agent's child (pbxd, a script's daemon) would hide its death.
for fd in /proc/"$pid"/fd/*; do
  n=${fd##*/}
  [ "$n" -gt 2 ] || continue
  flags=$(awk '/^flags/ {print $2}' "/proc/$pid/fdinfo/$n" 2>/dev/null) || continue
  [ -n "$flags" ] || continue
  [ $(( 8#$flags & 8#2000000 )) -ne 0 ] || fail "clusterd's descriptor $n ($(readlink "$fd")) is not close-on-exec"
done
log "asterisk1 holds the VIP; clusterd pid $pid, its guard pid $gpid; all its descriptors are close-on-exec"
t0=$(now_us)
kill -KILL "$pid"
wait_for 2 "asterisk1's guard removes the VIP" no_vip asterisk1
wait_for 10 "asterisk2 takes the VIP" has_vip asterisk2
wait_for 10 "asterisk2's group is running" running asterisk2
wait_for 5 "the phones reach the VIP on asterisk2" vip_answers
wait_for 5 "the guard exits once done" dead "$gpid"
grep -q "guard: stopped IPaddr::198.18.0.10/24/eth0" "$LOG1" || fail "the guard did not log what it stopped"
guard_ms=$(sed -n 's/.*guard: stopped IPaddr::198.18.0.10\/24\/eth0 (\([0-9.]*\) ms after.*/\1/p' "$LOG1" | tail -1)
never_both_so_far >&2 || fail "the VIP was on both nodes after the SIGKILL"
log "SIGKILL of clusterd on asterisk1: VIP gone there at the first sample after $(first_sample "$t0" 1 0) ms (the guard's log: removed ${guard_ms} ms after it saw the death), on asterisk2 after $(first_sample "$t0" 2 1) ms"

# Who holds the resource and since when (hapbx cluster status, text and --json).
cluster asterisk2 status | grep -q "IPaddr::198.18.0.10/24/eth0 *running *held by asterisk2 since 20" || fail "asterisk2's status does not say it holds the VIP: $(cluster asterisk2 status)"
[ "$(json asterisk2 's["resources"][0]["holder"]')" = asterisk2 ] || fail "status --json: resources[0].holder on asterisk2"
[ "$(json asterisk2 's["resources"][0]["since"][:2] + str(s["resources"][0]["held_for_ms"] >= 0)')" = 20True ] || fail "status --json: resources[0].since, held_for_ms on asterisk2"

# --- 2. restart on asterisk1 --------------------------------------------------------------------
start_clusterd asterisk1
wait_for 10 "the restarted clusterd on asterisk1 answers" json_ok asterisk1 's["pid"]'
wait_for 10 "asterisk1 sees asterisk2 again" peer_up asterisk1
wait_for 10 "asterisk2 sees the new asterisk1" peer_up asterisk2
wait_for 10 "asterisk1 settles in Standby" sh -c "[ \"\$(\"$BIN/hapbx\" lab exec asterisk1 -- \"$BIN/hapbx\" cluster --socket /run/hapbx/clusterd.sock --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"state\"])')\" = Standby ]"
has_vip asterisk2 || fail "the VIP left asterisk2 when asterisk1 rejoined"
[ "$(json asterisk1 's["resources"][0]["holder"]')" = asterisk2 ] || fail "asterisk1's status does not say asterisk2 holds the VIP"
if lab exec asterisk1 -- "$BIN/clusterd" --config-dir /etc/ha.d --socket /run/hapbx/clusterd.sock >"$HAPBX_LAB_DIR/second.log" 2>&1; then
  fail "a second clusterd started on asterisk1"
fi
grep -q "another clusterd" "$HAPBX_LAB_DIR/second.log" || fail "the second clusterd's refusal: $(cat "$HAPBX_LAB_DIR/second.log")"
log "clusterd restarted on asterisk1 rejoins in Standby; the VIP stays on asterisk2; a second clusterd is refused"

# --- 3. the guard killed: a new one ------------------------------------------------------------
gpid2=$(json asterisk2 's["guard_pid"]')
kill -KILL "$gpid2"
wait_for 5 "asterisk2's clusterd spawns a new guard" sh -c "g=\$(\"$BIN/hapbx\" lab exec asterisk2 -- \"$BIN/hapbx\" cluster --socket /run/hapbx/clusterd.sock --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"guard_pid\"])'); [ \"\$g\" != $gpid2 ] && [ \"\$g\" -gt 0 ] && kill -0 \"\$g\""
has_vip asterisk2 || fail "the VIP left asterisk2 when its guard was killed"
log "asterisk2's guard killed: clusterd spawned a new one ($(json asterisk2 's["guard_pid"]'))"

# --- 4. clusterd and guard killed together: the ARP probe holds the takeover back -------------
pid=$(json asterisk2 's["pid"]'); gpid=$(json asterisk2 's["guard_pid"]')
kill -KILL "$gpid" "$pid"
wait_for 5 "asterisk1's takeover sees the VIP still answering on asterisk2" grep -q "answers for it on the LAN (ARP probe answered in" "$HAPBX_LAB_DIR/asterisk1.log"
has_vip asterisk1 && fail "asterisk1 added the VIP while asterisk2 still answered for it"
t0=$(now_us)
ip -n "${P}asterisk2" addr del 198.18.0.10/24 dev eth0 || fail "removing the VIP by hand on asterisk2"
wait_for 5 "asterisk1 adds the VIP once nobody answers for it" has_vip asterisk1
log "clusterd and guard killed on asterisk2: asterisk1 held the VIP back while it answered there, added it $(first_sample "$t0" 1 1) ms after it was removed by hand"
wait_for 10 "asterisk1's group is running" running asterisk1
wait_for 5 "the phones reach the VIP on asterisk1" vip_answers

touch "$STOP_SAMPLING"; wait "$SAMPLER"
never_both_so_far >&2 || fail "the VIP was on both nodes at some sample"

# --- 5. the whole group (the thesis example): VIP first, then pbxd, unmount, demote ------------
if [ ! -x "$BIN/replicad" ] || [ ! -x "$BIN/pbxd" ]; then
  log "SKIP the thesis part: no replicad/pbxd in $BIN"
  log "PASS"
  exit 0
fi
lab down >/dev/null
lab up --example thesis >/dev/null || fail "lab up --example thesis"
wait_for 30 "asterisk1's group is running (thesis)" running asterisk1
wait_for 10 "asterisk2 sees asterisk1" peer_up asterisk2
pid=$(json asterisk1 's["pid"]')
kill -KILL "$pid"
wait_for 10 "asterisk2's group is running (thesis)" running asterisk2
wait_for 10 "pbxd answers on asterisk2" lab exec asterisk2 -- "$BIN/hapbx" pbx --socket /run/hapbx/pbxd.sock core show version
order=$(sed -n 's/.*guard: stopped \([^ ]*\) (\([0-9.]*\) ms after.*/\1@\2/p' "$LOG1" | tail -4 | tr '\n' ' ')
case "$order" in
  "IPaddr::198.18.0.10/24/eth0@"*" pbxd@"*" Filesystem::/dev/hapbx/r0::/replica::ext4@"*" drbddisk::r0@"*) ;;
  *) fail "the guard's stop order on asterisk1: '$order' (expected the VIP, pbxd, the filesystem, the disk)" ;;
esac
all_ms=$(sed -n 's/.*guard: every resource stopped, \([0-9.]*\) ms.*/\1/p' "$LOG1" | tail -1)
[ -n "$all_ms" ] || fail "the guard did not stop every resource"
wait_for 10 "r0: asterisk2 Primary, asterisk1 Secondary, connected again (no split brain)" sh -c \
  "[ \"\$(\"$BIN/hapbx\" lab exec asterisk2 -- \"$BIN/hapbx\" replica --socket /run/hapbx/replicad.sock --json status r0 | python3 -c 'import json,sys; r=json.load(sys.stdin)[\"resources\"][0]; print(r[\"role\"], r[\"peer_role\"], r[\"split_brain\"], r[\"connection\"])')\" = 'Primary Secondary False Connected' ]"
log "thesis group, SIGKILL of clusterd on asterisk1: its guard stopped ${order% } (ms after the death), all in ${all_ms} ms; asterisk2 runs the PBX, r0 connected with no split brain"
log "PASS"
