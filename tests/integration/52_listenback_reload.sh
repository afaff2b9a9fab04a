#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 52 listen-back follows a reload without touching the stream. relay
# streams a tone to /live.ogg without listen-back (on_air_rule server,
# listenback null). SIGHUP with listenback = yes: the output keeps
# streaming (no reconnect, "1 output(s) kept streaming") and listen-back
# reports ok. SIGHUP with a new [input] title: the output starts a new Ogg
# chain (metadata = chain), Icecast rebuilds its stream, and listen-back
# still hears our audio without one warning. SIGHUP with listenback_url at a mount nobody serves (a
# wrong public URL): no_audio after listenback_timeout, last_error names
# the 404, on_air false, while the output stays connected. SIGHUP without
# listen-back: back to the server rule, on_air true, listenback null.
#
# timeout: 60

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
title = ${2:-Live}

[encoding main]
quality = 2

$(icecast_output main /live.ogg "$1")

[status]
listen = 127.0.0.1:$status_port
poll_icecast = 1s
CONF
}

status_json() { curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status"; }
field() { status_json | jq -r "$1"; }
server_title_is() { [[ $(ice_field "$port" /live.ogg title 2>/dev/null) == "$1" ]]; }
field_is() { [[ $(field "$1" 2>/dev/null) == "$2" ]]; }
reload()
{
	conf "$@" >"$T/relay.conf"
	log_mark
	kill -HUP "$RELAY_PID"
	wait_for -t 10 -m "the reload" log_since 'reloaded:' ||
	    fail "the reload did not finish"
	log_since 'reloaded: 1 output\(s\) kept streaming, 0 started' ||
	    fail "the reload restarted the output: $(relay_lines | grep reloaded: | tail -1)"
}

conf "" >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_for -t 15 -m "on air (server rule)" field_is .on_air true ||
    fail "never on air: $(status_json | jq -c '{on_air, outputs}')"
[[ $(field .on_air_rule) == server ]] || fail "on_air_rule is not server"
[[ $(field .outputs[0].listenback) == null ]] || fail "listenback is not null"

reload "$LISTENBACK_KEYS"
wait_for -t 10 -m "listen-back ok" field_is .outputs[0].listenback.state ok ||
    fail "listen-back not ok after the reload: $(status_json | jq -c .outputs[0].listenback)"
[[ $(field .on_air_rule) == listenback ]] || fail "on_air_rule is not listenback"
[[ $(field .on_air) == true ]] || fail "on_air false while listeners hear us"

reload "$LISTENBACK_KEYS" "Second title"
wait_for -t 10 -m "the new title on the server" server_title_is "Second title" ||
    fail "Icecast never showed the new title"
connects=$(field .outputs[0].listenback.connects)
# For 3 s (6 Icecast pages, more than the 4 unmatched pages that make
# "foreign") after the change: still ours, still heard.
sleep_until=$(($(date +%s) + 3))
while (($(date +%s) < sleep_until)); do
	field_is .outputs[0].listenback.state ok ||
	    fail "listen-back lost us after a new chain: $(status_json | jq -c .outputs[0].listenback)"
	sleep 0.2
done
[[ $(field .outputs[0].listenback.connects) -eq $connects ]] ||
    fail "listen-back reconnected at the new chain"
! log_since 'warn listen' || fail "a listen-back warning at the new chain: $(relay_lines | grep 'warn listen' | tail -1)"

reload "$LISTENBACK_KEYS"$'\nlistenback_url = http://127.0.0.1:'"$port"'/public.ogg'
wait_for -t 8 -m "no_audio" field_is .outputs[0].listenback.state no_audio ||
    fail "a URL that serves nothing was not flagged: $(status_json | jq -c .outputs[0].listenback)"
doc=$(status_json)
jq -e '.outputs[0].listenback.last_error | test("404")' <<<"$doc" >/dev/null ||
    fail "last_error does not name the 404: $(jq -c .outputs[0].listenback <<<"$doc")"
[[ $(jq -r .on_air <<<"$doc") == false ]] || fail "on_air true while listeners get nothing"
[[ $(jq -r .outputs[0].connected <<<"$doc") == true ]] || fail "the output is not connected"
[[ $(jq -r .outputs[0].listenback.url <<<"$doc") == "http://127.0.0.1:$port/public.ogg" ]] ||
    fail "listenback.url is $(jq -r .outputs[0].listenback.url <<<"$doc")"

reload ""
wait_for -t 5 -m "listenback null" field_is .outputs[0].listenback null ||
    fail "listen-back still shown after it was turned off"
[[ $(field .on_air_rule) == server ]] || fail "on_air_rule is not server again"
wait_for -t 10 -m "on air (server rule)" field_is .on_air true ||
    fail "not on air after listen-back was turned off"
[[ $(field .outputs[0].reconnects) -eq 0 ]] || fail "the output reconnected"
relay_alive || fail "relay exited"
stop_relay
check_sanitizer
