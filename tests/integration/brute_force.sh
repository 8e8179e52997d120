#!/usr/bin/env bash
# Brute-force throttle: after 10 failed authentications from one source within a minute (the
# default), that source is blocked for a while: even the right password gets no 200, and nothing
# is bound. The server keeps answering (OPTIONS needs no authentication).
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_start_pbxd

hp_expect_sipp guesses register_forbidden $(hp_creds 201 guess) -key expires 3600 -m 10 -r 20
if hp_sipp blocked register_auth $(hp_creds 201 201pass) -key expires 3600 -recv_timeout 3000; then
  hp_fail "the right password was accepted right after 10 failures from the same source"
fi
hp_log "ok: the blocked source got no 200"
hp_expect_json "nothing bound for 201 while blocked" "len(contacts('201')) == 0" sip show peers
hp_expect_sipp alive options
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
