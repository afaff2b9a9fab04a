#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 127 file segment, feeder stall: a file segment's source decodes
# source_ahead_ns() (2.5 s) ahead of the engine so that its disk may hang
# that long (a music library on NFS) with nothing heard. Its feeder naps
# between refills (source.c, DESIGN "Naps"), so the ring must still hold
# 2.5 s when the feeder is at the end of a nap, not only just after a
# refill. A 12 s tone file plays as a segment; once it is on air, its
# feeder thread is stopped for 2.25 s at the moment it has napped longest
# (tests/tools/thread_freeze.py: nothing else of relay stops), and the
# archive holds the whole 12 s of tone, no 10 ms block of it missing.
# (The feeder refilled only when 0.5 s of the ring was free: at the end of
# a nap it held 2.0 s, and this stall cut 0.25 s.)
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
status_port=$(free_port) || fail "no free port"
sox -n -r 44100 -c 1 -b 16 "$T/segment.wav" synth 12 sine 1000 gain -12 ||
    fail "sox could not make the segment file"

t0=$(($(date +%s) + 6))
cat >"$T/schedule.conf" <<EOF
[segment file]
at = $(utc "$t0")
source = file
path = $T/segment.wav
title = The file
EOF
silent_schedule_config "[status]
listen = 127.0.0.1:$status_port" 1 >"$T/relay.conf"

start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
wait_for -t 15 -m "the segment on air" log_has 'segment file on air' ||
    fail "the file segment never went on air"
sleep 2
rc=0
freeze=$(python3 "$TOPDIR/tests/tools/thread_freeze.py" "$RELAY_PID" 'source[file]' \
    2.25 0.45 3 2>&1) || rc=$?
((rc != 2)) || skip "ptrace is not allowed here: $freeze"
((rc == 0)) || fail "could not stop the feeder thread: $freeze"
note "feeder stopped for 2.25 s (found napping: $(echo "$freeze" | sed -n "s/^frozen //p"))"
wait_for -t 20 -m "the segment's end" log_has 'segment file ended' ||
    fail "the file segment did not end"
sleep 1
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit code $RELAY_RC"

check_vorbis "$T/archive.ogg" 44100 1 14
read -r tone_s holes < <(python3 - "$VORBIS_RAW" <<'PY'
import struct, sys
raw = open(sys.argv[1], "rb").read()
n = len(raw) // 2
x = struct.unpack("<%dh" % n, raw[: n * 2])
blk, thr = 441, 1000  # 10 ms; the tone peaks at ~8200 (-12 dBFS)
loud = [max(abs(v) for v in x[i:i + blk]) > thr
        for i in range(0, n - blk, blk)]
on = [i for i, v in enumerate(loud) if v]
first, last = (on[0], on[-1]) if on else (0, -1)
holes = sum(1 for i in range(first, last + 1) if not loud[i])
print(round(len(on) * blk / 44100, 2), holes)
PY
)
note "tone for $tone_s s, $holes silent 10 ms block(s) inside"
[[ $holes -eq 0 ]] ||
    fail "$holes block(s) of 10 ms missing from the file segment: the feeder's stall was heard"
assert_between "$tone_s" 11.9 12.1 "seconds of the file segment in the archive"
