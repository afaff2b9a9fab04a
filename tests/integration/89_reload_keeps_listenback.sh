#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 89 a reload restarts only what changed, listen-back included. relay
# streams a tone to /live.ogg (output main, listenback = yes), records an
# archive (output archive) and streams /other.ogg (output other, its own
# listen-back). A SIGHUP that changes only the archive's keep restarts the
# archive and nothing else: main's and other's listen-back keep their
# connection (connects unchanged, no "listening to" line) and /api/events,
# watched across the reload, never shows on_air false or a listen-back
# state other than ok. A second SIGHUP that changes only other's settings
# (stall_timeout) restarts other and its listen-back, and main's still
# does not flicker. (Any output restarting used to restart every mount's
# listen-back: the station read off air for about a second.)
#
# timeout: 70

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
status_port=$(free_port) || fail "no free port"

conf()
{
	cat <<CONF
[input]
type = tone
frequency = 440

[encoding main]
quality = 2

$(icecast_output main /live.ogg "$LISTENBACK_KEYS")

$(icecast_output other /other.ogg "$LISTENBACK_KEYS")
stall_timeout = ${2:-30s}

[output archive]
type = file
path = $T/arch/%H%M.ogg
keep = ${1:-36h}

[status]
listen = 127.0.0.1:$status_port
poll_icecast = 1s
CONF
}

status_json() { curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status"; }
out() { status_json | jq -c ".outputs[] | select(.name == \"$1\")"; }
lb_field() { out "$1" | jq -r ".listenback.$2"; }
all_ok()
{
	status_json | jq -e '.on_air == true and
	    ([.outputs[] | select(.type == "icecast") | .listenback.state] ==
	    ["ok", "ok"])' >/dev/null 2>&1
}

# Reloads with conf "$@" while /api/events is recorded, from before the
# SIGHUP until 3 s after the reload finished, into $T/events.$n.
n_reload=0
reload_watched()
{
	local ev
	n_reload=$((n_reload + 1))
	ev=$T/events.$n_reload
	conf "$@" >"$T/relay.conf"
	curl -sN --max-time 30 -o "$ev" \
	    "http://127.0.0.1:$status_port/api/events" &
	EV_PID=$!
	BG_PIDS+=("$EV_PID")
	wait_for -t 5 -m "the first event" grep -q '^data: ' "$ev" ||
		fail "/api/events sent nothing"
	log_mark
	kill -HUP "$RELAY_PID"
	wait_for -t 10 -m "the reload" log_since 'reloaded:' ||
		fail "the reload did not finish"
	sleep "$(scaled 3)"
	kill -TERM "$EV_PID" 2>/dev/null || true
	wait "$EV_PID" 2>/dev/null || true
	# Every status document streamed: on_air and main's listen-back.
	sed -n 's/^data: //p' "$ev" | jq -c 'select(.on_air != null) |
	    [.on_air, (.outputs[] | select(.name == "main") |
	    .listenback.state)]' >"$ev.seen" 2>/dev/null ||
		fail "/api/events is not JSON: $(head -c 300 "$ev")"
	[[ -s $ev.seen ]] || fail "no status document in /api/events"
	note "reload $n_reload: $(sort -u "$ev.seen" | tr '\n' ' ')"
}

conf >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_mount "$port" /live.ogg
wait_mount "$port" /other.ogg
wait_for -t 15 -m "on air, both heard" all_ok ||
	fail "never on air with both heard: $(status_json | jq -c '{on_air, outputs: [.outputs[] | {name, listenback}]}')"
main_connects=$(lb_field main connects)
other_connects=$(lb_field other connects)

# Only the archive's keep changes.
reload_watched 48h
log_since 'reloaded: 2 output\(s\) kept streaming, 1 started, 1 stopped' ||
	fail "the reload did not restart the archive alone: $(relay_lines | grep reloaded: | tail -1)"
if grep -qv '^\[true,"ok"\]$' "$T/events.1.seen"; then
	fail "on_air or main's listen-back flickered: $(sort -u "$T/events.1.seen" | tr '\n' ' ')"
fi
log_since 'listening to' &&
	fail "listen-back restarted: $(relay_lines | grep 'listening to' | tail -2)"
[[ $(lb_field main connects) -eq $main_connects ]] ||
	fail "main's listen-back reconnected ($main_connects -> $(lb_field main connects))"
[[ $(lb_field other connects) -eq $other_connects ]] ||
	fail "other's listen-back reconnected ($other_connects -> $(lb_field other connects))"
all_ok || fail "not on air after the reload: $(status_json | jq -c '{on_air, outputs: [.outputs[] | {name, listenback}]}')"

# Only output other changes: it restarts with its listen-back, main's
# stays.
reload_watched 48h 20s
log_since 'reloaded: 2 output\(s\) kept streaming, 1 started, 1 stopped' ||
	fail "the reload did not restart other alone: $(relay_lines | grep reloaded: | tail -1)"
if grep -qv '^\[true,"ok"\]$' "$T/events.2.seen"; then
	fail "on_air or main's listen-back flickered: $(sort -u "$T/events.2.seen" | tr '\n' ' ')"
fi
[[ $(lb_field main connects) -eq $main_connects ]] ||
	fail "main's listen-back reconnected ($main_connects -> $(lb_field main connects))"
log_since 'listen\[other\].*listening to' ||
	fail "other's listen-back did not restart with it"
log_since 'listen\[main\].*listening to' &&
	fail "main's listen-back restarted: $(relay_lines | grep 'listen\[main\]' | tail -2)"
wait_for -t 15 -m "on air, both heard again" all_ok ||
	fail "not back on air: $(status_json | jq -c '{on_air, outputs: [.outputs[] | {name, listenback}]}')"
[[ $(out main | jq -r .reconnects) -eq 0 ]] || fail "main reconnected"
relay_alive || fail "relay exited"
stop_relay
check_sanitizer
