#!/usr/bin/env bash
# auto_failback with the real clusterd on both lab nodes (examples/vip with the ha.cf line
# `auto_failback on`, then `legacy`): asterisk1 (the preferred node) is powered off and asterisk2
# takes the VIP; asterisk1 comes back and the VIP returns to it by itself. While it moves, a
# sampler looks at both nodes' eth0 every ~10 ms and the VIP must never be on both (up) at any
# sample; the phones ping the VIP every 10 ms and the outage they see during the failback (the
# longest gap between replies) is logged, as are duplicate replies (two answering nodes), which
# must not happen. Then the same with a cable fault: every cable of asterisk1 pulled (asterisk2
# takes over, the isolated asterisk1 gives the VIP up) and plugged back: auto_failback brings the
# VIP back to asterisk1, again never on both. Last, `auto_failback legacy` (Heartbeat's default,
# "as on" for clusterd) does the same power-off/power-on failback.
source "$(dirname "$0")/cluster_lib.sh" "$1"

setup_nodes() {  # MODE: install examples/vip with auto_failback MODE
  install_config "$1" && ha_cf_set "$1" auto_failback "$2"
}
never_both_in() {  # FILE WHAT
  local both; both=$(sampler_count "$1" both)
  [ "${both:-1}" = 0 ] || fail "$2: the VIP was on both nodes in $both samples (longest $(sampler_both_ms "$1") ms): $(sampler_report "$1")"
}
# The failback itself: asterisk2 holds the VIP, CMD brings asterisk1 back; the VIP must come
# back to asterisk1, never being on both; the phones' outage is measured.
failback() {  # NAME CMD...
  local name=$1; shift
  local samples="$HAPBX_LAB_DIR/$name.samples" probe="$HAPBX_LAB_DIR/$name.ping"
  sampler_start "$samples"
  probe_start "$probe"
  local l1 l2 t0
  l1=$(wc -l <"$HAPBX_LAB_DIR/asterisk1.log") l2=$(wc -l <"$HAPBX_LAB_DIR/asterisk2.log")
  t0=$(now_us)
  "$@"
  if ! within 15 vip_up_on asterisk1; then
    sampler_stop
    fail "$name: the VIP did not come back to asterisk1 within 15 s: asterisk1's group is $(group_state asterisk1) ($(json asterisk1 's["reason"]'), announcing $(json asterisk1 's["claim"]')), asterisk2's is $(group_state asterisk2) (peer state $(json asterisk2 's["peers"][0]["state"]'))"
  fi
  local t_back=$(( ($(now_us) - t0) / 1000 ))
  wait_for 5 "$name: asterisk2 lets go of the VIP" sh -c "! ip -n $(lab_ns asterisk2) -o -4 addr show dev eth0 | grep -q ' 198\.18\.0\.10/'"
  wait_for 10 "$name: asterisk1's group is running" running asterisk1
  wait_for 5 "$name: the phones reach the VIP on asterisk1" vip_answers
  # One more second of samples with the VIP settled: it must stay on asterisk1.
  local settled; settled=$(wc -l <"$samples")
  local deadline=$(( $(now_us) + 1000000 ))
  while [ "$(now_us)" -lt "$deadline" ]; do sleep 0.05; done
  probe_stop "$probe"
  sampler_stop
  never_both_in "$samples" "$name"
  tail -n +"$((settled + 1))" "$samples" | awk '$2 != 1 || $3 != 0 { bad++ } END { exit bad > 0 }' || \
    fail "$name: the VIP moved again after the failback: $(tail -n +"$((settled + 1))" "$samples" | sampler_report /dev/stdin)"
  [ "$(probe_dups "$probe")" = 0 ] || fail "$name: the phones got duplicate replies (two nodes answered): $(probe_report "$probe")"
  # Why each node did it, from the clusterd logs since CMD.
  tail -n +"$((l2 + 1))" "$HAPBX_LAB_DIR/asterisk2.log" | grep -q 'group: Running -> Stopping (auto_failback)' || \
    fail "$name: asterisk2 did not release the group for auto_failback"
  tail -n +"$((l1 + 1))" "$HAPBX_LAB_DIR/asterisk1.log" | grep -q -- '-> Starting (peer released the group)' || \
    fail "$name: asterisk1 did not take the group on asterisk2's release"
  log "$name: VIP back on asterisk1 $t_back ms after the start; never on both ($(sampler_report "$samples")); the phones: $(probe_report "$probe")"
  FAILBACK_GAP_MS=$(probe_gap_ms "$probe")
}
power_on_asterisk1() {  # the node boots (nothing: example none), then its clusterd starts
  lab fault power-on asterisk1 >/dev/null || fail "power-on asterisk1"
  start_clusterd asterisk1
}

lab up --example none >/dev/null || fail "lab up"
setup_nodes asterisk1 on; setup_nodes asterisk2 on
start_clusterd asterisk1; start_clusterd asterisk2
wait_for 10 "asterisk1 (preferred) holds the VIP" vip_up_on asterisk1
wait_for 10 "asterisk1's group is running" running asterisk1
wait_for 10 "asterisk2 sees asterisk1" peer_up asterisk2
vip_up_on asterisk2 && fail "the VIP is on both nodes at the start"
log "auto_failback on: asterisk1 holds the VIP"

# --- power-off of the preferred node, power-on: the VIP comes back ----------------------------
t0=$(now_us)
lab fault power-off asterisk1 >/dev/null || fail "power-off asterisk1"
t_off=$(now_us)  # the lab's power-off has returned: asterisk1's processes are gone
wait_for 10 "asterisk2 takes the VIP" vip_up_on asterisk2
wait_for 10 "asterisk2's group is running" running asterisk2
wait_for 5 "the phones reach the VIP on asterisk2" vip_answers
log "power-off of asterisk1: the phones reach the VIP on asterisk2 after $(( ($(now_us) - t0) / 1000 )) ms ($(( ($(now_us) - t_off) / 1000 )) ms after the power-off command returned)"
failback "power-on (auto_failback on)" power_on_asterisk1
gap_power_on=$FAILBACK_GAP_MS

# --- auto_failback legacy: the same power-off / power-on cycle ---------------------------------
# asterisk2 restarts with legacy first (asterisk1 keeps the VIP meanwhile), then asterisk1 is
# powered off and comes back with legacy too.
lab fault shutdown asterisk2 >/dev/null || fail "shutdown asterisk2"
lab fault power-on asterisk2 >/dev/null || fail "power-on asterisk2"
setup_nodes asterisk2 legacy
start_clusterd asterisk2
wait_for 10 "asterisk1 sees the restarted asterisk2" peer_up asterisk1
vip_up_on asterisk1 || fail "asterisk1 lost the VIP while asterisk2 restarted"
lab fault power-off asterisk1 >/dev/null || fail "power-off asterisk1 (legacy)"
wait_for 10 "asterisk2 (legacy) takes the VIP" vip_up_on asterisk2
wait_for 10 "asterisk2's group is running" running asterisk2
setup_nodes asterisk1 legacy
failback "power-on (auto_failback legacy)" power_on_asterisk1
gap_legacy=$FAILBACK_GAP_MS

# --- cable pull of the preferred node, plug: the VIP comes back ---------------------------------
# asterisk2 restarts with auto_failback on again (asterisk1 keeps the VIP meanwhile; asterisk1's
# own setting does not matter: only the non-preferred holder fails back).
lab fault shutdown asterisk2 >/dev/null || fail "shutdown asterisk2"
lab fault power-on asterisk2 >/dev/null || fail "power-on asterisk2"
setup_nodes asterisk2 on
start_clusterd asterisk2
wait_for 10 "asterisk1 sees the restarted asterisk2" peer_up asterisk1
wait_for 10 "asterisk2 sees asterisk1" peer_up asterisk2
vip_up_on asterisk1 || fail "asterisk1 lost the VIP while asterisk2 restarted"
t0=$(now_us)
lab fault cable-pull asterisk1 >/dev/null || fail "cable-pull asterisk1"
wait_for 10 "asterisk2 takes the VIP after the cable pull" vip_up_on asterisk2
wait_for 10 "asterisk2's group is running" running asterisk2
wait_for 5 "the phones reach the VIP on asterisk2" vip_answers
log "cable pull of asterisk1: the phones reach the VIP on asterisk2 after $(( ($(now_us) - t0) / 1000 )) ms"
# The cut-off asterisk1 (peer dead, ping node gone) gives the VIP up before the cables return.
wait_for 10 "the isolated asterisk1 removes the VIP" sh -c "! ip -n $(lab_ns asterisk1) -o -4 addr show dev eth0 | grep -q ' 198\.18\.0\.10/'"
log "asterisk1, isolated: group $(group_state asterisk1) ($(json asterisk1 's["reason"]'))"
failback "cable-plug (auto_failback on)" lab fault cable-plug asterisk1
gap_cable=$FAILBACK_GAP_MS

log "failback outage seen by the phones: power-on ${gap_power_on} ms, legacy ${gap_legacy} ms, cable-plug ${gap_cable} ms"
log "PASS"
