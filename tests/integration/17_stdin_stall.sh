#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 13 stdin stall: the producer on relay's stdin (input type = stdin) stops
# writing for 12 s, longer than Icecast's source-timeout (5 s here), then
# resumes. relay fills the gap with clock-paced silence, so the mount stays
# listed the whole time, a listener connected across the stall is never cut
# and decodes one continuous stream (silence in the gap), and the tone comes
# back after it. relay logs the gap once and its end once.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

ICE_SOURCE_TIMEOUT=5 start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}

cat >"$T/relay.conf" <<EOF2
[input]
type = stdin
format = s16le
rate = 44100
channels = 2

[encoding main]
rate = 44100
channels = 2
quality = 3

[output main]
host = 127.0.0.1
port = $port
mount = /stall.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD

[status]
listen = off
EOF2

# The producer: 5 s of a 523 Hz tone in real time, a 12 s stall with the
# pipe held open, then the tone again; it marks when it stalls and resumes.
tone()
{
	ffmpeg -nostdin -v error -re -f lavfi \
	    -i "sine=frequency=523:sample_rate=44100:duration=$1" \
	    -ac 2 -f s16le -acodec pcm_s16le -
}
producer()
{
	# Opened here, in the background: the open waits for relay.
	exec >"$T/pcm.fifo"
	tone 5
	now >"$T/stall.start"
	sleep 12
	now >"$T/stall.end"
	tone 40
	sleep 60
}
mkfifo "$T/pcm.fifo"
bg producer
RELAY_STDIN=$T/pcm.fifo start_relay "$T/relay.conf"

wait_mount "$port" /stall.ogg
listen_start=$(now)
listen_bg "http://127.0.0.1:$port/stall.ogg" 26 "$T/listen.ogg"
listener=$LISTEN_PID

wait_for -t 15 -m "the producer to stall" test -s "$T/stall.start" ||
    fail "the producer never stalled"
note "producer stalled; watching the mount"
# Listed (and with audio) at every look, across the stall and after it.
while [[ ! -s $T/stall.end ]] ||
    awk -v e="$(elapsed_since "$(cat "$T/stall.end")")" 'BEGIN { exit !(e < 3) }'; do
	mount_live "$port" /stall.ogg ||
	    fail "the mount disappeared $(elapsed_since "$(cat "$T/stall.start")") s into the stall"
	relay_alive || fail "relay exited during the stall"
	sleep 0.5
done
note "the mount stayed listed through the stall"

rc=0
wait "$listener" || rc=$?
# 28: curl's --max-time; anything else means the stream ended early.
[[ $rc -eq 28 ]] || fail "the listener was cut (curl exit $rc)"

# Counted from the stall on: on a busy machine ffmpeg can take over 0.4 s
# to start, and relay rightly logs that first wait as a gap too.
since_stall()
{
	local n=0 ts t
	while read -r ts _; do
		t=$(date -u -d "$ts" +%s.%N) || continue
		awk -v a="$t" -v b="$(cat "$T/stall.start")" 'BEGIN { exit !(a >= b) }' &&
		    n=$((n + 1))
	done < <(relay_lines | grep -E -- "$1")
	echo "$n"
}
[[ $(since_stall 'no audio for') -eq 1 ]] ||
    fail "the gap was logged $(since_stall 'no audio for') times (want 1)"
[[ $(since_stall 'audio is back') -eq 1 ]] ||
    fail "the end of the gap was logged $(since_stall 'audio is back') times (want 1)"
log_has 'reconnect|connected again' &&
    fail "the output reconnected: $(relay_lines | grep -E 'reconnect|connected again' | head -2)"

check_vorbis "$T/listen.ogg" 44100 2 20
grep -c 'New logical stream' "$VORBIS_INFO" | grep -qx 1 ||
    fail "the listener's stream is not one continuous chain"
# The capture is continuous: about as long as the listener listened.
assert_between "$VORBIS_SECONDS" 24 30 "decoded seconds for 26 s of listening"

# Where the stall falls in the capture (the Icecast burst and relay's
# paging add up to about a second; the windows leave room for that).
s=$(awk -v a="$listen_start" -v b="$(cat "$T/stall.start")" \
    'BEGIN { printf "%.1f", b - a }')
note "the stall starts about $s s into the capture"
# window FROM SECONDS: "FREQ PEAK RMS" of the capture's left channel there.
window()
{
	sox -t raw -r 44100 -c 2 -b 16 -e signed-integer "$VORBIS_RAW" \
	    -t raw "$T/window.raw" trim "$1" "$2" &&
	    audio_stats "$T/window.raw" 44100 2 1 0
}
read -r freq peak _ < <(window 0.3 "$(awk -v s="$s" 'BEGIN { print s - 1 }')") ||
    fail "cannot analyse the capture before the stall"
note "before the stall: ~$freq Hz, peak $peak dBFS"
assert_between "$freq" 507 539 "frequency before the stall (Hz)"
assert_between "$peak" -30 0 "peak before the stall (dBFS)"
gap=$(awk -v s="$s" 'BEGIN { printf "%.1f", s + 2.5 }')
read -r _ peak _ < <(window "$gap" 7) || fail "cannot analyse the gap"
note "in the gap ($gap s + 7 s): peak $peak dBFS"
assert_between "$peak" -200 -60 "peak inside the gap (dBFS): silence"
read -r freq peak _ < <(audio_stats "$VORBIS_RAW" 44100 2 1 -3) ||
    fail "cannot analyse the end of the capture"
note "after the stall: ~$freq Hz, peak $peak dBFS"
assert_between "$freq" 507 539 "frequency after the stall (Hz)"
assert_between "$peak" -30 0 "peak after the stall (dBFS)"
relay_alive || fail "relay exited"
