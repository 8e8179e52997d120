#!/usr/bin/env bash
# The whole HA PBX's failover times (issue targets: fault -> VIP answering SIP OPTIONS <= 1 s
# median for power loss and cable pull, fault -> first new call answered <= 1.5 s), measured on
# the lab with the thesis example: TRIALS (default 5) power losses and cable pulls of the active
# node, each a test-plan failover case (tests/ha/ha_lib.sh). Printed: median/min/max per fault,
# and the ratio against the anchor, the thesis' own measurement of its Asterisk + DRBD +
# Heartbeat cluster (15-20 s to get the PBX back; 15 s taken, the anchor's best case).
# Usage: bash bench/ha.sh BIN_DIR        (make bench-ha)
source "$(dirname "$0")/../tests/ha/ha_lib.sh" "${1:-build/bin}"
TRIALS=${TRIALS:-5}
ANCHOR_MS=15000
ha_up
ha_phone 202
ha_phone 201
for i in $(seq "$TRIALS"); do
  failover "power-$i" "power loss of the active node" asterisk1 asterisk2 power-off asterisk1
  failover "cable-$i" "cable pull of the active node" asterisk2 asterisk1 cable-pull asterisk2
  lab fault cable-plug asterisk2 >/dev/null
done
ha_report bench_ha >/dev/null
python3 - "$HA_REPORT_DIR/bench_ha.json" "$ANCHOR_MS" <<'PY'
import json, statistics, sys
rows, anchor = json.load(open(sys.argv[1])), float(sys.argv[2])
print("fault                           metric                     median     min     max   anchor/median")
for fault in ("power loss of the active node", "cable pull of the active node"):
    for key, name in (("sip_ms", "fault -> VIP answers OPTIONS"), ("call_ms", "fault -> new call answered"),
                      ("gap_ms", "phones' outage (probe gap)")):
        v = [float(r[key]) for r in rows if r.get("fault") == fault and r.get(key) not in (None, "")]
        if not v:
            continue
        med = statistics.median(v)
        print("%-31s %-26s %6.0f ms %6.0f %7.0f   %6.1fx faster" % (fault, name, med, min(v), max(v), anchor / med))
kept = sum(1 for r in rows if r.get("registrations") == "yes")
intact = sum(1 for r in rows if r.get("data") == "intact")
print("registrations kept: %d/%d, data intact: %d/%d, calls in progress dropped: %d/%d" % (
    kept, len(rows), intact, len(rows), sum(1 for r in rows if r.get("call_in_progress") == "dropped"), len(rows)))
PY
