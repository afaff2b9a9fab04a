#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What a recording of test tones plays, as one letter per run.

    tone_runs.py RAW MIN_RUN_S [--noise]

RAW is 8 kHz mono s16le (sox ... -r 8000 -c 1 -b 16 -e signed -t raw).
Each 20 ms window is silent, or the nearest of the tests' tones by zero
crossings (523 Hz L: live, 660 a, 880 b, 1100 c); with --noise, a window
more than 150 Hz from every tone is N (noise). Runs shorter than MIN_RUN_S
(crossfades) and silence are dropped, and a letter repeated after a
dropped run counts once. Prints the letters, e.g. LaLbLcL.
"""
import array
import sys

W = 160
TONES = {523: 'L', 660: 'a', 880: 'b', 1100: 'c'}


def main():
    path, min_run = sys.argv[1], float(sys.argv[2])
    noise = "--noise" in sys.argv[3:]
    a = array.array('h')
    a.frombytes(open(path, 'rb').read())
    if sys.byteorder != "little":
        a.byteswap()
    kinds = []
    for i in range(0, len(a) - W + 1, W):
        w = a[i:i + W]
        if sum(x * x for x in w) / W < 50 * 50:
            kinds.append('-')
            continue
        zc = sum(1 for j in range(1, W) if (w[j - 1] < 0) != (w[j] < 0))
        f = zc / 2 / (W / 8000)
        k = min(TONES, key=lambda t: abs(t - f))
        kinds.append('N' if noise and abs(k - f) > 150 else TONES[k])
    runs = []
    for k in kinds:
        if runs and runs[-1][0] == k:
            runs[-1][1] += 1
        else:
            runs.append([k, 1])
    seq = ''
    for k, n in runs:
        if n * W / 8000 >= min_run and k != '-' and (not seq or seq[-1] != k):
            seq += k
    print(seq)


if __name__ == "__main__":
    main()
