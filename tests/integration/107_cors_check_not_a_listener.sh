#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 107 relay's own header check is not a listener, and its warning is said
# once. Icecast here sends no Access-Control-Allow-Origin, so the poller
# GETs each mount once when it appears, to read the mount's own headers;
# Icecast counts that GET as a listener until it notices it closed (~1 s).
# A second output on a <hidden> mount (never listed) keeps the poller
# polling every 0.5 s, as it does for any mount that just connected, so a
# poll lands inside that second:
# - nobody listens, so /live.ogg's listeners and listener_peak stay 0
#   (before: listener_peak 1, a listener who never was);
# - a reload restarts the output and the mount appears again and is
#   checked again, but the missing header is warned about once at warn
#   level (before: once per appearance), and still nobody is counted.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a --hidden /hidden.ogg
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
status_port=$(free_port) || fail "no free port"

cat >"$T/relay.conf" <<CONF
[input]
type = tone
frequency = 440

[encoding main]
quality = 2

[output live]
host = 127.0.0.1
port = $port
mount = /live.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD
reconnect_min = 500ms

[output hid]
host = 127.0.0.1
port = $port
mount = /hidden.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD

[status]
listen = 127.0.0.1:$status_port

[log]
level = debug
CONF

URL="http://127.0.0.1:$status_port"
live_field() {
	curl -sf --max-time 3 "$URL/api/status" |
	    jq -r ".outputs[] | select(.name == \"live\") | .$1"
}
cors_warnings() { log_count 'warn icecast: .*/live\.ogg: Icecast sends no Access-Control'; }

start_relay "$T/relay.conf"
wait_mount "$port" /live.ogg 15
wait_for -t 10 -m "the header check" log_has '/live.ogg: Icecast sends no' ||
    fail "no warning about the missing header"
# The fresh-mount polls run for 5 s after the hidden mount connected; watch
# the count over all of them and a little more.
peak=0
for _ in $(seq 1 16); do
	n=$(live_field listeners)
	[[ $n =~ ^[0-9]+$ ]] && ((n > peak)) && peak=$n
	sleep 0.5
done
[[ $peak == 0 ]] || fail "/live.ogg showed $peak listener(s) with nobody listening"
p=$(live_field listener_peak)
[[ $p == 0 ]] || fail "/live.ogg's listener_peak is $p with nobody listening"

# A reload that changes the output restarts it (a new registration): the
# mount appears again and is checked again.
sed -i 's/^reconnect_min = 500ms$/reconnect_min = 600ms/' "$T/relay.conf"
kill -HUP "$RELAY_PID"
reconnected() { (($(log_count 'out\[live\]: .*: connected') >= 2)); }
wait_for -t 15 -m "relay connected again" reconnected ||
    fail "relay did not reconnect: $(relay_lines | grep 'out\[live\]' | tail -3)"
wait_mount "$port" /live.ogg 15
# The check of the mount's new appearance: a second warning, or the debug
# line that says it was warned about before.
checked_again() {
	(($(cors_warnings) >= 2)) ||
	    log_has 'live\.ogg: still no Access-Control-Allow-Origin'
}
wait_for -t 15 -m "the mount checked again" checked_again ||
    fail "the mount was not checked again after the reload"
n=$(cors_warnings)
[[ $n == 1 ]] || fail "$n warn lines about /live.ogg's missing header: $(relay_lines | grep 'Icecast sends no')"
p=$(live_field listener_peak)
[[ $p == 0 ]] || fail "/live.ogg's listener_peak is $p after the reconnection"
relay_alive || fail "relay died"
stop_relay
check_sanitizer
