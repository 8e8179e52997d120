#!/usr/bin/env bash
# The failover benchmark (issue 5): how long the phones lose the VIP 198.18.0.10 when the active
# node fails, for clusterd and the anchors keepalived and Heartbeat 3, in one lab, same script.
#
#   bash bench/failover.sh BIN_DIR [run]     the faults, the failbacks and the SIGKILL check
#   bash bench/failover.sh BIN_DIR soak      false failovers of clusterd-fast, both cores busy
#
# Measurement: every node runs `failover_probe --serve` (answers each probe with its name); the
# phones host runs `failover_probe --probe 198.18.0.10` every 10 ms. The failover gap is the time
# from the last answer of the old node to the first answer of the new one (receive times, so
# the resolution is the 10 ms probe interval). After each fault the failed node comes back
# (power-on and its daemons started again, or the cables plugged in) and a second probe run
# measures the failback: the longest time without an answer while the cluster settles (0 when
# no probe was lost) and whether the VIP moved again.
#
# Systems (SYSTEMS=..., all by default; configs in bench/failover/):
#   clusterd-fast     clusterd, keepalive 10 ms / deadtime 50 ms (the one the soak checks)
#   clusterd-30ms     clusterd, keepalive 10 ms / deadtime 30 ms (VRRP's 3 adverts at 10 ms)
#   clusterd-thesis   clusterd, keepalive 2 s / deadtime 30 s (the thesis' Heartbeat timings)
#   keepalived        keepalived (Debian) VRRPv3, advert_int 0.01 (its fastest), nopreempt
#   heartbeat-thesis  Heartbeat 3.0.6 (Debian), haresources, keepalive 2 s / deadtime 30 s
#   heartbeat-fast    Heartbeat 3.0.6, keepalive 100 ms / deadtime 500 ms
# Every system keeps the VIP where it runs when the other node comes back (auto_failback off,
# VRRP nopreempt), so a failback should cost nothing.
# Faults (FAULTS=..., all by default), always of the node holding the VIP:
#   power-off   `hapbx lab fault power-off` (SIGKILL of every process of the node, links down)
#   cable-pull  both cables of the node out (`hapbx lab fault cable-pull`)
#   shutdown    graceful: SIGTERM to the HA daemon (its own stop: systemctl stop, heartbeat -k),
#               wait until it exited, then `hapbx lab fault shutdown` turns the node off
# TRIALS (default 5) per system and fault; TRIALS_<system> (dashes as underscores, e.g.
# TRIALS_heartbeat_thesis=3) overrides it for one system. SIGKILL_CHECK=0 skips the check that
# SIGKILLs the HA daemon alone (its process tree by PID, less clusterd's resource guard) on the
# active node and looks, after the peer's deadtime, whether the VIP is on both nodes.
# soak: SOAK_SECONDS (default 600) of clusterd-fast with `stress-ng --cpu SOAK_CPUS` (default 4)
# saturating the machine; counts VIP moves seen by the prober (false failovers) and clusterd's
# "node ... is dead" and "ping nodes unreachable" log lines over the soak.
#
# Every daemon is started by this script inside its node (`hapbx lab exec NODE -- setsid ...`,
# PIDs recorded) in a private lab (HAPBX_LAB_DIR under /tmp) whose nodes have their own /run and
# /var/lib/heartbeat (HAPBX_LAB_PRIVATE_DIRS), and stopped by PID or by the lab's power-off;
# `hapbx lab down` at the end removes the rest. Raw results: $RESULTS (default a new directory
# /tmp/hapbx-bench-failover-results.XXXXXX): results.tsv, the probe logs, the daemons' logs.
# Needs root, keepalived, heartbeat, resource-agents, net-tools (IPaddr's ifconfig), stress-ng
# (make bench-deps) and the build's failover_probe, failover_nosync.so, clusterd, hapbx.
set -u
BIN=$(cd "${1:?usage: $0 BIN_DIR [run|soak]}" && pwd) || exit 2
MODE=${2:-run}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONF=$ROOT/bench/failover
[ "$(id -u)" = 0 ] || { echo "bench/failover.sh: the lab needs root" >&2; exit 2; }
case "$MODE" in run|soak) ;; *) echo "usage: $0 BIN_DIR [run|soak]" >&2; exit 2 ;; esac
for t in failover_probe clusterd hapbx; do
  [ -x "$BIN/$t" ] || { echo "bench/failover.sh: $BIN/$t missing (ninja -C build failover_probe failover_nosync clusterd hapbx)" >&2; exit 2; }
done

ALL_SYSTEMS="clusterd-fast clusterd-30ms clusterd-thesis keepalived heartbeat-thesis heartbeat-fast"
SYSTEMS=${SYSTEMS:-$ALL_SYSTEMS}
FAULTS=${FAULTS:-power-off cable-pull shutdown}
TRIALS=${TRIALS:-5}
SIGKILL_CHECK=${SIGKILL_CHECK:-1}
SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_CPUS=${SOAK_CPUS:-4}
for s in $SYSTEMS; do
  case " $ALL_SYSTEMS " in *" $s "*) ;; *) echo "bench/failover.sh: unknown system '$s' ($ALL_SYSTEMS)" >&2; exit 2 ;; esac
done
for f in $FAULTS; do
  case "$f" in power-off|cable-pull|shutdown) ;; *) echo "bench/failover.sh: unknown fault '$f' (power-off cable-pull shutdown)" >&2; exit 2 ;; esac
done
[[ "$TRIALS" =~ ^[1-9][0-9]?$ ]] || { echo "bench/failover.sh: TRIALS must be 1-99" >&2; exit 2; }
[[ "$SOAK_SECONDS" =~ ^[1-9][0-9]{0,4}$ ]] && [ "$SOAK_SECONDS" -le 3500 ] || { echo "bench/failover.sh: SOAK_SECONDS must be 1-3500" >&2; exit 2; }
[[ "$SOAK_CPUS" =~ ^[1-9][0-9]?$ ]] || { echo "bench/failover.sh: SOAK_CPUS must be 1-99" >&2; exit 2; }
case " $SYSTEMS " in *keepalived*) command -v keepalived >/dev/null || { echo "bench/failover.sh: keepalived missing (make bench-deps)" >&2; exit 2; } ;; esac
case " $SYSTEMS " in *heartbeat-*) [ -f "$BIN/failover_nosync.so" ] || { echo "bench/failover.sh: $BIN/failover_nosync.so missing (ninja -C build failover_nosync)" >&2; exit 2; }; [ -x /usr/libexec/heartbeat/heartbeat ] && [ -x /usr/lib/ocf/resource.d/heartbeat/IPaddr ] || { echo "bench/failover.sh: heartbeat or resource-agents missing (make bench-deps)" >&2; exit 2; } ;; esac
[ "$MODE" = soak ] && { command -v stress-ng >/dev/null || { echo "bench/failover.sh: stress-ng missing (make bench-deps)" >&2; exit 2; }; }

export HAPBX_LAB_DIR HAPBX_LAB_PRIVATE_DIRS="/run /var/lib/heartbeat"
HAPBX_LAB_DIR=$(mktemp -d /tmp/hapbx-bench-failover-lab.XXXXXX)
RESULTS=${RESULTS:-$(mktemp -d /tmp/hapbx-bench-failover-results.XXXXXX)}
mkdir -p "$RESULTS/pids" "$RESULTS/logs" "$RESULTS/probes" || exit 2
PIDS=$RESULTS/pids
# The lab looks up each node's loop devices with `losetup -l` before a power-off or shutdown; that
# ioctl stats every loop's backing file, and on this shared machine a loop over a dead FUSE file
# (another test's) makes it wait forever. No node of this benchmark has a loop device, so the
# lab's losetup is bounded here (killed after 3 s: "no loop devices"); without such a stuck
# device it answers in milliseconds as before.
REAL_LOSETUP=$(command -v losetup) || { echo "bench/failover.sh: losetup missing (util-linux)" >&2; exit 2; }
mkdir -p "$RESULTS/shim"
printf '#!/bin/sh\nexec timeout -s KILL 3 %s "$@"\n' "$REAL_LOSETUP" >"$RESULTS/shim/losetup"
chmod 755 "$RESULTS/shim/losetup"
export PATH="$RESULTS/shim:$PATH"
TSV=$RESULTS/results.tsv
VIP=198.18.0.10
NODES=(asterisk1 asterisk2)
T0=${EPOCHREALTIME/./}
now_us() { echo "${EPOCHREALTIME/./}"; }
log() { local d=$(( $(now_us) - T0 )); printf '[%4d.%02ds] %s\n' $(( d / 1000000 )) $(( d % 1000000 / 10000 )) "$*" >&2; }
lab() { "$BIN/hapbx" lab "$@"; }
peer_of() { [ "$1" = asterisk1 ] && echo asterisk2 || echo asterisk1; }
node_dir() { echo "$HAPBX_LAB_DIR/current/$1/root"; }

cleanup() {
  local rc=$?
  # Every process of the lab hosts was started here: the nodes' power-off (SIGKILL of each of
  # their processes) first, so no daemon's slow shutdown holds the lab's down.
  lab fault power-off both >/dev/null 2>&1
  lab down >/dev/null 2>&1
  rm -rf "$HAPBX_LAB_DIR"
  log "raw results in $RESULTS"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { log "FAIL: $*"; exit 1; }

# Starts CMD inside NODE in its own session; its PID (the same in and out of the node: the lab has
# no PID namespace) in $PIDS/NODE.NAME, its output in $RESULTS/logs/NODE.NAME.log.
start_in() {  # NODE NAME CMD...
  local n=$1 name=$2; shift 2
  rm -f "$PIDS/$n.$name"
  lab exec "$n" -- setsid sh -c 'echo $$ >"$0"; exec "$@"' "$PIDS/$n.$name" "$@" \
    </dev/null >>"$RESULTS/logs/$n.$name.log" 2>&1 &
  local i
  for i in $(seq 250); do [ -s "$PIDS/$n.$name" ] && return 0; sleep 0.02; done
  die "$n: $name did not start"
}
pid_of() { [ "$2" = ha ] && refresh_ha_pid "$1"; cat "$PIDS/$1.$2" 2>/dev/null; }
alive() { local p; p=$(pid_of "$1" "$2") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
# Heartbeat restarts itself after a partition heals by exec'ing itself, and that one forks a new
# master: its pid file (in the node's own /run) names the live one.
CUR_SYSTEM=-
refresh_ha_pid() {  # NODE
  case "$CUR_SYSTEM" in heartbeat-*) ;; *) return 0 ;; esac
  local p; p=$(lab exec "$1" -- cat /run/heartbeat.pid 2>/dev/null | tr -d ' \n') || return 0
  [[ "$p" =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null && echo "$p" >"$PIDS/$1.ha"
  return 0
}
# PID and every descendant of it, from /proc (for the SIGKILL of a daemon's whole tree).
tree_of() {
  local want=$1 p s ppid
  echo "$want"
  for p in /proc/[0-9]*; do
    s=$(cat "$p/stat" 2>/dev/null) || continue
    s=${s##*) }; ppid=$(echo "$s" | cut -d' ' -f2)
    [ "$ppid" = "$want" ] && tree_of "${p#/proc/}"
  done
}
stop_pid() {  # NODE NAME SECONDS: SIGTERM and wait until it is gone; false if it stayed
  local p i; p=$(pid_of "$1" "$2") || return 0
  kill -TERM "$p" 2>/dev/null || return 0
  for i in $(seq $(( $3 * 50 ))); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.02; done
  return 1
}

wait_until() {  # SECONDS WHAT CMD...: true once CMD is; false at the deadline
  local deadline=$(( $(now_us) + $1 * 1000000 )) what=$2; shift 2
  until "$@"; do
    [ "$(now_us)" -lt "$deadline" ] || { log "timed out: $what"; return 1; }
    sleep 0.05
  done
}

has_vip() { lab exec "$1" -- ip -o -4 addr show dev eth0 2>/dev/null | grep -q " ${VIP//./\\.}/"; }
vip_holders() { local n; for n in "${NODES[@]}"; do has_vip "$n" && echo "$n"; done; }

# --- the systems -------------------------------------------------------------------------------
deadtime_s() {  # SYSTEM: the peer's deadtime, rounded up to seconds (for the SIGKILL check)
  case "$1" in *-thesis) echo 30 ;; *) echo 1 ;; esac
}
slow() { case "$1" in *-thesis) return 0 ;; *) return 1 ;; esac; }

install_system() {  # SYSTEM NODE: its configuration into the node
  local s=$1 n=$2 d; d=$(node_dir "$n")/etc-ha.d
  rm -rf "${d:?}"/*
  case "$s" in
    clusterd-*|heartbeat-*)
      if [ "${s%%-*}" = heartbeat ]; then
        # The node's /etc/ha.d is the lab's own directory: Heartbeat's scripts from the package.
        cp -a /etc/ha.d/harc /etc/ha.d/rc.d /etc/ha.d/resource.d /etc/ha.d/shellfuncs "$d/"
      fi
      cp "$CONF/$s.ha.cf" "$d/ha.cf"
      cp "$CONF/haresources" "$CONF/authkeys" "$d/"
      chmod 600 "$d/authkeys" ;;
    keepalived) cp "$CONF/keepalived.conf" "$d/keepalived.conf" ;;
  esac
}

# Heartbeat's state directories, as its package and init script make them (the node's /run and
# /var/lib/heartbeat are empty tmpfs of its own).
heartbeat_dirs() {  # NODE
  lab exec "$1" -- sh -c '
    set -e
    umask 022
    mkdir -p /run/resource-agents /run/crm /run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd
    chmod 1755 /run/resource-agents
    chown hacluster:haclient /run/crm /run/heartbeat /run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd
    chmod 750 /run/crm /run/heartbeat /run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd
    cd /var/lib/heartbeat
    mkdir -p api casual ckpt lrm ccm crm pengine cores/root cores/hacluster cores/nobody
    chown hacluster:haclient ccm crm pengine
    chmod 750 ccm crm pengine
    chown hacluster cores/hacluster; chown nobody cores/nobody; chmod 700 cores/*'
}

start_ha() {  # SYSTEM NODE
  local s=$1 n=$2
  case "$s" in
    clusterd-*)
      lab exec "$n" -- mkdir -p /run/hapbx
      start_in "$n" ha "$BIN/clusterd" --config-dir /etc/ha.d --socket /run/hapbx/clusterd.sock ;;
    keepalived)
      lab exec "$n" -- mkdir -p /run/keepalived
      start_in "$n" ha keepalived -n -l -D -f /etc/ha.d/keepalived.conf -p /run/keepalived/keepalived.pid \
        -r /run/keepalived/vrrp.pid -c /run/keepalived/checkers.pid ;;
    heartbeat-*)
      heartbeat_dirs "$n" || die "$n: heartbeat's directories"
      # failover_nosync.so: Heartbeat's start-up sync(2) flushes its own state filesystem only.
      start_in "$n" ha env LD_PRELOAD="$BIN/failover_nosync.so" /usr/libexec/heartbeat/heartbeat -f ;;
  esac
}

start_node() {  # SYSTEM NODE: what the node runs (the probe's responder, the HA daemon)
  start_in "$2" responder "$BIN/failover_probe" --serve --name "$2"
  start_ha "$1" "$2"
}

# The HA daemon of NODE sees its peer (the cluster is formed, a failure would be noticed).
peer_seen() {  # SYSTEM NODE
  local s=$1 n=$2
  alive "$n" ha || return 1
  case "$s" in
    clusterd-*)
      [ "$(lab exec "$n" -- "$BIN/hapbx" cluster --socket /run/hapbx/clusterd.sock --json status 2>/dev/null |
        python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["peers"][0]["state"])' 2>/dev/null)" = up ] ;;
    heartbeat-*)
      [ "$(lab exec "$n" -- cl_status nodestatus "$(peer_of "$n")" 2>/dev/null)" = active ] ;;
    keepalived)
      # VRRP has no membership: the backup only listens. Ready = the daemon runs (the stable
      # window in wait_stable covers its master-down interval, 3 adverts = 30 ms).
      return 0 ;;
  esac
}

# Waits until exactly one node holds the VIP, both daemons see each other and both responders
# run, continuously for STABLE seconds; prints the holder. 1 at the deadline, 2 if an HA daemon
# is gone for 5 s (it exited by itself).
wait_stable() {  # SYSTEM SECONDS
  local s=$1 deadline=$(( $(now_us) + $2 * 1000000 )) since=0 h="" hs stable_us=1000000 n gone gone_since=0
  slow "$s" && stable_us=3000000
  while [ "$(now_us)" -lt "$deadline" ]; do
    # Gone for 5 s (not the moment Heartbeat re-execs itself and forks a new master).
    gone=""
    for n in "${NODES[@]}"; do alive "$n" ha || gone="$gone $n"; done
    if [ -n "$gone" ]; then
      [ "$gone_since" = 0 ] && gone_since=$(now_us)
      [ $(( $(now_us) - gone_since )) -ge 5000000 ] && { log "$s: the daemon on$gone is gone"; return 2; }
      sleep 0.1
      continue
    fi
    gone_since=0
    hs=$(vip_holders | tr '\n' ' ')
    if [ "$(echo $hs | wc -w)" = 1 ] && peer_seen "$s" asterisk1 && peer_seen "$s" asterisk2 &&
       alive asterisk1 responder && alive asterisk2 responder && [ "$(vip_holders | tr '\n' ' ')" = "$hs" ]; then
      if [ "$since" = 0 ] || [ "${hs% }" != "$h" ]; then since=$(now_us); h=${hs% }; fi
      [ $(( $(now_us) - since )) -ge $stable_us ] && { echo "$h"; return 0; }
    else
      since=0
    fi
    sleep 0.1
  done
  log "$s: not stable after ${2}s: VIP on '$(vip_holders | tr '\n' ' ')'"
  return 1
}

# A node whose HA daemon or responder is gone (exited by itself) is power-cycled and started
# again, as its init would; prints the nodes it revived.
revive() {  # SYSTEM
  local n
  for n in "${NODES[@]}"; do
    if ! alive "$n" ha || ! alive "$n" responder; then
      lab fault power-off "$n" >/dev/null
      lab fault power-on "$n" >/dev/null || die "power-on $n"
      start_node "$1" "$n"
      echo "$n"
    fi
  done
}

# --- the probe ---------------------------------------------------------------------------------
PROBE_N=0
# With NAME ending in -back (a failback) no answer at the start is a result, not a failure.
start_probe() {  # NAME MAX_SECONDS [extra probe options]: runs in phones; sets PROBE_NAME
  local name=$1 max=$2; shift 2
  PROBE_N=$(( PROBE_N + 1 ))
  PROBE_NAME=$(printf '%03d-%s' "$PROBE_N" "$name")
  rm -f "$RESULTS/probes/$PROBE_NAME.ready"
  lab exec phones -- setsid "$BIN/failover_probe" --probe "$VIP" --max-seconds "$max" \
    --ready-file "$RESULTS/probes/$PROBE_NAME.ready" --log "$RESULTS/probes/$PROBE_NAME.log" \
    --pid-file "$PIDS/phones.probe" "$@" </dev/null >"$RESULTS/probes/$PROBE_NAME.sum" 2>&1 &
  if ! wait_until 5 "the probe of $PROBE_NAME gets answers" test -s "$RESULTS/probes/$PROBE_NAME.ready"; then
    case "$name" in *-back) return 0 ;; esac
    end_probe
    return 1
  fi
  sleep 0.3  # a steady flow of answers before the fault (30 probes)
}
wait_probe() {  # SECONDS: until the probe ended by itself (it is bounded by --max-seconds)
  local p; p=$(pid_of phones probe)
  wait_until "$1" "the probe ends" sh -c "! kill -0 $p 2>/dev/null" || { kill -TERM "$p" 2>/dev/null; sleep 1.5; }
  wait_until 5 "the probe's summary" grep -q '^probes=' "$RESULTS/probes/$PROBE_NAME.sum"
}
end_probe() { kill -TERM "$(pid_of phones probe)" 2>/dev/null; wait_probe 10; }
probe_field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$RESULTS/probes/$PROBE_NAME.sum" | head -1; }

# --- one trial ---------------------------------------------------------------------------------
record() { printf '%s\n' "$*" | tr ' ' '\t' >>"$TSV"; }

# Takes the failed node back: power-on and its daemons, or the cables in.
restore() {  # SYSTEM FAULT NODE
  case "$2" in
    power-off|shutdown) lab fault power-on "$3" >/dev/null || die "power-on $3"; start_node "$1" "$3" ;;
    cable-pull) lab fault cable-plug "$3" >/dev/null || die "cable-plug $3" ;;
  esac
}

LAST_TRIAL=-
revive_after() {  # SYSTEM: daemons that exited after the last trial's failback window, restarted
  local revived; revived=$(revive "$1" | tr '\n' ' ')
  if [ -n "$revived" ]; then
    log "$1: the daemon on ${revived% } had exited after $LAST_TRIAL's failback; restarted"
    printf '%s\t%s\n' "$LAST_TRIAL" "${revived% }" >>"$RESULTS/exits.tsv"
  fi
}
trial() {  # SYSTEM FAULT N
  local s=$1 f=$2 k=$3 holder max_s=20 settle=3 gap new fb_gap fb_lost fb_sw rc note=- n
  slow "$s" && { max_s=120; settle=10; }
  revive_after "$s"
  LAST_TRIAL="$s $f $k"
  # A cluster that does not settle by itself (or a VIP nobody answers on) is started afresh,
  # once; the reset is counted in the report.
  if ! holder=$(wait_stable "$s" 150) || ! start_probe "$s-$f-$k" "$max_s" --stop-after-switch-ms 1000; then
    log "$s: no stable cluster answering on the VIP before $f trial $k: both nodes restarted"
    printf '%s\t%s\t%s\n' "$s" "$f" "$k" >>"$RESULTS/resets.tsv"
    system_up "$s"
    holder=$(wait_stable "$s" 150) || die "$s: no stable cluster before $f trial $k"
    start_probe "$s-$f-$k" "$max_s" --stop-after-switch-ms 1000 || die "$s: the probe gets no answers"
  fi
  case "$f" in
    power-off) lab fault power-off "$holder" >/dev/null ;;
    cable-pull) lab fault cable-pull "$holder" >/dev/null ;;
    shutdown)
      stop_pid "$holder" ha 120 || log "$s: $holder's daemon still runs 120 s after SIGTERM"
      lab fault shutdown "$holder" >/dev/null ;;
  esac
  wait_probe $(( max_s + 5 ))
  gap=$(probe_field switch_gap_ms); new=$(probe_field last)
  if [ "$gap" = -1 ] || [ "$new" = "$holder" ]; then
    gap=none
    log "$s $f #$k: no answer from the other node within ${max_s}s ($(cat "$RESULTS/probes/$PROBE_NAME.sum"))"
  fi
  local fo_probe=$PROBE_NAME
  # Failback: the node comes back while the phones keep probing.
  start_probe "$s-$f-$k-back" $(( max_s * 2 + 180 ))
  restore "$s" "$f" "$holder"
  wait_stable "$s" 150 >/dev/null; rc=$?
  [ $rc = 0 ] && sleep "$settle"  # a late move back would show here
  end_probe
  case $rc in 1) note=not-settled ;; 2) note=daemon-exited ;; esac
  if [ $rc = 0 ]; then for n in "${NODES[@]}"; do alive "$n" ha || note=daemon-exited; done; fi
  fb_lost=$(probe_field lost); fb_sw=$(probe_field switches)
  fb_gap=0; [ "${fb_lost:-0}" != 0 ] && fb_gap=$(probe_field max_gap_ms)
  # An outage still going on when the probing ended (the daemons gave the VIP up and exited).
  local open fb_open=no; open=$(probe_field open_gap_ms)
  if [ "${open%%.*}" -gt 0 ] 2>/dev/null && [ "${open%%.*}" -ge "${fb_gap%%.*}" ]; then fb_gap=$open; fb_open=yes; fi
  log "$s $f #$k: $holder -> $new gap ${gap} ms; failback: outage $([ $fb_open = yes ] && echo "at least ")${fb_gap} ms$([ $fb_open = yes ] && echo " (no answer at the end)"), lost ${fb_lost}, VIP moves ${fb_sw}$([ "$note" = - ] || echo " ($note)")"
  record "$s" "$f" "$k" "$holder" "$new" "$gap" "$fb_gap" "$fb_lost" "$fb_sw" "$note" "$fb_open" "$fo_probe"
}

# SIGKILL of the active node's HA daemon alone (its processes, not clusterd's resource guard):
# the peer declares it dead and takes the VIP; does the killed node keep it too?
sigkill_check() {  # SYSTEM
  local s=$1 holder peer p pids both=no
  revive_after "$s"
  LAST_TRIAL="$s sigkill"
  holder=$(wait_stable "$s" 150) || die "$s: no stable cluster before the SIGKILL check"
  peer=$(peer_of "$holder")
  p=$(pid_of "$holder" ha)
  # The daemon's processes (keepalived's VRRP child, Heartbeat's read/write children die with
  # it in a crash), but not clusterd's resource guard: surviving clusterd is its job.
  pids=$(for q in $(tree_of "$p"); do [ "$(cat "/proc/$q/comm" 2>/dev/null)" = clusterd-guard ] || echo "$q"; done | tr '\n' ' ')
  # shellcheck disable=SC2086 # a list of PIDs
  kill -KILL $pids 2>/dev/null
  wait_until $(( $(deadtime_s "$s") * 3 + 10 )) "$peer takes the VIP" has_vip "$peer"
  sleep $(( $(deadtime_s "$s") + 2 ))  # anything that would drop it again
  local on; on=$(vip_holders | tr '\n' ' ')
  [ "$(echo $on | wc -w)" = 2 ] && both=yes
  log "$s: SIGKILL of $holder's daemon (PIDs $pids): the VIP is on: ${on:-no node}"
  printf '%s\t%s\t%s\n' "$s" "$both" "${on% }" >>"$RESULTS/sigkill.tsv"
  # Back to a clean cluster: the node with the orphaned daemon state is power-cycled.
  lab fault power-off "$holder" >/dev/null; lab fault power-on "$holder" >/dev/null
  start_node "$s" "$holder"
}

# A system from empty nodes: both powered off and on (no address, no process left of the last
# one), its configuration in, its daemons started (asterisk1 first: the preferred node).
system_up() {  # SYSTEM
  local n
  for n in "${NODES[@]}"; do lab fault power-off "$n" >/dev/null; done
  for n in "${NODES[@]}"; do lab fault power-on "$n" >/dev/null || die "power-on $n"; install_system "$1" "$n"; done
  start_node "$1" asterisk1
  slow "$1" || sleep 0.5
  start_node "$1" asterisk2
}

# --- the report --------------------------------------------------------------------------------
report() {
  python3 - "$TSV" "$RESULTS/sigkill.tsv" "$RESULTS/exits.tsv" "$RESULTS/resets.tsv" "$SYSTEMS" "$FAULTS" <<'PY'
import statistics, sys
def table(path):
    try:
        return [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
    except OSError:
        return []
rows, kills, exits, resets = table(sys.argv[1]), table(sys.argv[2]), table(sys.argv[3]), table(sys.argv[4])
systems, faults = sys.argv[5].split(), sys.argv[6].split()
def num(v):
    try: return float(v)
    except ValueError: return None
med = {}
print("failover gap (ms): last answer from the old node -> first answer from the new one (10 ms probes)")
print("failback: the failed node back (power-on + daemons, or cables in): longest outage (0 = no probe lost;")
print(">: no answer any more when the probing ended), VIP moves, and HA daemons that exited by themselves")
print("(the script restarts them before the next trial)")
print("%-17s %-10s %6s %8s %8s %8s | %9s %5s %5s" % ("system", "fault", "trials", "median", "min", "max",
                                                 "fb max ms", "moves", "exits"))
for s in systems:
    for f in faults:
        r = [x for x in rows if x[0] == s and x[1] == f]
        if not r: continue
        ok = [v for v in (num(x[5]) for x in r) if v is not None]
        fb = [num(x[6]) or 0.0 for x in r]
        fb_open = any(x[10] == "yes" for x in r)
        moves = sum(int(x[8]) for x in r if x[8].isdigit())
        ex = sum(1 for x in r if x[9] == "daemon-exited") + \
             sum(1 for e in exits if e[0].split()[:2] == [s, f])
        unsettled = sum(1 for x in r if x[9] == "not-settled")
        nreset = sum(1 for x in resets if x[:2] == [s, f])
        if ok: med[(s, f)] = statistics.median(ok)
        cell = lambda v: "%8.1f" % v
        print("%-17s %-10s %3d/%-2d %s %s %s | %9s %5d %5d%s" % (s, f, len(ok), len(r),
              cell(statistics.median(ok)) if ok else "       -", cell(min(ok)) if ok else "       -",
              cell(max(ok)) if ok else "       -", (">" if fb_open else "") + "%.1f" % max(fb), moves, ex,
              ("" if len(ok) == len(r) else "  %d trial(s) without takeover" % (len(r) - len(ok))) +
              ("" if not unsettled else "  %d failback(s) not settled in 150 s" % unsettled) +
              ("" if not nreset else "  %d reset(s) before a trial" % nreset)))
print()
print("ratio of median gaps per fault (below 1: the first has the shorter gap)")
for f in faults:
    parts = []
    for a, b in (("clusterd-fast", "keepalived"), ("clusterd-30ms", "keepalived"),
                 ("clusterd-fast", "heartbeat-fast"),
                 ("clusterd-thesis", "heartbeat-thesis"), ("clusterd-fast", "heartbeat-thesis")):
        x, y = med.get((a, f)), med.get((b, f))
        if x is not None and y:
            parts.append("%s/%s %.2f" % (a, b, x / y))
    if parts: print("  %-10s %s" % (f, ", ".join(parts)))
if kills:
    print()
    print("SIGKILL of the active node's HA daemon alone: VIP on both nodes afterwards?")
    for k in kills:
        print("  %-17s %-3s (VIP on: %s)" % (k[0], k[1], k[2] if len(k) > 2 and k[2] else "no node"))
PY
}

# --- main --------------------------------------------------------------------------------------
log "lab in $HAPBX_LAB_DIR, results in $RESULTS"
lab up --example none >/dev/null || die "lab up"

if [ "$MODE" = soak ]; then
  s=clusterd-fast
  CUR_SYSTEM=$s
  system_up "$s"
  holder=$(wait_stable "$s" 60) || die "$s: no stable cluster"
  log "soak: ${SOAK_SECONDS}s of $s (VIP on $holder) with stress-ng --cpu $SOAK_CPUS on the machine"
  declare -A before
  for n in "${NODES[@]}"; do before[$n]=$(wc -l <"$RESULTS/logs/$n.ha.log"); done
  # stress-ng runs inside the gw host (the lab's down stops it too) and is bounded by --timeout.
  start_in gw stress stress-ng --cpu "$SOAK_CPUS" --cpu-method matrixprod --timeout $(( SOAK_SECONDS + 5 ))s --metrics-brief
  sleep 2
  start_probe soak $(( SOAK_SECONDS + 30 )) || die "soak: no answers"
  sleep "$SOAK_SECONDS"
  end_probe
  stop_pid gw stress 10 || true
  moves=$(probe_field switches); lost=$(probe_field lost); maxgap=$(probe_field max_gap_ms); probes=$(probe_field probes)
  # clusterd's own record over the soak: a peer declared dead, the ping node lost, groups started.
  dead=0; pingl=0
  for n in "${NODES[@]}"; do
    tail -n +$(( ${before[$n]} + 1 )) "$RESULTS/logs/$n.ha.log" >"$RESULTS/logs/$n.soak.log"
    dead=$(( dead + $(grep -c 'is dead' "$RESULTS/logs/$n.soak.log") ))
    pingl=$(( pingl + $(grep -c 'ping nodes unreachable' "$RESULTS/logs/$n.soak.log") ))
  done
  on=$(vip_holders | tr '\n' ' ')
  load=$(grep -E 'cpu +[0-9]' "$RESULTS/logs/gw.stress.log" | tail -1)
  {
    echo "soak: $s, ${SOAK_SECONDS}s, stress-ng --cpu $SOAK_CPUS --cpu-method matrixprod on the 2-core machine"
    echo "  probes $probes, lost $lost, longest gap between answers ${maxgap} ms"
    echo "  VIP moves seen by the phones (false failovers): $moves"
    echo "  clusterd log lines over the soak (both nodes): 'node ... is dead' $dead, 'ping nodes unreachable' $pingl"
    echo "  VIP at the end on: ${on% }"
    echo "  stress-ng: ${load:-see $RESULTS/logs/gw.stress.log}"
  } | tee "$RESULTS/soak.txt"
  exit 0
fi

: >"$TSV"
for s in $SYSTEMS; do
  var=TRIALS_${s//-/_}
  ntrials=${!var:-$TRIALS}
  CUR_SYSTEM=$s
  log "=== $s: $ntrials trial(s) of each of: $FAULTS"
  system_up "$s"
  for f in $FAULTS; do
    for k in $(seq "$ntrials"); do trial "$s" "$f" "$k"; done
  done
  [ "$SIGKILL_CHECK" = 1 ] && sigkill_check "$s"
  # The daemons' logs of this system (the next one powers the nodes off and on).
  for h in "${NODES[@]}"; do
    [ -f "$RESULTS/logs/$h.ha.log" ] && mv "$RESULTS/logs/$h.ha.log" "$RESULTS/logs/$h.$s.log"
    [ -f "$(node_dir "$h")/log/heartbeat.log" ] && mv "$(node_dir "$h")/log/heartbeat.log" "$RESULTS/logs/$h.$s.heartbeat.log"
  done
done
echo
report | tee "$RESULTS/report.txt"
