#!/usr/bin/env bash
# Split brain, provoked: both nodes disconnected, both promoted, both write, connect.
#  1. after-sb-*pri disconnect: detected, StandAlone on both, status says split brain; then
#     `connect --discard-my-data` on the victim (asterisk2) + connect on asterisk1 resyncs, and the
#     victim's data is replaced by asterisk1's.
#  2. after-sb-0pri discard-zero-changes: asterisk1 writes while disconnected, asterisk2 is
#     promoted and demoted without writing; on connect the split brain is resolved by itself,
#     asterisk2 being the target.
source "$(dirname "$0")/replica_lib.sh"
rp_init "$1"

# write_blocks N SEEK COUNT: COUNT random 4 KiB blocks at block SEEK on node N's device, synced.
write_blocks() {
  dd if=/dev/urandom of="$(rp_dev "$1")" bs=4k seek="$2" count="$3" oflag=direct conv=fsync,notrunc \
    status=none || hp_fail "dd to asterisk$1's device"
}

rp_config sb0=disconnect sb1=disconnect sb2=disconnect
rp_pair_up 64M

rp_ok 1 disconnect r0
rp_ok 2 disconnect r0
rp_ok 2 primary r0
write_blocks 1 100 16
write_blocks 2 5000 8
hp_log "both Primary and written while disconnected"
rp_ok 1 connect r0
rp_ok 2 connect r0
rp_wait 1 30 "split brain detected, StandAlone" 'r["connection"] == "StandAlone" and r["split_brain"]'
rp_wait 2 30 "split brain detected, StandAlone" 'r["connection"] == "StandAlone" and r["split_brain"]'
rp_cli 1 status | grep -qi "split brain" || hp_fail "status text on asterisk1 does not say split brain"
rp_cli 1 wait-connect r0 5 >/dev/null 2>&1 && hp_fail "wait-connect succeeded in split brain"

# The admin picks the victim.
rp_ok 2 secondary r0
rp_ok 2 connect --discard-my-data r0
rp_ok 1 connect r0
rp_ok 2 wait-sync r0 60
rp_ok 1 wait-sync r0 30
rp_expect 2 "the victim received a resync" 'c["resync_bytes_received"] > 0 and r["role"] == "Secondary"'
rp_ok 1 secondary r0
[ "$(rp_data_sha 1)" = "$(rp_data_sha 2)" ] || hp_fail "data differs after --discard-my-data resync"
hp_log "manual resolution: asterisk2's changes discarded, data equal"

# 2. automatic: discard-zero-changes.
rp_kill 1 TERM; rp_kill 2 TERM
rp_config sb0=discard-zero-changes sb1=disconnect sb2=disconnect
rp_start 1; rp_start 2
rp_ok 1 wait-connect r0 30
rp_ok 1 wait-sync r0 30
before=$(rp_json 2 'c["resync_bytes_received"]')
rp_ok 1 disconnect r0
rp_ok 2 disconnect r0
rp_ok 1 primary r0
write_blocks 1 300 32
rp_ok 1 secondary r0
rp_ok 2 primary r0
rp_ok 2 secondary r0
rp_ok 1 connect r0
rp_ok 2 connect r0
rp_ok 2 wait-sync r0 60
rp_ok 1 wait-sync r0 30
rp_expect 2 "split brain resolved by discard-zero-changes (asterisk2 target)" "c['resync_bytes_received'] > $before"
[ "$(rp_data_sha 1)" = "$(rp_data_sha 2)" ] || hp_fail "data differs after the automatic resolution"
hp_log "PASS"
