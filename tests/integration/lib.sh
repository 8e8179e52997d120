# Shared helpers for the integration tests, the demo and the benchmark: a private temp dir, free
# loopback ports, pbxd started from a copied config, bounded waits on conditions, sipp runs that
# always end, JSON checks through python3, and a cleanup trap that stops only the processes the
# script itself started (by PID).
#
# Usage (from a script):  source "$(dirname "$0")/lib.sh"; hp_init "$1"   # $1 = build/bin
# Environment: HAPBX_KEEP_TMP=1 keeps the temp dir (logs, sipp traces) after the run.

set -u -o pipefail

HP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HP_SIPP_DIR="$HP_ROOT/tests/sipp"
# The config the tests copy; override to run the suite against another one.
HP_THESIS=${HAPBX_TEST_CONFIG:-$HP_ROOT/examples/thesis}
HP_PIDS=()          # every background process this script started
HP_PBXD_WRAP=()     # command prefix for pbxd, e.g. (taskset -c 0) in the benchmark
HP_PBXD_ARGS=()     # extra pbxd arguments, e.g. (--log-level warning)

# Microseconds since the epoch, from bash itself (python3 starts slowly on a loaded machine).
hp_now_us() { local t=${EPOCHREALTIME/./}; echo $(( 10#$t )); }
HP_T0=$(hp_now_us)
hp_elapsed() { local d=$(( $(hp_now_us) - HP_T0 )); printf '%3d.%02d' $(( d / 1000000 )) $(( d % 1000000 / 10000 )); }
hp_log() { echo "[$(hp_elapsed)s] $*" >&2; }

# Prints the tail of every log in the temp dir, then exits 1 (the trap cleans up).
hp_fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$HP_TMP"/*.log "$HP_TMP"/*.msg "$HP_TMP"/*.err; do
    [ -s "$f" ] || continue
    echo "----- tail of $(basename "$f") -----" >&2
    tail -n 40 "$f" >&2
  done
  exit 1
}

# hp_descendants PID: the PIDs of every process below PID (children first), e.g. the sipp that a
# `timeout` wrapper we started runs: a KILL to the wrapper alone would leave it running.
hp_descendants() {
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    hp_descendants "$c"
    echo "$c"
  done
}

# hp_kill_tree PID: SIGKILL to a process we started and everything below it.
hp_kill_tree() {
  local pids
  pids=$(hp_descendants "$1")
  kill -KILL $pids "$1" 2>/dev/null
}

hp_cleanup() {
  local rc=$?
  local pid
  for pid in "${HP_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${HP_PIDS[@]}"; do
    hp_reap "$pid" 5 || { hp_kill_tree "$pid"; hp_reap "$pid" 5; }
  done
  if [ "${HAPBX_KEEP_TMP:-0}" = 1 ]; then
    echo "temp dir kept: $HP_TMP" >&2
  else
    rm -rf "$HP_TMP"
  fi
  exit "$rc"
}

# hp_init BIN_DIR: checks the executables and tools, makes the temp dir, installs the trap.
hp_init() {
  HP_BIN=$(cd "${1:?usage: $0 BIN_DIR}" && pwd) || { echo "no such bin dir: $1" >&2; exit 2; }
  local tool
  for tool in sipp python3 timeout; do
    command -v "$tool" >/dev/null || { echo "missing tool: $tool (run: make deps)" >&2; exit 2; }
  done
  HP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/hapbx-it.XXXXXX")
  trap hp_cleanup EXIT
  trap 'exit 130' INT TERM
  cd "$HP_TMP" || exit 2
}

# hp_reap PID SECONDS: waits for a process we started to end; 1 if it is still running.
hp_reap() {
  local pid=$1 deadline
  deadline=$(( $(date +%s) + $2 ))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.05
  done
  wait "$pid" 2>/dev/null
  return 0
}

# hp_stop PID [SIGNAL]: signals one process we started and waits for it to end.
hp_stop() {
  local pid=$1 sig=${2:-TERM}
  kill "-$sig" "$pid" 2>/dev/null
  hp_reap "$pid" 10 || { hp_kill_tree "$pid"; hp_reap "$pid" 5; }
  local kept=() p
  for p in "${HP_PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  HP_PIDS=("${kept[@]}")
}

# hp_spawn NAME CMD...: starts CMD in the background with its output in $HP_TMP/NAME.log;
# sets HP_LAST_PID.
hp_spawn() {
  local name=$1; shift
  "$@" </dev/null >>"$HP_TMP/$name.log" 2>&1 &
  HP_LAST_PID=$!
  HP_PIDS+=("$HP_LAST_PID")
}

# hp_free_port: a loopback port free for both UDP and TCP right now (the OS picks it).
hp_free_port() {
  python3 -I -S - <<'PY'
import socket
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        t.close()
        u.close()
    print(port)
    break
else:
    raise SystemExit("no free port")
PY
}

# hp_wait_until SECONDS DESCRIPTION CMD...: polls CMD every 100 ms until it succeeds; fails the
# test with DESCRIPTION when the deadline passes.
hp_wait_until() {
  local secs=$1 what=$2; shift 2
  local deadline=$(( $(hp_now_us) + secs * 1000000 ))
  while ! "$@" >/dev/null 2>&1; do
    if [ "$(hp_now_us)" -gt "$deadline" ]; then
      "$@" >&2   # once more, visibly: says why the condition does not hold
      hp_fail "timed out after ${secs}s waiting for: $what"
    fi
    sleep 0.1
  done
}

# hp_make_config SRC_DIR DEST_DIR KEY=VALUE...: copies a config dir and sets [general] keys in
# sip.conf (existing lines for those keys are removed; the new ones go right after [general]).
hp_make_config() {
  local src=$1 dest=$2; shift 2
  mkdir -p "$dest" && cp -r "$src"/. "$dest"/ || hp_fail "cannot copy config $src"
  python3 -I -S - "$dest/sip.conf" "$@" <<'PY' || hp_fail "cannot edit $dest/sip.conf"
import re, sys
path, pairs = sys.argv[1], sys.argv[2:]
over = dict(p.split("=", 1) for p in pairs)
out, section, done = [], None, False
for line in open(path).read().splitlines():
    m = re.match(r"\s*\[([^\]]+)\]", line)
    if m:
        section = m.group(1).strip()
        out.append(line)
        if section == "general" and not done:
            out += ["%s=%s" % kv for kv in over.items()]
            done = True
        continue
    key = re.match(r"\s*([A-Za-z0-9_]+)\s*=", line)
    if section == "general" and key and key.group(1).lower() in over:
        continue
    out.append(line)
if not done:
    out = ["[general]"] + ["%s=%s" % kv for kv in over.items()] + out
open(path, "w").write("\n".join(out) + "\n")
PY
}

# hp_cli ARGS...: the admin command against our daemon's socket.
hp_cli() { "$HP_BIN/hapbx" pbx --socket "$HP_SOCK" "$@"; }

# hp_start_pbxd CONFIG_SRC [KEY=VALUE...]: copies CONFIG_SRC (default $HP_THESIS) to
# $HP_TMP/etc with bindaddr 127.0.0.1 and a free bindport (plus the given [general] keys), starts
# pbxd and waits until its CLI answers. Retries with another port if pbxd dies at start (port taken
# meanwhile). Sets HP_PORT, HP_SOCK, HP_PBXD_PID, HP_CONF, HP_STATE.
hp_start_pbxd() {
  local src=${1:-$HP_THESIS}; shift || true
  [ -f "$src/sip.conf" ] || hp_fail "no sip.conf in $src"
  HP_CONF=$HP_TMP/etc
  HP_STATE=${HP_STATE:-$HP_TMP/state}
  HP_SOCK=$HP_TMP/pbxd.sock
  mkdir -p "$HP_STATE"
  local attempt
  for attempt in 1 2 3; do
    HP_PORT=$(hp_free_port) || hp_fail "no free port"
    rm -rf "$HP_CONF"
    hp_make_config "$src" "$HP_CONF" bindaddr=127.0.0.1 "bindport=$HP_PORT" "$@"
    if hp_run_pbxd; then return 0; fi
    hp_log "pbxd did not start on port $HP_PORT (attempt $attempt)"
  done
  hp_fail "pbxd did not start"
}

# hp_run_pbxd: starts pbxd on the current $HP_CONF/$HP_STATE/$HP_SOCK and waits (10 s) until
# `core show version` answers; 1 if the process ended first.
hp_run_pbxd() {
  hp_spawn pbxd "${HP_PBXD_WRAP[@]}" "$HP_BIN/pbxd" --config-dir "$HP_CONF" --state-dir "$HP_STATE" --socket "$HP_SOCK" \
    "${HP_PBXD_ARGS[@]}"
  HP_PBXD_PID=$HP_LAST_PID
  local deadline=$(( $(date +%s) + 10 ))
  while ! hp_cli core show version >/dev/null 2>&1; do
    kill -0 "$HP_PBXD_PID" 2>/dev/null || { wait "$HP_PBXD_PID" 2>/dev/null; return 1; }
    [ "$(date +%s)" -ge "$deadline" ] && hp_fail "pbxd (pid $HP_PBXD_PID) did not answer the CLI within 10 s"
    sleep 0.05
  done
  hp_log "pbxd pid $HP_PBXD_PID up on 127.0.0.1:$HP_PORT"
}

# hp_sipp NAME SCENARIO [SIPP ARGS...]: one bounded sipp run as a client against pbxd (one call
# unless -m is given). Output, errors and the message trace go to $HP_TMP/NAME.*. Returns sipp's
# exit status (0: every call succeeded). Set HP_SIPP_PORT to fix the local port (a phone that
# must keep its Contact across runs); otherwise a free one is picked.
hp_sipp() {
  local name=$1 scen=$2; shift 2
  local port rc attempt
  for attempt in 1 2 3; do
    port=${HP_SIPP_PORT:-$(hp_free_port)}
    timeout -k 5 90 sipp -sf "$HP_SIPP_DIR/$scen.xml" "127.0.0.1:$HP_PORT" -i 127.0.0.1 -p "$port" \
      -m 1 -nostdin -timeout 30s -timeout_error \
      -trace_err -error_file "$HP_TMP/$name.err" -trace_msg -message_file "$HP_TMP/$name.msg" \
      "$@" </dev/null >>"$HP_TMP/$name.log" 2>&1
    rc=$?
    # 254/255: sipp could not start (e.g. its port was taken meanwhile); retry on a fresh port.
    [ $rc -ge 254 ] && [ -z "${HP_SIPP_PORT:-}" ] && grep -qi 'bind' "$HP_TMP/$name.log" || break
    hp_log "sipp could not bind port $port, retrying"
  done
  return $rc
}

# hp_expect_sipp NAME SCENARIO [ARGS...]: like hp_sipp, failing the test unless sipp exits 0.
hp_expect_sipp() {
  local name=$1
  hp_sipp "$@"
  local rc=$?
  [ $rc -eq 0 ] || hp_fail "sipp scenario '$2' ($name) failed with status $rc"
  hp_log "ok: sipp $2 ($name)"
}

# hp_json_check DESCRIPTION PYTHON_EXPR CLI ARGS...: runs `hapbx pbx --json CLI ARGS`, parses the
# JSON and evaluates PYTHON_EXPR with `d` bound to it and helpers peer(name), contacts(name),
# channels(), chan(peer name).
# Returns 0 if the expression is true; prints the JSON and the reason otherwise.
hp_json_check() {
  local expr=$1; shift
  local out="$HP_TMP/cli.json"
  hp_cli --json "$@" >"$out" 2>&1 || { echo "CLI failed: $(head -c 500 "$out")" >&2; return 1; }
  python3 -I -S - "$expr" "$out" <<'PY'
import json, sys
expr, text = sys.argv[1], open(sys.argv[2]).read()
try:
    d = json.loads(text)
except ValueError as e:
    sys.exit("not JSON (%s): %s" % (e, text[:300]))
def peers():
    return d.get("peers", []) if isinstance(d, dict) else d
def peer(name):
    for p in peers():
        if str(p.get("name")) == str(name):
            return p
    raise KeyError("no peer %s in %s" % (name, text[:300]))
def contacts(name):
    return peer(name).get("contacts") or []
def channels():
    return d.get("channels", []) if isinstance(d, dict) else d
def chan(name):
    """The channel of peer NAME: by "peer", else by the channel name SIP/NAME-..."""
    for c in channels():
        if str(c.get("peer")) == str(name) or str(c.get("channel", "")).startswith("SIP/%s-" % name):
            return c
    raise KeyError("no channel of %s in %s" % (name, text[:300]))
try:
    ok = eval("(" + expr + "\n)")   # parenthesized: the expression may span lines
except Exception as e:
    sys.exit("check %r raised %r on %s" % (expr, e, text[:500]))
if not ok:
    sys.exit("check %r is false on %s" % (expr, text[:500]))
PY
}

# hp_expect_json DESCRIPTION PYTHON_EXPR CLI ARGS...: fails the test unless the check holds now.
hp_expect_json() {
  local what=$1; shift
  hp_json_check "$@" || hp_fail "$what"
  hp_log "ok: $what"
}

# hp_wait_json SECONDS DESCRIPTION PYTHON_EXPR CLI ARGS...: polls until the check holds.
hp_wait_json() {
  local secs=$1 what=$2; shift 2
  hp_wait_until "$secs" "$what" hp_json_check "$@"
  hp_log "ok: $what"
}

# hp_creds USER PASSWORD: writes a one-line sipp injection file (field0 = user, field1 = the whole
# [authentication ...] keyword: sipp does not expand keywords nested inside it, but it does expand
# keywords held in CSV fields) and prints the sipp arguments for it.
hp_creds() {
  local f="$HP_TMP/creds_$1_$(printf %s "$2" | md5sum | cut -c1-8).csv"
  printf 'SEQUENTIAL\n%s;[authentication username=%s password=%s];\n' "$1" "$1" "$2" >"$f"
  echo "-inf $f"
}

# --- calls ---------------------------------------------------------------------------------------
# Helpers for the call tests (call_*.sh): desk phones played by sipp (a registered phone answers
# the PBX's INVITE with an out-of-call scenario), callers in the background, exit statuses, the
# dialplan copied with the config, CDRs read with the sqlite3 CLI.

declare -A HP_MEDIA   # NAME -> the media (RTP) port of that sipp
declare -A HP_SIP     # NAME -> its SIP port
declare -A HP_EXT_PORT  # extension -> the SIP port its phones register from (one binding each)

# hp_call_init: checks the call tests' tools and writes call_tone.pcap (2 s of 1 kHz, G.711
# u-law RTP) into the temp dir, where the scenarios' play_pcap_audio finds it (sipp runs there).
hp_call_init() {
  command -v sqlite3 >/dev/null || { echo "missing tool: sqlite3 (run: make deps)" >&2; exit 2; }
  python3 -I -S "$HP_SIPP_DIR/make_g711_pcap.py" "$HP_TMP/call_tone.pcap" --seconds 2 --freq 1000 \
    || hp_fail "cannot write call_tone.pcap"
}

# hp_media_port: an even loopback UDP port P with P..P+3 free (sipp binds P for audio and P+2 for
# video; RTCP would use the odd ones).
hp_media_port() {
  python3 -I -S - <<'PY'
import socket
for _ in range(200):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1] & ~1
    s.close()
    if p < 1024 or p + 3 > 65535:
        continue
    held = []
    try:
        for q in range(p, p + 4):
            t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            held.append(t)
            t.bind(("127.0.0.1", q))
    except OSError:
        continue
    finally:
        for t in held:
            t.close()
    print(p)
    break
else:
    raise SystemExit("no free media port")
PY
}

# hp_call_config DEST [RINGTIME]: copies $HP_THESIS (with its extensions.conf) to DEST for
# hp_start_pbxd. RINGTIME, if given, replaces the Dial timeout in [globals].
hp_call_config() {
  local dest=$1 ring=${2:-}
  rm -rf "$dest" && mkdir -p "$dest" && cp -r "$HP_THESIS"/. "$dest"/ || hp_fail "cannot copy $HP_THESIS"
  [ -f "$dest/extensions.conf" ] || hp_fail "no extensions.conf in $HP_THESIS (pbxd needs a dialplan)"
  if [ -n "$ring" ]; then
    python3 -I -S - "$dest/extensions.conf" "$ring" <<'PY' || hp_fail "cannot set RINGTIME"
import re, sys
path, ring = sys.argv[1], sys.argv[2]
out, section, done = [], None, False
for line in open(path).read().splitlines():
    m = re.match(r"\s*\[([^\]]+)\]", line)
    if m:
        section = m.group(1).strip()
        out.append(line)
        if section == "globals":
            out.append("RINGTIME=%s" % ring)
            done = True
        continue
    if section == "globals" and re.match(r"\s*RINGTIME\s*=", line):
        continue
    out.append(line)
if not done:
    out = ["[globals]", "RINGTIME=%s" % ring] + out
open(path, "w").write("\n".join(out) + "\n")
PY
  fi
}

# hp_sipp_args NAME [SIP_PORT]: the bounded-run, tracing and media arguments every call sipp gets;
# picks (and remembers) its SIP port (unless given) and media port.
hp_sipp_args() {
  local name=$1
  HP_SIP[$name]=${2:-$(hp_free_port)} || hp_fail "no free port"
  HP_MEDIA[$name]=$(hp_media_port) || hp_fail "no free media port"
  HP_ARGS=(-i 127.0.0.1 -p "${HP_SIP[$name]}" -mp "${HP_MEDIA[$name]}" -mi 127.0.0.1 -m 1 -nostdin
    -trace_err -error_file "$HP_TMP/$name.err" -trace_msg -message_file "$HP_TMP/$name.msg"
    -trace_logs -log_file "$HP_TMP/$name.events.log")
}

# hp_phone NAME EXT OOC_SCENARIO [SIPP ARGS...]: a desk phone: sipp registers EXT (password
# "<EXT>pass", digest auth) at ${HP_SERVER_PORT:-$HP_PORT} and stays up to 60 s; the PBX's INVITE
# (a new Call-ID) runs OOC_SCENARIO, which ends sipp with status 97. Every phone of one extension
# registers from the same port, so a later one refreshes the binding instead of adding a contact
# (the previous phone of that extension must have ended). Sets HP_LAST_PID.
hp_phone() {
  local name=$1 ext=$2 scen=$3; shift 3
  [ -n "${HP_EXT_PORT[$ext]:-}" ] || HP_EXT_PORT[$ext]=$(hp_free_port) || hp_fail "no free port"
  hp_sipp_args "$name" "${HP_EXT_PORT[$ext]}"
  hp_spawn "$name" timeout -k 5 70 sipp -sf "$HP_SIPP_DIR/register_and_stay.xml" \
    "127.0.0.1:${HP_SERVER_PORT:-$HP_PORT}" "${HP_ARGS[@]}" -oocsf "$HP_SIPP_DIR/$scen.xml" \
    -d 60000 -timeout 65s $(hp_creds "$ext" "${ext}pass") -key expires 3600 -key ext "$ext" "$@"
}

# hp_caller NAME EXT SCENARIO [SIPP ARGS...]: a desk phone EXT (password "<EXT>pass" unless
# HP_PASSWORD is set) runs SCENARIO once against the server in the background, bounded (60 s).
# Pass -s DEST for the number it dials. Sets HP_LAST_PID.
hp_caller() {
  local name=$1 ext=$2 scen=$3; shift 3
  hp_sipp_args "$name"
  hp_spawn "$name" timeout -k 5 60 sipp -sf "$HP_SIPP_DIR/$scen.xml" "127.0.0.1:${HP_SERVER_PORT:-$HP_PORT}" \
    "${HP_ARGS[@]}" -timeout 50s -timeout_error $(hp_creds "$ext" "${HP_PASSWORD:-${ext}pass}") "$@"
}

# hp_wait_registered NAME SECONDS: waits until the sipp phone NAME got its 200 to the REGISTER
# with credentials (from its message trace; works against any registrar).
hp_wait_registered() {
  hp_wait_until "$2" "phone $1 registered" python3 -I -S - "$HP_TMP/$1.msg" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
for block in text.split("message received")[1:]:
    if re.search(r"^SIP/2\.0 200", block, re.M) and re.search(r"^CSeq:\s*2 REGISTER", block, re.M | re.I):
        sys.exit(0)
sys.exit(1)
PY
  hp_log "ok: phone $1 registered"
}

# hp_expect_exit PID SECONDS DESCRIPTION STATUS...: waits for a process we started to end and fails
# unless its exit status is one of STATUS (sipp: 0 = every call followed the scenario, 97 = a
# phone's scenario ran to its end, 1 = a call failed).
hp_expect_exit() {
  local pid=$1 secs=$2 what=$3; shift 3
  local deadline=$(( $(hp_now_us) + secs * 1000000 ))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$(hp_now_us)" -gt "$deadline" ] && hp_fail "$what: still running after ${secs}s"
    sleep 0.05
  done
  wait "$pid"
  local rc=$? s
  local kept=() p
  for p in "${HP_PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  HP_PIDS=("${kept[@]}")
  for s in "$@"; do
    [ "$rc" = "$s" ] && { hp_log "ok: $what (exit $rc)"; return 0; }
  done
  hp_fail "$what: exit status $rc, expected $*"
}

# hp_events NAME: the lines the scenario of sipp NAME logged (<log> actions).
hp_events() { cat "$HP_TMP/$1.events.log" 2>/dev/null; }

# hp_expect_event NAME REGEX DESCRIPTION: fails unless sipp NAME logged a line matching REGEX.
hp_expect_event() {
  grep -Eq "$2" "$HP_TMP/$1.events.log" 2>/dev/null || hp_fail "$3 (no '$2' in $1.events.log)"
  hp_log "ok: $3"
}

# hp_cdr SQL: runs SQL on pbxd's CDR database (read only), one row a line, fields split by '|'.
hp_cdr() { sqlite3 -readonly -batch -noheader "$HP_STATE/cdr.db" "$1"; }

# hp_wait_cdr SECONDS N: waits until the CDR table holds N rows (written at call end).
hp_wait_cdr() {
  hp_wait_until "$1" "$2 CDR row(s) in $HP_STATE/cdr.db" hp_cdr_count_is "$2"
  hp_log "ok: $2 CDR row(s)"
}
hp_cdr_count_is() { [ "$(hp_cdr 'SELECT count(*) FROM cdr' 2>/dev/null)" = "$1" ]; }

# hp_start_kamailio NAME CFG [KAMAILIO ARGS...]: Kamailio with CFG on a free loopback UDP port,
# in the foreground of its own process group (-DD -E), its output in NAME.log; waits until it
# answers OPTIONS. Prefix it with HP_KAM_WRAP (e.g. taskset -c 0); HP_KAM_SHM = shared memory in
# MB (default 64; a stateful proxy under load needs far more). Sets HP_KAM_PORT, HP_KAM_PID.
HP_KAM_WRAP=()
hp_start_kamailio() {
  local name=$1 cfg=$2; shift 2
  command -v kamailio >/dev/null || hp_fail "missing kamailio (run: make deps)"
  local attempt deadline
  for attempt in 1 2 3; do
    HP_KAM_PORT=$(hp_free_port) || hp_fail "no free port"
    mkdir -p "$HP_TMP/$name"
    hp_spawn "$name" "${HP_KAM_WRAP[@]}" kamailio -DD -E -f "$cfg" -l "udp:127.0.0.1:$HP_KAM_PORT" \
      -Y "$HP_TMP/$name" -w "$HP_TMP/$name" -m "${HP_KAM_SHM:-64}" -M 16 "$@"
    HP_KAM_PID=$HP_LAST_PID
    deadline=$(( $(date +%s) + 10 ))
    until python3 "$HP_ROOT/tests/integration/sip_raw.py" options "$HP_KAM_PORT" >/dev/null 2>&1; do
      kill -0 "$HP_KAM_PID" 2>/dev/null || break
      [ "$(date +%s)" -ge "$deadline" ] && hp_fail "kamailio did not answer OPTIONS in 10 s"
      sleep 0.1
    done
    if kill -0 "$HP_KAM_PID" 2>/dev/null; then
      hp_log "kamailio ($name) pid $HP_KAM_PID up on 127.0.0.1:$HP_KAM_PORT"
      return 0
    fi
    hp_log "kamailio did not start on port $HP_KAM_PORT (attempt $attempt)"
  done
  hp_fail "kamailio did not start"
}

# hp_start_call_pbxd [RINGTIME [KEY=VALUE...]]: pbxd with the thesis config and its dialplan
# (hp_call_config), RINGTIME in [globals] if given, the [general] keys given.
hp_start_call_pbxd() {
  local ring=${1:-}; shift || true
  hp_call_config "$HP_TMP/conf-src" "$ring"
  hp_start_pbxd "$HP_TMP/conf-src" "$@"
}

# hp_wait_bound EXT SECONDS: waits until pbxd lists one contact for EXT.
hp_wait_bound() { hp_wait_json "$2" "$1 registered in pbxd" "len(contacts('$1')) == 1" sip show peers; }

# hp_logged_port NAME WHAT: the port sipp NAME logged as "WHAT <ip> <port>" (answer-media,
# offer-media), or "received reinvite <dir> media <port>"; empty if none.
hp_logged_port() { grep -E "$2" "$HP_TMP/$1.events.log" 2>/dev/null | tail -n 1 | awk '{print $NF}'; }

# hp_expect_relayed NAME WHAT PEER_MEDIA: fails unless the media port sipp NAME saw (WHAT) is
# pbxd's, not the other phone's (PEER_MEDIA), and lies in the thesis rtp.conf range.
hp_expect_relayed() {
  local port
  port=$(hp_logged_port "$1" "$2")
  [ -n "$port" ] || hp_fail "$1 logged no '$2'"
  [ "$port" != "$3" ] || hp_fail "$1 saw the other phone's media port $3 ($2): media not relayed"
  [ "$port" -ge "${HP_RTP_START:-10000}" ] && [ "$port" -le "${HP_RTP_END:-20000}" ] \
    || hp_fail "$1 saw media port $port ($2), outside rtp.conf's range"
  hp_log "ok: $1 got pbxd's media port $port ($2), not the phone's $3"
}

# hp_expect_cdr DESCRIPTION SQL_CONDITION: fails unless exactly one CDR row satisfies the
# condition (the table's rows are shown otherwise).
hp_expect_cdr() {
  local n
  n=$(hp_cdr "SELECT count(*) FROM cdr WHERE $2") || hp_fail "cannot read the CDRs"
  if [ "$n" != 1 ]; then
    echo "cdr rows:" >&2
    sqlite3 -readonly -header "$HP_STATE/cdr.db" "SELECT * FROM cdr" >&2
    hp_fail "$1: $n CDR row(s) where $2"
  fi
  hp_log "ok: $1"
}
