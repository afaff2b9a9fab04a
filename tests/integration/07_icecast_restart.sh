#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 07 icecast restart: icecast is killed (SIGKILL) mid-stream and started again
# on the same port. relay notices, keeps running, and is back on the mount
# within reconnect_max + 1 s (reconnect_max = 3s) of the server answering
# again; a listener who joins afterwards decodes audio (a fresh Ogg stream
# with headers, FIELD-NOTES 2.5).
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}

tone_config /restart.ogg "reconnect_min = 500ms
reconnect_max = 3s
connect_timeout = 3s" >"$T/relay.conf"

start_relay "$T/relay.conf"
wait_mount "$port" /restart.ogg
listen "http://127.0.0.1:$port/restart.ogg" 3 "$T/before.ogg" ||
    fail "listener before the restart failed"
check_vorbis "$T/before.ogg" 44100 2 1.5

note "killing icecast"
log_mark
stop_icecast a KILL
# relay must notice the dead server (and say so) before it comes back.
wait_for -t 10 -m "relay to notice the dead server" \
    log_since 'refused|lost|closed|disconnect|reconnect|retry|error|fail' ||
    fail "relay logged nothing about the lost server"
relay_alive || fail "relay exited when icecast died"

start_icecast a
back=$(now)
# reconnect_max (3 s) + 1 s, scaled for slow builds.
wait_for -t 4 -m "relay back on /restart.ogg" mount_live "$port" /restart.ogg ||
    fail "relay was not back on the mount within reconnect_max + 1 s"
note "relay back on the mount $(elapsed_since "$back") s after icecast"

listen "http://127.0.0.1:$port/restart.ogg" 5 "$T/after.ogg" ||
    fail "listener after the restart failed"
check_vorbis "$T/after.ogg" 44100 2 3
read -r freq _ _ < <(audio_stats "$VORBIS_RAW" 44100 2) ||
    fail "cannot analyse the decoded audio"
assert_between "$freq" 485 515 "tone frequency after the restart (Hz)"
relay_alive || fail "relay exited"
