#!/usr/bin/env bash
# clusterd with an ha.cf whose heartbeat media are `mcast eth1 225.0.0.1 694 1 0` (the
# replication link) and `bcast eth0` (the LAN), plus a `respawn` program, in the lab:
#  - both links come up on both nodes;
#  - with asterisk2's LAN cable pulled, the heartbeats cross the multicast link alone: the bcast
#    link goes down in asterisk1's view, the peer stays up and the VIP does not move;
#  - the respawned program, killed, is started again; clusterd SIGKILLed, its guard stops the
#    program, and the restarted clusterd runs one copy;
#  - power-off of asterisk1 moves the VIP to asterisk2.
source "$(dirname "$0")/cluster_lib.sh" "$1"

lab up --example none >/dev/null || fail "lab up"
for n in asterisk1 asterisk2; do
  d=$HAPBX_LAB_DIR/current/$n/root/etc-ha.d
  cat >"$d/ha.cf" <<'HA'
keepalive 100ms
deadtime 500ms
warntime 300ms
initdead 2
udpport 694
mcast eth1 225.0.0.1 694 1 0
bcast eth0
auto_failback off
node asterisk1 asterisk2
respawn root /etc/ha.d/respawned.sh
HA
  cat >"$d/respawned.sh" <<'SH'
#!/bin/sh
echo "$$" >>/var/log/hapbx/respawned.pids
exec sleep 1000
SH
  chmod 755 "$d/respawned.sh"
  cp "$ROOT/examples/vip/haresources" "$ROOT/examples/vip/authkeys" "$d/"
  chmod 600 "$d/authkeys"
done
start_clusterd asterisk1; start_clusterd asterisk2
wait_for 10 "asterisk1 holds the VIP" has_vip asterisk1
wait_for 10 "asterisk1's group is running" running asterisk1
links() {  # NODE -> "medium=up/down,..."
  json "$1" '",".join(l["medium"] + "=" + ("up" if l["up"] else "down") for l in s["peers"][0]["links"])'
}
both_links_up() { [ "$(links "$1")" = "mcast eth1 225.0.0.1=up,bcast eth0=up" ]; }
wait_for 10 "both links up on asterisk1" both_links_up asterisk1
wait_for 10 "both links up on asterisk2" both_links_up asterisk2
log "links on asterisk1: $(links asterisk1)"

# The LAN cable of asterisk2 out: only the multicast link carries heartbeats.
lab fault cable-pull asterisk2 lan >/dev/null
wait_for 5 "asterisk1 sees the bcast link down" sh -c "[ \"\$(\"$BIN/hapbx\" lab exec asterisk1 -- \"$BIN/hapbx\" cluster --socket /run/hapbx/clusterd.sock --json status | python3 -c 'import json,sys; s=json.load(sys.stdin); print(\",\".join(l[\"medium\"] + \"=\" + (\"up\" if l[\"up\"] else \"down\") for l in s[\"peers\"][0][\"links\"]))')\" = 'mcast eth1 225.0.0.1=up,bcast eth0=down' ]"
# Several deadtimes on the multicast link alone: the peer must stay up all along.
deadline=$(( $(now_us) + 1500000 ))
while [ "$(now_us)" -lt "$deadline" ]; do
  peer_up asterisk1 || fail "asterisk1 lost asterisk2 although the multicast link is up"
  sleep 0.1
done
has_vip asterisk2 && fail "asterisk2 took the VIP while asterisk1 was alive on the multicast link"
has_vip asterisk1 || fail "the VIP left asterisk1"
lab fault cable-plug asterisk2 lan >/dev/null
wait_for 10 "both links up again on asterisk1" both_links_up asterisk1
log "asterisk2's LAN cable out: heartbeats on mcast eth1 alone kept the peer up; links again: $(links asterisk1)"

# respawn: the program runs; killed, it is started again.
PIDS=$HAPBX_LAB_DIR/current/asterisk1/root/log/respawned.pids
wait_for 5 "the respawned program runs on asterisk1" test -s "$PIDS"
first=$(head -1 "$PIDS")
kill -KILL "$first"
wait_for 5 "clusterd starts the respawned program again" sh -c "[ \$(wc -l <'$PIDS') -ge 2 ]"
second=$(sed -n 2p "$PIDS")
kill -0 "$second" || fail "the restarted program (pid $second) does not run"
grep -q "respawn: /etc/ha.d/respawned.sh (pid $first) ended with signal 9" "$HAPBX_LAB_DIR/asterisk1.log" || fail "clusterd did not log the respawn"
log "respawn: pid $first killed, restarted as pid $second"

# clusterd SIGKILLed on asterisk2: its guard stops the respawned program too, so the restarted
# clusterd's program does not run next to the old one.
PIDS2=$HAPBX_LAB_DIR/current/asterisk2/root/log/respawned.pids
old=$(tail -1 "$PIDS2")
kill -0 "$old" || fail "asterisk2's respawned program (pid $old) does not run"
kill -KILL "$(json asterisk2 's["pid"]')"
wait_for 7 "asterisk2's guard stops the respawned program" sh -c "! kill -0 $old 2>/dev/null"
start_clusterd asterisk2
wait_for 10 "the restarted clusterd on asterisk2 sees asterisk1" peer_up asterisk2
wait_for 5 "the restarted clusterd starts the program again" sh -c "[ \"\$(tail -1 '$PIDS2')\" != $old ]"
running_copies=0
for p in $(cat "$PIDS2"); do kill -0 "$p" 2>/dev/null && running_copies=$((running_copies + 1)); done
[ "$running_copies" = 1 ] || fail "$running_copies copies of the respawned program run on asterisk2"
log "clusterd SIGKILLed on asterisk2: its guard stopped the respawned program (pid $old); after the restart one copy runs"

t0=$(now_us)
lab fault power-off asterisk1 >/dev/null || fail "power-off"
wait_for 10 "asterisk2 takes the VIP" has_vip asterisk2
wait_for 10 "asterisk2's group is running" running asterisk2
wait_for 10 "the phones reach the VIP on asterisk2" vip_answers
log "power-off of asterisk1: the VIP on asterisk2 after $(( ($(now_us) - t0) / 1000 )) ms"
log "PASS"
