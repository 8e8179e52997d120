#!/usr/bin/env bash
# `make demo` (for now): pbxd on loopback with the thesis config, two sipp phones (201 and 202)
# register with digest auth and stay up answering qualify, `hapbx pbx sip show peers` shows them,
# then everything is stopped and a short timeline is printed. Later issues grow this into the
# two-node lab with a failover. Usage: bash lab/demo.sh build/bin
source "$(dirname "$0")/../tests/integration/lib.sh"
hp_init "${1:-build/bin}"

TIMELINE=()
mark() { TIMELINE+=("$(hp_elapsed)s  $*"); hp_log "$*"; }

hp_start_pbxd "$HP_THESIS" qualifyfreq=2
mark "pbxd started (pid $HP_PBXD_PID) on 127.0.0.1:$HP_PORT with ${HP_THESIS#"$HP_ROOT"/}"

for ext in 201 202; do
  port=$(hp_free_port)
  hp_spawn "phone$ext" timeout -k 5 60 sipp -sf "$HP_SIPP_DIR/register_and_stay.xml" \
    "127.0.0.1:$HP_PORT" -i 127.0.0.1 -p "$port" -m 1 -aa -d 50000 -nostdin -timeout 55s \
    -trace_err -error_file "$HP_TMP/phone$ext.err" $(hp_creds "$ext" "${ext}pass") -key expires 300
  declare "PHONE_PID_$ext=$HP_LAST_PID"
  mark "phone $ext (sipp pid $HP_LAST_PID, 127.0.0.1:$port) sends REGISTER"
done

for ext in 201 202; do
  hp_wait_json 10 "$ext registered" "len(contacts('$ext')) >= 1" sip show peers
  mark "$ext registered (401 challenge, then 200 OK)"
done
hp_wait_json 15 "201 and 202 qualified OK" \
  "peer('201')['status'] == 'OK' and peer('202')['status'] == 'OK'" sip show peers
mark "201 and 202 answer qualify OPTIONS: status OK"

echo
echo "\$ hapbx pbx sip show peers"
hp_cli sip show peers || hp_fail "sip show peers failed"
echo

hp_stop "$PHONE_PID_201"
hp_stop "$PHONE_PID_202"
mark "phones stopped"
hp_stop "$HP_PBXD_PID"
mark "pbxd stopped"

echo
echo "Timeline"
printf '  %s\n' "${TIMELINE[@]}"
