#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 112 listeners are counted on a mount whose listeners log in, with a poll
# faster than 3 s. Icecast sends no Access-Control-Allow-Origin here, so
# the poller GETs the mount to read its headers; with listener login on
# the mount that GET is refused (401) every round, and a refused GET is
# no listener. relay took every GET, answered or not, as one that Icecast
# counted for 3 s and left the mount's count as it was: polling every
# 1 s, the count stayed 0 for good while a listener was there.
# - a logged-in listener shows as 1 in /api/status (listeners and the
#   output's), and as 0 again once it has gone.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

lpw=$(random_secret)
start_icecast a --listener-auth /live.ogg fan "$lpw"
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
status_port=$(free_port) || fail "no free port"

cat >"$T/relay.conf" <<CONF
[input]
type = tone
frequency = 440

[encoding main]
quality = 2

$(icecast_output live /live.ogg)

[status]
listen = 127.0.0.1:$status_port
poll_icecast = 1s

[log]
level = debug
CONF

start_relay "$T/relay.conf"
wait_mount "$port" /live.ogg 15
# The header GET has been made and refused.
wait_for -t 15 -m "the header check" log_has '/live.ogg: cannot read its headers' ||
    fail "no refused header check: $(relay_lines | grep -i 'icecast' | tail -5)"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$port/live.ogg") || true
[[ $code == 401 ]] || fail "a listener without login got $code, not 401"

listen_bg "http://fan:$lpw@127.0.0.1:$port/live.ogg" 30 "$T/fan.ogg"
wait_for -t 10 -m "Icecast counting the listener" ice_listeners_are 1 ||
    fail "Icecast does not count the listener: $(ice_field "$port" /live.ogg listeners)"
wait_for -t 10 -m "relay counting the listener" counts_are "1 1" ||
    fail "relay's counts (listeners, output's) with one listener: $(counts)"
note "one logged-in listener counted: $(counts)"
kill "$LISTEN_PID" 2>/dev/null || true
wait_for -t 10 -m "Icecast dropping the listener" ice_listeners_are 0 ||
    fail "Icecast still counts the listener"
wait_for -t 10 -m "relay dropping the listener" counts_are "0 0" ||
    fail "relay's counts with nobody listening: $(counts)"
relay_alive || fail "relay died"
stop_relay
check_sanitizer
