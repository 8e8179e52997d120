#!/usr/bin/env python3
"""Writes a pcap of G.711 mu-law RTP packets (payload type 0, 20 ms = 160 samples each) carrying
a sine tone, for sipp's play_pcap_audio. sipp only reads the RTP payload, sequence and timestamps
from the file and sends them from its own media port to the address in the peer's SDP, so the
addresses written here are placeholders.

Usage: make_g711_pcap.py OUT.pcap [--seconds 2] [--freq 1000] [--amplitude 0.3]
Also writes OUT.pcap.raw (the 8 kHz mu-law samples, for checks) when --raw is given.
"""
import argparse
import math
import struct


def linear_to_ulaw(sample):
    """G.711 mu-law encoding of a signed 16-bit sample (the segment/mantissa form of ITU-T G.711)."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    if sample < 0:
        sample = -sample
    sample = min(sample, clip) + bias
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not sample & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def ip_checksum(header):
    total = sum(struct.unpack("!10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_frame(payload, src_port=6000, dst_port=6002):
    """Ethernet + IPv4 + UDP around PAYLOAD, loopback addresses (sipp rewrites them on send)."""
    udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    eth = b"\x00" * 12 + b"\x08\x00"
    return eth + ip + udp


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--freq", type=float, default=1000.0)
    ap.add_argument("--amplitude", type=float, default=0.3, help="peak, fraction of full scale")
    ap.add_argument("--raw", action="store_true")
    args = ap.parse_args()

    rate, per_packet = 8000, 160
    packets = int(args.seconds * rate / per_packet)
    samples = bytes(linear_to_ulaw(int(args.amplitude * 32767 * math.sin(2 * math.pi * args.freq * n / rate)))
                    for n in range(packets * per_packet))
    ssrc = 0x68617062  # "hapb"
    with open(args.out, "wb") as f:
        # pcap global header: magic, v2.4, tz 0, sigfigs 0, snaplen 65535, linktype 1 (Ethernet).
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(packets):
            rtp = struct.pack("!BBHII", 0x80, 0x80 if i == 0 else 0x00, i & 0xFFFF, i * per_packet, ssrc)
            frame = udp_frame(rtp + samples[i * per_packet:(i + 1) * per_packet])
            usec = i * 20000
            f.write(struct.pack("<IIII", usec // 1000000, usec % 1000000, len(frame), len(frame)))
            f.write(frame)
    if args.raw:
        with open(args.out + ".raw", "wb") as f:
            f.write(samples)


if __name__ == "__main__":
    main()
