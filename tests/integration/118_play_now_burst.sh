#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 118 play-now burst: 40 "play now" requests (POST /api/segments with no
# `at`) sent at once. Each newer one replaces the one before; one replaced
# before any of its audio aired is logged "withdrawn before it started:
# replaced by segment ..." and its request fails "never aired: replaced
# ...", never "on air" (log, /api/status requests, /api/history); only
# what really aired is logged "on air", and one cut short says for how
# long in ms. relay used to log every one "on air" and end 39 of them
# "cut short after 0.0 s".
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

control_api_setup
cat >"$T/relay.conf" <<CONF
[input]
type = tone
frequency = 0
[output archive]
type = file
path = $T/archive.ogg
[status]
listen = 127.0.0.1:$status_port
token_env = RELAY_TEST_CONTROL_TOKEN
CONF

start_relay "$T/relay.conf"
wait_for -t 10 -m "input flowing at $URL" status_has '.input.flowing' ||
    fail "relay never read its input: $(status_now)"

N=40
pids=()
for i in $(seq 1 $N); do
	curl -s -X POST "${auth[@]}" "${json[@]}" --max-time 20 \
	    --data-binary "{\"source\":\"tone\",\"duration\":\"30s\",\"name\":\"n$i\"}" \
	    -o /dev/null -w '%{http_code}\n' "$URL/api/segments" >"$T/code.$i" &
	pids+=($!)
done
wait "${pids[@]}"
accepted=$(cat "$T"/code.* | grep -c '^202$') || true
((accepted >= 1)) || fail "no request accepted: $(sort "$T"/code.* | uniq -c)"
# Every accepted request settles: on air (the newest) or over.
settled() { status_has '[.requests[] | select(.state == "pending")] | length == 0'; }
wait_for -t 15 -m "every request out of pending" settled ||
    fail "requests still pending: $(status_now | jq -c .requests)"
sleep 0.5
status_now >"$T/status.json"
curl -sf --max-time 3 "$URL/api/history" >"$T/history.json" ||
    fail "no /api/history"

# Each accepted request's segment is logged once: on air, or withdrawn.
for i in $(seq 1 $N); do
	[[ $(cat "$T/code.$i") == 202 ]] || continue
	on=$(log_count "segment n$i on air at ")
	wd=$(log_count "segment n$i withdrawn before it started: replaced by segment ")
	((on + wd == 1)) ||
	    fail "n$i logged on air $on time(s), withdrawn $wd time(s)"
done
! grep -q 'after 0\.0 s' "$T/status.json" ||
    fail "a request was reported cut short after 0.0 s: $(jq -c '.requests[] | select(.reason != null) | .reason' "$T/status.json" | head -n 5)"
# A request reported never aired was never logged on air, nor shown on air
# in /api/history; one that was logged on air is not reported never aired.
n_never=0 n_cut=0
while IFS=$'\t' read -r name reason; do
	if [[ $reason == "never aired: replaced by segment "* ]]; then
		n_never=$((n_never + 1))
		! log_has "segment $name on air at " ||
		    fail "$name: reported '$reason' but logged on air"
		! jq -e --arg s "$name" '.events[] | select(.kind == "on_air" and .segment == $s)' \
		    "$T/history.json" >/dev/null ||
		    fail "$name: reported '$reason' but on air in /api/history"
	elif [[ $reason == "cut short after "* ]]; then
		n_cut=$((n_cut + 1))
		[[ $reason =~ ^cut\ short\ after\ ([0-9]+\ ms|[0-9]+\.[0-9]\ s):\ the\ next\ item\ started$ ]] ||
		    fail "$name: reason '$reason'"
		log_has "segment $name on air at " ||
		    fail "$name: cut short, but never logged on air"
	elif [[ -n $reason ]]; then
		fail "$name: unexpected reason '$reason'"
	fi
done < <(jq -r '.requests[] | select(.state == "failed") | [.name, .reason] | @tsv' "$T/status.json")
note "$accepted accepted; of the newest in /api/status: $n_never replaced before airing, $n_cut cut short"
# The newest to air is on air, whole.
jq -e '[.requests[] | select(.state == "on_air")] | length == 1' "$T/status.json" >/dev/null ||
    fail "not exactly one request on air: $(jq -c .requests "$T/status.json")"
stop_relay
[[ $RELAY_RC == 0 ]] || fail "relay exited $RELAY_RC"
