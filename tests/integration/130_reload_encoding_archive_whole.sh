#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 130 a reload that changes an encoding's bitrate loses no audio from the
# archive (found by a new user's station: SIGHUP after bitrate 128 -> 160
# cut 0.48 s out of the archive). Before, the outputs of the changed
# encoding were detached first and the old encoder was freed without
# being finished: what its resampler, codec and queue held, and whatever
# the engine encoded until the new outputs attached, went nowhere.
# - A 48 kHz file (8 s, loop = no, at_end = exit) is the programme; the
#   archive (rotate = none: one file, a chain per start) records a 44.1 kHz
#   encoding of it. A reload 3 s in changes the encoding's bitrate.
# - The archive then holds two chains (the second at the new bitrate)
#   which decode (oggdec, chains included) to exactly the file's 8 s at
#   44.1 kHz, 352800 frames, give or take 64 (it was 21248 short).
# - And without a click where they join: the file is a 440 Hz tone left,
#   441 Hz right, so x[n] - 2 cos(w) x[n-1] + x[n-2] stays near 0 (a few
#   tens of LSB from the codec) on a continuous tone; it must stay under
#   1000 everywhere. With a fresh resampler in the new encoder it reached
#   2400-4600 at the join (a restart from silence and up to half a sample
#   of offset): the new encoder now takes over the running resampler.
#
# timeout: 40

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

sox -n -r 48000 -c 2 -b 16 "$T/src.wav" synth 8 sine 440 sine 441 vol 0.5 ||
    fail "sox cannot make the source file"
mkdir "$T/archive"

# write_config BITRATE: replaced whole, as an editor would.
write_config()
{
	cat >"$T/relay.conf.new" <<CONF
[input]
type = file
path = $T/src.wav
loop = no
at_end = exit
rate = 48000

[encoding a]
rate = 44100
bitrate = $1

[output archive]
type = file
path = $T/archive/a.ogg

[status]
listen = off
CONF
	mv "$T/relay.conf.new" "$T/relay.conf"
}

write_config 128
start_relay "$T/relay.conf"
wait_for -t 10 -m "the archive to start" log_has 'out\[archive\]: .*connected' ||
    fail "the archive never started"
sleep 3
write_config 160
log_mark
kill -HUP "$RELAY_PID"
wait_for -t 5 -m "the reload" log_since 'reloaded:' ||
    fail "no reload line"
log_since '1 encoder\(s\) rebuilt' || fail "the encoding was not rebuilt: $(relay_lines "$LOG_MARK")"
wait_for -t 15 -m "relay to end at the file's end" proc_gone "$RELAY_PID" ||
    fail "relay did not exit at the end of its file"
wait "$RELAY_PID" || fail "relay exited with $?"
RELAY_PID=

chains=$(ogginfo "$T/archive/a.ogg" | grep -c 'New logical stream') || true
[[ $chains == 2 ]] || fail "the archive holds $chains chain(s), not 2: $(ogginfo "$T/archive/a.ogg")"
ogginfo "$T/archive/a.ogg" | grep -q 'Nominal bitrate: 160' ||
    fail "the archive has no chain at the new bitrate"
oggdec -Q -o "$T/a.wav" "$T/archive/a.ogg" || fail "oggdec cannot decode the archive"
frames=$(soxi -s "$T/a.wav") || fail "soxi cannot read the decoded archive"
note "decoded archive: $frames frames (the file: 352800)"
assert_between "$frames" 352736 352864 "frames in the archive of an 8 s file"
python3 - "$T/a.wav" >"$T/click.out" <<'PY' || fail "a click in the archive: $(cat "$T/click.out")"
import math, struct, sys, wave
w = wave.open(sys.argv[1])
rate, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
pcm = struct.unpack("<%dh" % (n * ch), w.readframes(n))
worst = (0, 0, 0)
for c, f in ((0, 440.0), (1, 441.0)):
    x = pcm[c::ch]
    k = 2 * math.cos(2 * math.pi * f / rate)
    for i in range(2, len(x)):
        e = abs(x[i] - k * x[i - 1] + x[i - 2])
        if e > worst[0]:
            worst = (e, c, i)
print("largest step %.0f LSB (channel %d, %.4f s)" % (worst[0], worst[1], worst[2] / rate))
sys.exit(0 if worst[0] < 1000 else 1)
PY
note "$(cat "$T/click.out")"
rm -f "$T/a.wav" "$T/src.wav" "$T/click.out"
rm -rf "$T/archive"
