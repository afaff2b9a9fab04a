#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 120 feeder naps: a source's feeder thread with nothing to do sleeps
# until it has something to do (source.c, DESIGN "Naps"). It used to
# look at its ring every 10 ms: ~100 wake-ups a second for the whole
# life of a waiting [fallback] filler (days, on a station with a live
# studio), and for every segment on air.
#   - The waiting filler (a playlist, nobody reads it) wakes about once a
#     second, for its look at the files on disk: at most 3 times.
#   - A file segment on air refills its ring in steps (the room beyond
#     the 2.5 s it decodes ahead, at most 0.5 s): at most 12 wake-ups a
#     second.
#   - When a silent segment follows, the filler goes on air and names its
#     first file with it: the engine's first read wakes the napping feeder.
#
# timeout: 120

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
control_api_setup
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
mkdir -p "$T/filler"
sox -n -r 44100 -c 1 "$T/filler/a.wav" synth 20 sine 300 vol 0.3 ||
    fail "sox: filler a"
sox -n -r 44100 -c 1 "$T/filler/b.wav" synth 20 sine 400 vol 0.3 ||
    fail "sox: filler b"
sox -n -r 44100 -c 1 "$T/feature.wav" synth 30 sine 700 vol 0.3 ||
    fail "sox: feature"
t0=$(($(date +%s) + 12))
cat >"$T/schedule.conf" <<EOF
[segment feature]
at = $(utc "$t0")
source = file
path = $T/feature.wav
duration = 9s
title = Feature
[segment hush]
at = $(utc $((t0 + 9)))
source = silence
duration = 30s
title = Hush
EOF
cat >"$T/relay.conf" <<EOF
[input]
type = tone
frequency = 500
channels = 1
title = Studio
[encoding e]
channels = 1
quality = 1
$(icecast_output ice /live.ogg "encoding = e")
[fallback]
after = 2s
restore_after = 1s
source = playlist
path = $T/filler
[status]
listen = 127.0.0.1:$status_port
token_env = RELAY_TEST_CONTROL_TOKEN
[schedule]
file = $T/schedule.conf
timezone = UTC
EOF
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg

# task COMM: the /proc task directory of relay's thread named COMM.
task()
{
	local d
	for d in /proc/"$RELAY_PID"/task/*; do
		if [[ $(cat "$d/comm" 2>/dev/null) == "$1" ]]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}
switches() { awk '/^voluntary_ctxt_switches/ {print $2}' "$1/status"; }
# rate TASK SECONDS: its wake-ups a second over that long.
rate()
{
	local a b
	a=$(switches "$1") || return 1
	sleep "$2"
	b=$(switches "$1") || return 1
	awk -v a="$a" -v b="$b" -v s="$2" 'BEGIN { printf "%.1f\n", (b - a) / s }'
}

wait_for -t 5 -m "the filler's feeder" sh -c "ls /proc/$RELAY_PID/task/*/comm | xargs grep -qx 'source\[fallback'" ||
    fail "no source[fallback] thread: $(cat /proc/"$RELAY_PID"/task/*/comm | tr '\n' ' ')"
filler=$(task 'source[fallback')
sleep 1
waiting=$(rate "$filler" 5)
note "the waiting filler's feeder: $waiting wake-ups a second"
assert_between "$waiting" 0 3 "waiting filler feeder wake-ups a second"

wait_for -t 15 -m "the feature on air" on_air feature ||
    fail "the feature never went on air: $(status_now | jq -c .now)"
feature=$(task 'source[feature]') || fail "no source[feature] thread"
sleep 1
playing=$(rate "$feature" 5)
note "the feature's feeder on air: $playing wake-ups a second"
assert_between "$playing" 0 12 "segment feeder wake-ups a second"

wait_for -t 15 -m "the filler on air" log_has 'source\[fallback\]: playing ' ||
    fail "the filler never named a file: $(relay_lines | tail -5)"
# stamp PATTERN: the time of the first log line matching it, in ms.
stamp()
{
	relay_lines | grep -m1 -E -- "$1" | cut -d' ' -f1 |
	    sed 's/Z$//' | xargs -I{} date -u -d {} +%s%3N
}
on=$(stamp 'fallback: dead air: ') || fail "no dead-air line"
named=$(stamp 'source\[fallback\]: playing ')
took=$(awk -v a="$on" -v b="$named" 'BEGIN { printf "%.3f\n", (b - a) / 1000 }')
note "the filler named its first file $took s from when it went on air"
assert_between "$took" -0.5 0.5 "seconds between the filler on air and its first file named"
