#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 77 relay's own listen-back is left out of the listener count when
# listenback_url names the output's mount with credentials in it (what a
# mount with listener authentication needs):
# Icecast still counts it on that mount. Icecast lists 1 listener (ours),
# /api/status must count none.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
status_port=$(free_port) || fail "no free port"
tone_config /live.ogg "listenback = yes
listenback_url = http://someone:secret@127.0.0.1:$port/live.ogg" "" \
    "listen = 127.0.0.1:$status_port
poll_icecast = 1s" >"$T/relay.conf"

status_json() { curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status"; }
counts() { status_json | jq -r '"\(.listeners) \(.outputs[0].listeners)"'; }
counts_are() { [[ $(counts 2>/dev/null) == "$1" ]]; }
ice_listeners_are() { [[ $(ice_field "$port" /live.ogg listeners 2>/dev/null) == "$1" ]]; }
lb_ok() { [[ $(status_json | jq -r .outputs[0].listenback.state 2>/dev/null) == ok ]]; }

start_relay "$T/relay.conf"
wait_mount "$port" /live.ogg
wait_for -t 15 -m "listen-back ok" lb_ok ||
    fail "listen-back never reported ok: $(status_json | jq -c .outputs[0].listenback)"
wait_for -t 5 -m "Icecast listing our listen-back" ice_listeners_are 1 ||
    fail "Icecast lists $(ice_field "$port" /live.ogg listeners) listeners, not 1 (ours)"
sleep "$(scaled 2.5)"
counts_are "0 0" ||
    fail "listeners with only our listen-back (credentials in its URL) connected: $(counts) (want 0 0)"
check_sanitizer
note "listeners without our listen-back at a URL with credentials: OK"
