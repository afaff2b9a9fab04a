#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 139 an empty studio overnight: the live input is silent, a [fallback]
# filler covers it, and a scheduled bulletin interrupts the filler. When
# the bulletin reaches its planned end, live would be dead air (silent
# for longer than `after`), so the filler follows at once, as it does
# when a segment fails or its file runs out. relay handed over to the
# silent live programme instead, and listeners heard `after` of dead air
# (5 s here, 10 s by default) after every bulletin before the filler came
# back. Measured in the archive, what listeners get: no silence after the
# bulletin longer than the filler's fade-in.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

control_api_setup
sox -n -r 44100 -c 1 "$T/filler.wav" synth 60 sine 330 vol 0.3 || fail "sox: filler"
control_archive_config "[schedule]
file = $T/schedule.conf
timezone = UTC
[fallback]
after = 5s
restore_after = 1s
source = file
path = $T/filler.wav" >"$T/relay.conf"
t0=$(($(date +%s) + 8))
tone_segment bulletin "$t0" 4s 1000 "News" >"$T/schedule.conf"
start_relay "$T/relay.conf"
bulletin_on() { status_has '.now.segment == "bulletin"'; }
# No Icecast: state is off_air, so the test reads now and fallback.
wait_for -t 15 -m "the bulletin on air" bulletin_on || fail "the bulletin never went on air"
wait_for -t 10 -m "the bulletin's end" log_has 'segment bulletin ended' ||
    fail "the bulletin never ended: $(relay_lines | grep programme | tail -3)"
sleep "$(scaled 3)" # less than `after`
state=$(status_now | jq -c '[.fallback.active, .fallback.why]')
stop_relay
relay_lines | grep -E 'fallback|programme' | sed 's/^/    /'
oggdec -Q -R -o - "$T/archive.ogg" |
    sox -t raw -r 44100 -c 1 -b 16 -e signed - -t raw -r 8000 -c 1 -b 16 -e signed "$T/archive.raw" ||
    fail "cannot decode the archive"
# The longest run of silent 50 ms windows (under -50 dBFS) after the
# bulletin's first loud window.
gap=$(python3 - "$T/archive.raw" <<'PY'
import array, math, sys
a = array.array("h")
a.frombytes(open(sys.argv[1], "rb").read())
if sys.byteorder != "little":
    a.byteswap()
W = 400
limit = 32768 * 10 ** (-50 / 20)
quiet = []
for i in range(0, len(a) - W + 1, W):
    w = a[i:i + W]
    quiet.append(math.sqrt(sum(x * x for x in w) / W) < limit)
# the bulletin: the first loud window after the filler's first silence run
start = next(i for i, q in enumerate(quiet) if q)
start = next(i for i in range(start, len(quiet)) if not quiet[i])
run = best = 0
for q in quiet[start:]:
    run = run + 1 if q else 0
    best = max(best, run)
print("%.2f" % (best * W / 8000))
PY
) || fail "cannot measure the archive"
note "longest silence after the first audio: $gap s"
awk -v g="$gap" 'BEGIN { exit !(g < 1.0) }' ||
    fail "listeners heard $gap s of dead air after the bulletin (the filler came back only after [fallback] after)"
[[ $state == '[true,"segment bulletin ended and the live input is silent"]' ]] ||
    fail "3 s after the bulletin's end /api/status fallback [active, why] is $state, not the filler"
log_has 'dead air: segment bulletin ended and the live input is silent' ||
    fail "no log line for the filler after the bulletin: $(relay_lines | grep fallback | tail -3)"
