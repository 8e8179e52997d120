#!/usr/bin/env bash
# Bad input gets the answer RFC 3261 asks for and leaves the daemon answering: Max-Forwards 0 ->
# 483, unknown method -> 501, Require: foo -> 420 with Unsupported: foo (sipp); junk datagrams
# dropped, invalid requests -> 400 naming the fault, over-large on TCP -> 513 or closed (python3).
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_start_pbxd
hp_expect_sipp hops max_forwards_zero
hp_expect_sipp method unknown_method
hp_expect_sipp require require_unsupported
python3 "$HP_ROOT/tests/integration/sip_raw.py" bad-input "$HP_PORT" >"$HP_TMP/raw.log" 2>&1 \
  || hp_fail "raw bad-input cases (see raw.log)"
cat "$HP_TMP/raw.log" >&2
hp_expect_sipp after options
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
