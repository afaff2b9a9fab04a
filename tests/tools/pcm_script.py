#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes raw s16le stereo PCM to a file (a FIFO) in real time, following a
script of steps given as arguments:

  tone:FREQ:SECONDS[:DBFS]   a sine on both channels (default -12 dBFS)
  silence:SECONDS            digital zeros (the pipe keeps flowing)
  stall:SECONDS              nothing written, the pipe held open
  mark:FILE                  write the wall time (s.us) into FILE
  close                      close the pipe (end of input) and go on
  hold:SECONDS               sleep (after close: keeps the process around)

Pacing follows CLOCK_MONOTONIC in 20 ms chunks, so the reader sees a live
feed. Used by the dead-air tests (tests/integration/40_dead_air.sh)."""
import array
import math
import sys
import time

RATE = 44100
CHUNK = RATE // 50


def main():
    out_path, steps = sys.argv[1], sys.argv[2:]
    out = open(out_path, "wb", buffering=0)
    start = time.monotonic()
    written = 0  # frames, for pacing
    phase = 0

    def pace():
        due = start + written / RATE
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    for step in steps:
        kind, *args = step.split(":")
        if kind in ("tone", "silence"):
            secs = float(args[1] if kind == "tone" else args[0])
            freq = float(args[0]) if kind == "tone" else 0.0
            amp = 32767 * 10 ** (float(args[2]) / 20) if kind == "tone" and len(args) > 2 else 32767 * 10 ** (-12 / 20)
            total = int(secs * RATE)
            done = 0
            while done < total:
                n = min(CHUNK, total - done)
                buf = array.array("h", bytes(4 * n))
                if freq > 0:
                    for i in range(n):
                        v = int(amp * math.sin(2 * math.pi * freq * (phase + i) / RATE))
                        buf[2 * i] = v
                        buf[2 * i + 1] = v
                    phase += n
                out.write(buf.tobytes())
                done += n
                written += n
                pace()
        elif kind == "stall":
            time.sleep(float(args[0]))
            start += float(args[0])
        elif kind == "mark":
            with open(args[0], "w") as f:
                f.write("%.6f\n" % time.time())
        elif kind == "close":
            out.close()
        elif kind == "hold":
            time.sleep(float(args[0]))
        else:
            sys.exit("pcm_script: unknown step " + step)


if __name__ == "__main__":
    main()
