#!/usr/bin/env python3
"""What the phones see of the PBX on the VIP, for the HA test plan and the demo (run inside the
lab's phones host). Every wait is bounded; traffic goes only to the address given (the lab's VIP).

    sip_probe.py options HOST [TIMEOUT_S]    one SIP OPTIONS over UDP; exit 0 on any final answer
    sip_probe.py tcp HOST [TIMEOUT_S]        a TCP connect to HOST:5060; exit 0 when accepted
    sip_probe.py watch HOST OUT MAX_S STOP   an OPTIONS every 10 ms until the file STOP exists
                                             (or MAX_S), one line per probe to OUT:
                                             "<sent epoch ms> <1 answered | 0 not> <rtt ms>"
    sip_probe.py gap OUT FAULT_MS            from a watch file: the outage that follows the
                                             fault, as JSON {"first_lost_ms", "answered_ms",
                                             "gap_ms", "lost"}: answered_ms is the first answer
                                             after the fault's outage, relative to FAULT_MS
"""
import json
import os
import random
import select
import socket
import sys
import time

PORT = 5060
INTERVAL_S = 0.010
ANSWER_WAIT_S = 0.200  # a probe not answered within this is lost


def now_ms():
    return time.time() * 1000.0


def options_request(host, local, call_id):
    lhost, lport = local
    return ("OPTIONS sip:%s:%d SIP/2.0\r\n"
            "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-%s;rport\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:probe@%s>;tag=%08x\r\n"
            "To: <sip:%s>\r\n"
            "Call-ID: %s\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n" % (host, PORT, lhost, lport, call_id, lhost,
                                           random.getrandbits(32), host, call_id)).encode()


def udp_socket(host):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, PORT))  # the route picks our address; answers come from the VIP only
    return s


def call_id_of(data):
    for line in data.split(b"\r\n"):
        if line.lower().startswith(b"call-id:"):
            return line.split(b":", 1)[1].strip().decode(errors="replace")
    return None


def is_final(data):
    parts = data.split(b" ", 2)
    return len(parts) >= 2 and parts[0] == b"SIP/2.0" and parts[1][:1] in b"23456"


def options(host, timeout_s):
    s = udp_socket(host)
    cid = "probe-%08x" % random.getrandbits(32)
    try:
        s.send(options_request(host, s.getsockname(), cid))
    except OSError:
        return 1
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return 1
        r, _, _ = select.select([s], [], [], left)
        if not r:
            return 1
        try:
            data = s.recv(65535)
        except OSError:  # ICMP unreachable: nobody on the port yet
            return 1
        if call_id_of(data) == cid and is_final(data):
            return 0


def tcp(host, timeout_s):
    try:
        socket.create_connection((host, PORT), timeout=timeout_s).close()
        return 0
    except OSError:
        return 1


def watch(host, out_path, max_s, stop_path):
    s = udp_socket(host)
    s.setblocking(False)
    pending = {}  # call id -> sent ms
    end = time.monotonic() + max_s
    next_send = time.monotonic()
    with open(out_path, "w", buffering=1) as out:  # line by line: the caller waits for the first
        while time.monotonic() < end and not os.path.exists(stop_path):
            t = time.monotonic()
            if t >= next_send:
                cid = "watch-%08x" % random.getrandbits(32)
                try:
                    s.send(options_request(host, s.getsockname(), cid))
                except OSError:
                    pass  # no route for a moment (a cable pulled): the probe is lost
                pending[cid] = now_ms()
                next_send += INTERVAL_S
            r, _, _ = select.select([s], [], [], max(0.0, min(next_send - time.monotonic(), 0.005)))
            if r:
                try:
                    data = s.recv(65535)
                except OSError:
                    data = b""
                cid = call_id_of(data)
                if cid in pending and is_final(data):
                    sent = pending.pop(cid)
                    out.write("%.1f 1 %.1f\n" % (sent, now_ms() - sent))
            limit = now_ms() - ANSWER_WAIT_S * 1000
            for cid in [c for c, sent in pending.items() if sent < limit]:
                out.write("%.1f 0 0\n" % pending.pop(cid))
        for sent in pending.values():
            out.write("%.1f 0 0\n" % sent)
    return 0


def gap(path, fault_ms):
    probes = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                probes.append((float(parts[0]), parts[1] == "1", float(parts[2])))
    probes.sort()
    after = [p for p in probes if p[0] >= fault_ms]
    first_lost = next((p for p in after if not p[1]), None)
    if first_lost is None:
        ok = next((p for p in after if p[1]), None)
        print(json.dumps({"first_lost_ms": None, "answered_ms": 0 if ok else None, "gap_ms": 0, "lost": 0}))
        return 0 if ok else 1
    back = next((p for p in after if p[0] > first_lost[0] and p[1]), None)
    lost = sum(1 for p in after if not p[1] and (back is None or p[0] < back[0]))
    res = {"first_lost_ms": round(first_lost[0] - fault_ms, 1),
           "answered_ms": None if back is None else round(back[0] + back[2] - fault_ms, 1),
           "gap_ms": None if back is None else round(back[0] - first_lost[0], 1),
           "lost": lost}
    print(json.dumps(res))
    return 0 if back else 1


def main(argv):
    if len(argv) >= 3 and argv[1] == "options":
        return options(argv[2], float(argv[3]) if len(argv) > 3 else 0.5)
    if len(argv) >= 3 and argv[1] == "tcp":
        return tcp(argv[2], float(argv[3]) if len(argv) > 3 else 0.5)
    if len(argv) == 6 and argv[1] == "watch":
        return watch(argv[2], argv[3], float(argv[4]), argv[5])
    if len(argv) == 4 and argv[1] == "gap":
        return gap(argv[2], float(argv[3]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
