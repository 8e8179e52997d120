#!/usr/bin/env bash
# The network-namespace lab (`hapbx lab ...`): the two-node cluster of DESIGN.md on one machine.
#
#   hosts      LAN 198.18.0.0/24 (eth0)   replication 198.18.1.0/24 (eth1)
#   asterisk1  .11                         .11
#   asterisk2  .12                         .12
#   phones     .100
#   gw         .1 (the ping node)
#   VIP        .10 (taken by the cluster, not by the lab)
#
# Every host is a network namespace "<prefix><host>" with, held by one long-lived process, its own
# mount and UTS namespace: its own hostname, /etc/hosts, /etc/hapbx, /etc/ha.d, /replica,
# /var/lib/hapbx, /run/hapbx and /dev/hapbx (bind mounts of the lab's state directory or tmpfs),
# so two nodes on one machine do not see each other's files, sockets or devices. The LAN is a
# bridge in the namespace "<prefix>lan"; the replication link is a direct veth between the
# nodes. Nothing links the lab to the root namespace and no host has a default route, so lab
# traffic never leaves it.
#
# Usage:
#   lab.sh up [--example NAME]     build the lab (refuses if one is up) and boot the nodes with
#                                  examples/NAME installed: vip (default: clusterd moving the
#                                  VIP), thesis (the whole HA PBX) or none (empty nodes)
#   lab.sh down                    stop every process of the lab, remove its namespaces and state
#   lab.sh status [--json]         hosts, their links and addresses, whether they are powered
#   lab.sh exec HOST [--] CMD...   run CMD inside HOST (network, mount and UTS namespaces)
#   lab.sh fault VERB NODE [ARG]   cable-pull|cable-plug [lan|repl|all], shutdown, power-off,
#                                  power-on, loss PERCENT (nftables; 0 removes it);
#                                  NODE "both" = asterisk1 and asterisk2
# Environment: HAPBX_LAB_DIR (default /run/hapbx-lab) holds the state of the current lab;
#   HAPBX_BIN_DIR the directory of hapbx, clusterd, replicad and pbxd (set by `hapbx lab`);
#   HAPBX_LAB_PRIVATE_DIRS more directories every host gets its own (empty) tmpfs over, e.g. the
#   state directories of another HA daemon run in the lab for comparison.
#
# A node "boots" (at `up` and at `power-on`) by starting the daemons its example installed, as
# a machine's init would: $STATE/NODE/boot lists them, their output goes to the node's
# /var/log/hapbx (the lab directory's NODE/root/log).
set -u
LAB_DIR=${HAPBX_LAB_DIR:-/run/hapbx-lab}
STATE=$LAB_DIR/current
HOSTS=(asterisk1 asterisk2 phones gw)
NODES=(asterisk1 asterisk2)
declare -A LAN_IP=([asterisk1]=198.18.0.11 [asterisk2]=198.18.0.12 [phones]=198.18.0.100 [gw]=198.18.0.1)
declare -A REPL_IP=([asterisk1]=198.18.1.11 [asterisk2]=198.18.1.12)
# Per-host directories bound over these paths inside the host's mount namespace.
BIND_DIRS=(/etc/hapbx /etc/ha.d /replica /var/lib/hapbx /var/log/hapbx)
# shellcheck disable=SC2206 # a list of paths on purpose
TMPFS_DIRS=(/run/hapbx /dev/hapbx ${HAPBX_LAB_PRIVATE_DIRS:-})
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EXAMPLES=(none vip thesis)
DISK_MB=${HAPBX_LAB_DISK_MB:-64}  # the thesis example's replicated disk (the initial sync copies it all)

die() { echo "hapbx lab: $*" >&2; exit 1; }
usage() { sed -n '/^# Usage:/,/^# Environment/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

need_root() { [ "$(id -u)" = 0 ] || die "the lab needs root (network namespaces, mounts)"; }
have_lab() { [ -f "$STATE/prefix" ]; }
prefix() { cat "$STATE/prefix"; }
ns() { echo "$(prefix)$1"; }
is_host() { local h; for h in "${HOSTS[@]}"; do [ "$h" = "$1" ] && return 0; done; return 1; }
holder() { cat "$STATE/$1/holder.pid" 2>/dev/null; }
# Alive = its namespaces are there (a killed holder may linger as a zombie until reaped).
holder_alive() { local p; p=$(holder "$1") && [ -n "$p" ] && readlink "/proc/$p/ns/mnt" >/dev/null 2>&1; }

# PIDs of every process in HOST's mount namespace (the holder and all it runs): "its" processes.
# One find over /proc (a power cut must not spend a fork per process of the machine).
host_pids() {
  local h=$1 p ref
  p=$(holder "$h") || return 0
  ref=$(readlink "/proc/$p/ns/mnt" 2>/dev/null) || return 0
  ref=${ref//[/\\[}; ref=${ref//]/\\]}  # find's -lname is a glob
  find /proc/[0-9]*/ns/mnt -maxdepth 0 -lname "$ref" 2>/dev/null | cut -d/ -f3
}

# Loop devices attached to a file in this host's private directories (same inode and device, as
# the host sees it, as the one the loop holds): the devices its replicad made over its FUSE file
# (in /run/hapbx) or over an image in /var/lib/hapbx. Loop devices are global, so this is how a
# host's own are told from every other one; nothing else is ever detached. Candidates come from
# sysfs (a path string, no I/O), and only those are asked for their backing inode: asking every
# loop device on the machine (losetup -l) would wait on every other lab's FUSE daemon, and a
# power cut must not wait.
host_loops() {
  local h=$1 p dev file ino majmin seen
  holder_alive "$h" || return 0
  p=$(holder "$h")
  for dev in /sys/block/loop*; do
    file=$(cat "$dev/loop/backing_file" 2>/dev/null) || continue
    file=${file% (deleted)}
    # Only files in the host's private directories: the rest of the tree is the machine's own.
    case "$file" in
      /replica/*|/var/lib/hapbx/*|/etc/hapbx/*|/etc/ha.d/*|/run/hapbx/*|/dev/hapbx/*) ;;
      *) continue ;;
    esac
    read -r ino majmin < <(timeout 2 losetup -n -O BACK-INO,BACK-MAJ:MIN "/dev/${dev##*/}" 2>/dev/null) || continue
    seen=$(timeout 2 nsenter -t "$p" -m -- stat -c '%i %Hd:%Ld' "$file" 2>/dev/null) || continue
    [ "$seen" = "$ino $majmin" ] && echo "/dev/${dev##*/}"
  done
}

detach_loops() {  # LOOP...: after the host's processes are gone (its filesystems with them)
  local l
  for l in "$@"; do
    losetup "$l" >/dev/null 2>&1 || continue  # its replicad released it already
    timeout 10 losetup -d "$l" 2>/dev/null || echo "warning: could not detach $l" >&2
  done
}

# The holder: enters the host's network namespace, makes its mount and UTS namespaces, mounts its
# private directories and sleeps; every `exec` joins it.
start_holder() {
  local h=$1 d
  local dir=$STATE/$h
  mkdir -p "$dir"/root/etc-hapbx "$dir"/root/etc-ha.d "$dir"/root/replica "$dir"/root/var-lib-hapbx "$dir"/root/log
  for d in "${BIND_DIRS[@]}" "${TMPFS_DIRS[@]}"; do mkdir -p "$d" 2>/dev/null || die "cannot create $d"; done
  nsenter --net="/run/netns/$(ns "$h")" unshare --mount --uts --propagation private -- bash -c '
    set -e
    h=$1 dir=$2 hosts=$3
    shift 3
    hostname "$h"
    mount -t sysfs sysfs /sys                    # this namespace'\''s interfaces in /sys/class/net
    mount --bind "$dir/root/etc-hapbx" /etc/hapbx
    mount --bind "$dir/root/etc-ha.d" /etc/ha.d
    mount --bind "$dir/root/replica" /replica
    mount --bind "$dir/root/var-lib-hapbx" /var/lib/hapbx
    mount --bind "$dir/root/log" /var/log/hapbx
    for d in "$@"; do mount -t tmpfs -o mode=0755 tmpfs "$d"; done
    mount --bind "$hosts" /etc/hosts
    exec sleep infinity
  ' holder "$h" "$dir" "$STATE/hosts" "${TMPFS_DIRS[@]}" </dev/null >"$dir/holder.log" 2>&1 &
  echo $! >"$dir/holder.pid"
  local i
  for i in $(seq 100); do
    [ "$(nsenter -t $! -u hostname 2>/dev/null)" = "$h" ] && \
      nsenter -t $! -m -- mountpoint -q /dev/hapbx 2>/dev/null && return 0
    kill -0 $! 2>/dev/null || break
    sleep 0.02
  done
  die "$h: its namespaces did not come up: $(cat "$dir/holder.log")"
}

# Power cut: every process of HOST dies at once, the holder last. The order matters: the last
# process to leave a mount namespace unmounts its filesystems, and if that were replicad, the
# ext4 on its own FUSE-backed device would wait forever for writeback that only replicad can do
# (a process stuck in D state, its loop device hung for every losetup on the machine). With the
# holder last, replicad's death has closed its FUSE connection and the unmount fails fast, as a
# disk that lost power does.
power_cut() {  # HOST: true when nothing of HOST is left
  local h=$1
  fault_instant "$h"
  links_off "$h"  # in the same instant: a dead machine answers nothing, not even ARP
  kill_host "$h" KILL keep
  wait_host_empty "$h" 5 keep
  kill_host "$h" KILL
  wait_host_empty "$h" 5
}

kill_host() {  # HOST SIGNAL [keep-holder]
  local h=$1 sig=$2 keep=${3:-} p hp
  hp=$(holder "$h")
  for p in $(host_pids "$h"); do
    [ -n "$keep" ] && [ "$p" = "$hp" ] && continue
    kill "-$sig" "$p" 2>/dev/null
  done
}

wait_host_empty() {  # HOST SECONDS [keep-holder]: true when only (or not even) the holder is left
  local h=$1 secs=$2 keep=${3:-} i left
  for i in $(seq $(( secs * 20 ))); do
    left=$(host_pids "$h" | grep -vx "${keep:+$(holder "$h")}" | wc -l)
    [ "$left" = 0 ] && return 0
    sleep 0.05
  done
  return 1
}

bin_dir() {
  local b=${HAPBX_BIN_DIR:-}
  [ -n "$b" ] && [ -x "$b/clusterd" ] || die "HAPBX_BIN_DIR must name the build's bin directory (with clusterd): got '${b}'"
  echo "$b"
}

# Starts a daemon inside HOST, detached from the caller (its own session, no inherited terminal
# or pipes), output appended to the host's /var/log/hapbx/NAME.log; its PID in $STATE/HOST/NAME.pid.
start_daemon() {  # HOST NAME CMD...
  local h=$1 name=$2; shift 2
  nsenter -t "$(holder "$h")" -n -m -u -- setsid "$@" </dev/null >>"$STATE/$h/root/log/$name.log" 2>&1 &
  echo $! >"$STATE/$h/$name.pid"
}

# Waits (bounded) until a daemon of HOST answers on its control socket; false if it exited.
wait_daemon() {  # HOST NAME SECONDS CMD...: CMD run in the host says it answers
  local h=$1 name=$2 secs=$3 i pid; shift 3
  pid=$(cat "$STATE/$h/$name.pid")
  for i in $(seq $(( secs * 50 ))); do
    nsenter -t "$(holder "$h")" -n -m -u -- "$@" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  echo "$h: $name did not come up; the end of its log:" >&2
  tail -n 20 "$STATE/$h/root/log/$name.log" >&2
  return 1
}

in_host() { local h=$1; shift; nsenter -t "$(holder "$h")" -n -m -u -- "$@"; }

# What the node runs at boot, in order (one daemon per line of $STATE/HOST/boot).
boot_node() {  # HOST [BOOT-FILE]
  local h=$1 list=${2:-$STATE/$1/boot} b d
  [ -s "$list" ] || return 0
  b=$(bin_dir)
  while read -r d; do
    case "$d" in
      replicad)
        start_daemon "$h" replicad "$b/replicad" --config /etc/hapbx/r0.res --socket /run/hapbx/replicad.sock
        wait_daemon "$h" replicad 10 "$b/hapbx" replica --socket /run/hapbx/replicad.sock status || return 1 ;;
      clusterd)
        start_daemon "$h" clusterd "$b/clusterd" --config-dir /etc/ha.d --socket /run/hapbx/clusterd.sock
        wait_daemon "$h" clusterd 10 "$b/hapbx" cluster --socket /run/hapbx/clusterd.sock status || return 1 ;;
      *) echo "$h: unknown boot entry '$d'" >&2; return 1 ;;
    esac
  done <"$list"
}

# A clean shutdown stops the booted daemons in reverse order, each to the end, as init does
# (clusterd hands the group over and demotes the disk while replicad still runs), then the rest.
stop_daemons() {  # HOST
  local h=$1 d pid i
  [ -s "$STATE/$h/boot" ] || return 0
  for d in $(tac "$STATE/$h/boot"); do
    pid=$(cat "$STATE/$h/$d.pid" 2>/dev/null) || continue
    # Still the daemon we started (its PID not reused by a process elsewhere).
    [ "$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)" = "$(readlink "/proc/$(holder "$h")/ns/mnt")" ] || continue
    kill -TERM "$pid" 2>/dev/null || continue
    for i in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$pid" 2>/dev/null && echo "$h: $d (pid $pid) still running after 30 s" >&2
  done
}

# Installs examples/NAME into every node (Heartbeat's files in /etc/ha.d, authkeys mode 600 as
# Heartbeat demands) and says what each node boots.
install_example() {  # NAME
  local name=$1 h d
  [ "$name" = none ] && return 0
  bin_dir >/dev/null
  for h in "${NODES[@]}"; do
    d=$STATE/$h/root/etc-ha.d
    case "$name" in
      vip)
        cp "$ROOT/examples/vip/ha.cf" "$ROOT/examples/vip/haresources" "$ROOT/examples/vip/authkeys" "$d/"
        chmod 600 "$d/authkeys"
        echo clusterd >"$STATE/$h/boot" ;;
      thesis)
        cp "$ROOT/examples/thesis/ha.cf" "$ROOT/examples/thesis/haresources" "$ROOT/examples/thesis/authkeys" "$d/"
        chmod 600 "$d/authkeys"
        cp "$ROOT/examples/thesis/r0.res" "$STATE/$h/root/etc-hapbx/"
        # The PBX's seed configuration: its first start copies it onto the replicated disk.
        mkdir -p "$STATE/$h/root/etc-hapbx/pbx"
        cp "$ROOT"/examples/thesis/{sip,extensions,rtp,cdr}.conf "$STATE/$h/root/etc-hapbx/pbx/"
        truncate -s "${DISK_MB}M" "$STATE/$h/root/var-lib-hapbx/r0.img"
        printf 'replicad\nclusterd\n' >"$STATE/$h/boot" ;;
    esac
  done
  echo "$name" >"$STATE/example"
}

# The thesis example's first boot, as an administrator does it once: metadata on both disks, the
# initial full sync from asterisk1, an ext4 filesystem on the replicated disk; then the cluster
# takes over (clusterd promotes, mounts, takes the VIP and starts pbxd, which lays out /replica).
init_thesis() {
  local b h; b=$(bin_dir)
  local rep=("$b/hapbx" replica --socket /run/hapbx/replicad.sock)
  for h in "${NODES[@]}"; do
    printf 'replicad\n' >"$STATE/$h/boot.first"
    boot_node "$h" "$STATE/$h/boot.first" || return 1
    rm -f "$STATE/$h/boot.first"
    in_host "$h" "${rep[@]}" create-md r0 >/dev/null || { echo "$h: create-md r0 failed" >&2; return 1; }
    in_host "$h" "${rep[@]}" up r0 >/dev/null || { echo "$h: up r0 failed" >&2; return 1; }
  done
  # Both listen now: connect at once rather than at the next connect-int.
  for h in "${NODES[@]}"; do in_host "$h" "${rep[@]}" connect r0 >/dev/null 2>&1; done
  in_host asterisk1 "${rep[@]}" wait-connect r0 30 >/dev/null || { echo "r0 did not connect" >&2; return 1; }
  in_host asterisk1 "${rep[@]}" primary --force r0 >/dev/null || { echo "asterisk1: primary --force r0 failed" >&2; return 1; }
  in_host asterisk1 mkfs.ext4 -q -F /dev/hapbx/r0 >/dev/null || { echo "mkfs.ext4 on /dev/hapbx/r0 failed" >&2; return 1; }
  in_host asterisk1 "${rep[@]}" wait-sync r0 120 >/dev/null || { echo "the initial sync did not finish" >&2; return 1; }
  in_host asterisk1 "${rep[@]}" secondary r0 >/dev/null || { echo "asterisk1: secondary r0 failed" >&2; return 1; }
  for h in "${NODES[@]}"; do
    start_daemon "$h" clusterd "$b/clusterd" --config-dir /etc/ha.d --socket /run/hapbx/clusterd.sock
  done
  for h in "${NODES[@]}"; do
    wait_daemon "$h" clusterd 10 "$b/hapbx" cluster --socket /run/hapbx/clusterd.sock status || return 1
  done
  # Up means the PBX answers: asterisk1 (preferred) promoted r0, mounted /replica, took the VIP.
  wait_daemon asterisk1 clusterd 30 "$b/hapbx" pbx --socket /run/hapbx/pbxd.sock core show version || return 1
}

cmd_up() {
  need_root
  local example=vip
  while [ $# -gt 0 ]; do
    case "$1" in
      --example) [ $# -ge 2 ] || die "up: --example needs a name (${EXAMPLES[*]})"; example=$2; shift 2 ;;
      --example=*) example=${1#--example=}; shift ;;
      *) die "up: unknown option '$1' (usage: up [--example ${EXAMPLES[*]// /|}])" ;;
    esac
  done
  local e ok=""
  for e in "${EXAMPLES[@]}"; do [ "$e" = "$example" ] && ok=1; done
  [ -n "$ok" ] || die "up: no example '$example' (examples: ${EXAMPLES[*]})"
  [ "$example" = none ] || bin_dir >/dev/null
  if have_lab; then
    if ip netns list | grep -q "^$(prefix)lan\b"; then die "a lab is already up (prefix $(prefix)); run 'hapbx lab down' first"; fi
    rm -rf "$STATE"  # leftovers of a lab whose namespaces are gone (reboot)
  fi
  command -v nsenter >/dev/null && command -v unshare >/dev/null || die "missing nsenter/unshare (util-linux)"
  mkdir -p "$STATE" || die "cannot create $STATE"
  local p="hx$(od -An -N2 -tx2 /dev/urandom | tr -d ' ')-"
  echo "$p" >"$STATE/prefix"
  trap 'echo "hapbx lab: up failed, removing what was made" >&2; cmd_down >/dev/null 2>&1' ERR
  set -e
  cat >"$STATE/hosts" <<HOSTS
127.0.0.1 localhost
198.18.0.10 pbx vip
198.18.0.11 asterisk1
198.18.0.12 asterisk2
198.18.0.100 phones
198.18.0.1 gw
198.18.1.11 asterisk1-repl
198.18.1.12 asterisk2-repl
HOSTS
  ip netns add "${p}lan"
  ip -n "${p}lan" link add br0 type bridge
  ip -n "${p}lan" link set br0 up
  ip -n "${p}lan" link set lo up
  local h
  for h in "${HOSTS[@]}"; do
    ip netns add "${p}$h"
    ip -n "${p}$h" link set lo up
    ip -n "${p}lan" link add "to-$h" type veth peer name eth0 netns "${p}$h"
    ip -n "${p}lan" link set "to-$h" master br0 up
    ip -n "${p}$h" addr add "${LAN_IP[$h]}/24" brd + dev eth0
    ip -n "${p}$h" link set eth0 up
  done
  ip -n "${p}asterisk1" link add eth1 type veth peer name eth1 netns "${p}asterisk2"
  for h in "${NODES[@]}"; do
    ip -n "${p}$h" addr add "${REPL_IP[$h]}/24" brd + dev eth1
    ip -n "${p}$h" link set eth1 up
  done
  set +e
  trap - ERR
  for h in "${HOSTS[@]}"; do start_holder "$h"; done
  # The LAN answers: every host sees the gateway and its peer (bounded: 2 pings each).
  for h in asterisk1 asterisk2 phones; do
    ip netns exec "${p}$h" ping -c 1 -W 2 -q 198.18.0.1 >/dev/null 2>&1 || \
      ip netns exec "${p}$h" ping -c 1 -W 2 -q 198.18.0.1 >/dev/null 2>&1 || die "$h cannot reach gw"
  done
  ip netns exec "${p}asterisk1" ping -c 1 -W 2 -q 198.18.1.12 >/dev/null 2>&1 || die "the replication link does not answer"
  install_example "$example"
  if [ "$example" = thesis ]; then
    init_thesis || die "the thesis example did not come up (the lab stays up for a look; hapbx lab down)"
  else
    for h in "${NODES[@]}"; do boot_node "$h" || die "$h did not boot (the lab stays up for a look: hapbx lab down)"; done
  fi
  echo "lab up: prefix $p, hosts ${HOSTS[*]}, example $example (state in $STATE)"
}

cmd_down() {
  need_root
  have_lab || { echo "no lab is up"; return 0; }
  local p h n loops=""; p=$(prefix)
  for h in "${HOSTS[@]}"; do loops="$loops $(host_loops "$h")"; done
  for h in "${HOSTS[@]}"; do kill_host "$h" TERM keep; done
  for h in "${HOSTS[@]}"; do wait_host_empty "$h" 5 keep || kill_host "$h" KILL keep; done
  for h in "${HOSTS[@]}"; do kill_host "$h" KILL; done
  for h in "${HOSTS[@]}"; do wait_host_empty "$h" 5 || echo "warning: $h still has processes" >&2; done
  detach_loops $loops
  for n in $(ip netns list | awk '{print $1}' | grep "^$p"); do ip netns del "$n" 2>/dev/null; done
  rm -rf "$STATE"
  echo "lab down: prefix $p removed"
}

link_state() {  # NS IF -> up|down|-
  local s
  s=$(ip -n "$1" -o link show "$2" 2>/dev/null) || { echo "-"; return; }
  case "$s" in *"state UP"*|*",UP,"*|*"<UP"*) echo up ;; *) echo down ;; esac
}

cmd_status() {
  have_lab || { echo "no lab is up"; return 1; }
  local json=${1:-} h first=1
  [ "$json" = "--json" ] && printf '{"prefix":"%s","hosts":[' "$(prefix)"
  for h in "${HOSTS[@]}"; do
    local power=off lan repl addrs
    holder_alive "$h" && power=on
    lan=$(link_state "$(ns "$h")" eth0)
    repl=$(link_state "$(ns "$h")" eth1)
    addrs=$(ip -n "$(ns "$h")" -o -4 addr show 2>/dev/null | awk '$2 != "lo" {print $4}' | tr '\n' ' ')
    if [ "$json" = "--json" ]; then
      [ $first = 1 ] || printf ','
      first=0
      printf '{"host":"%s","power":"%s","lan":"%s","repl":"%s","addresses":[%s]}' "$h" "$power" "$lan" "$repl" \
        "$(for a in $addrs; do printf '"%s",' "$a"; done | sed 's/,$//')"
    else
      printf '%-10s power:%-3s lan:%-4s repl:%-4s %s\n' "$h" "$power" "$lan" "$repl" "$addrs"
    fi
  done
  [ "$json" = "--json" ] && printf ']}\n'
  return 0
}

cmd_exec() {
  have_lab || die "no lab is up (run 'hapbx lab up')"
  local h=${1:-}; shift || true
  is_host "$h" || die "unknown host '$h' (hosts: ${HOSTS[*]})"
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || die "exec $h: no command"
  holder_alive "$h" || die "$h is powered off (hapbx lab fault power-on $h)"
  exec nsenter -t "$(holder "$h")" -n -m -u -- "$@"
}

# A machine that is off has no link and, when it boots, only its configured addresses (a VIP
# that was on it at the power cut is gone).
links_off() {  # HOST
  local n i; n=$(ns "$1")
  for i in eth0 eth1; do ip -n "$n" link show "$i" >/dev/null 2>&1 && ip -n "$n" link set "$i" down; done
  ip -n "$(ns lan)" link set "to-$1" down
}
links_on() {  # HOST
  local h=$1 n i; n=$(ns "$h")
  ip -n "$n" addr flush dev eth0
  ip -n "$n" addr add "${LAN_IP[$h]}/24" brd + dev eth0
  if ip -n "$n" link show eth1 >/dev/null 2>&1; then
    ip -n "$n" addr flush dev eth1
    ip -n "$n" addr add "${REPL_IP[$h]}/24" brd + dev eth1
  fi
  for i in eth0 eth1; do ip -n "$n" link show "$i" >/dev/null 2>&1 && ip -n "$n" link set "$i" up; done
  ip -n "$(ns lan)" link set "to-$h" up
}

# The instant (epoch µs) the fault really begins, for whoever measures from it: after the lab's
# own bookkeeping (finding the node's loop devices), right before links or processes go.
fault_instant() { echo "${EPOCHREALTIME/./}" >"$STATE/$1/fault_at"; }

fault_one() {  # VERB NODE [ARG]
  local verb=$1 h=$2 arg=${3:-} n
  n=$(ns "$h")
  case "$verb" in
    cable-pull|cable-plug)
      local state=down ifs
      [ "$verb" = cable-plug ] && state=up
      case "${arg:-all}" in lan) ifs=eth0 ;; repl) ifs=eth1 ;; all) ifs="eth0 eth1" ;; *) die "cable: lan, repl or all" ;; esac
      fault_instant "$h"
      for i in $ifs; do ip -n "$n" link show "$i" >/dev/null 2>&1 && ip -n "$n" link set "$i" "$state"; done
      # The bridge side too, so the far end sees the carrier go.
      [ "${arg:-all}" != repl ] && ip -n "$(ns lan)" link set "to-$h" "$state"
      echo "$h: $verb ${arg:-all}" ;;
    shutdown)
      holder_alive "$h" || { echo "$h is already off"; return 0; }
      local loops; loops=$(host_loops "$h")
      fault_instant "$h"
      stop_daemons "$h"
      kill_host "$h" TERM keep
      wait_host_empty "$h" 15 keep || { echo "$h: processes left after 15 s, killing them" >&2; kill_host "$h" KILL keep; }
      kill_host "$h" KILL
      wait_host_empty "$h" 5
      detach_loops $loops  # what its daemons did not release themselves
      links_off "$h"
      echo "$h: shut down" ;;
    power-off)
      local loops; loops=$(host_loops "$h")
      power_cut "$h" || die "$h: processes survived SIGKILL"
      detach_loops $loops
      links_off "$h"
      echo "$h: powered off" ;;
    power-on)
      holder_alive "$h" && { echo "$h is already on"; return 0; }
      links_on "$h"
      start_holder "$h"
      boot_node "$h" || die "$h: powered on but did not boot"
      echo "$h: powered on" ;;
    loss)
      command -v nft >/dev/null || die "loss needs nftables (apt-get install nftables)"
      [[ "$arg" =~ ^[0-9]+$ ]] && [ "$arg" -le 100 ] || die "loss: a percentage 0-100"
      ip netns exec "$n" nft delete table inet hapbx_lab 2>/dev/null
      local rule="numgen random mod 100 < $arg drop;"
      [ "$arg" = 100 ] && rule="drop;"
      if [ "$arg" -gt 0 ]; then
        ip netns exec "$n" nft -f - <<NFT || die "nft"
table inet hapbx_lab {
  chain in { type filter hook input priority 0; $rule }
  chain out { type filter hook output priority 0; $rule }
}
NFT
      fi
      echo "$h: loss $arg%" ;;
    *) die "unknown fault '$verb' (cable-pull, cable-plug, shutdown, power-off, power-on, loss)" ;;
  esac
}

cmd_fault() {
  need_root
  have_lab || die "no lab is up (run 'hapbx lab up')"
  local verb=${1:-} node=${2:-} arg=${3:-}
  [ -n "$verb" ] && [ -n "$node" ] || usage
  if [ "$node" = both ]; then
    # Both at once (general power loss): the same signal in the same instant.
    if [ "$verb" = power-off ]; then
      local loops; loops="$(host_loops asterisk1) $(host_loops asterisk2)"
      fault_instant asterisk1; fault_instant asterisk2
      links_off asterisk1; links_off asterisk2
      kill_host asterisk1 KILL keep; kill_host asterisk2 KILL keep
      power_cut asterisk1; power_cut asterisk2
      detach_loops $loops
      links_off asterisk1; links_off asterisk2
      echo "asterisk1 and asterisk2: powered off"
      return 0
    fi
    fault_one "$verb" asterisk1 "$arg" && fault_one "$verb" asterisk2 "$arg"
    return
  fi
  is_host "$node" || die "unknown host '$node' (hosts: ${HOSTS[*]})"
  fault_one "$verb" "$node" "$arg"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) shift; cmd_status "$@" ;;
  exec) shift; cmd_exec "$@" ;;
  fault) shift; cmd_fault "$@" ;;
  -h|--help|help|"") usage ;;
  *) die "unknown lab command '$1' (up, down, status, exec, fault)" ;;
esac
