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

start_relay_listened_back "$T/relay.conf"
counts_are "0 0" ||
    fail "listeners with only our listen-back (credentials in its URL) connected: $(counts) (want 0 0)"
check_sanitizer
note "listeners without our listen-back at a URL with credentials: OK"
