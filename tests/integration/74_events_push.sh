#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 74 /api/events pushes a change at once: a client of /api/events (plain,
# and ?levels=1) sees a new live title within a fraction of a second of
# the POST /api/metadata that set it, not at the stream's next 1 s tick.
# Each POST is sent 2.2 s after the previous title's event arrived (so
# with a 1 s grid it would wait ~0.8 s; 2 s is the least between two
# live titles on air, switcher.h: a title sooner would be held back);
# five rounds, the slowest counts.
# With nothing changing, a plain stream's thread wakes once a second (its
# tick), as before: no wake-up more (the news bell stays quiet while the
# planner re-publishes the same next[] every tick; a bell rung then woke
# it twice a second), and it sends nothing but a keepalive.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
control_api_setup
: >"$T/schedule.conf"
api_station_config >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg

# stamp FILE: each line read from stdin, after the time it arrived;
# not the levels events (10 a second: "event: levels" and its data line)
# nor blank lines.
stamp()
{
	local line skip=0
	while IFS= read -r line; do
		if [[ $line == 'event: levels' ]]; then
			skip=1
		elif ((skip)) && [[ $line == data:* ]]; then
			skip=0
		elif [[ -n $line ]]; then
			printf '%s %s\n' "$(date +%s.%N)" "$line"
		fi
	done >"$1"
}
curl -sN --max-time 60 "$URL/api/events" | stamp "$T/plain.txt" &
BG_PIDS+=($!)
curl -sN --max-time 60 "$URL/api/events?levels=1" | stamp "$T/levels.txt" &
BG_PIDS+=($!)
has_title() { grep -q "\"now\":{\"title\":\"$2\"" "$1" 2>/dev/null; }
wait_for -t 5 -m "first events" has_title "$T/plain.txt" Studio ||
    fail "no first event: $(head -c 300 "$T/plain.txt")"
wait_for -t 5 -m "first events (levels)" has_title "$T/levels.txt" Studio ||
    fail "no first event on the levels stream"

worst=0
for i in 1 2 3 4 5; do
	sleep 2.2
	posted=$(date +%s.%N)
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "${auth[@]}" \
	    "${json[@]}" -d "{\"title\": \"Round $i\"}" "$URL/api/metadata")
	[[ $code == 200 ]] || fail "POST /api/metadata: $code"
	for f in plain levels; do
		wait_for -t 3 -m "Round $i on the $f stream" has_title "$T/$f.txt" "Round $i" ||
		    fail "the $f stream never sent Round $i"
		at=$(grep -m1 "\"now\":{\"title\":\"Round $i\"" "$T/$f.txt" | cut -d' ' -f1)
		took=$(awk -v a="$at" -v p="$posted" 'BEGIN { printf "%.3f\n", a - p }')
		note "round $i, $f: $took s"
		worst=$(awk -v a="$took" -v w="$worst" 'BEGIN { print (a > w) ? a : w }')
	done
done
note "slowest: $worst s"
assert_between "$worst" 0 0.4 "seconds from the POST to its event (slowest of 5)"

# Quiet: nothing changes for 4 s; a stream sends nothing but keepalives,
# and the plain stream's thread (of the two MHD-connection threads, the
# one that wakes less: the levels stream's ticks 10 times a second) wakes
# on its 1 s tick only, as before: the news bell stays quiet.
conn_switches()
{
	local d
	for d in /proc/"$RELAY_PID"/task/*; do
		[[ $(cat "$d/comm" 2>/dev/null) == MHD-connection ]] &&
		    printf '%s %s\n' "${d##*/}" "$(awk '/^voluntary_ctxt_switches/ {print $2}' "$d/status")"
	done
	# Not the last [[ ]]'s status: the glob sorts thread ids as text,
	# so once they pass 9999 another thread comes last, and set -e
	# ended the test here without a word (seen in CI, relay pid 9968).
	return 0
}
conn_switches >"$T/sw0"
n0=$(wc -l <"$T/plain.txt")
sleep 4
n1=$(wc -l <"$T/plain.txt")
conn_switches >"$T/sw1"
quiet_rate=$(join --nocheck-order "$T/sw0" "$T/sw1" | awk 'NR == 1 || $3 - $2 < m { m = $3 - $2 } END { printf "%.2f\n", m / 4 }')
note "wake-ups a second of the quieter event stream: $quiet_rate"
assert_between "$quiet_rate" 0.5 1.4 "a quiet event stream's wake-ups a second"
note "lines on a quiet plain stream in 4 s: $((n1 - n0))"
((n1 - n0 <= 4)) || fail "a quiet stream sent $((n1 - n0)) lines in 4 s: $(tail -n 5 "$T/plain.txt" | cut -c1-200)"
check_sanitizer
note "events pushed at once: OK"
