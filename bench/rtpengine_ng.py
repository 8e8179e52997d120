#!/usr/bin/env python3
"""Sets up calls on rtpengine over its ng control protocol, for bench/media.sh.

The ng protocol: UDP datagrams "<cookie> <bencoded dict>", answered with the same cookie and a
bencoded dict. Per call: `offer` with the A endpoint's SDP (rtpengine answers with the SDP to give
the callee, i.e. the port B must send to) then `answer` with B's SDP (rtpengine answers with the
SDP for the caller: the port A must send to).

Usage: rtpengine_ng.py NG_PORT ENDPOINTS_FILE TARGETS_FILE
       rtpengine_ng.py NG_PORT --ping        (exit 0 once rtpengine answers "pong")
  ENDPOINTS_FILE: "a_port b_port" per call (from rtp_load); TARGETS_FILE is written as
  "port_for_a port_for_b" per call.
"""
import os
import re
import socket
import sys
import time


def bencode(value):
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        return b"d" + b"".join(bencode(k) + bencode(value[k]) for k in sorted(value)) + b"e"
    raise TypeError(type(value))


def bdecode(data, i=0):
    c = data[i:i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1:end]), end + 1
    if c == b"l":
        i += 1
        out = []
        while data[i:i + 1] != b"e":
            v, i = bdecode(data, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        i += 1
        out = {}
        while data[i:i + 1] != b"e":
            k, i = bdecode(data, i)
            v, i = bdecode(data, i)
            out[k.decode()] = v
        return out, i + 1
    colon = data.index(b":", i)
    n = int(data[i:colon])
    return data[colon + 1:colon + 1 + n], colon + 1 + n


def sdp(port, session):
    return ("v=0\r\no=- %d 1 IN IP4 127.0.0.1\r\ns=bench\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n" % (session, port))


def ping(ng_port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    s.sendto(b"p1 " + bencode({"command": "ping"}), ("127.0.0.1", ng_port))
    try:
        reply, _ = s.recvfrom(65536)
    except OSError:
        return 1
    return 0 if b"pong" in reply else 1


def main():
    if sys.argv[2] == "--ping":
        sys.exit(ping(int(sys.argv[1])))
    ng_port, endpoints_file, targets_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    deadline = time.time() + 60
    while not os.path.exists(endpoints_file):
        if time.time() > deadline:
            sys.exit("no %s after 60 s" % endpoints_file)
        time.sleep(0.02)
    calls = [tuple(map(int, line.split())) for line in open(endpoints_file) if line.strip()]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    counter = [0]

    def command(body):
        counter[0] += 1
        cookie = b"c%d" % counter[0]
        for _attempt in range(3):
            s.sendto(cookie + b" " + bencode(body), ("127.0.0.1", ng_port))
            try:
                while True:
                    reply, _ = s.recvfrom(65536)
                    got_cookie, _, rest = reply.partition(b" ")
                    if got_cookie == cookie:
                        result, _ = bdecode(rest)
                        if result.get("result") != b"ok":
                            sys.exit("rtpengine %s failed: %r" % (body["command"], result))
                        return result
            except socket.timeout:
                continue
        sys.exit("rtpengine did not answer %s" % body["command"])

    def media_port(result):
        m = re.search(rb"m=audio (\d+) ", result["sdp"])
        if not m:
            sys.exit("no m=audio in rtpengine's SDP: %r" % result["sdp"])
        return int(m.group(1))

    lines = []
    for n, (a_port, b_port) in enumerate(calls):
        call_id = "bench-%d-%d" % (os.getpid(), n)
        common = {"call-id": call_id, "from-tag": "a%d" % n, "ICE": "remove"}
        offer = command(dict(common, command="offer", sdp=sdp(a_port, 2 * n + 1)))
        port_for_b = media_port(offer)
        answer = command(dict(common, command="answer", sdp=sdp(b_port, 2 * n + 2), **{"to-tag": "b%d" % n}))
        port_for_a = media_port(answer)
        lines.append("%d %d\n" % (port_for_a, port_for_b))
    tmp = targets_file + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(lines)
    os.rename(tmp, targets_file)
    print("%d calls set up on rtpengine" % len(calls), file=sys.stderr)


if __name__ == "__main__":
    main()
