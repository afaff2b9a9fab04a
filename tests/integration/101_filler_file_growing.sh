#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 101 a filler file still being written (an upload in progress, `cat >>`
# in steps) is not opened anew at every write. [fallback] source =
# playlist over a directory whose x.wav holds the first 0.5 s of a 12 s
# WAV; the waiting filler opens it at start-up. Then the rest is appended
# in 0.5 s steps, one every 0.5 s, for 6 s, while live plays. During the
# growth the waiting filler must not be found stale once (it was, every
# second: reopened and decoded ahead again each time, a debug line each
# time, most of them folded by the log's repeat limit into "(4 similar
# suppressed)"), and the log says once that the file is changing. Once the file stays the
# same, it is opened anew exactly once (`opened anew`), and not again.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
status_port=$(free_port)
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
mkdir "$T/filler"
sox -n -r 44100 -c 2 -b 16 "$T/full.wav" synth 12 sine 1100 vol 0.5 ||
	fail "cannot make the full file"
size=$(stat -c %s "$T/full.wav")
step=$((44100 * 4 / 2)) # 0.5 s of 16-bit stereo
# The upload so far: the header and the first 0.5 s.
dd if="$T/full.wav" iflag=count_bytes count=$((44 + step)) status=none \
    >"$T/filler/x.wav"
{
	filler_air_config "$port" "$status_port" playlist filler
	printf '\n[log]\nlevel = debug\n'
} >"$T/relay.conf"
mkfifo "$T/pcm.fifo"
bg python3 "$TOPDIR/tests/tools/pcm_script.py" "$T/pcm.fifo" \
    tone:523:60:-6 2>"$T/pcm.err"
RELAY_STDIN=$T/pcm.fifo start_relay "$T/relay.conf"
wait_mount "$port" /air.ogg
stale='source\[fallback\]: .*/filler/x\.wav changed on disk since it was opened ahead'
changing='source\[fallback\]: .*/filler/x\.wav is changing on disk'
anew='\[fallback\] playlist .*/filler: a file changed on disk since the waiting filler opened it; opened anew'
log_mark
# The upload goes on: 12 appends, 0.5 s apart.
at=$((44 + step))
for _ in $(seq 12); do
	sleep 0.5
	dd if="$T/full.wav" iflag=skip_bytes,count_bytes skip="$at" \
	    count="$step" status=none >>"$T/filler/x.wav"
	at=$((at + step))
done
during=$(log_count_since "$stale")
said=$(log_count_since "$changing")
note "while it grew: $during stale, $said 'changing' line(s)"
((during == 0)) ||
	fail "the waiting filler was found stale $during times while x.wav grew (opened anew at each write): $(relay_lines "$LOG_MARK" | grep -E "$stale" | head -3)"
((said == 1)) ||
	fail "want one 'is changing on disk' line while x.wav grew, got $said"
# The rest at once; then the file stays the same.
dd if="$T/full.wav" iflag=skip_bytes skip="$at" status=none \
    >>"$T/filler/x.wav"
[[ $(stat -c %s "$T/filler/x.wav") == "$size" ]] || fail "x.wav is not whole"
wait_for -t 10 -m "the waiting filler opened anew" log_since "$stale" ||
	fail "x.wav stayed the same, yet the waiting filler was never opened anew"
log_since "$anew" || fail "no 'opened anew' line: $(relay_lines "$LOG_MARK" | grep fallback)"
sleep 4
after=$(log_count_since "$stale")
((after == 1)) || fail "opened anew $after times after x.wav stopped changing, want 1"
relay_alive || fail "relay exited"
stop_relay
check_sanitizer
