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
rm -f "$T/a.wav" "$T/src.wav"
rm -rf "$T/archive"
