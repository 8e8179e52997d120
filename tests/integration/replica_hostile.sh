#!/usr/bin/env bash
# Hostile inputs never crash replicad and never change a disk they should not:
#  1. a bad resource file: replicad exits 1 naming file:line; an unknown node is named with the
#     nodes the file has;
#  2. corrupt metadata: attach is refused saying why, the image is unchanged (checksum);
#  3. garbage on the peer port (random bytes, a bogus frame header): logged, replicad keeps
#     running and the real peer still connects.
source "$(dirname "$0")/replica_lib.sh"
rp_init "$1"

# 1. config errors.
rp_config
cp "$RP_TMP/n1/r0.res" "$RP_TMP/bad.res"
sed -i 's/protocol C;/protocol Q;/' "$RP_TMP/bad.res"
out=$(timeout 10 "$HP_BIN/replicad" --config "$RP_TMP/bad.res" --node asterisk1 --socket "$RP_TMP/bad.sock" 2>&1)
rc=$?
[ "$rc" = 1 ] || hp_fail "replicad with a bad config exited $rc (expected 1): $out"
echo "$out" | grep -q "bad.res:[0-9]" || hp_fail "the error does not name file:line: $out"
hp_log "bad config: $(echo "$out" | tail -n 1)"
out=$(timeout 10 "$HP_BIN/replicad" --config "$RP_TMP/n1/r0.res" --node nosuchnode --socket "$RP_TMP/bad.sock" 2>&1)
rc=$?
[ "$rc" = 1 ] || hp_fail "replicad with an unknown node exited $rc: $out"
echo "$out" | grep -q "nosuchnode" && echo "$out" | grep -q "asterisk1" && echo "$out" | grep -q "asterisk2" \
  || hp_fail "the unknown-node error does not name the node and the hosts: $out"
hp_log "unknown node: $(echo "$out" | tail -n 1)"
out=$(timeout 10 "$HP_BIN/replicad" --config "$RP_TMP/missing.res" --node asterisk1 --socket "$RP_TMP/bad.sock" 2>&1)
[ $? = 1 ] && echo "$out" | grep -q "missing.res" || hp_fail "a missing config is not named: $out"

# 2. corrupt metadata: create-md, then damage the superblock slots at the end of the image.
rp_image 1 64M; rp_image 2 64M
rp_start 1
rp_ok 1 create-md r0
rp_kill 1 TERM
size=$(stat -c %s "$RP_TMP/n1/r0.img")
dd if=/dev/urandom of="$RP_TMP/n1/r0.img" bs=4096 seek=$(( size / 4096 - 2 )) count=2 conv=notrunc status=none
before=$(sha256sum <"$RP_TMP/n1/r0.img")
rp_start 1
rp_expect 1 "stays Diskless on corrupt metadata" 'r["disk"] == "Diskless" and not r["attached"]'
out=$(rp_cli 1 attach r0 2>&1) && hp_fail "attach over corrupt metadata succeeded: $out"
hp_log "attach refused: $out"
out=$(rp_cli 1 primary --force r0 2>&1) && hp_fail "primary without a disk succeeded: $out"
after=$(sha256sum <"$RP_TMP/n1/r0.img")
[ "$before" = "$after" ] || hp_fail "the image changed although its metadata was refused"
hp_log "corrupt metadata refused, image unchanged"
# Repair with create-md --force (it refuses nothing here: the old metadata is invalid anyway).
rp_ok 1 create-md --force r0
rp_ok 1 up r0

# 3. garbage on the peer port.
rp_start 2
rp_ok 2 create-md r0
python3 -I -S - "$RP_PORT1" "$RP_PORT2" <<'PY' || hp_fail "could not send garbage"
import os, socket, struct, sys, time
for port in map(int, sys.argv[1:]):
    for payload in (os.urandom(70000),
                    b"HRPL" + struct.pack(">HHII", 1, 9999, 0xFFFFFFF0, 0),
                    b"HRPL" + struct.pack(">HHII", 1, 0, 1 << 30, 0) + os.urandom(100),
                    b"GET / HTTP/1.0\r\n\r\n"):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            s.sendall(payload)
        except OSError:
            pass
        time.sleep(0.05)
        s.close()
PY
for n in 1 2; do kill -0 "${RP_PID[$n]}" 2>/dev/null || hp_fail "replicad asterisk$n died on garbage"; done
rp_cli 1 status >/dev/null || hp_fail "asterisk1 does not answer after garbage"
grep -qi "protocol error\|closed" "$RP_TMP/replicad1.log" || hp_fail "garbage not logged on asterisk1"
rp_ok 2 up r0
rp_ok 1 wait-connect r0 30
rp_ok 1 primary --force r0
rp_ok 1 wait-sync r0 60
hp_log "garbage logged, both still running, the real peer connected and synced"
hp_log "PASS"
