#!/usr/bin/env python3
"""Raw SIP over UDP/TCP for the integration tests: sends hand-made requests that sipp cannot
produce (malformed, oversize) and checks what the server answers.

    sip_raw.py bad-input PORT     every bad-input case below against 127.0.0.1:PORT; exit 1 on
                                  the first case the server gets wrong, printing request/response
    sip_raw.py options PORT       one OPTIONS; exit 0 on a 200
Every wait is bounded (a socket timeout); nothing here retries forever.
"""
import random
import socket
import sys

HOST = "127.0.0.1"
TIMEOUT_S = 2.0


def branch():
    return "z9hG4bK-raw-%08x" % random.getrandbits(32)


def request(method, port, local_port, headers=None, body=b"", drop=(), transport="UDP"):
    """A well-formed request unless the caller overrides/drops headers."""
    base = [
        ("Via", "SIP/2.0/%s %s:%d;branch=%s;rport" % (transport, HOST, local_port, branch())),
        ("Max-Forwards", "70"),
        ("From", "<sip:tester@%s>;tag=%08x" % (HOST, random.getrandbits(32))),
        ("To", "<sip:201@%s>" % HOST),
        ("Call-ID", "raw-%08x@%s" % (random.getrandbits(32), HOST)),
        ("CSeq", "1 %s" % method),
        ("Contact", "<sip:tester@%s:%d>" % (HOST, local_port)),
    ]
    over = dict(headers or {})
    lines = ["%s sip:%s:%d SIP/2.0" % (method, HOST, port)]
    for name, value in base:
        if name in drop:
            continue
        lines.append("%s: %s" % (name, over.pop(name, value)))
    for name, value in over.items():
        lines.append("%s: %s" % (name, value))
    if "Content-Length" not in (headers or {}):
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def status_line(data):
    first = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = first.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("SIP/2.0"):
        return None, first
    return int(parts[1]), (parts[2] if len(parts) > 2 else "")


class Udp:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(TIMEOUT_S)
        self.port = self.sock.getsockname()[1]

    def exchange(self, server_port, data):
        """Sends one datagram; returns the first final response (skipping 1xx) or None."""
        self.sock.sendto(data, (HOST, server_port))
        while True:
            try:
                reply, _ = self.sock.recvfrom(70000)
            except socket.timeout:
                return None
            code, _ = status_line(reply)
            if code is None or code >= 200:
                return reply


def fail(case, sent, got, why):
    print("FAIL %s: %s" % (case, why))
    print("---- sent (first 600 bytes) ----")
    print(sent[:600].decode("latin-1"))
    print("---- got ----")
    print(got.decode("latin-1") if got else "(nothing within %.0f s)" % TIMEOUT_S)
    sys.exit(1)


def expect_400(udp, port, case, data, word, may_drop=False):
    """Parseable but invalid: 400 whose reason phrase names the fault (contains `word`).
    may_drop: no answer is accepted too (a request without From or Call-ID cannot get a response
    that copies them, RFC 3261 8.2.6.2, so the server may treat it as beyond repair)."""
    got = udp.exchange(port, data)
    if not got and may_drop:
        print("ok  %-28s -> dropped" % case)
        return
    if not got:
        fail(case, data, got, "expected 400 naming %r, got no answer" % word)
    code, reason = status_line(got)
    if code != 400:
        fail(case, data, got, "expected 400, got %s" % code)
    if word.lower() not in reason.lower():
        fail(case, data, got, "400 reason phrase %r does not name the fault (%r)" % (reason, word))
    print("ok  %-28s -> 400 %s" % (case, reason))


def expect_ok_options(udp, port, case="server still answers"):
    data = request("OPTIONS", port, udp.port)
    got = udp.exchange(port, data)
    code = status_line(got)[0] if got else None
    if code != 200:
        fail(case, data, got, "expected 200 to OPTIONS")
    print("ok  %-28s -> 200" % case)


def oversize_tcp(port):
    """A request over the 64 KiB limit on TCP: 513 or the connection closed, never anything else."""
    case = "oversize over TCP"
    s = socket.create_connection((HOST, port), timeout=TIMEOUT_S)
    local_port = s.getsockname()[1]
    body = b"v=0\r\n" + b"a=x:" + b"y" * 100000 + b"\r\n"
    data = request("OPTIONS", port, local_port, headers={"Content-Type": "application/sdp"},
                   body=body, transport="TCP")
    got = b""
    try:
        s.sendall(data)
    except OSError:
        pass  # the server closed the connection early: that is a drop
    try:
        while b"\r\n\r\n" not in got:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, OSError):
        pass
    s.close()
    if got:
        code, reason = status_line(got)
        if code != 513:
            fail(case, data, got, "expected 513 or a closed connection, got %s" % code)
        print("ok  %-28s -> 513 %s" % (case, reason))
    else:
        print("ok  %-28s -> connection closed, no answer" % case)


def bad_input(port):
    udp = Udp()
    p = udp.port
    # Unparseable beyond repair: dropped (no Via to answer to). Only liveness is checked after.
    for junk in (b"\x00\x01\x02garbage\r\n\r\n", b"NOT SIP AT ALL", b"\r\n\r\n",
                 b"INVITE\r\n\r\n", bytes(random.getrandbits(8) for _ in range(300))):
        udp.sock.sendto(junk, (HOST, port))
    expect_ok_options(udp, port, "after junk datagrams")
    expect_400(udp, port, "CSeq not a number",
               request("REGISTER", port, p, headers={"CSeq": "abc REGISTER"}), "CSeq")
    expect_400(udp, port, "CSeq method mismatch",
               request("REGISTER", port, p, headers={"CSeq": "1 INVITE"}), "CSeq")
    expect_400(udp, port, "missing Call-ID",
               request("REGISTER", port, p, drop=("Call-ID",)), "Call-ID", may_drop=True)
    expect_400(udp, port, "missing From",
               request("REGISTER", port, p, drop=("From",)), "From", may_drop=True)
    expect_400(udp, port, "Max-Forwards not a number",
               request("OPTIONS", port, p, headers={"Max-Forwards": "many"}), "Max-Forwards")
    expect_400(udp, port, "To without a URI",
               request("REGISTER", port, p, headers={"To": "<>"}), "To")
    expect_400(udp, port, "Content-Length beyond datagram",
               request("OPTIONS", port, p, headers={"Content-Length": "500"}), "Content-Length")
    oversize_tcp(port)
    expect_ok_options(udp, port)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("bad-input", "options"):
        sys.exit(__doc__)
    port = int(sys.argv[2])
    if sys.argv[1] == "bad-input":
        bad_input(port)
    else:
        expect_ok_options(Udp(), port, "OPTIONS")


if __name__ == "__main__":
    main()
