#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 78 a scheduled segment start goes out on /api/events as one event, the
# settled one: a listener of the stream gets exactly one event whose
# on-air segment differs from the previous event's, it already carries
# the new segment's name, title and start and no longer lists that start
# among the next segments, and no second event follows while the segment
# plays (nothing else changes). The engine publishes what is on air and
# the planner the next segments, in two calls: the planner's came at its
# next 1 s publication (up to a second later), and the stream's settle
# wait ended at the first bell after the start, so a start went out as
# two events, the first still listing the segment as next.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
control_api_setup
t0=$(($(date +%s) + 8))
t1=$((t0 + 4))
{
	news_segment "$t0" 3s
	echo
	tone_segment sport "$t1" 3s 700 Sport
} >"$T/schedule.conf"
# A live programme that is heard (not api_station_config's silence), so
# that on_air and state do not wait for the meter's silence to clear.
api_station_config | sed 's/^frequency = 0$/frequency = 440/' >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg

# Each event's data line, after the time it arrived.
curl -sN --max-time 30 "$URL/api/events" |
    while IFS= read -r l; do
	    [[ $l == data:* ]] && printf '%s %s\n' "$(date +%s.%N)" "${l#data: }"
    done >"$T/stamped.txt" &
BG_PIDS+=($!)
wait_for -t 5 -m "first event" test -s "$T/stamped.txt" ||
    fail "no first event"
wait_for -t $((t1 + 6 - $(date +%s))) -m "sport over" \
    log_has 'segment sport (ended|stopped) at' || fail "sport never ended"
sleep 1.2

# One line per event: arrival segment|title|started_at|state|next (the
# empty segment is the live programme; next as segment@start,...).
cut -d' ' -f1 "$T/stamped.txt" >"$T/at.txt"
cut -d' ' -f2- "$T/stamped.txt" |
    jq -r '"\(.now.segment // "")|\(.now.title // "")|\(.now.started_at // "")|\(.state)|\([.next[] | "\(.segment)@\(.starts_at)"] | join(","))"' \
	>"$T/now.txt" || fail "events are not JSON"
paste -d' ' "$T/at.txt" "$T/now.txt" >"$T/events.txt"
note "events: $(wc -l <"$T/events.txt")"
while read -r l; do note "  $l"; done <"$T/events.txt"

# check_start SEGMENT TITLE EPOCH: one event switches to SEGMENT, settled,
# and it is the only event while SEGMENT is on air.
check_start()
{
	local seg=$1 title=$2 at iso n line
	iso=$(date -u -d "@$3" +%Y-%m-%dT%H:%M:%S)
	n=$(awk -F'|' -v s="$seg" 'NR > 1 && $1 != prev && $1 == s { n++ }
	    { prev = $1 } END { print n + 0 }' "$T/now.txt")
	((n == 1)) || fail "$n events switch the on-air segment to $seg, not 1"
	line=$(awk -F'|' -v s="$seg" 'NR > 1 && $1 != prev && $1 == s { print; exit }
	    { prev = $1 }' "$T/now.txt")
	[[ $line == "$seg|$title|$iso"*"|segment|"* ]] ||
	    fail "the event that puts $seg on air is not settled: $line"
	[[ ${line##*|} != *"$seg@$iso"* ]] ||
	    fail "the event that puts $seg on air still lists it as next: $line"
	n=$(awk -F'|' -v s="$seg" '$1 == s { n++ } END { print n + 0 }' "$T/now.txt")
	((n == 1)) ||
	    fail "$n events while $seg is on air, not 1: $(grep " $seg|" "$T/events.txt")"
}
check_start news News "$t0"
check_start sport Sport "$t1"
n=$(awk -F'|' 'NR > 1 && $1 != prev { n++ } { prev = $1 } END { print n + 0 }' "$T/now.txt")
((n == 4)) || fail "$n changes of the on-air segment, not 4 (news, live, sport, live)"
check_sanitizer
note "one settled event per segment start: OK"
