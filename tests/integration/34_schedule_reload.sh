#!/usr/bin/env bash
# A schedule with an error is rejected whole on reload (SIGHUP), with its
# FILE:LINE message, and the old schedule keeps running; a good one is
# taken. --check reports the same error before anything starts.
. "$(dirname "$0")/../lib.sh"

start_icecast a
status_port=$(free_port)
tomorrow=$(date -u -d '+1 day' '+%Y-%m-%d')
cat >"$T/schedule.conf" <<SCHED
[segment old-special]
at = $tomorrow 00:00:00
source = tone
duration = 1m
title = Old special
SCHED
cat >"$T/relay.conf" <<CONF
[input]
type = tone
[output ice]
port = ${ICE_PORT[a]}
mount = /live.ogg
password = ${ICE_PASSWORD[a]}
[status]
listen = 127.0.0.1:$status_port
[schedule]
file = $T/schedule.conf
timezone = UTC
CONF
next_segment() {
	curl -s "http://127.0.0.1:$status_port/api/status" |
	    jq -r '.next[0].segment // ""'
}
next_is() { [[ $(next_segment) == "$1" ]]; }

start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
wait_for -t 10 -m "next = old-special" next_is old-special ||
    fail "/api/status next[0] is '$(next_segment)', expected old-special"

# A broken schedule: line 3 has an hour of 25.
cat >"$T/schedule.conf" <<'SCHED'
[segment new-news]
source = tone
cron = 0 25 * * *
duration = 3m
SCHED
if "$RELAY" --check -c "$T/relay.conf" >"$T/check.out" 2>&1; then
	fail "--check accepted a schedule with an error"
fi
grep -q 'schedule.conf:3: \[segment new-news\] cron' "$T/check.out" ||
    fail "--check message lacks FILE:LINE: $(cat "$T/check.out")"
log_mark
kill -HUP "$RELAY_PID"
wait_for -t 10 -m "reload rejected" \
    log_since 'reload rejected.*schedule.conf:3: \[segment new-news\] cron' ||
    fail "the broken schedule was not rejected with its FILE:LINE"
relay_alive || fail "relay died on a broken schedule"
next_is old-special || fail "the old schedule did not stay"

# A good one is taken.
cat >"$T/schedule.conf" <<SCHED
[segment new-news]
source = tone
at = $tomorrow 12:00:00
duration = 3m
SCHED
log_mark
kill -HUP "$RELAY_PID"
wait_for -t 10 -m "schedule reloaded" log_since 'schedule .* reloaded' ||
    fail "the good schedule was not loaded"
wait_for -t 10 -m "next = new-news" next_is new-news ||
    fail "/api/status next[0] is '$(next_segment)', expected new-news"
mount_live "${ICE_PORT[a]}" /live.ogg || fail "the stream went away during reloads"
stop_relay TERM 5 || fail "relay did not stop"
check_sanitizer
