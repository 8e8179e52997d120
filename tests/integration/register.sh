#!/usr/bin/env bash
# REGISTER against pbxd with the thesis config, driven by sipp: digest auth (401 then 200 with
# the Contact and its expires), refresh keeps one binding, wrong password and unknown user both
# get the same challenge and then 403, an expiry below minexpiry gets 423 + Min-Expires,
# Expires: 0 removes one binding, Contact: * removes them all. Bindings checked via the CLI's JSON.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_start_pbxd

PHONE_A=$(hp_free_port)
PHONE_B=$(hp_free_port)
# The Contact port of phone A, as it must appear in the binding (JSON is searched as text so the
# test does not depend on how a contact object is spelled).
has_port() { echo "any('$1' in json.dumps(c) for c in contacts('$2'))"; }

HP_SIPP_PORT=$PHONE_A hp_expect_sipp reg1 register_auth $(hp_creds 201 201pass) -key expires 3600
hp_expect_json "201 has exactly one contact, on port $PHONE_A" \
  "len(contacts('201')) == 1 and $(has_port "$PHONE_A" 201)" sip show peers

# Refresh from the same Contact: still one binding.
HP_SIPP_PORT=$PHONE_A hp_expect_sipp reg2 register_auth $(hp_creds 201 201pass) -key expires 3600
hp_expect_json "refresh keeps one contact for 201" "len(contacts('201')) == 1" sip show peers
hp_expect_json "sip show peer 201 names the contact" \
  "'$PHONE_A' in json.dumps(d)" sip show peer 201

hp_expect_sipp wrongpw register_forbidden $(hp_creds 201 not-the-secret) -key expires 3600
hp_expect_sipp unknown register_forbidden $(hp_creds 999 999pass) -key expires 3600
hp_expect_json "failed attempts left 201's binding alone" "len(contacts('201')) == 1" sip show peers

hp_expect_sipp brief register_too_brief $(hp_creds 202 202pass) -key expires 1
hp_expect_json "a refused (423) REGISTER binds nothing" "len(contacts('202')) == 0" sip show peers

HP_SIPP_PORT=$PHONE_A hp_expect_sipp unreg unregister $(hp_creds 201 201pass)
hp_expect_json "Expires: 0 removed 201's contact" "len(contacts('201')) == 0" sip show peers

# Two contacts for 202, then Contact: * clears both.
HP_SIPP_PORT=$PHONE_A hp_expect_sipp reg202a register_auth $(hp_creds 202 202pass) -key expires 3600
HP_SIPP_PORT=$PHONE_B hp_expect_sipp reg202b register_auth $(hp_creds 202 202pass) -key expires 3600
hp_expect_json "202 has two contacts" \
  "len(contacts('202')) == 2 and $(has_port "$PHONE_A" 202) and $(has_port "$PHONE_B" 202)" sip show peers
hp_expect_sipp star unregister_all $(hp_creds 202 202pass)
hp_expect_json "Contact: * removed every contact of 202" "len(contacts('202')) == 0" sip show peers

kill -0 "$HP_PBXD_PID" || hp_fail "pbxd died"
hp_log "PASS"
