#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 69 a control-API segment (priority 10) over the news and over a
# priority-5 segment due 2 s later, already prepared, which it withdraws;
# skipped after half a second: the news, then the priority-5 segment at
# its time, then the news. The withdrawn segment used to stay "planned"
# and never came back: live for its whole window.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
start_icecast a
control_api_setup
t0=$(($(date +%s) + 4))
{
	news_segment "$t0"
	tone_segment high "$((t0 + 6))" 3s 900
	echo "priority = 5"
} >"$T/schedule.conf"
api_station_config >"$T/relay.conf"
why() { relay_lines | grep -E 'programme: segment' | tail -8; }
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
wait_for -t 10 -m "news on air" on_air news || fail "the news never went on air"
while (($(date +%s) < t0 + 4)); do sleep 0.1; done
curl -sf -o /dev/null "${auth[@]}" "${json[@]}" --data \
    '{"source":"tone","frequency":1500,"duration":"10s","name":"flash","priority":10}' \
    "$URL/api/segments" || fail "POST /api/segments"
wait_for -t 3 -m "the flash on air" on_air flash || fail "the flash never went on air: $(why)"
sleep 0.5
curl -sf -o /dev/null "${auth[@]}" -X POST "$URL/api/skip" || fail "POST /api/skip"
wait_for -t 3 -m "the news after the skip" on_air news || fail "no news after the skip: $(why)"
wait_for -t 4 -m "high at its time" on_air high || fail "high never on air: $(why)"
wait_for -t 5 -m "the news after high" on_air news || fail "no news after high: $(why)"
note "the news, high at its time, the news"
