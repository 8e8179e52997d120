# Shared helpers for the replicated-disk integration tests (replica_*.sh): two replicad on
# loopback (asterisk1 127.0.0.1:P1, asterisk2 127.0.0.1:P2), each with its own directory in the
# temp dir ($RP_TMP/n1, $RP_TMP/n2: image, device symlink, run dir, mount point, socket).
#
# The whole script runs in a private mount namespace (re-executed under
# `unshare -m --propagation private`), so its mounts (FUSE and ext4) are invisible to others and
# die with it. Loop devices are global: the cleanup trap detaches only those whose backing file
# lies in our temp dir, after unmounting our filesystems and stopping our daemons by PID.
#
# Environment: HAPBX_KEEP_TMP=1 keeps the temp dir, HAPBX_KEEP_TMP_ON_FAIL=1 only on failure.
# Usage:  source "$(dirname "$0")/replica_lib.sh"; rp_init "$1"      # $1 = build/bin
#         rp_config [KEY=VALUE...]  ; rp_image 1 256M ; rp_start 1 ; rp_cli 1 create-md r0 ...

if [ -z "${RP_IN_NAMESPACE:-}" ]; then
  command -v unshare >/dev/null || { echo "missing tool: unshare" >&2; exit 2; }
  RP_IN_NAMESPACE=1 exec unshare -m --propagation private bash "$0" "$@"
fi

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RP_RESOURCE=r0
declare -A RP_PID=()

rp_init() {
  HP_BIN=$(cd "${1:?usage: $0 BIN_DIR}" && pwd) || { echo "no such bin dir: $1" >&2; exit 2; }
  local tool
  for tool in python3 timeout losetup mkfs.ext4 e2fsck truncate sha256sum; do
    command -v "$tool" >/dev/null || { echo "missing tool: $tool (run: make deps)" >&2; exit 2; }
  done
  [ -x "$HP_BIN/replicad" ] && [ -x "$HP_BIN/hapbx" ] || { echo "build replicad and hapbx first" >&2; exit 2; }
  [ -c /dev/fuse ] && [ -c /dev/loop-control ] || { echo "SKIP: no /dev/fuse or /dev/loop-control" >&2; exit 0; }
  HP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/hapbx-rp.XXXXXX")
  RP_TMP=$HP_TMP
  trap rp_cleanup EXIT
  trap 'exit 130' INT TERM
  cd "$HP_TMP" || exit 2
  mkdir -p n1/run n1/mnt n1/dev n2/run n2/mnt n2/dev
  RP_PORT1=$(hp_free_port) && RP_PORT2=$(hp_free_port) || hp_fail "no free port"
  while [ "$RP_PORT2" = "$RP_PORT1" ]; do RP_PORT2=$(hp_free_port); done
}

# Our mount points, deepest first (from our namespace's mountinfo).
rp_our_mounts() {
  awk -v t="$RP_TMP" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# Loop devices whose backing file lies in our temp dir.
rp_our_loops() {
  local f b
  for f in /sys/block/loop*/loop/backing_file; do
    [ -r "$f" ] || continue
    b=$(cat "$f" 2>/dev/null) || continue
    case "$b" in "$RP_TMP"/*) echo "/dev/$(basename "$(dirname "$(dirname "$f")")")" ;; esac
  done
}

rp_cleanup() {
  local rc=$?
  trap - EXIT
  set +e
  local m pid l n
  # 1. our filesystems (ext4 on the devices) - lazily, a dead FUSE below may hang a plain umount.
  for m in "$RP_TMP"/n1/mnt "$RP_TMP"/n2/mnt; do
    mountpoint -q "$m" 2>/dev/null && umount -l "$m"
  done
  # 2. our daemons: SIGTERM demotes and removes the devices; SIGKILL what does not stop.
  for pid in "${HP_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null; done
  for pid in "${HP_PIDS[@]}"; do hp_reap "$pid" 15 || { hp_kill_tree "$pid"; hp_reap "$pid" 5; }; done
  # 3. loop devices left over a killed daemon's FUSE file, then the FUSE mounts.
  for l in $(rp_our_loops); do losetup -d "$l" 2>/dev/null; done
  for m in $(rp_our_mounts); do umount -l "$m" 2>/dev/null; done
  for n in $(seq 50); do
    [ -z "$(rp_our_loops)" ] && [ -z "$(rp_our_mounts)" ] && break
    sleep 0.1
  done
  [ -n "$(rp_our_loops)" ] && echo "warning: loop devices left: $(rp_our_loops)" >&2
  if [ "${HAPBX_KEEP_TMP:-0}" = 1 ] || { [ "$rc" != 0 ] && [ "${HAPBX_KEEP_TMP_ON_FAIL:-0}" = 1 ]; }; then
    echo "temp dir kept: $HP_TMP" >&2
  else
    rm -rf "$HP_TMP"
  fi
  exit "$rc"
}

# rp_config [FILE] with KEY=VALUE overrides: writes the resource file for both nodes.
# Keys: protocol, rate, secret, secret2 (asterisk2's secret when different: a second file),
#       sb0, sb1, sb2 (after-sb-*), al (al-extents), csums, verify, extra_net, extra_disk.
rp_config() {
  local protocol=C rate=100M secret=s3cret secret2= sb0=disconnect sb1=disconnect sb2=disconnect
  local al=7 csums=sha1 verify=sha1 extra_net= extra_disk= kv
  for kv in "$@"; do
    case "$kv" in
      protocol=*) protocol=${kv#*=} ;; rate=*) rate=${kv#*=} ;; secret=*) secret=${kv#*=} ;;
      secret2=*) secret2=${kv#*=} ;; sb0=*) sb0=${kv#*=} ;; sb1=*) sb1=${kv#*=} ;;
      sb2=*) sb2=${kv#*=} ;; al=*) al=${kv#*=} ;; csums=*) csums=${kv#*=} ;;
      verify=*) verify=${kv#*=} ;; extra_net=*) extra_net=${kv#*=} ;;
      extra_disk=*) extra_disk=${kv#*=} ;;
      *) hp_fail "rp_config: unknown key $kv" ;;
    esac
  done
  local n s
  for n in 1 2; do
    s=$secret
    [ "$n" = 2 ] && [ -n "$secret2" ] && s=$secret2
    cat >"$RP_TMP/n$n/r0.res" <<RES
global { usage-count no; }
resource r0 {
  protocol $protocol;
  startup { wfc-timeout 0; degr-wfc-timeout 120; }
  disk    { on-io-error detach; al-extents $al; $extra_disk }
  net     { cram-hmac-alg sha1; shared-secret "$s"; after-sb-0pri $sb0;
            after-sb-1pri $sb1; after-sb-2pri $sb2; connect-int 1; ping-int 2; ping-timeout 10; $extra_net }
  syncer  { rate $rate; verify-alg $verify; csums-alg $csums; }
  on asterisk1 { device $RP_TMP/n1/dev/r0; disk $RP_TMP/n1/r0.img; address 127.0.0.1:$RP_PORT1; meta-disk internal; }
  on asterisk2 { device $RP_TMP/n2/dev/r0; disk $RP_TMP/n2/r0.img; address 127.0.0.1:$RP_PORT2; meta-disk internal; }
}
RES
  done
}

# rp_image N SIZE: a fresh (sparse) image for node N.
rp_image() { rm -f "$RP_TMP/n$1/r0.img"; truncate -s "$2" "$RP_TMP/n$1/r0.img" || hp_fail "truncate"; }

rp_sock() { echo "$RP_TMP/n$1/replicad.sock"; }
rp_dev() { echo "$RP_TMP/n$1/dev/r0"; }
rp_mnt() { echo "$RP_TMP/n$1/mnt"; }

# rp_cli N ARGS...: `hapbx replica` against node N's replicad (waits up to 120 s for an answer).
# A leading --json is an option of hapbx; the words after '--' go to replicad as they are
# (so that flags such as --force reach it).
rp_cli() {
  local n=$1; shift
  local opts=()
  [ "${1:-}" = --json ] && { opts+=(--json); shift; }
  "$HP_BIN/hapbx" replica --socket "$(rp_sock "$n")" --timeout 120 "${opts[@]}" -- "$@"
}

# rp_ok N ARGS...: rp_cli that must succeed (its output goes to the test log).
rp_ok() {
  local out
  out=$(rp_cli "$@" 2>&1) || hp_fail "hapbx replica ${*:2} on asterisk$1 failed: $out"
  hp_log "asterisk$1: ${*:2}: $(echo "$out" | head -n 3 | tr '\n' ' ')"
}

# rp_start N [EXTRA ARGS]: starts replicad for node N and waits until its CLI answers.
rp_start() {
  local n=$1; shift
  hp_spawn "replicad$n" "$HP_BIN/replicad" --config "$RP_TMP/n$n/r0.res" --node "asterisk$n" \
    --socket "$(rp_sock "$n")" --run-dir "$RP_TMP/n$n/run" "$@"
  RP_PID[$n]=$HP_LAST_PID
  local deadline=$(( $(date +%s) + 15 ))
  while ! rp_cli "$n" status >/dev/null 2>&1; do
    kill -0 "${RP_PID[$n]}" 2>/dev/null || hp_fail "replicad asterisk$n died at start"
    [ "$(date +%s)" -ge "$deadline" ] && hp_fail "replicad asterisk$n did not answer within 15 s"
    sleep 0.05
  done
  hp_log "replicad asterisk$n pid ${RP_PID[$n]} up (port $( [ "$n" = 1 ] && echo "$RP_PORT1" || echo "$RP_PORT2"))"
}

# rp_kill N SIGNAL: signals node N's replicad and waits for it to end.
rp_kill() { hp_stop "${RP_PID[$1]}" "${2:-TERM}"; }

# rp_json N EXPR: evaluates a python expression over node N's `status --json` resource r0 (`r`).
rp_json() {
  local n=$1 expr=$2 out
  out=$(rp_cli "$n" --json status r0 2>&1) || { echo "status failed: $out" >&2; return 2; }
  python3 -I -S -c '
import json, sys
r = json.loads(sys.argv[1])["resources"][0]
c = r["counters"]
v = eval(sys.argv[2])
if isinstance(v, bool):
    sys.exit(0 if v else 1)
print(v)
' "$out" "$expr"
}

# rp_expect N DESCRIPTION EXPR: rp_json must be true now.
rp_expect() {
  rp_json "$1" "$3" || { rp_cli "$1" status >&2; hp_fail "asterisk$1: $2 ($3)"; }
  hp_log "ok: asterisk$1: $2"
}

# rp_wait N SECONDS DESCRIPTION EXPR: waits until rp_json is true.
rp_wait() { hp_wait_until "$2" "asterisk$1: $3" rp_json "$1" "$4"; hp_log "ok: asterisk$1: $3"; }

# rp_pair_up [PROTOCOL ARGS]: images of SIZE (default 256M) on both, both daemons, create-md,
# up, asterisk1 primary --force, initial sync finished.
rp_pair_up() {
  local size=${1:-256M}
  rp_image 1 "$size"; rp_image 2 "$size"
  rp_start 1; rp_start 2
  rp_ok 1 create-md r0; rp_ok 2 create-md r0
  rp_ok 1 up r0; rp_ok 2 up r0
  rp_ok 1 wait-connect r0 30
  rp_ok 1 primary --force r0
  rp_ok 1 wait-sync r0 110
  rp_ok 2 wait-sync r0 30
}

# rp_data_sha N: sha256 of node N's data area (the image without the metadata at its end).
rp_data_sha() {
  local size
  size=$(rp_json "$1" 'r["data_size"]') || hp_fail "no data_size from asterisk$1"
  head -c "$size" "$RP_TMP/n$1/r0.img" | sha256sum | cut -d' ' -f1
}

# rp_mkfs_mount N: ext4 without discard on node N's device, mounted on its mount point.
rp_mkfs_mount() {
  mkfs.ext4 -q -F -E nodiscard "$(rp_dev "$1")" >"$RP_TMP/mkfs$1.log" 2>&1 || hp_fail "mkfs.ext4 on asterisk$1's device failed: $(cat "$RP_TMP/mkfs$1.log")"
  mount -o nodiscard "$(rp_dev "$1")" "$(rp_mnt "$1")" || hp_fail "mount on asterisk$1 failed"
  hp_log "asterisk$1: ext4 made and mounted"
}

# rp_detach_stale_loops N: after node N's replicad was killed, the loop device over its dead FUSE
# file is still attached: detach it (what an admin or clusterd does after a crash).
rp_detach_stale_loops() {
  local f b
  for f in /sys/block/loop*/loop/backing_file; do
    [ -r "$f" ] || continue
    b=$(cat "$f" 2>/dev/null) || continue
    case "$b" in "$RP_TMP/n$1"/*) losetup -d "/dev/$(basename "$(dirname "$(dirname "$f")")")" 2>/dev/null ;; esac
  done
  local m
  for m in $(awk -v t="$RP_TMP/n$1/run" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null
  done
}
