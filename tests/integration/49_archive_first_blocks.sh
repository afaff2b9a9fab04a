#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 49 archive first blocks: an archive holds the stream from its very first
# block. relay used to clear every output's queue when a connection came
# up, the first one included, so whatever the encoder made while the file
# output was still opening its file (or an Icecast output still logging
# in) was thrown away: 45_archive and 81_opus_granule failed now and then
# with the first ~50 ms missing. The race is widest when the input arrives
# faster than real time, so 20 s of s16le PCM are piped in at once with
# at_end = exit, ten times; every archive must decode to every frame.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

frames=882000 # 20 s at 44.1 kHz
sox -n -r 44100 -c 2 -b 16 -e signed -t raw "$T/in.raw" synth 20 sine 440 vol 0.3 ||
    fail "sox could not make the input"

cat >"$T/relay.conf" <<EOF
[input]
type = stdin
format = s16le
at_end = exit

[encoding main]
quality = 0

[output archive]
type = file
encoding = main
path = $T/run.ogg

[status]
listen = off
EOF

for run in 1 2 3 4 5 6 7 8 9 10; do
	rm -f "$T/run.ogg"
	RELAY_STDIN=$T/in.raw start_relay "$T/relay.conf"
	wait_for -t 30 -m "relay to finish the input" proc_gone "$RELAY_PID" ||
	    fail "run $run: relay did not exit at the end of its input"
	wait "$RELAY_PID" || fail "run $run: relay exited $?"
	got=$(ffmpeg -nostdin -v error -i "$T/run.ogg" -f s16le -ac 2 - | wc -c) ||
	    fail "run $run: ffmpeg could not decode the archive"
	got=$((got / 4))
	[[ $got == "$frames" ]] ||
	    fail "run $run: the archive decodes to $got frames, the input had $frames"
done
note "ten archives, each with all $frames frames"
