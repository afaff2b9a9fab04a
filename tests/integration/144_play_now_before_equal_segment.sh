#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 144 "play now" of the same priority as a segment due within its length
# (a request at priority 0, a bulletin that keeps the default 0): on
# equal priority the later start wins (schedule.md), so the bulletin cuts
# the request short at its start as one of higher priority does, and the
# 202 answer must say so (test 140 is the higher-priority case). relay
# named only segments of strictly higher priority, and answered as for a
# request that would play its whole length.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
start_icecast a
control_api_setup
t0=$(($(date +%s) + 7))
tone_segment bulletin "$t0" 4s 1000 "News on the hour" >"$T/schedule.conf"
api_station_config >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
((t0 - $(date +%s) >= 2)) || fail "relay took too long to start: the bulletin is due"
code=$(control_post --data '{"source":"tone","frequency":660,"duration":"20s","name":"flash","priority":0}' \
    "$URL/api/segments")
[[ $code == 202 ]] || fail "POST /api/segments: $code $(cat "$T/body")"
result=$(jq -r '.result // "(none)"' "$T/body")
note "answer: $(cat "$T/body")"
wait_for -t 5 -m "the flash on air" on_air flash || fail "the flash never went on air"
wait_for -t 10 -m "the bulletin on air" on_air bulletin || fail "the bulletin never went on air"
wait_for -t 5 -m "the request failed" status_has '.requests[0].state == "failed"' ||
    fail "the request is not failed after the bulletin cut it: $(status_now | jq -c .requests[0])"
want="request 1: segment bulletin (priority 0) starts at $(utc "$t0") UTC and cuts it short"
[[ $result == "$want" ]] ||
    fail "the bulletin cut the request short, but the answer did not say so: result is \"$result\", not \"$want\""
note "the bulletin of equal priority cut the flash short at its start, as the answer said"
