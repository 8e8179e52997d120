#!/usr/bin/env bash
# Fencing with the real clusterd in the lab: a partition between the two nodes while both stay
# up and both still reach the ping node gw and the phones (the replication link's cable pulled
# at asterisk1, and nftables in asterisk1 dropping the heartbeats, UDP 694, on the LAN).
#  1. With `stonith_command lab/fence_node.sh LAB_DIR HAPBX` in ha.cf: asterisk2 declares
#     asterisk1 dead and fences it first (the lab powers asterisk1 off), then takes the VIP. A
#     sampler looks at both nodes' eth0 every ~10 ms: the VIP is never on both. After the
#     partition heals and asterisk1 boots again it joins as standby: still one holder.
#  2. Without stonith: asterisk2 declares asterisk1 dead after deadtime, but before adding the
#     VIP it probes the LAN (ARP) and asterisk1 still answers for it: asterisk2 does not take it
#     (it keeps probing, and would take it once nobody answers). asterisk1 keeps serving; the
#     VIP is never on both nodes; after the heal there is one holder, asterisk1, and the phones
#     reach it.
source "$(dirname "$0")/cluster_lib.sh" "$1"

TABLE=hapbx_test_partition
partition() {  # the nodes cannot hear each other; both keep the LAN (gw, phones)
  lab fault cable-pull asterisk1 repl >/dev/null || fail "cable-pull asterisk1 repl"
  ip netns exec "$(lab_ns asterisk1)" nft -f - <<NFT || fail "nft in asterisk1"
table inet $TABLE {
  chain in { type filter hook input priority 0; udp dport 694 drop; }
  chain out { type filter hook output priority 0; udp dport 694 drop; }
}
NFT
}
heal() {
  ip netns exec "$(lab_ns asterisk1)" nft delete table inet "$TABLE" || fail "nft delete in asterisk1"
  lab fault cable-plug asterisk1 repl >/dev/null || fail "cable-plug asterisk1 repl"
}
reaches_gw() { lab exec "$1" -- ping -c 1 -W 1 -q 198.18.0.1 >/dev/null 2>&1; }
vip_gone_from() { ! ip -n "$(lab_ns "$1")" -o -4 addr show dev eth0 | grep -q ' 198\.18\.0\.10/'; }
start_both() {
  start_clusterd asterisk1; start_clusterd asterisk2
  wait_for 10 "asterisk1 (preferred) holds the VIP" vip_up_on asterisk1
  wait_for 10 "asterisk1's group is running" running asterisk1
  wait_for 10 "asterisk2 sees asterisk1" peer_up asterisk2
  wait_for 10 "asterisk1 sees asterisk2" peer_up asterisk1
  vip_up_on asterisk2 && fail "the VIP is on both nodes at the start"
}

lab up --example none >/dev/null || fail "lab up"
for n in asterisk1 asterisk2; do
  install_config "$n"
  ha_cf_set "$n" stonith_command "$ROOT/lab/fence_node.sh" "$HAPBX_LAB_DIR" "$BIN/hapbx"
done
start_both
log "with stonith_command: asterisk1 holds the VIP"

# --- 1. partition with fencing ------------------------------------------------------------------
sampler_start "$HAPBX_LAB_DIR/fenced.samples"
t0=$(now_us)
partition
wait_for 10 "asterisk2 takes the VIP" vip_up_on asterisk2
t_vip=$(( ($(now_us) - t0) / 1000 ))
wait_for 10 "asterisk2's group is running" running asterisk2
wait_for 5 "the phones reach the VIP on asterisk2" vip_answers
t_answer=$(( ($(now_us) - t0) / 1000 ))
[ "$(lab status --json | python3 -c 'import json,sys; print({h["host"]: h["power"] for h in json.load(sys.stdin)["hosts"]}["asterisk1"])')" = off ] || \
  fail "asterisk2 holds the VIP but asterisk1 was not powered off"
grep -q "fencing asterisk1 before taking the group" "$HAPBX_LAB_DIR/asterisk2.log" || fail "asterisk2 did not log the fencing"
grep -q "fenced asterisk1: taking the group" "$HAPBX_LAB_DIR/asterisk2.log" || fail "asterisk2 did not log the fence's success"
grep -q "asterisk1 is off" "$HAPBX_LAB_DIR/current/asterisk2/root/log/fence.log" || fail "fence_node.sh did not confirm: $(cat "$HAPBX_LAB_DIR/current/asterisk2/root/log/fence.log")"
reaches_gw asterisk2 || fail "asterisk2 lost the ping node (the partition is not the intended one)"

heal
lab fault power-on asterisk1 >/dev/null || fail "power-on asterisk1"
start_clusterd asterisk1
wait_for 10 "the rebooted asterisk1 sees asterisk2" peer_up asterisk1
wait_for 10 "asterisk1 settles in Standby" sh -c "[ \"\$(\"$BIN/hapbx\" lab exec asterisk1 -- \"$BIN/hapbx\" cluster --socket /run/hapbx/clusterd.sock --json status 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"state\"])' 2>/dev/null)\" = Standby ]"
# Two keepalive rounds... and more: one second with both up, the VIP must stay on asterisk2.
deadline=$(( $(now_us) + 1000000 )); while [ "$(now_us)" -lt "$deadline" ]; do sleep 0.05; done
sampler_stop
s=$(sampler_report "$HAPBX_LAB_DIR/fenced.samples")
[ "$(sampler_count "$HAPBX_LAB_DIR/fenced.samples" both)" = 0 ] || fail "with fencing the VIP was on both nodes ($(sampler_both_ms "$HAPBX_LAB_DIR/fenced.samples") ms): $s"
vip_up_on asterisk2 && ! vip_up_on asterisk1 || fail "after the partition healed the VIP is not on asterisk2 alone"
running asterisk2 || fail "asterisk2's group is not running after asterisk1 rejoined"
wait_for 5 "the phones reach the VIP" vip_answers
log "fencing: asterisk2 fenced asterisk1 and held the VIP ${t_vip} ms after the partition (the phones reach it after ${t_answer} ms); healed, asterisk1 rejoined as standby; never on both ($s)"

# --- 2. the same partition without stonith -------------------------------------------------------
lab fault shutdown asterisk2 >/dev/null || fail "shutdown asterisk2"  # hands the group to asterisk1
lab fault shutdown asterisk1 >/dev/null || fail "shutdown asterisk1"
for n in asterisk1 asterisk2; do
  sed -i '/^stonith_command/d' "$(etc_ha "$n")/ha.cf"
  lab fault power-on "$n" >/dev/null || fail "power-on $n"
done
start_both
log "without stonith: asterisk1 holds the VIP"

sampler_start "$HAPBX_LAB_DIR/split.samples"
lines2=$(wc -l <"$HAPBX_LAB_DIR/asterisk2.log")
t0=$(now_us)
partition
wait_for 10 "asterisk2 declares asterisk1 dead (no fencing)" peer_dead asterisk2
reaches_gw asterisk1 && reaches_gw asterisk2 || fail "a node lost the ping node (the partition is not the intended one)"
wait_for 10 "asterisk2's VIP probe finds asterisk1 answering" \
  sh -c "tail -n +$((lines2 + 1)) '$HAPBX_LAB_DIR/asterisk2.log' | grep -q 'answers for it on the LAN'"
t_probe=$(( ($(now_us) - t0) / 1000 ))
# Two seconds of partition: asterisk1 keeps serving, asterisk2 never adds the address.
deadline=$(( $(now_us) + 2000000 )); while [ "$(now_us)" -lt "$deadline" ]; do sleep 0.05; done
vip_up_on asterisk1 || fail "without stonith asterisk1 gave the VIP up during the partition (its ping node answers): $(group_state asterisk1)"
vip_up_on asterisk2 && fail "asterisk2 added the VIP while asterisk1 still answered for it"
vip_answers || fail "the phones do not reach the VIP on asterisk1 during the partition"
log "without stonith: partition -> asterisk2 declared asterisk1 dead but its ARP probe found the VIP answering after ${t_probe} ms: it did not take it; asterisk1 keeps serving"

heal
wait_for 10 "asterisk2 sees asterisk1 again" peer_up asterisk2
sampler_stop
[ "$(sampler_count "$HAPBX_LAB_DIR/split.samples" both)" = 0 ] || fail "without stonith the VIP was on both nodes ($(sampler_both_ms "$HAPBX_LAB_DIR/split.samples") ms): $(sampler_report "$HAPBX_LAB_DIR/split.samples")"
wait_for 20 "asterisk1 alone holds the VIP" sh -c "! ip -n '$(lab_ns asterisk2)' -o -4 addr show dev eth0 | grep -q ' 198\.18\.0\.10/'"
running asterisk1 || fail "asterisk1's group is not running after the heal: $(group_state asterisk1)"
wait_for 5 "the phones reach the VIP" vip_answers
log "without stonith: healed -> one holder (asterisk1), never on both ($(sampler_report "$HAPBX_LAB_DIR/split.samples"))"
log "PASS"
