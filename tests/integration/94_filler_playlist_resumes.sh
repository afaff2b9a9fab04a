#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 94 the filler playlist carries on where it left off: [fallback] source =
# playlist over a directory of three 5 s files (a 660 Hz, b 880 Hz,
# c 1100 Hz); the live input (stdin, 523 Hz) goes silent three times, each
# time long enough for about 3.5 s of filler. The archive must hear a in
# the first dead air, b in the second and c in the third (it heard a three
# times: each dead air started the playlist from its top). The log names a
# file ("source[fallback]: playing ...") only when it goes on air: exactly
# a, b, c, in that order (it named a at start-up and again at every
# re-arm, and b during the first dead air, while b was only decoded ahead
# and never aired).
#
# timeout: 70

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
status_port=$(free_port)
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
mkdir "$T/filler"
for f in a:660 b:880 c:1100; do
	sox -n -r 44100 -c 2 -b 16 "$T/filler/${f%:*}.wav" synth 5 sine "${f#*:}" vol 0.5 ||
		fail "cannot make the filler file ${f%:*}.wav"
done
filler_air_config "$port" "$status_port" playlist filler >"$T/relay.conf"
mkfifo "$T/pcm.fifo"
# Its broken pipe when relay stops goes to pcm.err.
bg python3 "$TOPDIR/tests/tools/pcm_script.py" "$T/pcm.fifo" \
    tone:523:3:-6 silence:3.5 tone:523:4:-6 silence:3.5 tone:523:4:-6 \
    silence:3.5 tone:523:3:-6 mark:"$T/done" tone:523:30:-6 2>"$T/pcm.err"
RELAY_STDIN=$T/pcm.fifo start_relay "$T/relay.conf"
wait_mount "$port" /air.ogg
wait_for -t 40 -m "the third dead air over" test -s "$T/done" ||
    fail "the input script did not end"
three_over() { (($(log_count "fallback: dead air over") >= 3)); }
wait_for -t 5 -m "three dead airs over" three_over ||
    fail "not three dead airs: $(relay_lines | grep 'fallback:')"
sleep 1.5 # the crossfade back to live, into the archive
stop_relay

# What the log says aired, in order.
logged=$(relay_lines | sed -n 's|.*source\[fallback\]: playing .*/filler/\([a-z]\)\.wav.*|\1|p' |
    tr -d '\n')
note "the log names: ${logged:-nothing}"

# What the archive heard (tests/tools/tone_runs.py): 20 ms windows, silent or the nearest of the
# four tones by zero crossings; runs under 0.5 s (crossfades) dropped.
sox "$T/archive.ogg" -r 8000 -c 1 -b 16 -e signed -t raw "$T/archive.raw" ||
    fail "cannot decode the archive"
heard=$(python3 "$TOPDIR/tests/tools/tone_runs.py" "$T/archive.raw" 0.5) ||
    fail "cannot read the archive"
note "the archive heard: $heard (L: live)"
[[ $heard == LaLbLcL ]] ||
    fail "the filler did not carry on through its playlist: heard $heard, want LaLbLcL"
[[ $logged == abc ]] ||
    fail "the log names $logged as playing, want abc (each file as it airs): $(relay_lines | grep 'source\[fallback\]')"
check_sanitizer
