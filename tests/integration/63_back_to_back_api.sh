#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 63 two control-API segments back to back inside a scheduled segment's
# window: each airs its whole length at its time, and the scheduled
# segment comes back after the second, not between them:
#  - flash A then flash B: B used to be cut after a few milliseconds (the
#    planner saw only A's hold, planned the news for A's end, and the news
#    took over from B at the frame B began);
#  - flash C skipped after 1 s, then flash D at its time: the news plays in
#    between, D airs whole, the news again after D.
#
# timeout: 120

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
start_icecast a
control_api_setup
t0=$(($(date +%s) + 4))
iso() { date -u -d "@$1" '+%Y-%m-%dT%H:%M:%SZ'; }
news_segment "$t0" 80s >"$T/schedule.conf"
api_station_config >"$T/relay.conf"
request_done() { status_has ".requests[] | select(.name == \"$1\") | .state == \"done\""; }
play_at() { # name at duration
	curl -sf -o /dev/null "${auth[@]}" "${json[@]}" --data \
	    "{\"source\":\"tone\",\"frequency\":1500,\"duration\":\"$3s\",\"name\":\"$1\",\"at\":\"$(iso "$2")\"}" \
	    "$URL/api/segments" || fail "POST /api/segments ($1)"
}
why() { relay_lines | grep -E 'programme: segment' | tail -6; }
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
wait_for -t 10 -m "news on air" on_air news || fail "the news never went on air"

s=$(($(date +%s) + 3))
play_at A "$s" 3
play_at B "$((s + 3))" 3
wait_for -t 6 -m "A on air" on_air A || fail "A never on air: $(why)"
wait_for -t 5 -m "B on air" on_air B || fail "B never on air: $(why)"
sleep 1.5
on_air B || fail "B was cut short: $(why)"
wait_for -t 4 -m "news after B" on_air news || fail "the news did not come back after B: $(why)"
wait_for -t 3 -m "B done" request_done B || fail "B's request is not done: $(status_now | jq -c '.requests')"
note "A then B, then the news"

s=$(($(date +%s) + 3))
play_at C "$s" 4
play_at D "$((s + 4))" 3
wait_for -t 6 -m "C on air" on_air C || fail "C never on air: $(why)"
sleep 1
curl -sf -o /dev/null "${auth[@]}" -X POST "$URL/api/skip" || fail "POST /api/skip"
wait_for -t 3 -m "news after the skip" on_air news || fail "the news did not come back after C was skipped: $(why)"
wait_for -t 5 -m "D on air" on_air D || fail "D never on air: $(why)"
sleep 1.5
on_air D || fail "D was cut short: $(why)"
wait_for -t 4 -m "news after D" on_air news || fail "the news did not come back after D: $(why)"
wait_for -t 3 -m "D done" request_done D || fail "D's request is not done: $(status_now | jq -c '.requests')"
note "C skipped, the news, D at its time, the news"
