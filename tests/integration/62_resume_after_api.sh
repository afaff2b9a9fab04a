#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 62 the scheduled segment comes back after a control-API segment inside
# its window, every time and however the API segment ends:
#  - four 2 s flashes, two at a set time and two "now", each followed at
#    once by the rest of the news (it used to come back only some of the
#    time: the engine turned the flash's end into a frame when the flash
#    began and the news's start when it came due; when the programme clock
#    moved in between, the flash "ended" to live a few frames early, and
#    the planner took that for an early end and withdrew the news; see
#    test_switcher test_back_to_back_items_meet_after_the_clock_moved);
#  - a 6 s flash skipped after 1 s: the news plays on from there (it used
#    to stay off the air: the planner withdrew what was planned after the
#    flash and planned nothing in its place), and the skip's answer says
#    so (it said "live returns"), and no live is heard between: the
#    archive goes from the flash's chain straight to the news's (it had
#    a chain of the live programme between, 40-120 ms).
#
# timeout: 120

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
start_icecast a
control_api_setup
t0=$(($(date +%s) + 5))
news_segment "$t0" >"$T/schedule.conf"
api_station_config "[output archive]
type = file
path = $T/archive.ogg
encoding = e" >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
wait_for -t 10 -m "news on air" on_air news || fail "the news never went on air"
for i in 1 2 3 4; do
	if ((i % 2)); then
		at=$(date -u -d "@$(($(date +%s) + 2))" '+%Y-%m-%dT%H:%M:%SZ')
		body="{\"source\":\"tone\",\"frequency\":1500,\"duration\":\"2s\",\"name\":\"flash$i\",\"at\":\"$at\"}"
	else
		body="{\"source\":\"tone\",\"frequency\":1500,\"duration\":\"2s\",\"name\":\"flash$i\"}"
	fi
	curl -sf -o /dev/null "${auth[@]}" "${json[@]}" --data "$body" "$URL/api/segments" || fail "POST /api/segments (flash$i)"
	wait_for -t 5 -m "flash$i on air" on_air "flash$i" || fail "flash$i never on air"
	wait_for -t 5 -m "news again after flash$i" on_air news || fail "news did not resume after flash$i ($body): $(relay_lines | grep -E 'news|flash' | tail -4)"
	note "news resumed after flash$i"
done

curl -sf -o /dev/null "${auth[@]}" "${json[@]}" --data '{"source":"tone","frequency":1500,"duration":"6s","name":"flashskip"}' "$URL/api/segments" || fail "POST /api/segments (flashskip)"
wait_for -t 5 -m "flashskip on air" on_air flashskip || fail "flashskip never on air"
sleep 1
curl -sf -o "$T/skip.json" "${auth[@]}" -X POST "$URL/api/skip" || fail "POST /api/skip"
# The answer says what follows: the news, not live.
jq -e '[.. | strings] | any(contains("segment news returns"))' "$T/skip.json" >/dev/null ||
    fail "the skip's answer does not say the news returns: $(cat "$T/skip.json")"
wait_for -t 5 -m "news again after the skip" on_air news || fail "news did not resume after a skipped flash: $(relay_lines | grep -E 'news|flash' | tail -4)"
note "news resumed after a skip"

# No live between: the archive's chains (one per title) go from the
# skipped flash straight to the news.
sleep 1
ogginfo "$T/archive.ogg" >"$T/ogginfo.txt" 2>&1 || true
grep -iE '^[[:space:]]*title=' "$T/ogginfo.txt" | sed 's/^[[:space:]]*//' >"$T/titles.txt"
note "archive chains: $(tr "\n" " " <"$T/titles.txt")"
after=$(awk 'found { print; exit } tolower($0) ~ /flashskip/ { found = 1 }' "$T/titles.txt")
[[ $after == *News* ]] || fail "after the skipped flash the archive has \"$after\", not the news"
