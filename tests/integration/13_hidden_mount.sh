#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 13 hidden mount: the stall watchdog must not drop healthy streams that the
# Icecast status page does not show. Two outputs, stall_timeout 5 s and
# poll_icecast 1 s (so a wrong watchdog would strike every ~6 s):
# - "hidden" streams to a mount icecast is configured to hide
#   (<hidden>1</hidden>): it is never listed in /status-json.xsl;
# - "gated" streams through a proxy (tests/tools/http_gate.py) that answers
#   /status-json.xsl with 403 and forwards everything else to icecast.
# Over 20 s (three watchdog windows) neither output reconnects (/api/status reconnects = 0, no
# "stalled" in the log), a listener on each mount gets one continuous
# logical stream for the whole time, and the 403 is logged once, not every
# poll.
#
# timeout: 150

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

SECONDS_STREAMED=20

start_icecast a --hidden /hidden.ogg
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
gate_port=$(free_port) || fail "no free port"
status_port=$(free_port) || fail "no free port"

bg python3 "$TOPDIR/tests/tools/http_gate.py" "$gate_port" "$port" \
    --status-403 >"$T/gate.log" 2>&1
wait_for -t 5 -m "the gate to listen" grep -q listening "$T/gate.log" ||
    fail "http_gate.py did not start: $(cat "$T/gate.log")"

cat >"$T/relay.conf" <<CONF
[input]
type = tone
frequency = 440

[encoding main]
quality = 2

[output hidden]
host = 127.0.0.1
port = $port
mount = /hidden.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD
stall_timeout = 5s

[output gated]
host = 127.0.0.1
port = $gate_port
mount = /gated.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD
stall_timeout = 5s

[status]
listen = 127.0.0.1:$status_port
poll_icecast = 1s
CONF

status_json() { curl -sf --max-time 3 "http://127.0.0.1:$status_port/api/status"; }
# A listener gets bytes: the only way to see a hidden mount is live.
plays() { [[ $(curl -sN --max-time 1 -o /dev/null -w '%{size_download}' \
    "http://127.0.0.1:$port$1" || true) -gt 0 ]]; }

start_relay "$T/relay.conf"
wait_for -t 15 -m "/hidden.ogg playing" plays /hidden.ogg ||
    fail "/hidden.ogg never played"
wait_mount "$port" /gated.ogg
! mount_live "$port" /hidden.ogg || fail "icecast lists the hidden mount"

start=$(now)
listen_bg "http://127.0.0.1:$port/hidden.ogg" "$SECONDS_STREAMED" "$T/hidden.ogg"
hidden_pid=$LISTEN_PID
listen_bg "http://127.0.0.1:$port/gated.ogg" "$SECONDS_STREAMED" "$T/gated.ogg"
gated_pid=$LISTEN_PID
listen_wait "$hidden_pid" || fail "listener on /hidden.ogg failed"
listen_wait "$gated_pid" || fail "listener on /gated.ogg failed"
wall=$(elapsed_since "$start")
relay_alive || fail "relay exited"

json=$(status_json) || fail "no /api/status"
for name in hidden gated; do
	n=$(jq -r --arg n "$name" '.outputs[] | select(.name == $n) | .reconnects' \
	    <<<"$json")
	note "output $name: $n reconnects in $wall s"
	[[ $n == 0 ]] || fail "output $name reconnected $n times (watchdog)"
	jq -e --arg n "$name" '.outputs[] | select(.name == $n) | .connected' \
	    <<<"$json" >/dev/null || fail "output $name is not connected"
done
! log_has '[Ss]talled' || fail "relay declared a stall: $(grep -i stalled "$RELAY_LOG" | head -3)"
n=$(log_count 'does not show its status')
[[ $n == 1 ]] || fail "the 403 status page was logged $n times, expected once"
grep -q '^403 GET /status-json.xsl' "$T/gate.log" ||
    fail "the gate never answered relay's poller with 403"

# One logical stream each, as long as the wall time (no reconnect, no gap).
for m in hidden gated; do
	check_vorbis "$T/$m.ogg" 44100 2 "$(awk -v w="$wall" 'BEGIN { print w - 3 }')"
	chains=$(grep -c 'New logical stream' "$VORBIS_INFO" || true)
	[[ $chains == 1 ]] || fail "/$m.ogg capture has $chains logical streams"
done
stop_relay TERM 5 || fail "relay did not stop"
check_sanitizer
