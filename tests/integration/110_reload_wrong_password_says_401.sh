#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 110 a reload that gives an output a wrong password says so, not "in use":
# relay streams to a mount, its password_file gets a wrong password, SIGHUP.
# The output restarts and Icecast refuses the login (401). Icecast 2.4.4
# still lists the mount for a moment after the old connection ended, so
# relay's status-page check used to read the refusal as "mountpoint /x in
# use: another source is streaming there", naming a source that does not
# exist. The refusal after the reload must say "login refused (401):
# wrong user or password", and no line "in use" (the first, or a later
# one with another reason). Then the right password again:
# the output connects.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
printf '%s\n' "${ICE_PASSWORD[a]}" >"$T/source.pw"
chmod 600 "$T/source.pw"
cat >"$T/relay.conf" <<EOF
[input]
type = tone

[output main]
host = 127.0.0.1
port = ${ICE_PORT[a]}
mount = /pw.ogg
password_file = $T/source.pw
reconnect_min = 1s
reconnect_max = 1s

[status]
listen = off
EOF
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /pw.ogg

# The old listing outlives the connection for a moment only, so the
# misreading was a race: three rounds.
for round in 1 2 3; do
	log_mark
	printf 'not-the-password-%s\n' "$(random_secret)" >"$T/source.pw"
	kill -HUP "$RELAY_PID"
	wait_for -t 15 -m "a refusal after reload $round" \
	    log_since 'out\[main\]: .*(login refused|in use)' ||
	    fail "round $round: no refusal after the reload: $(relay_lines "$LOG_MARK" | tail -n 5)"
	# A changed reason would be logged again (a repeat goes to debug):
	# give the retries (every second) time to show one.
	sleep 2.5
	if log_since "out\[main\]: .*mountpoint /pw.ogg in use"; then
		fail "round $round: a wrong password was reported as a mount in use: $(relay_lines "$LOG_MARK" | grep -m 1 'in use')"
	fi
	log_since 'out\[main\]: .*login refused \(401\): wrong user or password' ||
	    fail "round $round: no 'login refused (401)' line: $(relay_lines "$LOG_MARK" | tail -n 5)"

	log_mark
	printf '%s\n' "${ICE_PASSWORD[a]}" >"$T/source.pw"
	kill -HUP "$RELAY_PID"
	wait_for -t 15 -m "the output to connect again" \
	    log_since 'out\[main\]: .*/pw.ogg: connected' ||
	    fail "round $round: the right password did not bring the output back"
	wait_mount "${ICE_PORT[a]}" /pw.ogg
done
stop_relay TERM 5 || fail "relay did not exit after SIGTERM"
note "a wrong password after a reload is reported as one"
