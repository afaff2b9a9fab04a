#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 117 token file errors: a [status] token_file holding an empty or short
# token is refused naming token_file, the file and that key's line (at
# --check, at start and at a reload), not "[status] token", a key the
# config does not have; likewise token_env names token_env.
#
# timeout: 40

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

status_port=$(free_port) || fail "no free port"
URL=http://127.0.0.1:$status_port
conf=$T/relay.conf
cat >"$conf" <<CONF
[input]
type = tone
[output archive]
type = file
path = $T/archive.ogg
[status]
listen = 127.0.0.1:$status_port
token_file = $T/token
CONF
chmod 600 "$conf"
line=$(grep -n '^token_file ' "$conf" | cut -d: -f1)

# refused WHAT: --check and a start both fail naming token_file at its line.
refused()
{
	local rc=0 want="$conf:$line: [status] token_file: \"$T/token\" is $1"
	"$RELAY" --check -c "$conf" >/dev/null 2>"$T/check.err" || rc=$?
	((rc == 1)) || fail "--check with a token file that is $1 exited $rc"
	grep -qF "$want" "$T/check.err" ||
	    fail "--check does not name token_file ($1): $(cat "$T/check.err")"
	rc=0
	"$RELAY" -c "$conf" >/dev/null 2>"$T/start.err" </dev/null || rc=$?
	((rc == 1)) || fail "a start with a token file that is $1 exited $rc"
	grep -qF "$want" "$T/start.err" ||
	    fail "the start does not name token_file ($1): $(cat "$T/start.err")"
}

: >"$T/token"
chmod 600 "$T/token"
refused empty
printf 'short\n' >"$T/token"
refused "too short"
note "--check and start name token_file, its line and the file"

sed "s|^token_file = .*|token_env = RELAY_SHORT_TOKEN|" "$conf" >"$T/env.conf"
chmod 600 "$T/env.conf"
RELAY_SHORT_TOKEN=abc "$RELAY" --check -c "$T/env.conf" \
    >/dev/null 2>"$T/env.err" && fail "--check took a 3-character token_env"
grep -qF ":$line: [status] token_env: environment variable RELAY_SHORT_TOKEN is too short" \
    "$T/env.err" || fail "--check does not name token_env: $(cat "$T/env.err")"

random_secret >"$T/token"
start_relay "$conf"
wait_for -t 10 -m "the status server" curl -sf -o /dev/null "$URL/api/status" ||
    fail "relay did not start with a good token file: $(relay_lines | tail -n 5)"
log_mark
: >"$T/token"
kill -HUP "$RELAY_PID"
wait_for -t 10 -m "the rejected reload" log_since 'reload rejected' ||
    fail "the reload with an empty token file was not rejected"
log_since "reload rejected.*$conf:$line: \[status\] token_file: \"$T/token\" is empty" ||
    fail "the rejected reload does not name token_file: $(relay_lines "$LOG_MARK")"
relay_alive || fail "relay exited"
stop_relay TERM 5 || fail "relay did not exit after SIGTERM"
