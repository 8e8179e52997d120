#!/usr/bin/env bash
# The peer link refuses what it must:
#  1. a wrong shared-secret: refused on both sides, logged, never Connected, no data crosses;
#  2. a size mismatch (asterisk2's image smaller): the smaller size is used and reported, or the
#     connection is refused saying why when data would be cut.
source "$(dirname "$0")/replica_lib.sh"
rp_init "$1"

rp_config secret=right-secret secret2=wrong-secret
rp_image 1 64M; rp_image 2 64M
rp_start 1; rp_start 2
rp_ok 1 create-md r0; rp_ok 2 create-md r0
rp_ok 1 up r0; rp_ok 2 up r0
rp_cli 1 wait-connect r0 6 >/dev/null 2>&1 && hp_fail "connected with a wrong shared-secret"
rp_cli 2 wait-connect r0 2 >/dev/null 2>&1 && hp_fail "asterisk2 connected with a wrong shared-secret"
for n in 1 2; do
  rp_expect $n "never Connected, no data exchanged" \
    'c["peer_bytes_sent"] == 0 and c["peer_bytes_received"] == 0 and r["connection"] not in ("Connected", "SyncSource", "SyncTarget")'
done
rp_json 1 'c["auth_failures"] > 0' || rp_json 2 'c["auth_failures"] > 0' || hp_fail "no authentication failure counted"
grep -qi "auth" "$RP_TMP/replicad1.log" "$RP_TMP/replicad2.log" || hp_fail "the refusal is not logged"
hp_log "wrong secret refused and logged"
rp_kill 1 TERM; rp_kill 2 TERM

# 2. sizes differ.
rp_config
rp_image 1 96M; rp_image 2 64M
rp_start 1; rp_start 2
rp_ok 1 create-md r0; rp_ok 2 create-md r0
rp_ok 1 up r0; rp_ok 2 up r0
# asterisk2's data area (its own, the smaller one): what both must use once connected.
size2=$(rp_json 2 'r["data_size"]')
[ "$size2" -lt $(( 64 << 20 )) ] || hp_fail "asterisk2's data area is $size2 bytes"
if rp_cli 1 wait-connect r0 10 >/dev/null 2>&1; then
  rp_ok 1 primary --force r0
  rp_ok 1 wait-sync r0 60
  rp_expect 1 "uses the smaller size" "r['data_size'] == $size2"
  rp_expect 2 "uses the smaller size" "r['data_size'] == $size2"
  grep -qi "sizes differ" "$RP_TMP/replicad1.log" || hp_fail "the size difference is not reported in the log"
  dev_bytes=$(blockdev --getsize64 "$(rp_dev 1)") || hp_fail "blockdev"
  [ "$dev_bytes" -le "$size2" ] || hp_fail "the device is $dev_bytes bytes, more than the agreed $size2"
  hp_log "size mismatch: the smaller size ($size2) is used"
else
  rp_expect 1 "refused, saying why" 'r["connection"] == "StandAlone" and "size" in r["last_event"].lower()'
  hp_log "size mismatch: refused ($(rp_json 1 'r["last_event"]'))"
fi
hp_log "PASS"
