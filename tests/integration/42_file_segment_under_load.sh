#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 42 file segment under load: a file segment's source decodes only 1 s
# ahead of the engine (source_ahead_ns(); a feed keeps 10 s). An 8 s FLAC
# file at 48 kHz (resampled to the programme's 44.1 kHz on the feeder
# thread) plays as a segment while three busy loops compete for the CPU,
# and the archive holds all of it: 8 s of the file's 1 kHz tone, no block
# of it missing (a feeder that fell behind leaves bridged silence), between
# the live programme's silence.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
status_port=$(free_port) || fail "no free port"
sox -n -r 48000 -c 2 -b 16 "$T/segment.flac" synth 8 sine 1000 gain -12 ||
    fail "sox could not make the segment file"

t0=$(($(date +%s) + 6))
cat >"$T/schedule.conf" <<EOF
[segment file]
at = $(date -u -d "@$t0" '+%Y-%m-%d %H:%M:%S')
source = file
path = $T/segment.flac
title = The file
EOF
silent_schedule_config "[status]
listen = 127.0.0.1:$status_port" 2 >"$T/relay.conf"

start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
# The load starts before the source opens (3 s ahead of its start) and
# lasts past its end.
while (($(date +%s) < t0 - 4)); do sleep 0.2; done
load=()
for _ in 1 2 3; do
	bash -c 'while :; do :; done' &
	load+=($!)
	at_cleanup kill "$!"
done
wait_for -t 15 -m "the segment on air" log_has 'segment file on air' ||
    fail "the file segment never went on air"
wait_for -t 15 -m "the segment's end" log_has 'segment file ended' ||
    fail "the file segment did not end"
kill "${load[@]}" 2>/dev/null || true
sleep 1
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit code $RELAY_RC"

check_vorbis "$T/archive.ogg" 44100 2 10
read -r tone_s first last holes < <(python3 - "$VORBIS_RAW" <<'PY'
import struct, sys
raw = open(sys.argv[1], "rb").read()
n = len(raw) // 4
x = struct.unpack("<%dh" % (2 * n), raw[: n * 4])
blk, thr = 441, 1000  # 10 ms; the tone peaks at ~8200 (-12 dBFS)
loud = [max(abs(v) for v in x[2 * i:2 * (i + blk):2]) > thr
        for i in range(0, n - blk, blk)]
on = [i for i, v in enumerate(loud) if v]
first, last = (on[0], on[-1]) if on else (0, -1)
holes = sum(1 for i in range(first, last + 1) if not loud[i])
print(round(len(on) * blk / 44100, 2), first, last, holes)
PY
)
note "tone for $tone_s s (blocks $first..$last), $holes silent block(s) inside"
[[ $holes -eq 0 ]] ||
    fail "$holes block(s) of 10 ms missing from the file segment under load"
assert_between "$tone_s" 7.9 8.1 "seconds of the file segment in the archive"
