#!/usr/bin/env bash
# Resource monitoring with the real clusterd in the lab. The group is examples/vip's VIP followed
# by an LSB-style script resource `hxmon::svc1` in each node's /etc/ha.d/resource.d (called as
# `hxmon svc1 start|stop|status`, as Heartbeat calls resource.d scripts; status is 0 while its
# state file in the node's /var/lib/hapbx exists, 3 = stopped otherwise). The test deletes the
# state file and checks resource_manager.h's rules as clusterd applies them (defaults:
# monitor_interval 10 s, max_failures 3 within failure_window 10 min):
#  - every running resource is monitored every monitor_interval: the failing status comes at
#    most one interval after the deletion, one interval after the last (re)start;
#  - a failure restarts it in place: stop, then start again on the same node, the resources
#    before it (the VIP) untouched: the VIP never leaves asterisk1 (sampled every ~10 ms);
#  - the max_failures-th failure within the window moves the group to the peer (up and
#    eligible): asterisk1 stops hxmon then the VIP (reverse order), asterisk2 starts both;
#  - with the peer not eligible (asterisk1 powered off), max_failures failures on asterisk2 keep
#    restarting in place (logged), the VIP stays; also after asterisk1 came back and was shut
#    down gracefully (it announced it leaves): one more failure restarts in place again.
source "$(dirname "$0")/cluster_lib.sh" "$1"

INTERVAL_MS=10000  # ResourceManagerConfig::monitor_interval (ha.cf has no directive for it)
MAX_FAILURES=3     # ResourceManagerConfig::max_failures

calls() { echo "$HAPBX_LAB_DIR/current/$1/root/log/hxmon.calls"; }       # NODE's call log
state_file() { echo "$HAPBX_LAB_DIR/current/$1/root/var-lib-hapbx/hxmon.state"; }
count() { local c; c=$(grep -c " svc1 $2\$" "$(calls "$1")" 2>/dev/null); echo "${c:-0}"; }  # NODE VERB: calls so far
last_time() { grep " svc1 $2\$" "$(calls "$1")" | tail -n 1 | cut -d' ' -f1; }  # NODE VERB: its time (s)
ms_between() { python3 -c "import sys; print(int((float(sys.argv[2]) - float(sys.argv[1])) * 1000))" "$1" "$2"; }
# NODE LINES: the calls after the first LINES, successful monitors left out ("status-stopped stop start ").
calls_since() { tail -n +"$(( $2 + 1 ))" "$(calls "$1")" | cut -d' ' -f3 | grep -v '^status-running$' | tr '\n' ' '; }
at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }  # NODE VERB N

install_node() {
  local d; d=$(etc_ha "$1")
  install_config "$1"
  echo "asterisk1 IPaddr::198.18.0.10/24/eth0 hxmon::svc1" >"$d/haresources"
  mkdir -p "$d/resource.d"
  cat >"$d/resource.d/hxmon" <<'SCRIPT'
#!/bin/sh
# hxmon: a test service for clusterd's LSB agent. `hxmon NAME start|stop|status`; every call is
# logged with its time (status with its answer); status: 0 while the state file exists, 3 (stopped) otherwise.
state=/var/lib/hapbx/hxmon.state
[ "$#" = 2 ] && [ "$1" = svc1 ] || { echo "hxmon: called as '$*' (expected: svc1 VERB)" >&2; exit 2; }
log() { echo "$(date +%s.%N) $1 $2" >>/var/log/hapbx/hxmon.calls; }
case "$2" in
  start) echo up >"$state"; log svc1 start ;;
  stop) rm -f "$state"; log svc1 stop ;;
  status)
    if [ -e "$state" ]; then log svc1 status-running; else log svc1 status-stopped; echo "svc1 is stopped"; exit 3; fi ;;
  *) exit 2 ;;
esac
SCRIPT
  chmod 755 "$d/resource.d/hxmon"
}

# fail_in_place NODE N: delete NODE's state file right after its start number N and expect: a
# failing status within one interval of that start, then stop and start number N+1 there.
fail_in_place() {
  local n=$1 k=$2 before t_start t_del
  wait_for 10 "$n: start #$k of hxmon" at_least "$n" start "$k"
  before=$(wc -l <"$(calls "$n")")
  t_start=$(last_time "$n" start)
  t_del=$(date +%s.%N)
  rm -f "$(state_file "$n")"
  wait_for $(( INTERVAL_MS / 1000 + 5 )) "$n restarts hxmon in place (start #$((k + 1)))" at_least "$n" start $((k + 1))
  local seen; seen=$(calls_since "$n" "$before")
  case "$seen" in
    "status-stopped stop start "*) ;;
    *) fail "$n: after the failure hxmon saw '$seen' (expected: status-stopped stop start)" ;;
  esac
  local t_fail; t_fail=$(tail -n +"$(( before + 1 ))" "$(calls "$n")" | grep ' svc1 status-stopped$' | head -n 1 | cut -d' ' -f1)
  local since_start since_del
  since_start=$(ms_between "$t_start" "$t_fail") since_del=$(ms_between "$t_del" "$t_fail")
  # The failing monitor is the first one after the start: one interval after it (the VIP's
  # monitor runs first on the same agent thread: a little slack).
  [ "$since_start" -ge $(( INTERVAL_MS - 200 )) ] && [ "$since_start" -le $(( INTERVAL_MS + 1500 )) ] || \
    fail "$n: the failing monitor came ${since_start} ms after the (re)start (monitor_interval is ${INTERVAL_MS} ms)"
  [ "$since_del" -le $(( INTERVAL_MS + 1500 )) ] || fail "$n: the failure was seen ${since_del} ms after it happened"
  log "$n: failure $k of hxmon seen ${since_del} ms after it happened (${since_start} ms after the last start), restarted in place"
}

lab up --example none >/dev/null || fail "lab up"
install_node asterisk1; install_node asterisk2
start_clusterd asterisk1; start_clusterd asterisk2
wait_for 10 "asterisk1's group (VIP, hxmon) is running" running asterisk1
wait_for 10 "asterisk2 sees asterisk1" peer_up asterisk2
vip_up_on asterisk1 || fail "asterisk1 runs the group without the VIP"
[ -e "$(state_file asterisk1)" ] || fail "hxmon's start did not run on asterisk1"
[ "$(count asterisk2 start)" = 0 ] || fail "hxmon started on asterisk2 too"
log "asterisk1 runs VIP + hxmon::svc1"

# --- failures with the peer up: restart, restart, move ----------------------------------------
sampler_start "$HAPBX_LAB_DIR/in-place.samples"
for k in $(seq 1 $(( MAX_FAILURES - 1 ))); do fail_in_place asterisk1 "$k"; done
sampler_stop
s=$(sampler_report "$HAPBX_LAB_DIR/in-place.samples")
[ "$(sampler_count "$HAPBX_LAB_DIR/in-place.samples" a1)" -gt 0 ] && \
  [ "$(sampler_count "$HAPBX_LAB_DIR/in-place.samples" none)" = 0 ] && \
  [ "$(sampler_count "$HAPBX_LAB_DIR/in-place.samples" a2)" = 0 ] && \
  [ "$(sampler_count "$HAPBX_LAB_DIR/in-place.samples" both)" = 0 ] || fail "the VIP did not stay on asterisk1 alone during the restarts in place: $s"
[ "$(count asterisk2 start)" = 0 ] || fail "hxmon started on asterisk2 during the restarts in place"
failures=$(cluster asterisk1 --json resources | python3 -c 'import json,sys; print([r["failures"] for r in json.load(sys.stdin)["resources"]])')
[ "$failures" = "[0, $(( MAX_FAILURES - 1 ))]" ] || fail "asterisk1's failure counts (VIP, hxmon) are $failures"
log "$(( MAX_FAILURES - 1 )) failures restarted hxmon in place; the VIP stayed on asterisk1 ($s)"

k=$MAX_FAILURES
wait_for 10 "asterisk1: start #$k of hxmon" at_least asterisk1 start "$k"
before=$(wc -l <"$(calls asterisk1)")
sampler_start "$HAPBX_LAB_DIR/move.samples"
t_del=$(now_us)
rm -f "$(state_file asterisk1)"
wait_for $(( INTERVAL_MS / 1000 + 5 )) "failure $k moves the group: the VIP on asterisk2" vip_up_on asterisk2
t_move=$(( ($(now_us) - t_del) / 1000 ))
wait_for 10 "asterisk2's group is running" running asterisk2
wait_for 5 "asterisk2 started hxmon" at_least asterisk2 start 1
wait_for 5 "the phones reach the VIP on asterisk2" vip_answers
sampler_stop
[ "$(sampler_count "$HAPBX_LAB_DIR/move.samples" both)" = 0 ] || fail "the VIP was on both nodes during the move: $(sampler_report "$HAPBX_LAB_DIR/move.samples")"
seen=$(calls_since asterisk1 "$before")
[ "$seen" = "status-stopped stop " ] || fail "asterisk1's hxmon saw '$seen' at the move (expected: status-stopped stop, no new start)"
[ "$(group_state asterisk1)" = Released ] || fail "asterisk1's group is $(group_state asterisk1), not Released"
[ "$(json asterisk1 's["reason"]')" = "repeated failures" ] || fail "asterisk1 released for '$(json asterisk1 's["reason"]')'"
grep -q "$MAX_FAILURES monitor failures within the window: moving the group to asterisk2" "$HAPBX_LAB_DIR/asterisk1.log" || fail "asterisk1 did not log why it moved the group"
vip_up_on asterisk1 && fail "asterisk1 kept the VIP"
log "failure $k: the group moved to asterisk2 (VIP there ${t_move} ms after the failure; $(sampler_report "$HAPBX_LAB_DIR/move.samples"))"

# --- failures with the peer not eligible: restart in place, always -----------------------------
# asterisk1 powered off: dead by silence (deadtime).
lab fault power-off asterisk1 >/dev/null || fail "power-off asterisk1"
wait_for 10 "asterisk2 sees asterisk1 dead" peer_dead asterisk2
sampler_start "$HAPBX_LAB_DIR/alone.samples"
for k in $(seq 1 "$MAX_FAILURES"); do fail_in_place asterisk2 "$k"; done
sampler_stop
[ "$(sampler_count "$HAPBX_LAB_DIR/alone.samples" a2)" -gt 0 ] && \
  [ "$(sampler_count "$HAPBX_LAB_DIR/alone.samples" none)" = 0 ] || fail "the VIP did not stay on asterisk2: $(sampler_report "$HAPBX_LAB_DIR/alone.samples")"
grep -q "$MAX_FAILURES monitor failures within the window but asterisk1 cannot take the group: restarting in place" "$HAPBX_LAB_DIR/asterisk2.log" || \
  fail "asterisk2 did not log that it keeps restarting in place"
running asterisk2 || fail "asterisk2's group is not running after the restarts: $(group_state asterisk2)"
log "peer powered off: $MAX_FAILURES failures on asterisk2 restarted hxmon in place each time; the VIP stayed"

# asterisk1 back, then shut down gracefully (it says it leaves): just as gone. The next failure
# (the window still holds asterisk2's three) must again restart in place, not hand the group to
# the node that left.
lab fault power-on asterisk1 >/dev/null || fail "power-on asterisk1"
start_clusterd asterisk1
wait_for 10 "asterisk2 sees asterisk1 again" peer_up asterisk2
wait_for 10 "asterisk1 sees asterisk2" peer_up asterisk1
lab fault shutdown asterisk1 >/dev/null || fail "shutdown asterisk1"
wait_for 10 "asterisk2 sees asterisk1 gone (left)" peer_dead asterisk2
sampler_start "$HAPBX_LAB_DIR/left.samples"
k=$(( MAX_FAILURES + 1 ))
wait_for 10 "asterisk2: start #$k of hxmon" at_least asterisk2 start "$k"
before=$(wc -l <"$HAPBX_LAB_DIR/asterisk2.log")
rm -f "$(state_file asterisk2)"
if ! within $(( INTERVAL_MS / 1000 + 5 )) at_least asterisk2 start $(( k + 1 )); then
  sampler_stop
  fail "peer shut down: failure $(( MAX_FAILURES + 1 )) on asterisk2 did not restart hxmon in place: asterisk2's group is $(group_state asterisk2) ($(json asterisk2 's["reason"]')); its log: $(tail -n +"$((before + 1))" "$HAPBX_LAB_DIR/asterisk2.log" | grep -E 'monitor|group:' | tr '\n' '|')"
fi
sampler_stop
[ "$(sampler_count "$HAPBX_LAB_DIR/left.samples" none)" = 0 ] || fail "the VIP left asterisk2: $(sampler_report "$HAPBX_LAB_DIR/left.samples")"
log "peer shut down: failure $k on asterisk2 restarted hxmon in place; the VIP stayed"
log "PASS"
