#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 09 wrong password: icecast rejects relay's source password. relay logs a
# clear line (naming 401 or the password), keeps retrying (at least two
# attempts, in its log at level debug and in icecast's access log), does not
# exit or crash, and never writes the password itself anywhere in its log.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
wrong=Zq7relayWrongPassword-$(random_secret)
[[ $wrong != "${ICE_PASSWORD[a]}" ]] || fail "the passwords collided"

cat >"$T/relay.conf" <<EOF
[input]
type = tone

[output main]
host = 127.0.0.1
port = $port
mount = /denied.ogg
password = $wrong
reconnect_min = 500ms
reconnect_max = 1s

# relay logs a repeated failure once at warn, repeats at debug.
[log]
level = debug

[status]
listen = off
EOF
chmod 600 "$T/relay.conf"

start_relay "$T/relay.conf"
wait_for -t 10 -m "a log line about the rejected password" \
    log_has '401|[Pp]assword|[Uu]nauthori[sz]ed|[Aa]uth' ||
    fail "relay did not log why icecast refused it"

attempts_logged()
{
	(($(log_count '401|[Pp]assword|[Uu]nauthori[sz]ed|[Aa]uth|retry|reconnect') >= 2))
}
wait_for -t 10 -m "two attempts in relay's log" attempts_logged ||
    fail "relay's log does not show it retrying"

# icecast's view: libshout sends a challenge and then the real request, so
# each attempt is two "SOURCE /denied.ogg ... 401" lines.
access=${ICE_DIR[a]}/log/access.log
icecast_attempts()
{
	local n
	n=$(grep -c 'SOURCE /denied.ogg[^"]*" 401' "$access" 2>/dev/null) ||
	    true
	((${n:-0} >= 4))
}
wait_for -t 10 -m "icecast to see two rejected attempts" icecast_attempts ||
    fail "icecast saw fewer than 2 attempts: $(grep -c SOURCE "$access" \
	2>/dev/null) SOURCE requests"

relay_alive || fail "relay exited after a rejected password"
if mount_live "$port" /denied.ogg; then
	fail "icecast accepted the wrong password"
fi
if grep -qF -- "$wrong" "$RELAY_LOG"; then
	fail "the password appears in relay's log: $(grep -F -- "$wrong" \
	    "$RELAY_LOG" | head -n 2)"
fi
note "$(log_count '401|[Pp]assword') log lines about the password; first:" \
    "$(grep -m1 -E '401|[Pp]assword' "$RELAY_LOG")"
stop_relay TERM 5 || fail "relay did not exit after SIGTERM"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
if grep -qF -- "$wrong" "$RELAY_LOG"; then
	fail "the password appears in relay's log at shutdown"
fi
