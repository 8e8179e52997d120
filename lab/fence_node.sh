#!/usr/bin/env bash
# The lab's fencing device for clusterd's `stonith_command` (ha.cf): powers a lab node off the
# way `hapbx lab fault power-off` does (SIGKILL of all its processes, links down) and says so
# only once the lab reports the node off.
#
#   ha.cf:   stonith_command /path/to/lab/fence_node.sh LAB_DIR /path/to/hapbx
#   called:  fence_node.sh LAB_DIR HAPBX NODE      (clusterd appends the node to fence)
#
# It runs inside the fencing node's namespaces (clusterd runs it there), so it is told the lab
# (LAB_DIR, HAPBX_LAB_DIR of the running lab) and the hapbx command explicitly. Exit 0: NODE is
# off; anything else: it is not known to be off (clusterd then does not take over). Every call
# is logged to /var/log/hapbx/fence.log of the calling node.
set -u
log_file=/var/log/hapbx/fence.log
say() { echo "$(date '+%F %T.%3N') fence_node: $*" | tee -a "$log_file" >&2; }
[ $# = 3 ] || { say "usage: fence_node.sh LAB_DIR HAPBX NODE (got $# arguments: $*)"; exit 2; }
lab_dir=$1 hapbx=$2 node=$3
case "$node" in
  asterisk1|asterisk2) ;;
  *) say "refusing to fence '$node': not a lab node (asterisk1, asterisk2)"; exit 2 ;;
esac
[ -f "$lab_dir/current/prefix" ] || { say "no lab at $lab_dir"; exit 2; }
[ -x "$hapbx" ] || { say "$hapbx is not executable"; exit 2; }
export HAPBX_LAB_DIR=$lab_dir
say "powering off $node (asked by $(hostname))"
out=$("$hapbx" lab fault power-off "$node" 2>&1)
rc=$?
[ "$rc" = 0 ] || { say "power-off $node failed (exit $rc): $out"; exit 1; }
# Confirmed off: the lab says so.
power=$("$hapbx" lab status --json | python3 -c '
import json, sys
hosts = {h["host"]: h for h in json.load(sys.stdin)["hosts"]}
print(hosts[sys.argv[1]]["power"])' "$node" 2>&1)
[ "$power" = off ] || { say "$node still reported '$power' after the power-off"; exit 1; }
say "$node is off"
exit 0
