#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 105 short password: a source password of 1 to 3 characters draws a
# warning naming FILE:LINE and the key, from relay --check and in the log
# at start and at every reload. Messages that hold such a password blank
# it only where a whole word is the password: with the password "a", the
# refused login is logged readably ("password", "Unauthorized"), where
# every "a" of every message used to become "***" ("p***ssword").
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# config FILE PASSWORD-LINES [PORT]: a tone to one Icecast output.
config()
{
	cat >"$1" <<EOF2
[input]
type = tone

[output main]
host = 127.0.0.1
port = ${3:-8000}
mount = /short.ogg
$2
reconnect_min = 500ms
reconnect_max = 1s

[status]
listen = off
EOF2
	chmod 600 "$1"
}

# check_warns FILE KEY LENGTH: relay --check exits 0 and warns once, at
# the key's line.
check_warns()
{
	local line out=$T/check.out err=$T/check.err rc=0
	line=$(grep -n "^$2 " "$1" | cut -d: -f1)
	"$RELAY" --check -c "$1" >"$out" 2>"$err" || rc=$?
	((rc == 0)) || fail "--check of a $3-character $2 exited $rc: $(cat "$err")"
	grep -qF "$1:$line: [output main] $2: warning: the password is $3 character" "$err" ||
	    fail "--check does not warn at $1:$line about the $3-character $2: $(cat "$err")"
	grep -qF "1 warning(s)" "$err" ||
	    fail "--check does not count the warning: $(cat "$err")"
}

config "$T/inline.conf" "password = a"
check_warns "$T/inline.conf" password 1
printf 'ab\n' >"$T/pw"
chmod 600 "$T/pw"
config "$T/file.conf" "password_file = $T/pw"
check_warns "$T/file.conf" password_file 2
config "$T/long.conf" "password = abcd"
"$RELAY" --check -c "$T/long.conf" >/dev/null 2>"$T/long.err" ||
    fail "--check refused a 4-character password: $(cat "$T/long.err")"
! grep -q "warning" "$T/long.err" ||
    fail "--check warns about a 4-character password: $(cat "$T/long.err")"

# Running: Icecast refuses the 1-character password.
start_icecast a
conf=$T/relay.conf
config "$conf" "password = a" "${ICE_PORT[a]}"
pwline=$(grep -n '^password ' "$conf" | cut -d: -f1)
warning="$conf:$pwline: \[output main\] password: the password is 1 character"
start_relay "$conf"
wait_for -t 10 -m "the short-password warning at start" log_has "$warning" ||
    fail "relay did not warn at start about the 1-character password"
wait_for -t 10 -m "the refused login in the log" log_has 'login refused \(401\)' ||
    fail "relay did not log the refused login readably: $(relay_lines | tail -n 5)"
# Inside a word nothing is blanked; a word of its own that is "a" may be.
if relay_lines | grep -E '[[:alnum:]]\*\*\*|\*\*\*[[:alnum:]]'; then
	fail "letters inside words were blanked (above)"
fi
log_mark
kill -HUP "$RELAY_PID"
wait_for -t 10 -m "the warning again after a reload" log_since "$warning" ||
    fail "relay did not warn again at the reload"
relay_alive || fail "relay exited"
stop_relay TERM 5 || fail "relay did not exit after SIGTERM"
