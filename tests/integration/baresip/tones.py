#!/usr/bin/env python3
"""Audio files for the baresip call test (call_baresip.sh), with the standard library only.

    tones.py make OUT.wav FREQ SECONDS     a sine tone, 8 kHz mono S16LE (what baresip's aufile
                                           source needs for G.711), 0.3 of full scale
    tones.py check IN.wav FREQ OTHER       exit 0 if IN holds at least 1 s of audio whose energy is
                                           mostly at FREQ and not at OTHER (the other phone's tone);
                                           prints what it measured either way
The check works on 20 ms blocks: a block counts if it is not silent (RMS > 300) and the Goertzel
power at FREQ is more than half of the block's energy while OTHER's is under a tenth. G.711 and
the relay keep a clean tone far above those bounds; silence, noise or the wrong tone do not.
"""
import math
import struct
import sys
import wave

RATE = 8000
BLOCK = 160


def make(path, freq, seconds):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        n = int(RATE * seconds)
        w.writeframes(b"".join(struct.pack("<h", int(0.3 * 32767 * math.sin(2 * math.pi * freq * i / RATE)))
                               for i in range(n)))


def goertzel_fraction(block, freq):
    """Fraction of the block's energy at FREQ (1.0 for a pure tone at a bin frequency)."""
    k = 2 * math.cos(2 * math.pi * freq / RATE)
    s1 = s2 = 0.0
    for x in block:
        s1, s2 = x + k * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - k * s1 * s2
    energy = sum(x * x for x in block)
    return 2 * power / (len(block) * energy) if energy else 0.0


def check(path, freq, other):
    with wave.open(path, "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            sys.exit("%s: want mono 16-bit, got %d channels, %d bytes/sample" % (path, w.getnchannels(), w.getsampwidth()))
        rate = w.getframerate()
        data = w.readframes(w.getnframes())
    if rate != RATE:
        sys.exit("%s: sample rate %d, want %d" % (path, rate, RATE))
    samples = struct.unpack("<%dh" % (len(data) // 2), data[: len(data) // 2 * 2])
    good = loud = 0
    for i in range(0, len(samples) - BLOCK + 1, BLOCK):
        block = samples[i:i + BLOCK]
        rms = math.sqrt(sum(x * x for x in block) / BLOCK)
        if rms <= 300:
            continue
        loud += 1
        if goertzel_fraction(block, freq) > 0.5 and goertzel_fraction(block, other) < 0.1:
            good += 1
    blocks = len(samples) // BLOCK
    print("%s: %.2f s recorded, %.2f s with sound, %.2f s of %g Hz (not %g Hz)"
          % (path, blocks * BLOCK / RATE, loud * BLOCK / RATE, good * BLOCK / RATE, freq, other))
    sys.exit(0 if good * BLOCK >= RATE else 1)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "make":
        make(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
    elif len(sys.argv) == 5 and sys.argv[1] == "check":
        check(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
