#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 08 stalled server: two icecast servers, one output each. Server b is
# frozen with SIGSTOP (a stalled peer: TCP stays up, nothing is read). The
# listener on server a keeps receiving continuous audio for 15 s (decoded
# length close to wall time), relay logs the stall of output b within
# stall_timeout (5 s) and stays up, and after SIGCONT relay is back on b.
#
# timeout: 120

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
start_icecast b
pa=${ICE_PORT[a]}
pb=${ICE_PORT[b]}
export RELAY_TEST_PW_A=${ICE_PASSWORD[a]}
export RELAY_TEST_PW_B=${ICE_PASSWORD[b]}

status_port=$(free_port) || fail "no free port"
cat >"$T/relay.conf" <<EOF
[input]
type = tone
frequency = 440

[encoding main]
quality = 4

[output good]
host = 127.0.0.1
port = $pa
mount = /a.ogg
password_env = RELAY_TEST_PW_A
stall_timeout = 5s
reconnect_min = 500ms
reconnect_max = 3s
connect_timeout = 3s

[output stalled]
host = 127.0.0.1
port = $pb
mount = /b.ogg
password_env = RELAY_TEST_PW_B
stall_timeout = 5s
reconnect_min = 500ms
reconnect_max = 3s
connect_timeout = 3s

# relay's watchdog also reads icecast's status: poll it every second.
[status]
listen = 127.0.0.1:$status_port
poll_icecast = 1s
EOF

start_relay "$T/relay.conf"
wait_mount "$pa" /a.ogg
wait_mount "$pb" /b.ogg
b_start=$(ice_field "$pb" /b.ogg stream_start_iso8601) ||
    fail "no stream_start for /b.ogg"

# A new source on b, not the one icecast held while it was frozen.
b_fresh()
{
	local s
	mount_live "$pb" /b.ogg || return 1
	s=$(ice_field "$pb" /b.ogg stream_start_iso8601) || return 1
	[[ -n $s && $s != "$b_start" ]]
}

listen_seconds=15
listen_bg "http://127.0.0.1:$pa/a.ogg" "$listen_seconds" "$T/a.ogg"
listener=$LISTEN_PID
start=$(now)
wait_for -t 5 -m "audio on the listener of a" size_at_least "$T/a.ogg" 4096 ||
    fail "no audio reached the listener on a"

# The poller's listing of b on this connection arms the watchdog's second
# rule (output.c, DESIGN): a server frozen before relay ever saw the mount
# listed is caught only by bytes piling up, which the kernel's buffers
# delay by minutes. Freeze b only once relay has seen it listed (the
# first poll can come ~1.5 s after start on a busy machine).
b_listed()
{
	curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status" |
	    jq -e '.outputs[] | select(.name == "stalled") | .mount_listed' \
	    >/dev/null
}
wait_for -t 10 -m "relay's poller to list /b.ogg" b_listed ||
    fail "relay never saw /b.ogg listed"
note "freezing icecast b (SIGSTOP)"
log_mark
pause_icecast b
stopped=$(now)
# Detected within stall_timeout (5 s) plus one status poll (1 s), with slack
# for the poll's own HTTP timeout.
wait_for -t 9 -m "relay to log the stall of output b" \
    log_since '[Ss]tall' || fail "relay did not log the stalled server"
note "stall logged $(elapsed_since "$stopped") s after SIGSTOP"

listen_wait "$listener" || fail "listener on a failed"
wall=$(elapsed_since "$start")
relay_alive || fail "relay exited while b was stalled"
check_vorbis "$T/a.ogg" 44100 2 3
# Continuous: the decoded length keeps up with wall time (a gap of a second
# or more shows), plus at most a small burst.
assert_between "$VORBIS_SECONDS" \
    "$(awk -v w="$wall" 'BEGIN { print w - 1.5 }')" \
    "$(awk -v w="$wall" 'BEGIN { print w + 3 }')" \
    "decoded seconds on a during $wall s with b stalled"

note "resuming icecast b (SIGCONT)"
resume_icecast b
wait_for -t 20 -m "relay back on b /b.ogg" b_fresh ||
    fail "relay did not come back on server b after SIGCONT"
listen "http://127.0.0.1:$pb/b.ogg" 4 "$T/b_after.ogg" ||
    fail "listener on b after SIGCONT failed"
check_vorbis "$T/b_after.ogg" 44100 2 2
relay_alive || fail "relay exited"
