#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 140 "play now" while a segment of higher priority is due within its
# length (a bulletin on the hour): the request goes on air now, and the
# bulletin cuts it short at its start (it does not come back after). The
# 202 answer says so, naming the bulletin and when, and /api/status
# follows it to "failed, cut short". relay answered as for a request that
# would play its whole length, with nothing about the bulletin: the
# operator learnt of the cut only from the status afterwards.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
start_icecast a
control_api_setup
t0=$(($(date +%s) + 7))
{
	tone_segment bulletin "$t0" 4s 1000 "News on the hour"
	echo "priority = 200"
} >"$T/schedule.conf"
api_station_config >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
((t0 - $(date +%s) >= 2)) || fail "relay took too long to start: the bulletin is due"
code=$(control_post --data '{"source":"tone","frequency":660,"duration":"20s","name":"flash"}' \
    "$URL/api/segments")
[[ $code == 202 ]] || fail "POST /api/segments: $code $(cat "$T/body")"
result=$(jq -r '.result // "(none)"' "$T/body")
note "answer: $(cat "$T/body")"
want="request 1: segment bulletin (priority 200) starts at $(utc "$t0") UTC and cuts it short"
[[ $result == "$want" ]] ||
    fail "the answer does not say the bulletin cuts the request short: result is \"$result\", not \"$want\""
wait_for -t 5 -m "the flash on air" on_air flash || fail "the flash never went on air"
wait_for -t 10 -m "the bulletin on air" on_air bulletin || fail "the bulletin never went on air"
wait_for -t 5 -m "the request failed" status_has '.requests[0].state == "failed"' ||
    fail "the request is not failed after the bulletin cut it: $(status_now | jq -c .requests[0])"
reason=$(status_now | jq -r '.requests[0].reason')
[[ $reason == "cut short after "*": the next item started" ]] ||
    fail "the request's reason: $reason"
note "the flash went on air, the bulletin cut it short at its start, as the answer said"
