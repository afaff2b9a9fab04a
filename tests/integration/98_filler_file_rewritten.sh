#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 98 a filler file rewritten on disk between dead airs airs as it is now,
# never as it was nor as noise. [fallback] source = playlist over a
# directory of a.wav (660 Hz, 16-bit stereo 44.1 kHz) and b.wav (880 Hz);
# the waiting filler opens a.wav and decodes its first seconds ahead at
# start-up. While live (stdin, 523 Hz) plays, a.wav is rewritten in place
# (same inode, as cp or an editor's save does) with 1100 Hz in another
# format (32-bit float mono 22.05 kHz); then the live input goes silent.
# The archive must hear live, 1100 Hz, live: the new a.wav. (The waiting
# filler kept the old a.wav open and aired its 2.5 s decoded ahead, then
# read the new bytes with the old header: loud noise.) The log says the
# waiting filler was opened anew.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
status_port=$(free_port)
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
mkdir "$T/filler"
sox -n -r 44100 -c 2 -b 16 "$T/filler/a.wav" synth 5 sine 660 vol 0.5 ||
	fail "cannot make a.wav"
sox -n -r 44100 -c 2 -b 16 "$T/filler/b.wav" synth 5 sine 880 vol 0.5 ||
	fail "cannot make b.wav"
sox -n -r 22050 -c 1 -e floating-point -b 32 "$T/new.wav" synth 12 sine 1100 vol 0.5 ||
	fail "cannot make the new a.wav"
filler_air_config "$port" "$status_port" playlist filler >"$T/relay.conf"
mkfifo "$T/pcm.fifo"
bg python3 "$TOPDIR/tests/tools/pcm_script.py" "$T/pcm.fifo" \
    tone:523:3:-6 mark:"$T/rewrite" tone:523:4:-6 silence:6 \
    tone:523:3:-6 mark:"$T/done" tone:523:30:-6 2>"$T/pcm.err"
RELAY_STDIN=$T/pcm.fifo start_relay "$T/relay.conf"
wait_mount "$port" /air.ogg
wait_for -t 20 -m "live on air for 3 s" test -s "$T/rewrite" ||
	fail "the input script did not start"
ino=$(stat -c %i "$T/filler/a.wav")
cat "$T/new.wav" >"$T/filler/a.wav"
[[ $(stat -c %i "$T/filler/a.wav") == "$ino" ]] || fail "a.wav was not rewritten in place"
wait_for -t 30 -m "the dead air over" test -s "$T/done" ||
	fail "the input script did not end"
wait_for -t 5 -m "the dead air over" log_has "fallback: dead air over" ||
	fail "no dead air: $(relay_lines | grep 'fallback:')"
sleep 1.5
stop_relay

sox "$T/archive.ogg" -r 8000 -c 1 -b 16 -e signed -t raw "$T/archive.raw" ||
	fail "cannot decode the archive"
# 20 ms windows: silent, noise (a zero-crossing rate far above every
# tone) or the nearest tone; runs under 0.3 s dropped.
heard=$(python3 "$TOPDIR/tests/tools/tone_runs.py" "$T/archive.raw" 0.3 --noise) ||
    fail "cannot read the archive"
note "the archive heard: $heard (L: live, a: old a.wav, c: new a.wav, N: noise)"
[[ $heard == LcL ]] ||
	fail "the filler did not air a.wav as it is on disk: heard $heard, want LcL"
log_has '\[fallback\] playlist .*/filler: a file changed on disk since the waiting filler opened it; opened anew' ||
	fail "no log line for the file changed on disk: $(relay_lines | grep 'fallback')"
check_sanitizer
