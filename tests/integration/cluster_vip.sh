#!/usr/bin/env bash
# clusterd on both lab nodes with the VIP-only example (examples/vip, what `hapbx lab up` boots): asterisk1 (preferred) takes
# 198.18.0.10 and the phones reach it; power-off of asterisk1 moves it to asterisk2 (gratuitous
# ARP: the phones reach the VIP again without flushing anything); asterisk1 comes back and,
# with auto_failback off, the VIP stays; `hapbx cluster standby` on asterisk2 hands it back; a
# graceful shutdown of asterisk1 hands it over again; an isolated node (its LAN cable pulled, the
# ping node gw out of reach) gives it up to the peer that still reaches gw.
source "$(dirname "$0")/cluster_lib.sh" "$1"
never_both() { ! { has_vip asterisk1 && has_vip asterisk2; } || fail "the VIP is on both nodes"; }

lab up >/dev/null || fail "lab up (the vip example, booting clusterd on both nodes)"
wait_for 10 "asterisk1 (preferred) holds the VIP" has_vip asterisk1
wait_for 10 "asterisk1's group is running" running asterisk1
never_both
wait_for 5 "the phones reach the VIP" vip_answers
cluster asterisk1 status >&2 || fail "hapbx cluster status"
cluster asterisk2 --json status | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["node"] == "asterisk2" and s["peers"][0]["state"] == "up", s
assert all(l["up"] for l in s["peers"][0]["links"]), s' || fail "status --json on asterisk2"
log "asterisk1 holds the VIP; the phones reach it"

t0=$(now_us)
lab fault power-off asterisk1 >/dev/null || fail "power-off"
wait_for 10 "asterisk2 takes the VIP" has_vip asterisk2
t_vip=$(( ($(now_us) - t0) / 1000 ))
wait_for 10 "the phones reach the VIP on asterisk2" vip_answers
t_answer=$(( ($(now_us) - t0) / 1000 ))
wait_for 10 "asterisk2's group is running" running asterisk2
log "power-off of asterisk1: VIP on asterisk2 after ${t_vip} ms, the phones reach it after ${t_answer} ms"

lab fault power-on asterisk1 >/dev/null || fail "power-on (boots clusterd)"
wait_for 10 "asterisk1 sees asterisk2 again" peer_up asterisk1
sleep 1  # auto_failback off: nothing may move during this second
has_vip asterisk2 || fail "auto_failback off, yet the VIP left asterisk2"
has_vip asterisk1 && fail "auto_failback off, yet asterisk1 took the VIP"
log "asterisk1 is back; the VIP stays on asterisk2 (auto_failback off)"

cluster asterisk2 standby >&2 || fail "standby on asterisk2"
wait_for 10 "standby hands the VIP to asterisk1" has_vip asterisk1
wait_for 5 "asterisk2 lets go" sh -c "! \"$BIN/hapbx\" lab exec asterisk2 -- ip -o -4 addr show dev eth0 | grep -q ' 198\.18\.0\.10/'"
wait_for 5 "the phones reach the VIP on asterisk1" vip_answers
wait_for 10 "asterisk1's group is running" running asterisk1
log "standby on asterisk2: the VIP is on asterisk1"

t0=$(now_us)
lab fault shutdown asterisk1 >/dev/null || fail "shutdown"
wait_for 10 "asterisk2 takes the VIP after the graceful shutdown" has_vip asterisk2
has_vip asterisk1 2>/dev/null && fail "asterisk1 kept the VIP through its shutdown"
wait_for 10 "asterisk2's group is running" running asterisk2
log "graceful shutdown of asterisk1: VIP on asterisk2 after $(( ($(now_us) - t0) / 1000 )) ms"

# An isolated node gives the VIP up: asterisk2's LAN cable is pulled (the heartbeats still cross
# the replication link), it cannot reach the ping node gw, asterisk1 can.
lab fault power-on asterisk1 >/dev/null || fail "power-on (boots clusterd)"
wait_for 10 "asterisk1 sees asterisk2 again" peer_up asterisk1
t0=$(now_us)
lab fault cable-pull asterisk2 lan >/dev/null
wait_for 10 "the isolated asterisk2 gives the VIP to asterisk1" has_vip asterisk1
wait_for 5 "asterisk2 lets go of the VIP" sh -c "! \"$BIN/hapbx\" lab exec asterisk2 -- ip -o -4 addr show dev eth0 | grep -q ' 198\.18\.0\.10/'"
wait_for 5 "the phones reach the VIP on asterisk1" vip_answers
wait_for 10 "asterisk1's group is running" running asterisk1
log "asterisk2 isolated (LAN cable out, ping node lost): VIP on asterisk1 after $(( ($(now_us) - t0) / 1000 )) ms"
cluster asterisk2 status | grep -q "ping nodes: UNREACHABLE" || fail "asterisk2's status does not say its ping nodes are unreachable"
lab fault cable-plug asterisk2 lan >/dev/null
log "PASS"
