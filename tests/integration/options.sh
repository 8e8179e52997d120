#!/usr/bin/env bash
# OPTIONS to the server itself: 200 with Allow (REGISTER, OPTIONS), Accept and Supported, over UDP
# and TCP.
source "$(dirname "$0")/lib.sh"
hp_init "$1"
hp_start_pbxd
hp_expect_sipp udp options
hp_expect_sipp tcp options -t t1
hp_log "PASS"
