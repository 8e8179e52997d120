#!/usr/bin/env bash
# The thesis' test plan (chapter 4, Table IV), automated on the lab with the whole HA PBX
# (examples/thesis): connectivity (1.1-1.3), then every failover of 2.1-2.8 and a cut
# replication link. Each failover case: a call in progress, a file fsynced to /replica and the
# CDRs so far; the fault; then what the phones saw (SIP OPTIONS on the VIP every 10 ms), the first
# new call through the VIP, whether 202's registration survived (a call reaches it without a new
# REGISTER), whether the data is intact, and what became of the call in progress. The report (a
# Markdown table and JSON) goes to <build>/ha-report/test_plan.{md,json}.
# Usage: bash tests/ha/test_plan.sh BIN_DIR
source "$(dirname "$0")/ha_lib.sh" "$1"

# --- 1. connectivity -------------------------------------------------------------------------
ha_up
ha_phone 202
ha_phone 201
for a in 198.18.0.11 198.18.0.12 "$HA_VIP"; do
  on phones ping -c 1 -W 1 -q "$a" >/dev/null || ha_fail "1.1: the phones cannot ping $a"
done
ha_row case=1.1 fault="ping asterisk1, asterisk2 and the VIP from the phones" result=pass
[ "$(on phones getent hosts pbx | awk '{print $1}')" = "$HA_VIP" ] || ha_fail "1.2: 'pbx' does not resolve to the VIP"
ha_row case=1.2 fault="the virtual server's name (pbx) resolves to the VIP" result=pass
sip_answers || ha_fail "1.3: no answer to SIP OPTIONS over UDP on the VIP"
probe tcp "$HA_VIP" 1 || ha_fail "1.3: no TCP connect to the VIP's port 5060"
for n in asterisk1 asterisk2; do
  cluster "$n" status >/dev/null && replica "$n" status r0 >/dev/null || ha_fail "1.3: status commands on $n"
done
pbx asterisk1 sip show peers >/dev/null || ha_fail "1.3: hapbx pbx on the active node"
ha_row case=1.3 fault="SIP OPTIONS (UDP) and TCP 5060 on the VIP; status commands on both nodes" result=pass
ha_log "1.1-1.3 connectivity: pass"

# --- 2.1 status, a call, a file, manual switchover -------------------------------------------
ms=$(ha_call 201 202 10)
sleep 1
ha_hangup_all
heard 202 1000 440 && heard 201 440 1000 || ha_fail "2.1: no audio both ways"
sum=$(ha_write_file asterisk1 switchover)
t0=$(ha_now_ms)
cluster asterisk1 standby >/dev/null || ha_fail "2.1: standby"
ha_wait 15 "2.1: asterisk2 runs the PBX" running_on asterisk2
ha_wait 10 "2.1: the VIP answers" sip_answers
t_sip=$(( $(ha_now_ms) - t0 ))
[ "$(ha_file_sum asterisk2 switchover)" = "$sum" ] || ha_fail "2.1: the file is not on asterisk2"
t_dial=$(ha_now_ms)
ms=$(ha_call 201 202 10)
ha_hangup_all
ha_row case=2.1 fault="standby on asterisk1 (hb_standby)" result=pass sip_ms=$t_sip call_ms=$(( t_dial + ms - t0 )) \
  registrations=yes data=intact call_in_progress=none notes="file copied on asterisk1 found on asterisk2; a call works"
ha_log "2.1 switchover: pass (${t_sip} ms)"

# --- 2.2-2.7 ---------------------------------------------------------------------------------
failover 2.2 "cable pull of asterisk1 (active)" asterisk1 asterisk2 cable-pull asterisk1
lab fault cable-plug asterisk1 >/dev/null
failover 2.3 "cable pull of asterisk2 (active)" asterisk2 asterisk1 cable-pull asterisk2
lab fault cable-plug asterisk2 >/dev/null

failover 2.4 "graceful shutdown of asterisk1 (active)" asterisk1 asterisk2 shutdown asterisk1
sum=$(ha_write_file asterisk2 while-asterisk1-was-down)
lab fault power-on asterisk1 >/dev/null || ha_fail "2.4: power-on"
ha_wait 60 "2.4: asterisk1 resynced" in_sync asterisk1
resynced=$(replica asterisk1 status r0 | grep -o 'resync sent [0-9]* received [0-9]*' | awk '{print $5}')
ha_row case=2.4b fault="asterisk1 boots after the shutdown" result=pass notes="resynced to UpToDate/UpToDate${resynced:+, $resynced bytes received}"

failover 2.5 "graceful shutdown of asterisk2 (active)" asterisk2 asterisk1 shutdown asterisk2
failover 2.6 "power loss of asterisk1 (active)" asterisk1 asterisk2 power-off asterisk1
lab fault power-on asterisk1 >/dev/null || ha_fail "2.6: power-on"
ha_wait 60 "2.6: asterisk1 recovers (fsck at mount, activity-log resync)" in_sync asterisk1
ha_wait 30 "2.6: asterisk1 takes the PBX back (auto_failback on)" running_on asterisk1
ha_row case=2.6b fault="asterisk1 powers on after the power loss" result=pass notes="resynced; failed back (auto_failback on)"
failover 2.7 "power loss of asterisk2 (active)" asterisk2 asterisk1 power-off asterisk2

# --- 2.8 general power loss ------------------------------------------------------------------
ensure_holder asterisk1
sum=$(ha_write_file asterisk1 before-general-loss)
lab fault power-off both >/dev/null || ha_fail "2.8: power-off both"
t0=$(ha_now_ms)
lab fault power-on asterisk1 >/dev/null || ha_fail "2.8: power-on asterisk1"
ha_wait 30 "2.8: asterisk1 alone runs the PBX" running_on asterisk1
ha_wait 10 "2.8: the VIP answers" sip_answers
t_sip=$(( $(ha_now_ms) - t0 ))
[ "$(ha_file_sum asterisk1 before-general-loss)" = "$sum" ] || ha_fail "2.8: the file is lost"
ms=$(ha_call 201 202 10)
ha_hangup_all
lab fault power-on asterisk2 >/dev/null || ha_fail "2.8: power-on asterisk2"
ha_wait 60 "2.8: asterisk2 Secondary and in sync" in_sync asterisk2
[ "$(replica asterisk2 role r0)" = Secondary/Primary ] || ha_fail "2.8: asterisk2 is $(replica asterisk2 role r0)"
ha_row case=2.8 fault="general power loss; asterisk1 powers on alone, then asterisk2" result=pass sip_ms=$t_sip \
  registrations=yes data=intact notes="asterisk1 Primary after initdead with the peer dead; asterisk2 Secondary, resynced"

# --- a cut replication link (split brain of the disk, not of the cluster) -------------------
ensure_holder asterisk1
lab fault cable-pull asterisk1 repl >&2 || ha_fail "SB: cable-pull asterisk1 repl"
repl_down() { [ "$(replica asterisk1 cstate r0 2>/dev/null)" != Connected ]; }
# replicad notices at its next ping (ping-int, 10 s by default) or write.
ha_wait 45 "the replication link is seen down" repl_down
sum=$(ha_write_file asterisk1 during-the-cut)
sleep 1  # both stay up during the cut: nothing may move
[ "$(vip_holder)" = asterisk1 ] || ha_fail "SB: the VIP moved to $(vip_holder) while only the replication link was cut"
[ "$(replica asterisk2 role r0)" = Secondary/Unknown ] || ha_fail "SB: asterisk2 became $(replica asterisk2 role r0)"
lab fault cable-plug asterisk1 repl >/dev/null
ha_wait 60 "SB: the link heals and resyncs" in_sync asterisk1
ha_row case=SB fault="replication link cut while both nodes stay up" result=pass \
  notes="heartbeats on the LAN: asterisk1 keeps serving, asterisk2 stays Secondary (never promoted, nothing to merge); after the plug the changes resync"

ha_report test_plan
ha_log "report: $HA_REPORT_DIR/test_plan.md"
ha_log "PASS"
