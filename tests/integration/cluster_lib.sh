# Shared helpers of the clusterd lab tests (cluster_*.sh): a private lab (HAPBX_LAB_DIR) removed
# by the EXIT trap, clusterd started inside the nodes with examples/vip, waits with deadlines.
# Usage: source "$(dirname "$0")/cluster_lib.sh" BIN_DIR
set -u
BIN=$(cd "${1:?usage: $0 BIN_DIR}" && pwd) || exit 2
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: the lab needs root" >&2; exit 0; }
export HAPBX_LAB_DIR
HAPBX_LAB_DIR=$(mktemp -d /tmp/hapbx-cluster-test.XXXXXX)
T0=${EPOCHREALTIME/./}
now_us() { echo "${EPOCHREALTIME/./}"; }
log() { local d=$(( $(now_us) - T0 )); printf '[%3d.%02ds] %s\n' $(( d / 1000000 )) $(( d % 1000000 / 10000 )) "$*" >&2; }
fail() {
  log "FAIL: $*"
  for n in asterisk1 asterisk2; do
    echo "--- clusterd log of $n:" >&2
    tail -n 25 "$HAPBX_LAB_DIR/$n.log" "$HAPBX_LAB_DIR/current/$n/root/log/clusterd.log" >&2 2>/dev/null
  done
  exit 1
}
lab() { "$BIN/hapbx" lab "$@"; }
cleanup() {
  local rc=$?
  lab down >/dev/null 2>&1
  rm -rf "$HAPBX_LAB_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

has_vip() { lab exec "$1" -- ip -o -4 addr show dev eth0 2>/dev/null | grep -q ' 198\.18\.0\.10/'; }
vip_answers() { lab exec phones -- ping -c 1 -W 1 -q 198.18.0.10 >/dev/null 2>&1; }
wait_for() {  # SECONDS WHAT CMD...
  local secs=$1 what=$2; shift 2
  local deadline=$(( $(now_us) + secs * 1000000 ))
  until "$@"; do
    [ "$(now_us)" -lt "$deadline" ] || fail "timed out after ${secs}s waiting for: $what"
    sleep 0.02
  done
}
start_clusterd() {  # NODE
  lab exec "$1" -- "$BIN/clusterd" --config-dir /etc/ha.d --socket /run/hapbx/clusterd.sock >>"$HAPBX_LAB_DIR/$1.log" 2>&1 &
}
cluster() { local n=$1; shift; lab exec "$n" -- "$BIN/hapbx" cluster --socket /run/hapbx/clusterd.sock "$@"; }
json() { cluster "$1" --json status 2>/dev/null | python3 -c "import json,sys; s=json.load(sys.stdin); print($2)"; }
# NODE's group is Running (every resource started, the announcements sent).
running() { [ "$(json "$1" 's["state"]')" = Running ]; }
peer_up() { [ "$(json "$1" 's["peers"][0]["state"]')" = up ]; }
install_config() {  # NODE: the example, with authkeys mode 600 as Heartbeat demands
  local d="$HAPBX_LAB_DIR/current/$1/root/etc-ha.d"
  cp "$ROOT/examples/vip/ha.cf" "$ROOT/examples/vip/haresources" "$ROOT/examples/vip/authkeys" "$d/"
  chmod 600 "$d/authkeys"
}

# --- Helpers of cluster_failback.sh, cluster_monitor.sh, cluster_fencing.sh -------------------
etc_ha() { echo "$HAPBX_LAB_DIR/current/$1/root/etc-ha.d"; }  # NODE's /etc/ha.d, seen from here
lab_ns() { echo "$(cat "$HAPBX_LAB_DIR/current/prefix")$1"; }  # HOST's network namespace
# ha_cf_set NODE DIRECTIVE [VALUE...]: DIRECTIVE's lines in NODE's ha.cf replaced by this one.
ha_cf_set() {
  local n=$1 kw=$2; shift 2
  sed -i "/^[[:space:]]*$kw\([[:space:]]\|\$\)/d" "$(etc_ha "$n")/ha.cf"
  echo "$kw $*" >>"$(etc_ha "$n")/ha.cf"
}
# The VIP is on NODE's eth0 and eth0 is up (what the LAN can see): one `ip` from the root
# namespace, a few ms, so it can be sampled every 10-20 ms. A powered-off node or a pulled
# cable has its eth0 down.
vip_up_on() { ip -n "$(lab_ns "$1")" -o -4 addr show dev eth0 up 2>/dev/null | grep -q ' 198\.18\.0\.10/'; }
# sampler_start FILE: a background loop writing "MICROSECONDS A1 A2" (1 = holds the VIP, per
# vip_up_on) every ~10-15 ms until sampler_stop.
sampler_start() {
  local f=$1 n1 n2
  n1=$(lab_ns asterisk1) n2=$(lab_ns asterisk2)
  ( trap 'exit 0' TERM
    exec {never}<> <(:)  # read -t on it: a sleep without a fork
    # Ends with the lab or with the test (even killed), whatever happens.
    while [ -e "$HAPBX_LAB_DIR/current/prefix" ] && kill -0 $$ 2>/dev/null; do
      # asterisk1 is read before and after asterisk2 and counts only if both reads agree: the
      # two reads are milliseconds apart, and a hand-over between them is not an overlap.
      a=0; b=0; a_after=0
      [[ $(ip -n "$n1" -o -4 addr show dev eth0 up 2>/dev/null) == *" 198.18.0.10/"* ]] && a=1
      [[ $(ip -n "$n2" -o -4 addr show dev eth0 up 2>/dev/null) == *" 198.18.0.10/"* ]] && b=1
      [[ $(ip -n "$n1" -o -4 addr show dev eth0 up 2>/dev/null) == *" 198.18.0.10/"* ]] && a_after=1
      [ "$a_after" = 1 ] || a=0
      echo "${EPOCHREALTIME/./} $a $b"
      read -r -t 0.008 -u "$never"
    done ) >"$f" 2>/dev/null &
  SAMPLER_PID=$!
}
sampler_stop() {
  [ -n "${SAMPLER_PID:-}" ] || return 0
  kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null; SAMPLER_PID=
}
# sampler_report FILE: "samples N, max gap G ms, both B, a1 X, a2 Y, none Z" (counts of samples).
sampler_report() {
  awk 'NR > 1 && $1 - prev > gap { gap = $1 - prev } { prev = $1; n++ }
       $2 == 1 && $3 == 1 { both++ } $2 == 1 && $3 == 0 { a1++ } $2 == 0 && $3 == 1 { a2++ }
       $2 == 0 && $3 == 0 { none++ }
       END { printf "samples %d, max gap %d ms, both %d, a1 %d, a2 %d, none %d\n",
             n, gap / 1000, both, a1, a2, none }' "$1"
}
sampler_count() { sampler_report "$1" | sed -n "s/.* $2 \([0-9]*\).*/\1/p"; }  # FILE both|a1|a2|none
# The longest run of "both" samples in ms (0 if never), for reports.
sampler_both_ms() {
  awk '$2 == 1 && $3 == 1 { if (!s) s = $1; e = $1; next } s { if (e - s > m) m = e - s; s = 0 }
       END { if (s && e - s > m) m = e - s; printf "%d\n", m / 1000 }' "$1"
}
# probe_start FILE: the phones ping the VIP every 10 ms (timestamps, bounded by SECONDS=60)
# until probe_stop; probe_report FILE prints the outage they saw.
probe_start() {
  local f=$1
  rm -f "$f.pid"
  lab exec phones -- sh -c "echo \$\$ >'$f.pid'; exec ping -D -n -i 0.01 -W 1 -w ${2:-60} 198.18.0.10" >"$f" 2>&1 &
  PROBE_JOB=$!
  local deadline=$(( $(now_us) + 5000000 ))
  until [ -s "$f.pid" ] && grep -q 'bytes from' "$f" 2>/dev/null; do
    [ "$(now_us)" -lt "$deadline" ] || fail "the VIP probe from the phones did not start: $(cat "$f")"
    sleep 0.02
  done
}
probe_stop() {
  [ -s "$1.pid" ] && kill -INT "$(cat "$1.pid")" 2>/dev/null
  wait "$PROBE_JOB" 2>/dev/null
  PROBE_JOB=
}
# "replies R of S sent, longest gap G ms, duplicates D" from ping -D output.
probe_report() {
  python3 - "$1" <<'PY'
import re, sys
ts, dups, sent = [], 0, 0
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"\[(\d+\.\d+)\] \d+ bytes from [0-9.]+: icmp_seq=(\d+)", line)
    if m:
        if "DUP!" in line: dups += 1
        else: ts.append(float(m.group(1)))
    m = re.search(r"(\d+) packets transmitted", line)
    if m: sent = int(m.group(1))
gap = max((b - a for a, b in zip(ts, ts[1:])), default=0.0)
print(f"replies {len(ts)} of {sent} sent, longest gap {int(gap * 1000)} ms, duplicates {dups}")
PY
}
probe_gap_ms() { probe_report "$1" | sed -n 's/.*longest gap \([0-9]*\) ms.*/\1/p'; }
probe_dups() { probe_report "$1" | sed -n 's/.*duplicates \([0-9]*\).*/\1/p'; }
# within SECONDS CMD...: like wait_for, but false at the deadline instead of failing.
within() {
  local deadline=$(( $(now_us) + $1 * 1000000 )); shift
  until "$@"; do [ "$(now_us)" -lt "$deadline" ] || return 1; sleep 0.02; done
}
# The group state NODE's clusterd reports ("" when it does not answer).
group_state() { json "$1" 's["state"]' 2>/dev/null; }
peer_dead() { [ "$(json "$1" 's["peers"][0]["state"]' 2>/dev/null)" = dead ]; }  # as NODE's membership says
# The background samplers and probes end before the lab goes (then cleanup, with the exit code).
stop_background() {
  sampler_stop
  [ -n "${PROBE_JOB:-}" ] && for f in "$HAPBX_LAB_DIR"/*.ping.pid; do [ -s "$f" ] && kill -INT "$(cat "$f")" 2>/dev/null; done
  return 0
}
trap 'rc=$?; ( stop_background ) 2>/dev/null; (exit $rc); cleanup' EXIT
