#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 27 on air soon: with the poller at its default interval (5 s), /api/status
# says on_air shortly after relay starts, because a mount that has just
# connected is polled every 0.5 s until Icecast lists it. relay used to wait
# out a whole interval after its first round (which runs before any output
# has connected), so on_air came 5 s after start (make bench, start-up).
# The bound below, 4 s, can only be met by a round before the second
# regular one at 5 s.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
sport=$(free_port) || fail "no free port for the status server"

cat >"$T/relay.conf" <<EOF
[input]
type = tone

[encoding main]
quality = 0

[output main]
host = 127.0.0.1
port = $port
mount = /soon.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD

[status]
listen = 127.0.0.1:$sport
EOF

on_air() {
	curl -sf --max-time 1 "http://127.0.0.1:$sport/api/status" |
	    jq -e '.on_air == true' >/dev/null
}

t0=$(now)
start_relay "$T/relay.conf"
wait_for -t 15 -m "on_air" on_air || fail "/api/status never said on_air"
took=$(elapsed_since "$t0")
assert_threads icecast-poll status-watchdog
note "on_air $took s after relay started (poll_icecast 5 s)"
assert_between "$took" 0 4 "seconds from start to on_air with poll_icecast = 5 s"
