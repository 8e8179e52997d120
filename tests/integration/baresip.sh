#!/usr/bin/env bash
# A real softphone: baresip (Debian) registers as 201 with the thesis config (digest auth) and
# pbxd shows it as OK in `sip show peers` (baresip answers pbxd's qualify OPTIONS).
source "$(dirname "$0")/lib.sh"
hp_init "$1"
command -v baresip >/dev/null || hp_fail "baresip not installed (run: make deps)"
hp_start_pbxd "$HP_THESIS" qualifyfreq=1

mkdir -p "$HP_TMP/baresip"
BARESIP_PORT=$(hp_free_port)
sed "s/@SIP_PORT@/$BARESIP_PORT/" "$HP_ROOT/tests/integration/baresip/config.in" >"$HP_TMP/baresip/config"
sed "s/@PBX_PORT@/$HP_PORT/" "$HP_ROOT/tests/integration/baresip/accounts.in" >"$HP_TMP/baresip/accounts"
# -t bounds baresip's life even if this script is killed before its trap runs.
hp_spawn baresip baresip -f "$HP_TMP/baresip" -t 100
BARESIP_PID=$HP_LAST_PID

hp_wait_until 15 "baresip reports 201 registered (200 OK)" \
  grep -q '201@127.0.0.1.*200 OK' "$HP_TMP/baresip.log"
hp_wait_json 5 "201 bound in pbxd" "len(contacts('201')) == 1" sip show peers
hp_wait_json 20 "201 (baresip) qualified OK" "peer('201')['status'] == 'OK'" sip show peers
hp_cli sip show peers >&2 || hp_fail "human sip show peers failed"

hp_stop "$BARESIP_PID"
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
