#!/usr/bin/env bash
# REGISTER over TCP (sipp -t t1): the challenge and the 200 come back on the same connection and
# the binding is kept.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_start_pbxd

PHONE=$(hp_free_port)
HP_SIPP_PORT=$PHONE hp_expect_sipp tcp register_auth -t t1 $(hp_creds 203 203pass) -key expires 3600
hp_expect_json "203 is bound over TCP (one contact, port $PHONE)" \
  "len(contacts('203')) == 1 and '$PHONE' in json.dumps(contacts('203'))" sip show peers
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
