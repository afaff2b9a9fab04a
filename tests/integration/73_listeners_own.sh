#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 73 listeners without relay's own listen-back: relay streams a tone to
# /live.ogg with listenback = yes, so Icecast lists one listener, relay's
# own (user agent "relay listen-back"). /api/status, its outputs[] and
# /metrics must count no listener; with one real listener connected, one;
# when it leaves, none again. Icecast's own count says 1, 2, 1.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
status_port=$(free_port) || fail "no free port"
tone_config /live.ogg "listenback = yes" "" "listen = 127.0.0.1:$status_port
poll_icecast = 1s" >"$T/relay.conf"

start_relay_listened_back "$T/relay.conf"
counts_are "0 0" ||
    fail "listeners with only our listen-back connected: $(counts) (want 0 0)"
grep -q '^relay_listeners{output="main"} 0$' \
    <<<"$(curl -sf --max-time 2 "http://127.0.0.1:$status_port/metrics")" ||
    fail "metrics: relay_listeners not 0"

listen_bg "http://127.0.0.1:$port/live.ogg" "$(scaled 8)" "$T/listener.ogg"
wait_for -t 5 -m "Icecast listing 2 listeners" ice_listeners_are 2 ||
    fail "Icecast lists $(ice_field "$port" /live.ogg listeners) listeners, not 2"
wait_for -t 4 -m "one listener counted" counts_are "1 1" ||
    fail "listeners with one real listener: $(counts) (want 1 1)"
kill "$LISTEN_PID" 2>/dev/null || true
wait_for -t 6 -m "no listener counted again" counts_are "0 0" ||
    fail "listeners after the listener left: $(counts) (want 0 0)"
[[ $(lb_status | jq -r .outputs[0].listener_peak) == 1 ]] ||
    fail "listener_peak $(lb_status | jq -r .outputs[0].listener_peak) (want 1: ours never counted)"
check_sanitizer
note "listeners without our listen-back: OK"
