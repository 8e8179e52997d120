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
