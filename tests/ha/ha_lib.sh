# The whole HA PBX in the lab, for the test plan (tests/ha/), `make demo` (lab/demo.sh) and
# bench/ha.sh: the thesis example on asterisk1/asterisk2, two baresip desk phones (201, 202) in
# the phones host, SIP probes of the VIP, faults, and a report of what the phones saw.
# Usage: source tests/ha/ha_lib.sh BIN_DIR
# A private lab (HAPBX_LAB_DIR) and everything it runs are removed by the EXIT trap.
set -u
HA_BIN=$(cd "${1:?usage: $0 BIN_DIR}" && pwd) || exit 2
HA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HA_VIP=198.18.0.10
[ "$(id -u)" = 0 ] || { echo "SKIP: the lab needs root" >&2; exit 0; }
for tool in baresip sqlite3 python3 nsenter; do
  command -v "$tool" >/dev/null || { echo "missing $tool (run: make deps)" >&2; exit 1; }
done
export HAPBX_LAB_DIR
HAPBX_LAB_DIR=$(mktemp -d /tmp/hapbx-ha.XXXXXX)
HA_PH=$HAPBX_LAB_DIR/phones  # phone configs, logs, recordings (the phones host sees /tmp)
mkdir -p "$HA_PH"
HA_T0=${EPOCHREALTIME/./}
declare -A HA_PHONE_PID=()

ha_now_ms() { local t=${EPOCHREALTIME/./}; echo $(( 10#$t / 1000 )); }
ha_elapsed() { local d=$(( ${EPOCHREALTIME/./} - HA_T0 )); printf '%3d.%02d' $(( d / 1000000 )) $(( d % 1000000 / 10000 )); }
ha_log() { echo "[$(ha_elapsed)s] $*" >&2; }
ha_fail() {
  ha_log "FAIL: $*"
  local n
  for n in asterisk1 asterisk2; do
    echo "--- $n: clusterd, replicad (last lines)" >&2
    tail -n 15 "$HAPBX_LAB_DIR/current/$n/root/log/clusterd.log" "$HAPBX_LAB_DIR/current/$n/root/log/replicad.log" >&2 2>/dev/null
  done
  exit 1
}
ha_cleanup() {
  local rc=$? e
  for e in "${!HA_PHONE_PID[@]}"; do kill "${HA_PHONE_PID[$e]}" 2>/dev/null; done
  "$HA_BIN/hapbx" lab down >/dev/null 2>&1
  [ -n "${HA_KEEP:-}" ] || rm -rf "$HAPBX_LAB_DIR"
  exit "$rc"
}
trap ha_cleanup EXIT
trap 'exit 130' INT TERM

lab() { "$HA_BIN/hapbx" lab "$@"; }
on() { local n=$1; shift; lab exec "$n" -- "$@"; }
cluster() { local n=$1; shift; on "$n" "$HA_BIN/hapbx" cluster "$@"; }
replica() { local n=$1; shift; on "$n" "$HA_BIN/hapbx" replica "$@"; }
pbx() { local n=$1; shift; on "$n" "$HA_BIN/hapbx" pbx "$@"; }
probe() { on phones python3 -I -S "$HA_ROOT/tests/ha/sip_probe.py" "$@"; }
other() { [ "$1" = asterisk1 ] && echo asterisk2 || echo asterisk1; }
powered() { lab status --json | python3 -c "import json,sys; print(next(h['power'] for h in json.load(sys.stdin)['hosts'] if h['host']=='$1'))"; }

# ha_wait SECONDS WHAT CMD...: CMD succeeds before the deadline, else the test fails.
ha_wait() {
  local secs=$1 what=$2; shift 2
  local deadline=$(( ${EPOCHREALTIME/./} + secs * 1000000 ))
  until "$@"; do
    [ "${EPOCHREALTIME/./}" -lt "$deadline" ] || ha_fail "timed out after ${secs}s waiting for: $what"
    sleep 0.02
  done
}

# NODE's eth0 carries the VIP (asked from the root namespace: quick, nothing started in the node).
vip_configured() {
  ip -n "$(cat "$HAPBX_LAB_DIR/current/prefix")$1" -o -4 addr show dev eth0 2>/dev/null | grep -q " ${HA_VIP//./\\.}/"
}
vip_gone_from() { ! vip_configured "$1"; }
# A powered-off node keeps its addresses configured but has no link: it holds nothing.
has_vip() { [ "$(powered "$1")" = on ] && vip_configured "$1"; }
# Who holds the VIP: asterisk1, asterisk2, none or both.
vip_holder() {
  local a=0 b=0
  has_vip asterisk1 && a=1
  has_vip asterisk2 && b=1
  case "$a$b" in 10) echo asterisk1 ;; 01) echo asterisk2 ;; 11) echo both ;; *) echo none ;; esac
}
# One node runs the group and the other neither starts nor stops it, the same for a second.
settled_once() {
  local a b
  a=$(group_state asterisk1) b=$(group_state asterisk2)
  case "$a/$b" in Running/Standby|Running/Released|Running/|Standby/Running|Released/Running|/Running) ;; *) return 1 ;; esac
  echo "$a/$b"
}
settled() {
  local first; first=$(settled_once) || return 1
  local until=$(( $(ha_now_ms) + 1000 ))
  while [ "$(ha_now_ms)" -lt "$until" ]; do
    [ "$(settled_once)" = "$first" ] || return 1
    sleep 0.1
  done
}
# fault_at NODE DEFAULT_MS: when the lab began the last fault on NODE (ms), else DEFAULT_MS.
fault_at() {
  local us; us=$(cat "$HAPBX_LAB_DIR/current/$1/fault_at" 2>/dev/null)
  if [ -n "$us" ] && [ $(( us / 1000 )) -ge "$2" ]; then echo $(( us / 1000 )); else echo "$2"; fi
}
# NODE has the VIP and the VIP answers SIP.
serves() { vip_configured "$1" && sip_answers; }
vip_only_on() { [ "$(vip_holder)" = "$1" ]; }
group_state() { cluster "$1" --json status 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null; }
running_on() { [ "$(group_state "$1")" = Running ] && pbx "$1" core show version >/dev/null 2>&1; }
sip_answers() { probe options "$HA_VIP" 0.3; }
# Both disks UpToDate and connected (seen from NODE).
in_sync() { [ "$(replica "$1" dstate r0 2>/dev/null)" = UpToDate/UpToDate ] && [ "$(replica "$1" cstate r0 2>/dev/null)" = Connected ]; }

# The thesis example, up: asterisk1 holds the group, the disks are in sync.
ha_up() {
  lab up --example thesis >&2 || ha_fail "lab up --example thesis"
  ha_wait 30 "asterisk1 runs the PBX" running_on asterisk1
  ha_wait 30 "the disks in sync" in_sync asterisk1
  ha_wait 10 "the PBX answers SIP OPTIONS on the VIP" sip_answers
}

# --- phones (baresip in the phones host) --------------------------------------------------
# ha_phone EXT: a desk phone registering EXT to the VIP (digest auth), answering automatically,
# its microphone a tone (201: 1 kHz, 202: 440 Hz), what it hears dumped to WAV files; commands
# (dial, hangup) on its UDP console. Registration is valid for an hour: it never re-registers
# during a test, so a call to it after a failover proves the new node restored its binding.
ha_phone() {
  local ext=$1 dir=$HA_PH/$1 port freq cons
  case "$ext" in 201) port=5062 freq=1000 cons=5555 ;; 202) port=5064 freq=440 cons=5556 ;; *) ha_fail "ha_phone: 201 or 202" ;; esac
  mkdir -p "$dir/rec"
  python3 -I -S "$HA_ROOT/tests/integration/baresip/tones.py" make "$HA_PH/tone$freq.wav" "$freq" 120 || ha_fail "tone"
  sed -e "s|127.0.0.1:@SIP_PORT@|198.18.0.100:$port|" -e "s|^net_interface.*|net_interface\t\teth0|" \
      -e "s|@RTP_PORTS@|$((port * 2))-$((port * 2 + 9))|" -e "s|@SOURCE@|$HA_PH/tone$freq.wav|" \
      -e "s|@NAME@|$ext|" -e "s|@REC@|$dir/rec|" "$HA_ROOT/tests/integration/baresip/call_config.in" >"$dir/config"
  printf 'module\t\t\tcons.so\ncons_listen\t\t127.0.0.1:%s\n' "$cons" >>"$dir/config"
  echo "<sip:$ext@$HA_VIP;transport=udp>;auth_pass=${ext}pass;regint=3600;answermode=auto" >"$dir/accounts"
  lab exec phones -- setsid baresip -f "$dir" -t 600 </dev/null >"$HA_PH/$ext.log" 2>&1 &
  HA_PHONE_PID[$ext]=$!
  ha_wait 15 "phone $ext registered (200 OK)" grep -aq "$ext@$HA_VIP.*200 OK" "$HA_PH/$ext.log"
}
phone_cmd() {  # EXT COMMAND: a line on the phone's console
  local cons=5555; [ "$1" = 202 ] && cons=5556
  on phones python3 -I -S -c "import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(sys.argv[1].encode() + b'\n', ('127.0.0.1', $cons))" "$2"
}
established() { grep -ac "Call established" "$HA_PH/$1.log"; }
more_established() { [ "$(established "$1")" -gt "$2" ]; }
# ha_call FROM TO SECONDS: dials and waits until the call is established; prints the ms it took.
ha_call() {
  local from=$1 to=$2 secs=$3 before t0
  before=$(established "$from")
  t0=$(ha_now_ms)
  phone_cmd "$from" "/dial $to"
  ha_wait "$secs" "$from's call to $to answered" more_established "$from" "$before"
  echo $(( $(ha_now_ms) - t0 ))
}
ha_hangup_all() {  # both phones at once (one process in the phones host: it is on the clock)
  on phones python3 -I -S -c "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(b'/hangup\n', ('127.0.0.1', p)) for p in (5555, 5556)]"
}
# The tone 201 heard in its newest recording (440 when it heard 202), and 202's.
heard() {  # EXT FREQ OTHER_FREQ: the newest recording of EXT holds FREQ, not OTHER_FREQ
  local rec
  rec=$(ls -t "$HA_PH/$1/rec"/dump-*-dec.wav 2>/dev/null | head -n 1)
  [ -n "$rec" ] && python3 -I -S "$HA_ROOT/tests/integration/baresip/tones.py" check "$rec" "$2" "$3" >/dev/null 2>&1
}
bound_on() {  # NODE EXT: NODE's pbxd has a registration for EXT
  pbx "$1" --json sip show peers 2>/dev/null | python3 -c "
import json, sys
d = json.load(sys.stdin)
peers = d.get('peers', d) if isinstance(d, dict) else d
ok = any(str(p.get('name')) == '$2' and p.get('contacts') for p in peers)
sys.exit(0 if ok else 1)"
}

# --- data that must survive ------------------------------------------------------------------
# ha_write_file NODE NAME: 256 KiB of random data written and fsynced on /replica; prints its sha256.
ha_write_file() {
  on "$1" sh -c "mkdir -p /replica/data && head -c 262144 /dev/urandom > /replica/data/$2 && sync /replica/data/$2 && sha256sum /replica/data/$2" | awk '{print $1}'
}
ha_file_sum() { on "$1" sha256sum "/replica/data/$2" 2>/dev/null | awk '{print $1}'; }
cdr_count() { on "$1" sqlite3 -readonly -batch -noheader /replica/lib/cdr.db 'SELECT count(*) FROM cdr' 2>/dev/null; }
cdrs_at_least() { local n; n=$(cdr_count "$1"); [ -n "$n" ] && [ "$n" -ge "$2" ]; }

# --- faults and what the phones saw ----------------------------------------------------------
# ha_watch_start: probes the VIP every 10 ms in the background until ha_watch_stop.
ha_watch_start() {
  HA_WATCH=$HAPBX_LAB_DIR/watch.$RANDOM
  rm -f "$HA_WATCH.stop"
  probe watch "$HA_VIP" "$HA_WATCH" 120 "$HA_WATCH.stop" &
  HA_WATCH_PID=$!
  ha_wait 5 "the VIP probe runs" test -s "$HA_WATCH"
}
ha_watch_stop() { touch "$HA_WATCH.stop"; wait "$HA_WATCH_PID" 2>/dev/null; }
# ha_gap FAULT_MS: JSON of the outage after the fault (sip_probe.py gap).
ha_gap() { python3 -I -S "$HA_ROOT/tests/ha/sip_probe.py" gap "$HA_WATCH" "$1"; }
json_field() { python3 -c "import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print('' if v is None else v)" "$1" "$2"; }

# log_time NODE DAEMON PATTERN AFTER_MS: the time (epoch ms) of DAEMON's first log line on NODE
# matching PATTERN (a Python regex) logged after AFTER_MS; empty when there is none.
log_time() {
  python3 - "$HAPBX_LAB_DIR/current/$1/root/log/$2.log" "$3" "$4" <<'PY'
import re, sys, time, datetime
path, pattern, after = sys.argv[1], re.compile(sys.argv[2]), float(sys.argv[3])
try:
    lines = open(path, errors="replace").read().splitlines()
except OSError:
    lines = []
for line in lines:
    m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ", line)
    if not m or not pattern.search(line):
        continue
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp() * 1000
    if t >= after:
        print(int(t))
        break
PY
}

# --- failover cases (the test plan and bench/ha.sh) ------------------------------------------
ensure_holder() {  # NODE: NODE runs the PBX, the peer is up and the disks are in sync
  local n=$1 p; p=$(other "$1")
  [ "$(powered "$p")" = on ] || { lab fault power-on "$p" >/dev/null || ha_fail "power-on $p"; }
  ha_wait 60 "the disks in sync" in_sync "$n"
  # A failback may follow the resync: decide once the cluster has settled.
  ha_wait 30 "the cluster settles (one node runs the group for 1 s)" settled
  if ! running_on "$n"; then
    cluster "$n" takeover >/dev/null || ha_fail "takeover on $n"
  fi
  ha_wait 30 "$n runs the PBX" running_on "$n"
  ha_wait 10 "the VIP answers SIP" sip_answers
  ha_wait 10 "$p is in standby (no VIP)" vip_gone_from "$p"
}

CASE_N=0
# failover CASE DESCRIPTION FROM TO FAULT...: the fault (a `hapbx lab fault` verb and its
# arguments) on FROM, which runs the PBX; TO must take over. Leaves TO running the PBX. Needs the
# phones 201 and 202. Adds a row to the report: sip_ms (fault -> the VIP answers OPTIONS again),
# call_ms (fault -> the first new call answered), gap_ms (the phones' outage), registrations,
# data (the fsynced file and the CDRs), the call in progress.
failover() {
  local id=$1 what=$2 from=$3 to=$4; shift 4
  CASE_N=$(( CASE_N + 1 ))
  ensure_holder "$from"
  ha_hangup_all
  ha_call 201 202 10 >/dev/null  # the call in progress
  local name=case-$CASE_N sum cdrs
  sum=$(ha_write_file "$from" "$name")
  cdrs=$(cdr_count "$from")
  ha_watch_start
  local t0; t0=$(ha_now_ms)
  # In the background: a graceful shutdown returns only when the node is off, and the phones
  # may be served again long before.
  lab fault "$@" >/dev/null &
  local fault_pid=$!
  ha_wait 15 "$id: $to holds the VIP and it answers SIP" serves "$to"
  # At once, with the old call still up on the phones (baresip takes a second call): every
  # command here costs the phones' time.
  local t_dial ms
  t_dial=$(ha_now_ms)
  ms=$(ha_call 201 202 10)
  local t_answered=$(( t_dial + ms ))
  local calls  # the call in progress at the fault: 1 if the new node still had it
  calls=$(pbx "$to" --json core show channels 2>/dev/null | python3 -c 'import json,sys; print(int(json.load(sys.stdin).get("active_calls", 1)) - 1)' 2>/dev/null)
  ha_watch_stop
  wait "$fault_pid" || ha_fail "$id: lab fault $*"
  t0=$(fault_at "$from" "$t0")
  local call_ms=$(( t_answered - t0 ))
  ha_wait 15 "$id: $to runs the PBX" running_on "$to"
  local gap sip_ms
  gap=$(ha_gap "$t0")
  sip_ms=$(json_field "$gap" answered_ms)
  local regs=no data=lost
  bound_on "$to" 202 && regs=yes
  [ "$(ha_file_sum "$to" "$name")" = "$sum" ] && cdrs_at_least "$to" "$cdrs" && data=intact
  local inprog="dropped"
  [ "$calls" = 0 ] || inprog="kept? ($calls active)"
  # A node cut off from the LAN keeps its address until it sees it cannot reach the ping node
  # (harmless: it has no link); it must give it up by itself.
  ha_wait 10 "$id: the VIP on $to alone" vip_only_on "$to"
  ha_row case="$id" fault="$what" result=pass sip_ms="$sip_ms" call_ms="$call_ms" gap_ms="$(json_field "$gap" gap_ms)" \
    registrations="$regs" data="$data" call_in_progress="$inprog" notes="$to took over"
  ha_log "$id $what: VIP answers at +${sip_ms} ms, new call answered at +${call_ms} ms, registrations $regs, data $data"
  [ "$regs" = yes ] && [ "$data" = intact ] || ha_fail "$id: registrations $regs, data $data"
  ha_hangup_all
}

# --- the report ------------------------------------------------------------------------------
HA_REPORT_DIR=${HA_REPORT_DIR:-$(cd "$HA_BIN/.." && pwd)/ha-report}
mkdir -p "$HA_REPORT_DIR"
HA_ROWS=$HAPBX_LAB_DIR/rows.jsonl
: >"$HA_ROWS"
# ha_row KEY=VALUE...: one case of the report.
ha_row() {
  python3 -c '
import json, sys
row = {}
for kv in sys.argv[1:]:
    k, v = kv.split("=", 1)
    try:
        v = float(v) if "." in v else int(v)
    except ValueError:
        pass
    row[k] = v
print(json.dumps(row))' "$@" >>"$HA_ROWS"
}
# ha_report NAME: the Markdown table and the JSON under the build directory.
ha_report() {
  python3 - "$HA_ROWS" "$HA_REPORT_DIR/$1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
json.dump(rows, open(sys.argv[2] + ".json", "w"), indent=1)
cols = [("case", "case"), ("fault", "fault"), ("result", "result"), ("sip_ms", "fault→VIP answers OPTIONS (ms)"),
        ("call_ms", "fault→new call answered (ms)"), ("registrations", "registrations kept"),
        ("data", "CDRs + fsynced files"), ("call_in_progress", "call in progress"), ("notes", "notes")]
with open(sys.argv[2] + ".md", "w") as md:
    md.write("| " + " | ".join(c[1] for c in cols) + " |\n")
    md.write("|" + "---|" * len(cols) + "\n")
    for r in rows:
        md.write("| " + " | ".join(str(r.get(c[0], "")) for c in cols) + " |\n")
print(open(sys.argv[2] + ".md").read())
PY
}
