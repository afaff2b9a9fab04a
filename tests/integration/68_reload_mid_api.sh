#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 68 a reload (SIGHUP, nothing changed) while a control-API segment plays
# inside the news, after the planner has planned the rest of the news for
# the flash's end: the news still comes back after the flash. The reload
# used to withdraw that item ("its segment changed in the reload": it did
# not recognise a part of the window planned from its own start) and never
# plan it again: live for the rest of the news's window.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
start_icecast a
control_api_setup
t0=$(($(date +%s) + 4))
news_segment "$t0" >"$T/schedule.conf"
api_station_config >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
wait_for -t 10 -m "news on air" on_air news || fail "the news never went on air"
curl -sf -o /dev/null "${auth[@]}" "${json[@]}" --data \
    '{"source":"tone","frequency":1500,"duration":"6s","name":"flash"}' \
    "$URL/api/segments" || fail "POST /api/segments"
wait_for -t 5 -m "the flash on air" on_air flash || fail "the flash never went on air"
sleep 4
kill -HUP "$RELAY_PID"
wait_for -t 6 -m "the news after the flash" on_air news ||
    fail "the news did not come back after the flash: $(relay_lines | grep -E 'programme' | tail -6)"
log_has 'reloaded: 1 segment\(s\); 1 planned item\(s\) kept, 0 replaced' ||
    fail "the reload did not keep the news's rest: $(relay_lines | grep -E 'reloaded' | tail -2)"
note "the news came back after the flash, across a reload"
