#!/usr/bin/env bash
# Online verify: one 4 KiB block of the Secondary's image is changed behind replicad's back
# (while the resource is detached); `verify` reports it out of sync; disconnect + connect resyncs
# it and the data areas are equal again.
source "$(dirname "$0")/replica_lib.sh"
rp_init "$1"
rp_config verify=sha1 csums=sha1
rp_pair_up 64M
dd if=/dev/urandom of="$(rp_dev 1)" bs=4k seek=64 count=256 oflag=direct conv=fsync,notrunc status=none \
  || hp_fail "dd to the Primary's device"
rp_ok 1 secondary r0
rp_ok 2 wait-sync r0 30
[ "$(rp_data_sha 1)" = "$(rp_data_sha 2)" ] || hp_fail "data differs before the corruption"

# Corrupt block 100 of asterisk2's data area while it is detached.
rp_ok 2 detach r0
dd if=/dev/urandom of="$RP_TMP/n2/r0.img" bs=4k seek=100 count=1 conv=notrunc,fsync status=none || hp_fail "dd"
rp_ok 2 attach r0
rp_ok 2 connect r0
rp_ok 1 wait-sync r0 30
[ "$(rp_data_sha 1)" != "$(rp_data_sha 2)" ] || hp_fail "the corruption did not take"
rp_expect 1 "nothing known out of sync yet" 'r["out_of_sync_bytes"] == 0'

rp_ok 1 verify r0
rp_wait 1 60 "verify finished with the corrupt block out of sync" \
  'r["connection"] == "Connected" and r["out_of_sync_bytes"] >= 4096 and c["verify_out_of_sync_bytes"] >= 4096'
oos=$(rp_json 1 'r["out_of_sync_bytes"]')
hp_log "verify found $oos bytes out of sync"
# The engine compares digests per verify request (resync-chunk, 128 KiB): one request's range.
[ "$oos" -le $(( 128 * 1024 )) ] || hp_fail "verify marked $oos bytes, more than the one request covering the block"

rp_ok 1 disconnect r0
rp_ok 1 connect r0
rp_ok 1 wait-sync r0 30
rp_ok 2 wait-sync r0 30
[ "$(rp_data_sha 1)" = "$(rp_data_sha 2)" ] || hp_fail "data differs after the resync"
hp_log "PASS"
