#!/usr/bin/env bash
# `sip reload` re-reads sip.conf without losing registrations: 201 registers, a peer 204 is added
# to sip.conf, the reload shows 204 and 201 is still bound. A broken sip.conf is refused with
# file:line, the CLI exits 1, and the running configuration and bindings stay.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_start_pbxd

HP_SIPP_PORT=$(hp_free_port) hp_expect_sipp reg201 register_auth $(hp_creds 201 201pass) -key expires 3600
hp_expect_json "201 bound" "len(contacts('201')) == 1" sip show peers

printf '\n[204](office-phone)\nsecret=204pass\ncallerid="Reception" <204>\n' >> "$HP_CONF/sip.conf"
out=$(hp_cli sip reload) || hp_fail "sip reload failed: $out"
hp_log "reload: $out"
hp_expect_json "204 appears, 201 keeps its binding" \
  "peer('204') is not None and len(contacts('201')) == 1" sip show peers

printf '\n[205]\ntype=frend\n' >> "$HP_CONF/sip.conf"

out=$(hp_cli sip reload 2>&1); status=$?

[ "$status" -eq 1 ] || hp_fail "a bad sip.conf should make 'sip reload' exit 1, got $status: $out"
echo "$out" | grep -q "sip.conf:[0-9]*:.*frend" || hp_fail "the refusal does not name sip.conf:line: $out"
hp_log "bad reload refused: $out"
hp_expect_json "running config and bindings kept" \
  "peer('204') is not None and len(contacts('201')) == 1" sip show peers
kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died on a bad reload"
hp_log "PASS"
