#!/usr/bin/env bash
# Bindings survive a crash: register 201 and 202, SIGKILL pbxd, restart it on the same config and
# state dir, and `sip show peers` still lists both contacts (every 200 OK was durable).
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_start_pbxd

P201=$(hp_free_port)
P202=$(hp_free_port)
HP_SIPP_PORT=$P201 hp_expect_sipp reg201 register_auth $(hp_creds 201 201pass) -key expires 3600
HP_SIPP_PORT=$P202 hp_expect_sipp reg202 register_auth $(hp_creds 202 202pass) -key expires 3600
CHECK="len(contacts('201')) == 1 and '$P201' in json.dumps(contacts('201')) and \
len(contacts('202')) == 1 and '$P202' in json.dumps(contacts('202'))"
hp_expect_json "both bound before the crash" "$CHECK" sip show peers

hp_stop "$HP_PBXD_PID" KILL
hp_log "pbxd SIGKILLed"
hp_run_pbxd || hp_fail "pbxd did not restart on port $HP_PORT with the same state dir"
hp_expect_json "both bindings still there after SIGKILL + restart" "$CHECK" sip show peers
hp_log "PASS"
