#!/usr/bin/env bash
# Qualify: a sipp phone registered as 202 that answers OPTIONS (-aa) is shown OK with a latency;
# once that sipp is stopped, the peer turns UNREACHABLE. Config: the thesis one with
# qualifyfreq lowered to 1 s so the test runs in seconds.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_start_pbxd "$HP_THESIS" qualifyfreq=1

PHONE=$(hp_free_port)
hp_spawn phone202 timeout -k 5 100 sipp -sf "$HP_SIPP_DIR/register_and_stay.xml" "127.0.0.1:$HP_PORT" \
  -i 127.0.0.1 -p "$PHONE" -m 1 -aa -d 90000 -nostdin -timeout 95s \
  -trace_err -error_file "$HP_TMP/phone202.err" $(hp_creds 202 202pass) -key expires 3600
PHONE_PID=$HP_LAST_PID
hp_wait_json 10 "202 registered" "len(contacts('202')) == 1" sip show peers
hp_wait_json 20 "202 qualified OK with a latency" \
  "peer('202')['status'] == 'OK' and isinstance(peer('202')['latency_ms'], (int, float))" sip show peers
hp_expect_json "201 (never registered) is not OK" "peer('201')['status'] != 'OK'" sip show peers

hp_stop "$PHONE_PID"
hp_log "phone 202 (sipp pid $PHONE_PID) stopped"
hp_wait_json 45 "202 UNREACHABLE after its phone stopped answering" \
  "peer('202')['status'] == 'UNREACHABLE'" sip show peers
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
