#!/usr/bin/env bash
# A binding disappears when its expiry passes. The thesis config with minexpiry lowered to 2 s so
# the test takes seconds; the binding is polled with a deadline, never waited for blindly.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_start_pbxd "$HP_THESIS" minexpiry=2

HP_SIPP_PORT=$(hp_free_port) hp_expect_sipp reg register_auth $(hp_creds 201 201pass) -key expires 3
hp_expect_json "201 is bound right after the 200" "len(contacts('201')) == 1" sip show peers
hp_wait_json 15 "201's binding expired (asked for 3 s)" "len(contacts('201')) == 0" sip show peers
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
