#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 138 two skips at once (a double click, two operators): the second POST
# /api/skip, arriving before the engine has applied the first, ends
# nothing more, and its answer says so and names what really returns.
# With a control-API flash on air inside the scheduled news, relay used to
# answer the first "segment flash1 ends now; segment news returns, joined
# in progress" and the second "segment flash1 ends now, live returns",
# while the news came back: two answers that contradict each other, the
# second one false. A second skip that arrives once the news is back on
# air skips the news, and says so; either way the last answer names what
# is on air after it.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
start_icecast a
control_api_setup
t0=$(($(date +%s) + 3))
news_segment "$t0" 120s >"$T/schedule.conf"
api_station_config >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
wait_for -t 10 -m "news on air" on_air news || fail "the news never went on air"

live_on_air() { status_has '.state != "segment"'; }
raced=0
for round in 1 2 3; do
	code=$(control_post --data "{\"source\":\"tone\",\"frequency\":1500,\"duration\":\"30s\",\"name\":\"flash$round\"}" \
	    "$URL/api/segments")
	[[ $code == 202 ]] || fail "POST /api/segments: $code $(cat "$T/body")"
	wait_for -t 5 -m "flash$round on air" on_air "flash$round" ||
	    fail "flash$round never went on air"
	# Both skips on one connection, one right after the other's answer.
	curl -s -X POST "${auth[@]}" "${json[@]}" --max-time 10 \
	    -w '\n' "$URL/api/skip" -w '\n' "$URL/api/skip" >"$T/answers" ||
	    fail "POST /api/skip twice: curl failed"
	first=$(sed -n 1p "$T/answers" | jq -r .result)
	second=$(sed -n 2p "$T/answers" | jq -r .result)
	note "round $round: first: $first; second: $second"
	[[ $first == "segment flash$round ends now; segment news returns, joined in progress" ]] ||
	    fail "round $round: the first skip answered: $first"
	case $second in
	"segment flash$round already ends (an earlier skip); segment news returns, joined in progress")
		raced=$((raced + 1))
		wait_for -t 5 -m "the news back" on_air news ||
		    fail "round $round: the second skip said the news returns: $(status_now | jq -c .now)"
		;;
	"segment news ends now, live returns")
		# The engine had applied the first: the second skipped the
		# news, as it says.
		wait_for -t 5 -m "live" live_on_air ||
		    fail "round $round: the second skip said live returns: $(status_now | jq -c .now)"
		sleep "$(scaled 1)"
		on_air news && fail "round $round: the news is on air after the second skip ended it"
		;;
	*)
		sleep "$(scaled 1)"
		fail "round $round: the second skip answered \"$second\"; on air: $(status_now | jq -c '[.state, .now.segment]')"
		;;
	esac
	# The news is skipped for good when the second skip ended it: the
	# next round plays its flash in live instead, and there is no news
	# to return. Put it back with a new window.
	if ! on_air news; then
		t0=$(($(date +%s) + 2))
		news_segment "$t0" 120s >"$T/schedule.conf"
		curl -sf -o /dev/null -X POST "${auth[@]}" "$URL/api/reload" || fail "reload"
		wait_for -t 10 -m "news on air again" on_air news || fail "the news never went on air again"
	fi
done
note "$raced of 3 second skips came before the engine applied the first; every answer named what aired"
