#!/usr/bin/env bash
# clusterd's refusals and the cable faults, in the lab with examples/vip: an authkeys file that
# others can read is refused at start; a peer with the wrong key is ignored (its datagrams are
# rejected and counted, it never counts as alive); pulling both cables of the active node moves
# the VIP (the cut-off node also loses its ping node and gives the group up), and after the cables
# are back only one node holds it. The VIP answers the phones at the end.
source "$(dirname "$0")/cluster_lib.sh" "$1"

lab up --example none >/dev/null || fail "lab up"
install_config asterisk1; install_config asterisk2

# authkeys readable by others: refused at start, as Heartbeat does.
chmod 644 "$HAPBX_LAB_DIR/current/asterisk1/root/etc-ha.d/authkeys"
if lab exec asterisk1 -- "$BIN/clusterd" --config-dir /etc/ha.d --socket /run/hapbx/clusterd.sock >"$HAPBX_LAB_DIR/refused.log" 2>&1; then
  fail "clusterd started with authkeys mode 644"
fi
grep -q "600" "$HAPBX_LAB_DIR/refused.log" || fail "the refusal does not say mode 600: $(cat "$HAPBX_LAB_DIR/refused.log")"
chmod 600 "$HAPBX_LAB_DIR/current/asterisk1/root/etc-ha.d/authkeys"
log "authkeys mode 644 refused"

# A peer signing with another secret is not a member.
sed -i 's/^1 sha1 .*/1 sha1 not-the-cluster-secret/' "$HAPBX_LAB_DIR/current/asterisk2/root/etc-ha.d/authkeys"
start_clusterd asterisk1; start_clusterd asterisk2
wait_for 10 "asterisk1 rejects asterisk2's datagrams" sh -c "[ \"\$(\"$BIN/hapbx\" lab exec asterisk1 -- \"$BIN/hapbx\" cluster --socket /run/hapbx/clusterd.sock --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"rejected_datagrams\"])')\" -gt 0 ]"
peer_up asterisk1 && fail "asterisk1 counts the peer with the wrong key as alive"
log "the peer with the wrong key is ignored ($(json asterisk1 's["rejected_datagrams"]') datagrams rejected)"
# Stop both (the lab stops exactly the processes of each node's namespaces).
lab fault shutdown asterisk1 >/dev/null; lab fault shutdown asterisk2 >/dev/null
wait 2>/dev/null
lab fault power-on asterisk1 >/dev/null; lab fault power-on asterisk2 >/dev/null
install_config asterisk2

# Both cables of the active node pulled: the standby takes over; back in: one holder again.
start_clusterd asterisk1; start_clusterd asterisk2
wait_for 10 "asterisk1's group is running" running asterisk1
wait_for 10 "asterisk2 sees asterisk1" peer_up asterisk2
t0=$(now_us)
lab fault cable-pull asterisk1 >/dev/null
wait_for 10 "asterisk2 takes the VIP" has_vip asterisk2
wait_for 10 "the phones reach the VIP on asterisk2" vip_answers
log "cable pull of asterisk1: the phones reach the VIP on asterisk2 after $(( ($(now_us) - t0) / 1000 )) ms"
lab fault cable-plug asterisk1 >/dev/null
wait_for 15 "one holder after the cables are back" sh -c "! { \"$BIN/hapbx\" lab exec asterisk1 -- ip -o -4 addr show dev eth0 | grep -q ' 198\.18\.0\.10/' && \"$BIN/hapbx\" lab exec asterisk2 -- ip -o -4 addr show dev eth0 | grep -q ' 198\.18\.0\.10/'; }"
wait_for 10 "the phones reach the VIP" vip_answers
holder=asterisk1; has_vip asterisk1 || holder=asterisk2
log "cables back: the VIP is on $holder only"
log "PASS"
