#!/usr/bin/env bash
# The call scenarios of tests/sipp checked against a SIP server nobody here wrote: Kamailio 5.6
# standing in for pbxd's call signalling (tests/sipp/kamailio/pbx_standin.cfg: REGISTER and INVITE
# digest auth, registered contacts, record-route, no answer after 3 s). Each pair of caller and
# callee scenarios runs one call; both sides must follow their scenario to the end. This proves the
# scenarios are valid SIP before they are used against pbxd (call_*.sh), and keeps them so.
# pbxd is not used (the bin dir argument is only checked).
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_call_init
hp_start_kamailio kamailio "$HP_SIPP_DIR/kamailio/pbx_standin.cfg" -A RING_MS=3000
HP_SERVER_PORT=$HP_KAM_PORT

# pair NAME CALLEE_SCENARIO CALLER_SCENARIO [CALLER ARGS...]: 202 registers and answers with the
# callee scenario; 201 calls 202 with the caller scenario; both must succeed.
pair() {
  local name=$1 callee=$2 caller=$3; shift 3
  hp_phone "$name-202" 202 "$callee"
  local phone=$HP_LAST_PID
  hp_wait_registered "$name-202" 10
  hp_caller "$name-201" 201 "$caller" -s 202 "$@"
  hp_expect_exit "$HP_LAST_PID" 40 "$name: caller 201 ($caller)" 0
  hp_expect_exit "$phone" 10 "$name: callee 202 ($callee)" 97
}

pair basic callee_answer call_caller -d 1000
hp_expect_event basic-201 "^.*answer-media 127\.0\.0\.1 ${HP_MEDIA[basic-202]}\$" \
  "the caller got the callee's media port in the 200 (a proxy does not relay media)"
hp_expect_event basic-202 "offer-media 127\.0\.0\.1 ${HP_MEDIA[basic-201]}\$" \
  "the callee got the caller's media port in the INVITE"
pair bye_callee callee_answer_bye call_caller_wait_bye
pair busy callee_busy call_caller_rejected
hp_expect_event busy-201 "final 486" "busy: the caller got 486"
pair noanswer callee_ring call_caller_rejected
hp_expect_event noanswer-201 "final 408" "no answer: the caller got 408 from the proxy's timer"
hp_expect_event noanswer-202 "cancelled" "no answer: the callee got CANCEL"
pair cancel callee_ring call_caller_cancel -d 500
hp_expect_event cancel-202 "cancelled" "cancel: the callee got CANCEL"
pair hold callee_hold call_caller_hold
hp_expect_event hold-202 "received reinvite sendonly" "hold: the callee got a=sendonly"
hp_expect_event hold-201 "received reinvite sendonly" "hold: the caller got a=sendonly"

# No phone registered as 203: the stand-in answers 480.
hp_caller unreg-201 201 call_caller_rejected -s 203
hp_expect_exit "$HP_LAST_PID" 20 "unregistered: caller 201" 0
hp_expect_event unreg-201 "final 480" "unregistered: the caller got 480"

# Wrong password: 407, then 403.
HP_PASSWORD=wrong hp_caller forbidden-201 201 call_caller_forbidden -s 202
hp_expect_exit "$HP_LAST_PID" 20 "wrong password: caller 201" 0

kill -0 "$HP_KAM_PID" || hp_fail "kamailio died"
hp_log "PASS"
