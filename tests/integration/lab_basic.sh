#!/usr/bin/env bash
# The network-namespace lab through `hapbx lab`: the topology of DESIGN.md comes up, each host has
# its own hostname and files, the LAN and the replication link answer and nothing reaches the
# root namespace; the faults (cable pull/plug, graceful shutdown, power off/on, packet loss) do
# what they say; `lab down` leaves no namespace, process or state behind.
set -u
BIN=$(cd "${1:?usage: $0 BIN_DIR}" && pwd) || exit 2
[ "$(id -u)" = 0 ] || { echo "SKIP: the lab needs root" >&2; exit 0; }
for tool in ip nsenter unshare ping nft python3; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool (run: make deps)" >&2; exit 2; }
done
export HAPBX_LAB_DIR
HAPBX_LAB_DIR=$(mktemp -d /tmp/hapbx-lab-test.XXXXXX)
T0=${EPOCHREALTIME/./}
log() { local d=$(( ${EPOCHREALTIME/./} - T0 )); printf '[%3d.%02ds] %s\n' $(( d / 1000000 )) $(( d % 1000000 / 10000 )) "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
lab() { "$BIN/hapbx" lab "$@"; }
cleanup() {
  local rc=$?
  lab down >/dev/null 2>&1
  rm -rf "$HAPBX_LAB_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# wait_file PATH: true once PATH exists (5 s at most): a process in a node says it is ready.
wait_file() {
  local deadline=$(( ${EPOCHREALTIME/./} + 5000000 ))
  until [ -e "$1" ]; do [ "${EPOCHREALTIME/./}" -lt "$deadline" ] || return 1; sleep 0.02; done
}
reach() { lab exec "$1" -- ping -c 1 -W 1 -q "$2" >/dev/null 2>&1; }
# reach_within SECONDS FROM ADDR: true once FROM reaches ADDR (a new link may take a moment).
reach_within() {
  local deadline=$(( ${EPOCHREALTIME/./} + $1 * 1000000 ))
  until reach "$2" "$3"; do [ "${EPOCHREALTIME/./}" -lt "$deadline" ] || return 1; done
}

lab up --example none || fail "lab up"
prefix=$(cat "$HAPBX_LAB_DIR/current/prefix")
log "lab up, prefix $prefix"
lab up >/dev/null 2>&1 && fail "a second 'lab up' was accepted"
lab status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
hosts = {h["host"]: h for h in s["hosts"]}
assert set(hosts) == {"asterisk1", "asterisk2", "phones", "gw"}, hosts
assert all(h["power"] == "on" and h["lan"] == "up" for h in hosts.values()), hosts
assert "198.18.1.11/24" in hosts["asterisk1"]["addresses"], hosts
' || fail "status --json"

for h in asterisk1 asterisk2 phones gw; do
  [ "$(lab exec "$h" -- hostname)" = "$h" ] || fail "$h's hostname"
done
lab exec asterisk1 -- sh -c 'echo from-asterisk1 > /replica/mine' || fail "write /replica on asterisk1"
[ -e "$HAPBX_LAB_DIR/current/asterisk2/root/replica/mine" ] && fail "asterisk2 sees asterisk1's /replica"
lab exec asterisk2 -- test -e /replica/mine && fail "asterisk2's /replica has asterisk1's file"
[ "$(lab exec asterisk1 -- getent hosts pbx | awk '{print $1}')" = 198.18.0.10 ] || fail "'pbx' does not resolve to the VIP"
log "own hostnames, own /replica, lab hosts file"

reach phones 198.18.0.11 && reach phones 198.18.0.12 && reach asterisk1 198.18.0.1 || fail "LAN"
reach asterisk1 198.18.1.12 || fail "replication link"
reach phones 198.18.1.11 && fail "phones reach the replication link"
ip -o addr show | grep -q ' 198\.18\.' && fail "the root namespace has a lab address"
lab exec phones -- ip route show default | grep -q . && fail "phones have a default route"
log "LAN and replication link answer; nothing in the root namespace"

lab fault cable-pull asterisk1 >/dev/null || fail "cable-pull"
reach phones 198.18.0.11 && fail "asterisk1 reachable after cable-pull"
reach asterisk2 198.18.1.11 && fail "replication link up after cable-pull"
lab fault cable-plug asterisk1 >/dev/null || fail "cable-plug"
reach_within 5 phones 198.18.0.11 && reach_within 5 asterisk2 198.18.1.11 || fail "asterisk1 unreachable after cable-plug"
lab fault cable-pull asterisk1 lan >/dev/null
reach phones 198.18.0.11 && fail "LAN up after cable-pull lan"
reach asterisk2 198.18.1.11 || fail "cable-pull lan also cut the replication link"
lab fault cable-plug asterisk1 lan >/dev/null
reach_within 5 phones 198.18.0.11 || fail "LAN down after cable-plug lan"
log "cable pull and plug (all, lan)"

lab fault loss asterisk2 100 >/dev/null || fail "loss 100"
reach phones 198.18.0.12 && fail "asterisk2 answers with 100% loss"
lab fault loss asterisk2 0 >/dev/null
reach_within 5 phones 198.18.0.12 || fail "asterisk2 silent after loss 0"
log "packet loss on and off"

# A graceful shutdown lets a process finish; a power-off does not.
lab exec asterisk2 -- bash -c 'trap "echo clean > /replica/stopped; exit 0" TERM; touch /replica/ready; while :; do sleep 0.1; done' &
wait_file "$HAPBX_LAB_DIR/current/asterisk2/root/replica/ready" || fail "the process in asterisk2 did not start"
lab fault shutdown asterisk2 >/dev/null || fail "shutdown"
[ "$(cat "$HAPBX_LAB_DIR/current/asterisk2/root/replica/stopped" 2>/dev/null)" = clean ] || fail "shutdown was not graceful"
lab exec asterisk2 -- true 2>/dev/null && fail "exec on a shut-down node"
lab fault power-on asterisk2 >/dev/null || fail "power-on"
lab exec asterisk1 -- bash -c 'trap "echo unclean > /replica/stopped; exit 0" TERM; touch /replica/ready; while :; do sleep 0.1; done' &
wait_file "$HAPBX_LAB_DIR/current/asterisk1/root/replica/ready" || fail "the process in asterisk1 did not start"
lab fault power-off asterisk1 >/dev/null || fail "power-off"
[ -e "$HAPBX_LAB_DIR/current/asterisk1/root/replica/stopped" ] && fail "power-off ran a TERM handler"
lab status --json | python3 -c '
import json, sys
hosts = {h["host"]: h for h in json.load(sys.stdin)["hosts"]}
assert hosts["asterisk1"]["power"] == "off" and hosts["asterisk2"]["power"] == "on", hosts' || fail "status after power-off"
lab fault power-on asterisk1 >/dev/null || fail "power-on"
[ "$(lab exec asterisk1 -- cat /replica/mine)" = from-asterisk1 ] || fail "asterisk1's disk lost after power-on"
# Loop devices are global: a power-off detaches the node's own (as its replicad would leave them)
# and no other.
truncate -s 8M "$HAPBX_LAB_DIR/other.img"
OTHER=$(losetup -f --show "$HAPBX_LAB_DIR/other.img") || fail "losetup on the host"
lab exec asterisk1 -- truncate -s 8M /replica/disk.img
MINE=$(lab exec asterisk1 -- losetup -f --show /replica/disk.img) || fail "losetup in asterisk1"
lab fault power-off asterisk1 >/dev/null || fail "power-off with a loop device"
losetup "$MINE" >/dev/null 2>&1 && fail "asterisk1's loop device $MINE survived its power-off"
losetup "$OTHER" >/dev/null 2>&1 || fail "the host's loop device $OTHER was detached"
losetup -d "$OTHER"
lab fault power-on asterisk1 >/dev/null || fail "power-on"
lab fault power-off both >/dev/null || fail "power-off both"
lab fault power-on both >/dev/null || fail "power-on both"
wait 2>/dev/null
log "shutdown, power-off, power-on (one node, both)"

lab down >/dev/null || fail "down"
ip netns list | grep -q "^$prefix" && fail "namespaces left: $(ip netns list | grep "^$prefix")"
[ -e "$HAPBX_LAB_DIR/current" ] && fail "state left"
log "down: nothing left"
log "PASS"
