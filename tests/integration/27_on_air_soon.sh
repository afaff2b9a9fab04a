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

# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

status_setup
tone_config /soon.ogg "" "" "listen = 127.0.0.1:$STATUS_PORT" >"$T/relay.conf"

t0=$(now)
start_relay "$T/relay.conf"
wait_for -t 15 -m "on_air" status_is_on_air 1 ||
    fail "/api/status never said on_air"
took=$(elapsed_since "$t0")
assert_threads icecast-poll status-watchdog
note "on_air $took s after relay started (poll_icecast 5 s)"
assert_between "$took" 0 4 "seconds from start to on_air with poll_icecast = 5 s"
