#!/usr/bin/env bash
# The thesis' failover on the replicated disk: create-md on both nodes, up, `primary --force` on
# asterisk1 (initial full sync to asterisk2), ext4 + files written with fsync on the Primary,
# power loss of the Primary (SIGKILL of its replicad), asterisk2 promoted, e2fsck + mount: every
# fsynced file is intact. asterisk1 comes back, becomes SyncTarget and resyncs only what changed
# (its resync byte counter is far below the disk size).
source "$(dirname "$0")/replica_lib.sh"
rp_init "$1"
rp_config protocol=C rate=200M al=7
SIZE_MB=256
rp_pair_up ${SIZE_MB}M
rp_expect 1 "Primary, UpToDate on both sides" 'r["role"] == "Primary" and r["disk"] == "UpToDate" and r["peer_disk"] == "UpToDate"'
rp_expect 2 "Secondary, initial sync done" 'r["role"] == "Secondary" and r["disk"] == "UpToDate"'
[ -b "$(readlink -f "$(rp_dev 1)")" ] || hp_fail "asterisk1's device $(rp_dev 1) is not a block device"
[ -e "$(rp_dev 2)" ] && hp_fail "the Secondary's device $(rp_dev 2) exists"

rp_mkfs_mount 1
M1=$(rp_mnt 1)
for i in $(seq 1 16); do
  head -c $(( 64 * 1024 * (i % 5 + 1) )) /dev/urandom >"$M1/file$i" || hp_fail "write file$i"
  python3 -I -S -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$M1/file$i" || hp_fail "fsync file$i"
done
mkdir -p "$M1/dir" && echo "last words" >"$M1/dir/note" && sync -f "$M1/dir/note"
python3 -I -S -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$M1/dir"
(cd "$M1" && sha256sum file* dir/note) >"$RP_TMP/sums" || hp_fail "sha256sum"
hp_log "16 files + 1 written with fsync on asterisk1"

# Power loss of the Primary: its replicad dies, the filesystem above it dies with it.
rp_kill 1 KILL
umount -l "$M1" 2>/dev/null
rp_detach_stale_loops 1
hp_log "asterisk1's replicad SIGKILLed"
rp_wait 2 30 "sees the peer gone" 'r["connection"] != "Connected" and r["peer_role"] != "Primary"'
rp_ok 2 primary r0
M2=$(rp_mnt 2)
e2fsck -p "$(rp_dev 2)" >"$RP_TMP/fsck.log" 2>&1
rc=$?
[ "$rc" -le 1 ] || { e2fsck -fy "$(rp_dev 2)" >>"$RP_TMP/fsck.log" 2>&1; rc=$?; }
[ "$rc" -le 1 ] || hp_fail "e2fsck on asterisk2 answered $rc: $(cat "$RP_TMP/fsck.log")"
mount -o nodiscard "$(rp_dev 2)" "$M2" || hp_fail "mount on asterisk2"
(cd "$M2" && sha256sum -c --quiet "$RP_TMP/sums") || hp_fail "fsynced files differ on asterisk2"
hp_log "every fsynced file intact on asterisk2"

# Changes on the new Primary while asterisk1 is away: 8 MiB.
head -c $(( 8 << 20 )) /dev/urandom >"$M2/while-away" && sync -f "$M2/while-away" || hp_fail "write on asterisk2"

# asterisk1 comes back (valid metadata: up at start) and resyncs only the changes.
rp_start 1
rp_ok 1 wait-connect r0 30
rp_ok 2 wait-sync r0 60
rp_ok 1 wait-sync r0 30
rp_expect 1 "Secondary, UpToDate again" 'r["role"] == "Secondary" and r["disk"] == "UpToDate"'
got=$(rp_json 1 'c["resync_bytes_received"]')
hp_log "asterisk1 received $got resync bytes (disk ${SIZE_MB} MiB, 8 MiB changed + in-flight extents)"
[ "$got" -gt 0 ] || hp_fail "asterisk1 resynced nothing"
[ "$got" -lt $(( SIZE_MB * 1024 * 1024 / 4 )) ] || hp_fail "asterisk1 resynced $got bytes: more than a quarter of the disk"

# The data areas are equal once asterisk2's filesystem is flushed.
umount "$M2" || hp_fail "umount on asterisk2"
rp_ok 2 secondary r0
rp_ok 2 wait-sync r0 30
[ "$(rp_data_sha 1)" = "$(rp_data_sha 2)" ] || hp_fail "data areas differ after resync"
hp_log "PASS"
