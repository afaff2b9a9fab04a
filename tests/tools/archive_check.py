#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks decoded archive files (raw s16le PCM from oggdec -R) of a tone.

    archive_check.py --freq 1000 --rate 44100 --channels 2 \
        [--plain PLAIN.raw] [--rotate SECONDS] [--per-file] FILE.raw...

The files, in order, are an archive's consecutive files. Checks:
- continuity: the tone's phase, fitted on every block of 1024 frames
  against the absolute frame count, stays the same across the files joined
  (or within each file with --per-file): one frame lost or doubled
  anywhere, a boundary included, moves it by 2*pi*freq/rate;
- with --plain (one unrotated recording of the same stream): the files
  joined are found in it sample for sample, and end where it ends within
  one Vorbis block (2048 frames): no sample lost or doubled, and the
  decoded lengths add up to the streamed duration;
- with --rotate: every file but the first and last lasts the period within
  ROTATE_SLACK frames. A boundary falls at the first packet dated at or
  after the clock's boundary; packets are dated by the engine block
  (2048 frames) whose encoding completes them, and a block's date moves
  with when the input wrote it, so on a busy machine (make check under
  load once saw 86016 of 88200) a file may come out one block and one
  packet (1024 frames) longer or shorter than the period.
Prints what it measured; exits 1 with the reasons when a check fails.
"""
import argparse
import array
import math
import sys

BLOCK = 1024
VORBIS_BLOCK = 2048
ROTATE_SLACK = 2048 + 1024


def frames_of(raw, channels):
    """Channel 0 of interleaved s16le as a list of ints."""
    a = array.array("h")
    a.frombytes(raw[: len(raw) - len(raw) % (2 * channels)])
    if sys.byteorder != "little":
        a.byteswap()
    return a[::channels]


def phases(x, w, skip):
    """(phase, amplitude) of x ~ A cos(w n + phi) on each block."""
    out = []
    for start in range(skip, len(x) - BLOCK + 1, BLOCK):
        cc = cs = ss = xc = xs = 0.0
        for n in range(start, start + BLOCK):
            c = math.cos(w * n)
            s = math.sin(w * n)
            v = x[n]
            cc += c * c
            cs += c * s
            ss += s * s
            xc += v * c
            xs += v * s
        det = cc * ss - cs * cs
        a = (xc * ss - xs * cs) / det
        b = (xs * cc - xc * cs) / det
        out.append((start, math.atan2(-b, a), math.hypot(a, b)))
    return out


def continuity(x, w, label, problems, skip=BLOCK):
    """Appends a problem when the phase moves across x; returns the max
    deviation in radians."""
    ph = phases(x, w, skip)
    if len(ph) < 2:
        return 0.0
    ref = ph[0][1]
    amp = ph[0][2]
    worst = 0.0
    for start, p, a in ph:
        d = abs((p - ref + math.pi) % (2 * math.pi) - math.pi)
        worst = max(worst, d)
        if d > 0.3 * w or a < 0.8 * amp or a > 1.2 * amp:
            problems.append(
                "%s: the tone's phase moved by %.4f rad (%.2f frames) or "
                "its level changed (%.0f vs %.0f) at frame %d"
                % (label, d, d / w, a, amp, start)
            )
            break
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--freq", type=float, required=True)
    ap.add_argument("--rate", type=int, required=True)
    ap.add_argument("--channels", type=int, required=True)
    ap.add_argument("--plain")
    ap.add_argument("--rotate", type=float)
    ap.add_argument("--per-file", action="store_true")
    ap.add_argument("files", nargs="+")
    o = ap.parse_args()
    w = 2 * math.pi * o.freq / o.rate
    problems = []
    raws = [open(f, "rb").read() for f in o.files]
    lens = [len(r) // (2 * o.channels) for r in raws]
    print("files: %d, frames: %s, total %d (%.3f s)"
          % (len(raws), lens, sum(lens), sum(lens) / o.rate))
    if o.per_file:
        for f, r in zip(o.files, raws):
            d = continuity(frames_of(r, o.channels), w, f, problems)
            print("%s: max phase deviation %.5f rad" % (f, d))
    else:
        joined = b"".join(raws)
        d = continuity(frames_of(joined, o.channels), w, "joined files",
                       problems)
        print("joined: max phase deviation %.5f rad (one frame: %.4f)"
              % (d, w))
    if o.plain:
        plain = open(o.plain, "rb").read()
        joined = b"".join(raws)
        fb = 2 * o.channels
        off = plain.find(joined[: 64 * fb])
        while off >= 0 and off % fb != 0:
            off = plain.find(joined[: 64 * fb], off + 1)
        if off < 0:
            problems.append("the first file's start is not in the plain "
                            "recording")
        else:
            tail = (len(plain) - off - len(joined)) // fb
            print("plain: %d frames; the files start at frame %d and end "
                  "%d frames before its end"
                  % (len(plain) // fb, off // fb, tail))
            if plain[off: off + len(joined)] != joined:
                a = frames_of(plain[off: off + len(joined)], o.channels)
                b = frames_of(joined, o.channels)
                first = next((i for i in range(min(len(a), len(b)))
                              if a[i] != b[i]), min(len(a), len(b)))
                problems.append("the files differ from the plain recording "
                                "from frame %d of the joined files" % first)
            if abs(tail) > VORBIS_BLOCK:
                problems.append("the files end %d frames before the plain "
                                "recording (more than one block)" % tail)
    if o.rotate:
        want = o.rotate * o.rate
        for f, n in list(zip(o.files, lens))[1:-1]:
            if abs(n - want) > ROTATE_SLACK:
                problems.append("%s: %d frames, the period is %d" %
                                (f, n, want))
    for p in problems:
        print("FAIL: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
