#!/usr/bin/env bash
# RTP relay benchmark: pbxd's relay (bench/relay_bench_main.cpp: hapbx_media alone, N bridged
# stream pairs) against rtpengine 10.5 (Debian rtpengine-daemon, userspace forwarding only:
# --table=-1, no kernel module, one worker thread), alternating at each call count. The relay
# under test is pinned to core 0 (taskset -c 0); the load generator (bench/rtp_load.cpp) to core 1.
#
# Per call: two endpoints on 127.0.0.1 each sending 172-byte G.711 packets (12-byte RTP header +
# 160 bytes) every 20 ms, so 100 packets/s relayed per call. rtpengine gets its calls over its
# ng protocol (offer/answer with SDP, bench/rtpengine_ng.py); relay_bench gets the generator's
# ports as the streams' SDP remotes. Both latch (symmetric RTP) and are primed with one packet
# per endpoint before the measured window.
#
# Reported per server and call count: relayed packets/s, loss, added delay p50/p99/max (send
# time in the payload, read on arrival), CPU per relayed packet (utime+stime of the relay
# process, all threads, /proc/PID/stat, over the sending window), RSS per call (VmRSS at the end
# of the window minus VmRSS before the calls were set up), and the ratios pbxd/rtpengine.
#
# Both the relay and the generator run at nice -10 (BENCH_NICE), each in its own session whose
# autogroup gets that nice too (with sched_autogroup, plain nice only ranks processes within one
# session): on the shared development VM other work on the same cores would otherwise take most
# of their time slices, and the figures would measure the scheduler. Same for both relays.
#
# Usage: bash bench/media.sh build/bin
# Environment: BENCH_CALLS="100 500 1000 2000", BENCH_SECONDS=10 (per run),
#   BENCH_SERVERS="pbxd rtpengine", BENCH_NICE=-10, BENCH_RT=1 (see below),
#   BENCH_COALESCE_US (pbxd's RelayOptions::coalesce_us, default 500), HAPBX_KEEP_TMP=1 to keep
#   the logs.
source "$(dirname "$0")/../tests/integration/lib.sh"
hp_init "${1:-build/bin}"

CALLS=${BENCH_CALLS:-100 500 1000 2000}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
SERVERS=${BENCH_SERVERS:-pbxd rtpengine}
NICE=${BENCH_NICE:--10}
# BENCH_RT=1: run relay and generator SCHED_FIFO (chrt -f 10) instead, for a machine so loaded
# that even nice -10 leaves them waiting for the CPU (the kernel still keeps 5 % for others).
RUN=(setsid nice -n "$NICE")
[ "${BENCH_RT:-0}" = 1 ] && RUN=(setsid chrt -f 10)
PORT_MIN=20000   # below the kernel's ephemeral range (32768-60999), where rtp_load's sockets go
PORT_MAX=29999
for tool in taskset "$HP_BIN/rtp_load" "$HP_BIN/relay_bench"; do
  command -v "$tool" >/dev/null || hp_fail "missing $tool (cmake --build build --target rtp_load relay_bench; make deps)"
done
if [[ " $SERVERS " == *" rtpengine "* ]]; then
  command -v rtpengine >/dev/null || hp_fail "missing rtpengine (apt-get install rtpengine-daemon)"
fi
[ "$(nproc)" -ge 2 ] || hp_fail "needs 2 cores (relay on core 0, generator on core 1)"
NG="$HP_ROOT/bench/rtpengine_ng.py"

# boost PID: the nice of PID's autogroup (its session), see above.
boost() { [ -w "/proc/$1/autogroup" ] && echo "$NICE" >"/proc/$1/autogroup" 2>/dev/null; return 0; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
log_has() { grep -q "$2" "$HP_TMP/$1.log"; }
ng_ping() { python3 "$NG" "$1" --ping; }

declare -A RES
# run_one SERVER CALLS: one measured run; fills RES[SERVER,CALLS].
run_one() {
  local server=$1 calls=$2 dir="$HP_TMP/$1-$2" pid ng="" name="$1-$2"
  mkdir -p "$dir"
  case $server in
    pbxd)
      hp_spawn "$name" "${RUN[@]}" taskset -c 0 "$HP_BIN/relay_bench" --remotes "$dir/endpoints" \
        --out "$dir/targets" --port-min $PORT_MIN --port-max $PORT_MAX ${BENCH_COALESCE_US:+--coalesce-us $BENCH_COALESCE_US}
      pid=$HP_LAST_PID
      boost "$pid"
      hp_wait_until 10 "relay_bench ready" log_has "$name" "ready" ;;
    rtpengine)
      ng=$(hp_free_port)
      hp_spawn "$name" "${RUN[@]}" taskset -c 0 rtpengine --config-file=none --foreground --log-stderr \
        --log-level=4 --table=-1 --interface=127.0.0.1 --listen-ng=127.0.0.1:$ng \
        --port-min=$PORT_MIN --port-max=$PORT_MAX --num-threads=1 --timeout=600 --delete-delay=0
      pid=$HP_LAST_PID
      boost "$pid"
      hp_wait_until 10 "rtpengine answers ng ping" ng_ping "$ng" ;;
  esac
  case $(cat /proc/$pid/comm) in setsid|taskset|nice|chrt) hp_fail "pid $pid is $(cat /proc/$pid/comm), not the relay" ;; esac
  local rss0; rss0=$(rss_kb "$pid")
  local ctl=""
  if [ "$server" = rtpengine ]; then
    python3 "$NG" "$ng" "$dir/endpoints" "$dir/targets" >"$dir/ng.log" 2>&1 &
    ctl=$!
    HP_PIDS+=("$ctl")
  fi
  "${RUN[@]}" taskset -c 1 timeout -k 5 $(( SECONDS_PER_RUN + 120 )) "$HP_BIN/rtp_load" \
    --calls "$calls" --seconds "$SECONDS_PER_RUN" --endpoints "$dir/endpoints" --targets "$dir/targets" \
    --relay-pid "$pid" >"$dir/load.out" 2>"$dir/load.err" </dev/null &
  local gen=$!
  HP_PIDS+=("$gen")
  boost "$gen"
  wait "$gen" || hp_fail "rtp_load failed: $(cat "$dir/load.err" "$dir/ng.log" 2>/dev/null)"
  [ -n "$ctl" ] && wait "$ctl"
  kill -0 "$pid" 2>/dev/null || hp_fail "$server died during the $calls-call run"
  hp_stop "$pid"
  local line; line=$(cat "$dir/load.out")
  RES[$server,$calls]=$(python3 - "$line" "$rss0" "$calls" <<'PY'
import sys
kv = dict(f.split("=") for f in sys.argv[1].split())
rss0, calls = int(sys.argv[2]), int(sys.argv[3])
received = int(kv["received"])
cpu = int(kv["relay_cpu_us"])
per_packet = cpu / received if received else float("nan")
rss_per_call = (int(kv["relay_rss_kb"]) - rss0) * 1024 / calls
print("%s %s %s %s %s %s %.2f %.0f %s" % (kv["pps"], kv["loss_pct"], kv["p50_us"], kv["p99_us"],
      kv["max_us"], kv["misrouted"], per_packet, rss_per_call, kv["sent"]))
PY
)
  hp_log "$server @ $calls calls: $line"
}

for calls in $CALLS; do
  for s in $SERVERS; do run_one "$s" "$calls"; done
done

echo
echo "RTP relay, G.711 20 ms (172-byte packets), 100 packets/s relayed per call; relay on core 0,"
echo "generator on core 1, both $([ "${BENCH_RT:-0}" = 1 ] && echo "SCHED_FIFO 10" || echo "at nice $NICE"), ${SECONDS_PER_RUN} s per run; $(date -u +%F), $(uname -r), $(nproc) cores, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| relay | calls | relayed pkt/s | loss %% | p50 us | p99 us | max us | misrouted | CPU us/pkt | RSS bytes/call |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for calls in $CALLS; do
  for s in $SERVERS; do
    read -r pps loss p50 p99 pmax mis cpu rss _ <<<"${RES[$s,$calls]}"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$s" "$calls" "$pps" "$loss" "$p50" "$p99" "$pmax" "$mis" "$cpu" "$rss"
  done
done
if [[ " $SERVERS " == *" pbxd "* && " $SERVERS " == *" rtpengine "* ]]; then
  echo
  echo "ratios pbxd/rtpengine (< 1 means pbxd spends less):"
  for calls in $CALLS; do
    read -r _ _ _ _ _ _ cp rp _ <<<"${RES[pbxd,$calls]}"
    read -r _ _ _ _ _ _ ce re _ <<<"${RES[rtpengine,$calls]}"
    python3 -c "
cp, ce, rp, re = $cp, $ce, $rp, $re
print('  %5d calls: CPU per packet %.2f, RSS per call %s' % ($calls, cp / ce if ce else float('nan'), '%.2f' % (rp / re) if re > 0 else 'n/a'))"
  done
fi
