#!/usr/bin/env bash
# Replicated disk benchmark: fio on ext4 (mkfs -E nodiscard, mount -o nodiscard) over
#  (a) a plain loop device (--direct-io=on) over a local image file: the anchor;
#  (b) replicad's device alone (Primary, disconnected);
#  (c) replicad's device with protocol C to a peer on loopback;
#  (d) the same with protocol A.
# For each: 4 KiB fsync-write latency (fio --rw=randwrite --bs=4k --fsync=1 --ioengine=sync:
# p50/p99 of the write+fsync pair, from fio's write clat and sync latency) and 1 MiB sequential
# write throughput (--rw=write --bs=1M --direct=1), with the ratios against (a).
# Then resync: a 2 GiB disk, the Primary disconnected, 64 MiB of changes written, reconnect: the
# bytes sent for the resync (target < 80 MiB) and its time against the configured rate.
#
# Usage: bash bench/replica.sh build/bin
# Environment: BENCH_SECONDS=10 (per fio run), BENCH_DISK=1G (cases a-d), BENCH_SEQ_SIZE=384M,
#   BENCH_RESYNC_RATE=32M, HAPBX_KEEP_TMP=1 to keep the logs and fio's JSON.
source "$(dirname "$0")/../tests/integration/replica_lib.sh"
rp_init "${1:-build/bin}"
command -v fio >/dev/null || hp_fail "missing tool: fio (run: make deps)"
SECS=${BENCH_SECONDS:-10}
DISK=${BENCH_DISK:-1G}
SEQ=${BENCH_SEQ_SIZE:-384M}
RATE=${BENCH_RESYNC_RATE:-32M}
RESULTS=$RP_TMP/results.txt
: >"$RESULTS"

# fio_case NAME MOUNTPOINT: the fio runs; appends "NAME p50_us p99_us seq_MiBps iops seq16_MiBps"
# to RESULTS (seq: one 1 MiB write at a time; seq16: 16 in flight with libaio, how a filesystem's
# writeback or a database's checkpoint drives a disk).
fio_case() {
  local name=$1 dir=$2
  fio --name=sync4k --directory="$dir" --rw=randwrite --bs=4k --fsync=1 --ioengine=sync \
    --size=64M --runtime="$SECS" --time_based --output-format=json >"$RP_TMP/$name-sync.json" \
    2>"$RP_TMP/$name-sync.err" || hp_fail "fio (sync) on $name: $(cat "$RP_TMP/$name-sync.err")"
  rm -f "$dir"/sync4k*
  fio --name=seq1m --directory="$dir" --rw=write --bs=1M --direct=1 --ioengine=sync \
    --size="$SEQ" --output-format=json >"$RP_TMP/$name-seq.json" 2>"$RP_TMP/$name-seq.err" \
    || hp_fail "fio (seq) on $name: $(cat "$RP_TMP/$name-seq.err")"
  rm -f "$dir"/seq1m*
  fio --name=seq1mq16 --directory="$dir" --rw=write --bs=1M --direct=1 --ioengine=libaio --iodepth=16 \
    --size="$SEQ" --output-format=json >"$RP_TMP/$name-seq16.json" 2>"$RP_TMP/$name-seq16.err" \
    || hp_fail "fio (seq, iodepth 16) on $name: $(cat "$RP_TMP/$name-seq16.err")"
  rm -f "$dir"/seq1mq16*
  python3 -I -S - "$name" "$RP_TMP/$name-sync.json" "$RP_TMP/$name-seq.json" "$RP_TMP/$name-seq16.json" >>"$RESULTS" <<'PY'
import json, sys
name, sync_path, seq_path, seq16_path = sys.argv[1:]
j = json.load(open(sync_path))["jobs"][0]
def pct(section, p):
    d = section.get("lat_ns", section.get("clat_ns", {})).get("percentile", {})
    return d.get(p, 0) / 1000.0
w = j["write"]
clat = w["clat_ns"]["percentile"]
s = j.get("sync", {})
sp = s.get("lat_ns", {}).get("percentile", {})
p50 = (clat.get("50.000000", 0) + sp.get("50.000000", 0)) / 1000.0
p99 = (clat.get("99.000000", 0) + sp.get("99.000000", 0)) / 1000.0
seq = json.load(open(seq_path))["jobs"][0]["write"]["bw_bytes"] / 1048576.0
seq16 = json.load(open(seq16_path))["jobs"][0]["write"]["bw_bytes"] / 1048576.0
print(name, round(p50, 1), round(p99, 1), round(seq, 1), w["iops"], round(seq16, 1))
PY
  hp_log "$name: $(tail -n 1 "$RESULTS")"
}

ext4_on() {  # DEVICE MOUNTPOINT
  mkfs.ext4 -q -F -E nodiscard "$1" >"$RP_TMP/mkfs.log" 2>&1 || hp_fail "mkfs.ext4 $1: $(cat "$RP_TMP/mkfs.log")"
  mount -o nodiscard "$1" "$2" || hp_fail "mount $1"
}

# (a) the anchor: a plain loop device with direct I/O over an image file in the same directory.
truncate -s "$DISK" "$RP_TMP/plain.img"
LOOP=$(losetup --direct-io=on -f --show "$RP_TMP/plain.img") || hp_fail "losetup"
mkdir -p "$RP_TMP/plain"
ext4_on "$LOOP" "$RP_TMP/plain"
fio_case a_plain_loop "$RP_TMP/plain"
umount "$RP_TMP/plain"; losetup -d "$LOOP"; rm -f "$RP_TMP/plain.img"

# (b) our device, disconnected.
rp_config protocol=C rate=2G al=127
rp_image 1 "$DISK"; rp_image 2 "$DISK"
rp_start 1
rp_ok 1 create-md r0
rp_ok 1 up r0
rp_ok 1 primary --force r0
ext4_on "$(rp_dev 1)" "$(rp_mnt 1)"
fio_case b_alone "$(rp_mnt 1)"

# (c) protocol C to a peer: the peer gets the full sync first.
rp_start 2
rp_ok 2 create-md r0
rp_ok 2 up r0
rp_ok 1 wait-sync r0 600
fio_case c_protocol_C "$(rp_mnt 1)"
umount "$(rp_mnt 1)"
rp_ok 1 secondary r0

# (d) protocol A: the same disks, restarted with protocol A (their metadata says in sync).
rp_kill 1 TERM; rp_kill 2 TERM
rp_config protocol=A rate=2G al=127
rp_start 1; rp_start 2
rp_ok 1 wait-sync r0 60
rp_ok 1 primary r0
mount -o nodiscard "$(rp_dev 1)" "$(rp_mnt 1)" || hp_fail "mount for protocol A"
fio_case d_protocol_A "$(rp_mnt 1)"
umount "$(rp_mnt 1)"
rp_ok 1 secondary r0
rp_kill 1 TERM; rp_kill 2 TERM

# Resync after 64 MiB of changes on a 2 GiB disk.
rp_config protocol=C rate=2G al=127
rp_image 1 2G; rp_image 2 2G
rp_start 1; rp_start 2
rp_ok 1 create-md r0; rp_ok 2 create-md r0
rp_ok 1 up r0; rp_ok 2 up r0
rp_ok 1 wait-connect r0 30
rp_ok 1 primary --force r0
t0=$(hp_now_us)
rp_ok 1 wait-sync r0 600
full_s=$(( ($(hp_now_us) - t0) / 1000 ))
hp_log "initial full sync of 2 GiB: ${full_s} ms"
rp_ok 1 secondary r0
rp_kill 1 TERM; rp_kill 2 TERM
rp_config protocol=C rate="$RATE" al=127
rp_start 1; rp_start 2
rp_ok 1 wait-sync r0 60
rp_ok 1 primary r0
sent0=$(rp_json 1 'c["resync_bytes_sent"]')
rp_ok 1 disconnect r0
# 64 MiB in 16 runs of 4 MiB spread over the disk.
for i in $(seq 0 15); do
  dd if=/dev/urandom of="$(rp_dev 1)" bs=1M seek=$(( i * 120 + 7 )) count=4 oflag=direct conv=notrunc status=none \
    || hp_fail "dd to the disconnected Primary"
done
oos=$(rp_json 1 'r["out_of_sync_bytes"]')
rp_ok 1 connect r0
# The resync's own time: from the link being up (the peer may be the side that connects, on its
# connect-int) to in sync.
rp_ok 1 wait-connect r0 30
t0=$(hp_now_us)
rp_ok 1 wait-sync r0 600
resync_ms=$(( ($(hp_now_us) - t0) / 1000 ))
sent=$(( $(rp_json 1 'c["resync_bytes_sent"]') - sent0 ))
rp_ok 1 secondary r0

python3 -I -S - "$RESULTS" "$oos" "$sent" "$resync_ms" "$RATE" "$full_s" <<'PY'
import sys
path, oos, sent, ms, rate, full_ms = sys.argv[1:]
rows = [l.split() for l in open(path) if l.strip()]
base = {r[0]: r for r in rows}["a_plain_loop"]
print()
print("Replicated disk (fio on ext4; ratios against (a) the plain loop device)")
print("%-16s %10s %10s %10s %10s %9s %9s %9s %10s" % ("case", "4k p50 us", "4k p99 us", "seq MiB/s",
      "q16 MiB/s", "p50 x(a)", "p99 x(a)", "seq /(a)", "q16 /(a)"))
for r in rows:
    p50, p99, seq, q16 = float(r[1]), float(r[2]), float(r[3]), float(r[5])
    print("%-16s %10.1f %10.1f %10.1f %10.1f %9.2f %9.2f %9.2f %10.2f" % (
        r[0], p50, p99, seq, q16, p50 / float(base[1]), p99 / float(base[2]), seq / float(base[3]),
        q16 / float(base[5])))
units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
rate_b = float(rate[:-1]) * units[rate[-1].upper()] if rate[-1].upper() in units else float(rate) * 1024
sent, oos, ms = int(sent), int(oos), int(ms)
print()
print("Resync, 2 GiB disk, 64 MiB written while disconnected (initial full sync took %.1f s)" % (int(full_ms) / 1000.0))
print("  out of sync before connect: %.1f MiB; resync sent %.1f MiB (target < 80 MiB)" % (oos / 1048576.0, sent / 1048576.0))
print("  resync time %.2f s at rate %s: %.1f MiB/s achieved, %.2f of the configured rate" % (
    ms / 1000.0, rate, sent / 1048576.0 / (ms / 1000.0), (sent / (ms / 1000.0)) / rate_b))
PY
hp_log "done"
