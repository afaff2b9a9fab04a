#!/usr/bin/env bash
# Scheduled segments play at their time, to the sample, inside a silent
# default programme: two tone segments a few seconds ahead, and a file
# segment whose file is missing (skipped with a log line, no gap).
# Checked from the archive's decoded audio (file output), from Icecast's
# status (title follows the segment: metadata = chain) and from /api/status.
. "$(dirname "$0")/../lib.sh"

start_icecast a
status_port=$(free_port)

# Two `at` segments in UTC, whole seconds, far enough ahead to start.
t0=$(($(date +%s) + 6))
at_a=$(date -u -d "@$t0" '+%Y-%m-%d %H:%M:%S')
at_b=$(date -u -d "@$((t0 + 4))" '+%Y-%m-%d %H:%M:%S')
at_m=$(date -u -d "@$((t0 + 2))" '+%Y-%m-%d %H:%M:%S')

cat >"$T/schedule.conf" <<EOF
[segment tone-a]
at = $at_a
source = tone
frequency = 1000
level_dbfs = -12
duration = 2s
title = Tone A
artist = Test desk

[segment missing-file]
at = $at_m
source = file
path = does-not-exist.ogg
duration = 1s
title = Missing

[segment tone-b]
at = $at_b
source = tone
frequency = 2000
level_dbfs = -12
duration = 1s
title = Tone B
EOF

cat >"$T/relay.conf" <<EOF
[station]
name = Schedule test
[input]
type = tone
frequency = 0
rate = 44100
channels = 1
title = Silence
[encoding e]
rate = 44100
channels = 1
quality = 4
[output ice]
port = ${ICE_PORT[a]}
mount = /live.ogg
password = ${ICE_PASSWORD[a]}
encoding = e
[output archive]
type = file
path = $T/archive.ogg
encoding = e
[status]
listen = 127.0.0.1:$status_port
poll_icecast = 1s
[schedule]
file = $T/schedule.conf
timezone = UTC
EOF

"$RELAY" schedule -c "$T/relay.conf" --hours 1 >"$T/upcoming.txt" 2>&1 ||
    fail "relay schedule failed: $(cat "$T/upcoming.txt")"
grep -q 'tone-a' "$T/upcoming.txt" || fail "relay schedule does not list tone-a"
grep -q 'tone-b' "$T/upcoming.txt" || fail "relay schedule does not list tone-b"

start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15

seg_now() {
	curl -s "http://127.0.0.1:$status_port/api/status" | jq -r '.now.segment // ""'
}
in_segment_a() { [[ $(seg_now) == tone-a ]]; }
wait_for -t 20 -m "/api/status now.segment = tone-a" in_segment_a ||
    fail "/api/status never showed segment tone-a"
title_is() { [[ $(ice_field "${ICE_PORT[a]}" /live.ogg title) == "$1" ]]; }
wait_for -t 5 -m "Icecast title Tone A" title_is "Tone A" ||
    fail "Icecast's title did not change to Tone A (metadata = chain)"

# Let both segments pass, then stop: the archive ends with EOS.
wait_for -t 20 -m "tone-b to end" log_has 'segment tone-b ended' ||
    fail "tone-b never ended"
log_has 'segment missing-file.*skipped' ||
    fail "the missing file was not reported as skipped"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit code $RELAY_RC"
check_sanitizer

check_vorbis "$T/archive.ogg" 44100 1 8
# Onsets and lengths of the two tones in the archive decoded by the
# reference decoder (libvorbisfile, through oggdec). ffmpeg's decoder does
# not restart at a chain boundary and repeats the block relay carries into
# the new chain (about 23 ms per boundary), so it cannot time chains.
oggdec -Q -R -b 16 -e 0 -s 1 -o "$T/archive.raw" "$T/archive.ogg" ||
    fail "oggdec cannot decode the archive"
read -r a_on a_off b_on b_off fa fb < <(python3 - "$T/archive.raw" <<'PY'
import struct, sys
raw = open(sys.argv[1], "rb").read()
n = len(raw) // 2
x = struct.unpack("<%dh" % n, raw[: n * 2])
thr = 200  # -44 dBFS: far above digital silence, far below -12 dBFS
rate = 44100
def runs():
    out, start, last = [], None, None
    for i, v in enumerate(x):
        if abs(v) > thr:
            if start is None or i - last > rate // 20:
                if start is not None:
                    out.append((start, last))
                start = i
            last = i
    if start is not None:
        out.append((start, last))
    return out
r = runs()
def freq(a, b):
    a, b = a + rate // 10, b - rate // 10
    z = sum(1 for i in range(a, b) if (x[i] < 0) != (x[i + 1] < 0))
    return z / 2 / ((b - a) / rate)
if len(r) != 2:
    print("bad", len(r), 0, 0, 0, 0)
else:
    print(r[0][0] / rate, r[0][1] / rate, r[1][0] / rate, r[1][1] / rate,
          round(freq(*r[0])), round(freq(*r[1])))
PY
)
[[ $a_on != bad ]] || fail "expected two tone bursts in the archive, found $a_off"
note "tone A ${a_on}..${a_off} s, tone B ${b_on}..${b_off} s"
# Each onset is sample-exact on the programme clock: their distance is the
# scheduled 4 s, and each lasts its duration (fades are 20 ms).
assert_between "$(awk -v a="$a_on" -v b="$b_on" 'BEGIN{print b - a}')" 3.98 4.02 \
    "distance between the two segments' starts (s)"
assert_between "$(awk -v a="$a_on" -v b="$a_off" 'BEGIN{print b - a}')" 1.97 2.02 \
    "length of tone A (s)"
assert_between "$(awk -v a="$b_on" -v b="$b_off" 'BEGIN{print b - a}')" 0.97 1.02 \
    "length of tone B (s)"
# The missing file (due as tone A ended) left no gap: tone B still starts
# exactly 4 s after tone A, so not one frame went missing in between.
# On the programme clock (frame n <-> wall time, anchored to the system
# clock) each segment went on air at its scheduled second, within 20 ms.
for seg in tone-a:$t0 tone-b:$((t0 + 4)); do
	name=${seg%%:*}
	want=${seg#*:}
	got=$(sed -n "s/.*segment $name on air at .*programme clock \([0-9T:.-]*\)Z).*/\1/p" "$RELAY_LOG" | head -1)
	[[ -n $got ]] || fail "no 'on air' line for $name"
	got_s=$(date -u -d "${got/T/ }" +%s.%N)
	assert_between "$(awk -v g="$got_s" -v w="$want" 'BEGIN{print (g - w) * 1000}')" -20 20 \
	    "$name start against its schedule (ms)"
done
# Frequencies: A is 1 kHz, B 2 kHz.
assert_between "$fa" 990 1010 "tone A frequency (Hz)"
assert_between "$fb" 1980 2020 "tone B frequency (Hz)"
# The archive is one file with the stream's chains: at least 3 (live,
# A, live/B...) because metadata = chain.
chains=$(grep -c 'New logical stream' "$VORBIS_INFO" || true)
assert_between "$chains" 3 100 "logical streams in the archive"
grep -q 'TITLE=Tone A' "$VORBIS_INFO" || fail "no TITLE=Tone A comment in the archive"
note "schedule: segments on time, titles follow, missing file skipped"
