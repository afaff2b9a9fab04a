#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 128 the filler carries on after the files heard in its fade-out: when
# live returns, the filler fades out over 1 s, and files of its playlist
# that start in that second are heard (in part) and named ("playing
# FILE"). The next dead air must carry on after the last of them, not
# play them again. A playlist of 40 files of 0.25 s each (f00..f39, one
# pass is 10 s) fills two dead airs of about 3 s each: the log names
# f00, f01, ... in order, each once, with no file named twice and none
# left out. (The next filler was armed as live returned, from the file
# heard then: the four or so files of the fade-out were named and aired
# again at the start of the next dead air.)
#
# timeout: 70

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
status_port=$(free_port) || fail "no free port"
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
mkdir "$T/filler"
for i in $(seq -w 0 39); do
	sox -n -r 44100 -c 2 -b 16 "$T/filler/f$i.wav" synth 0.25 sine 660 vol 0.5 ||
		fail "cannot make the filler file f$i.wav"
done
filler_air_config "$port" "$status_port" playlist filler >"$T/relay.conf"
mkfifo "$T/pcm.fifo"
# Its broken pipe when relay stops goes to pcm.err.
bg python3 "$TOPDIR/tests/tools/pcm_script.py" "$T/pcm.fifo" \
    tone:523:3:-6 silence:3 tone:523:4:-6 silence:3 tone:523:4:-6 \
    mark:"$T/done" tone:523:30:-6 2>"$T/pcm.err"
RELAY_STDIN=$T/pcm.fifo start_relay "$T/relay.conf"
wait_mount "$port" /air.ogg
wait_for -t 40 -m "the second dead air over" test -s "$T/done" ||
    fail "the input script did not end"
two_over() { (($(log_count "fallback: dead air over") >= 2)); }
wait_for -t 5 -m "two dead airs over" two_over ||
    fail "not two dead airs: $(relay_lines | grep 'fallback:')"
sleep 1.5 # the second fade-out, named
stop_relay

named=$(relay_lines | sed -n 's|.*source\[fallback\]: playing .*/filler/f\([0-9]*\)\.wav.*|\1|p' |
    tr '\n' ' ')
note "the log names: $named"
read -r n bad < <(python3 - "$named" <<'PY'
import sys
names = [int(x) for x in sys.argv[1].split()]
bad = [f"{a:02d}->{b:02d}" for a, b in zip(names, names[1:]) if b != a + 1]
print(len(names), ",".join(bad) or "-")
PY
)
((n >= 16)) || fail "only $n file(s) named in two dead airs: $named"
[[ $bad == - ]] ||
    fail "the filler did not carry on after the last file heard: $bad in $named"
