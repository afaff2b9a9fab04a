#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 102 a filler file shorter than the 2.5 s the waiting filler decodes
# ahead, rewritten on disk between dead airs, airs as it is now. The rule
# is the same for every length (98 covers a long file). [fallback] source
# = file short.wav: 1.5 s of 660 Hz, read whole at start-up. While live
# (stdin, 523 Hz) plays, short.wav is rewritten in place (same inode) with
# 4 s of 1100 Hz; then the live input goes silent for 6 s. The archive
# must hear live, 1100 Hz, live. (A source read to its end stopped
# looking at its file: the old 1.5 s aired first, then the new file:
# LacL.) The log says the waiting filler was opened anew.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
status_port=$(free_port)
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
sox -n -r 44100 -c 2 -b 16 "$T/short.wav" synth 1.5 sine 660 vol 0.5 ||
	fail "cannot make short.wav"
sox -n -r 44100 -c 2 -b 16 "$T/new.wav" synth 4 sine 1100 vol 0.5 ||
	fail "cannot make the new short.wav"
filler_air_config "$port" "$status_port" file short.wav >"$T/relay.conf"
mkfifo "$T/pcm.fifo"
bg python3 "$TOPDIR/tests/tools/pcm_script.py" "$T/pcm.fifo" \
    tone:523:3:-6 mark:"$T/rewrite" tone:523:5:-6 silence:6 \
    tone:523:3:-6 mark:"$T/done" tone:523:30:-6 2>"$T/pcm.err"
RELAY_STDIN=$T/pcm.fifo start_relay "$T/relay.conf"
wait_mount "$port" /air.ogg
wait_for -t 20 -m "live on air for 3 s" test -s "$T/rewrite" ||
	fail "the input script did not start"
ino=$(stat -c %i "$T/short.wav")
cat "$T/new.wav" >"$T/short.wav"
[[ $(stat -c %i "$T/short.wav") == "$ino" ]] || fail "short.wav was not rewritten in place"
wait_for -t 30 -m "the dead air over" test -s "$T/done" ||
	fail "the input script did not end"
wait_for -t 5 -m "the dead air over" log_has "fallback: dead air over" ||
	fail "no dead air: $(relay_lines | grep 'fallback:')"
sleep 1.5
stop_relay

sox "$T/archive.ogg" -r 8000 -c 1 -b 16 -e signed -t raw "$T/archive.raw" ||
	fail "cannot decode the archive"
heard=$(python3 "$TOPDIR/tests/tools/tone_runs.py" "$T/archive.raw" 0.3 --noise) ||
	fail "cannot read the archive"
note "the archive heard: $heard (L: live, a: old short.wav, c: new short.wav, N: noise)"
# A machine loaded enough to stall the input before the rewrite gives
# a first dead air, which rightly airs the old file: LaLcL.
want=LcL
(($(log_count 'fallback: dead air: ') == 2)) && want=LaLcL
[[ $heard == "$want" ]] ||
	fail "the filler did not air short.wav as it is on disk: heard $heard, want $want"
log_has '\[fallback\] file .*short\.wav: a file changed on disk since the waiting filler opened it; opened anew' ||
	fail "no log line for the file changed on disk: $(relay_lines | grep 'fallback')"
check_sanitizer
