#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 64 a control-API segment that covers a scheduled segment's start: the
# scheduled segment comes on air once, when the API segment ends, joined
# in progress. It used to come on air twice: the planner planned the part
# after the API segment, and at the next tick, the hold gone, saw the
# whole window unplanned and planned it again over that part ("news
# ended: the next item started", "news on air" a second time; a feed
# would have been opened twice).
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
start_icecast a
control_api_setup
t0=$(($(date +%s) + 9))
news_segment "$t0" >"$T/schedule.conf"
api_station_config >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
# Before the news enters the planner's 3 s look-ahead: it is never
# planned whole, only after the flash.
(($(date +%s) < t0 - 4)) || fail "too slow to start"
curl -sf -o /dev/null "${auth[@]}" "${json[@]}" --data \
    '{"source":"tone","frequency":1500,"duration":"8s","name":"flash"}' \
    "$URL/api/segments" || fail "POST /api/segments"
wait_for -t 5 -m "the flash on air" on_air flash || fail "the flash never went on air"
wait_for -t 10 -m "the news after the flash" on_air news ||
    fail "the news did not follow the flash: $(relay_lines | grep 'programme: segment' | tail -4)"
sleep 2
n=$(log_count 'programme: segment news on air')
((n == 1)) || fail "the news went on air $n times: $(relay_lines | grep 'programme: segment' | tail -6)"
note "the news on air once, after the flash"
