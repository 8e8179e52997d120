#!/usr/bin/env bash
# `disk` may be a real block device: asterisk1 keeps its data and internal metadata on a block
# device (a loop device over a file of this test, standing in for a partition), asterisk2 on an
# image file. Initial sync, ext4 with a file on asterisk1, switchover (asterisk1 Secondary,
# asterisk2 Primary): the file is there on asterisk2, byte for byte.
source "$(dirname "$0")/replica_lib.sh"
rp_init "$1"
truncate -s 256M "$RP_TMP/n1/partition.img" || hp_fail "truncate"
BLOCK=$(losetup -f --show "$RP_TMP/n1/partition.img") || hp_fail "losetup for the stand-in partition"
hp_log "asterisk1's disk is the block device $BLOCK"
rp_config protocol=C rate=400M
sed -i "s#disk $RP_TMP/n1/r0.img;#disk $BLOCK;#" "$RP_TMP/n1/r0.res" "$RP_TMP/n2/r0.res"
grep -q "disk $BLOCK;" "$RP_TMP/n1/r0.res" || hp_fail "config edit"
rp_image 2 256M
rp_start 1; rp_start 2
rp_ok 1 create-md r0; rp_ok 2 create-md r0
rp_ok 1 up r0; rp_ok 2 up r0
rp_ok 1 wait-connect r0 30
rp_ok 1 primary --force r0
rp_ok 1 wait-sync r0 110
rp_expect 1 "Primary on a block device" "r[\"disk_path\"] == \"$BLOCK\" and r[\"disk\"] == \"UpToDate\""
rp_mkfs_mount 1
head -c $(( 3 << 20 )) /dev/urandom >"$(rp_mnt 1)/on-the-partition" || hp_fail "write"
sync -f "$(rp_mnt 1)/on-the-partition"
sum=$(sha256sum <"$(rp_mnt 1)/on-the-partition")
umount "$(rp_mnt 1)" || hp_fail "umount on asterisk1"
rp_ok 1 secondary r0
rp_ok 2 primary r0
mount -o nodiscard "$(rp_dev 2)" "$(rp_mnt 2)" || hp_fail "mount on asterisk2"
[ "$(sha256sum <"$(rp_mnt 2)/on-the-partition")" = "$sum" ] || hp_fail "the file differs on asterisk2"
hp_log "the file written on asterisk1's block device is intact on asterisk2"
umount "$(rp_mnt 2)"
rp_ok 2 secondary r0
hp_log "PASS"
