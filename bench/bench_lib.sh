# Process measurements shared by the benchmarks (bench/register.sh, bench/calls.sh); source after
# tests/integration/lib.sh.

# cpu_us PID: utime+stime in microseconds of PID and every descendant (all threads: /proc/PID/stat
# counts the whole thread group).
cpu_us() {
  python3 - "$1" <<'PY'
import os, sys
root = int(sys.argv[1]); tick = os.sysconf("SC_CLK_TCK")
stats = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            s = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        f = s[s.rindex(")") + 2:].split()
        stats[int(d)] = (int(f[1]), int(f[11]) + int(f[12]))   # ppid, utime+stime
todo, total = [root], 0
while todo:
    p = todo.pop()
    total += stats.get(p, (0, 0))[1]
    todo += [c for c, (pp, _) in stats.items() if pp == p]
print(total * 1000000 // tick)
PY
}

# mem_kb PID: proportional set size (kB) of PID and its descendants (shared pages counted once).
mem_kb() {
  python3 - "$1" <<'PY'
import os, sys
root = int(sys.argv[1])
kids = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            s = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        kids.setdefault(int(s[s.rindex(")") + 2:].split()[1]), []).append(int(d))
todo, total = [root], 0
while todo:
    p = todo.pop()
    todo += kids.get(p, [])
    for line in open("/proc/%d/smaps_rollup" % p):
        if line.startswith("Pss:"):
            total += int(line.split()[1])
print(total)
PY
}

# sipp_summary DIR: "created ok failed p50 p90 p99 max" from sipp's stat file (-trace_stat
# -stf stat.csv) and response-time files (-trace_rtt) in DIR; the percentiles (ms) are of
# response time RTD (default 1).
sipp_summary() {
  python3 - "$1" "${2:-1}" <<'PY'
import csv, glob, sys
d, rtd = sys.argv[1], int(sys.argv[2])
rows = list(csv.reader(open(d + "/stat.csv"), delimiter=";"))
head, last = rows[0], rows[-1]
col = lambda name: int(last[head.index(name)])
created, ok, failed = col("TotalCallCreated"), col("SuccessfulCall(C)"), col("FailedCall(C)")
times = []
for f in glob.glob(d + "/*_rtt.csv"):
    for line in open(f):
        parts = line.strip().split(";")
        if len(parts) >= 3 and parts[2].isdigit() and int(parts[2]) == rtd:
            times.append(float(parts[1]))
def pct(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]
print(created, ok, failed, *("%.2f" % pct(times, p) for p in (50, 90, 99, 100)))
PY
}
