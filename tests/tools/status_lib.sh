# shellcheck shell=bash
# Variables set here are read by the tests that source this file.
# shellcheck disable=SC2034
# SPDX-License-Identifier: MIT
#
# tests/tools/status_lib.sh: helpers shared by the status integration tests
# (tests/integration/2N_status_*.sh). Source it after tests/lib.sh:
#   . "$(dirname "$0")/../tools/status_lib.sh"
#
#   status_config FILE [EXTRA]   writes a relay config: tone input, outputs
#                         "main" (/live.ogg, 44.1 kHz stereo q4) and
#                         "mobile" (/mobile.ogg, 22.05 kHz mono, 32 kbit/s
#                         managed) on icecast "a", [status] on
#                         $STATUS_PORT with a token and poll_icecast = 1s,
#                         then EXTRA (more INI text) appended
#   status_setup [ICECAST_OPTION...]  a free STATUS_PORT (unless set
#                         already) and its STATUS_URL, start_icecast a with
#                         the options, SOURCE_PASSWORD and STATUS_TOKEN
#                         exported as RELAY_TEST_SOURCE_PASSWORD and
#                         RELAY_TEST_STATUS_TOKEN; for a test that writes
#                         its own config
#   status_up EXTRA [ICECAST_OPTION...]  status_setup, the config in
#                         $T/relay.conf, start_relay, then waits
#                         until /api/status says on_air (fails the test
#                         otherwise)
#   http_code URL [CURL_ARGS...]  prints the HTTP status code (000 when
#                         there was no answer)
#   status_get PATH [S]   body of $STATUS_URL$PATH, waited for S (5) s
#   status_now [S]        body of /api/status, waited for S (5) s
#   status_is_on_air [S] / status_is_off_air   what /api/status says now
#   wait_on_air [S] / wait_off_air [S]     wait_for either, fail the test
#   relay_status ARGS...  runs "relay status --url $STATUS_URL ARGS...";
#                         sets RS_RC, RS_OUT, RS_ERR
#   status_listen SECONDS a listener on /live.ogg for SECONDS into
#                         $T/listen.ogg, waited for until it gets audio
#                         (fails the test otherwise)
#   status_stream_intact WHAT  after a load on the status server (WHAT:
#                         "during the burst"): status_listen's listener
#                         decoded as many seconds as it listened (no gap)
#                         and /metrics shows no audio lost, no reconnect
#                         and on air; fails the test otherwise
#
# Sets STATUS_PORT, STATUS_URL, STATION_NAME (with markup characters and
# UTF-8, to catch missing escaping), STATUS_TOKEN, SOURCE_PASSWORD.

STATION_NAME='Relay <Test> FM & "Friends" — Ünïcödé'
STATUS_PORT=
STATUS_URL=
STATUS_TOKEN=
SOURCE_PASSWORD=
RS_RC=
RS_OUT=
RS_ERR=
STATUS_LISTEN_START=
STATUS_LISTENER=
STATUS_TOOLS=$TOPDIR/tests/tools

status_config()
{
	local file=$1 extra=${2:-}
	cat >"$file" <<EOF
[station]
name = $STATION_NAME
description = News & weather <around> the clock
url = https://radio.example/

[input]
type = tone
frequency = 440
level_dbfs = -12
title = Morning <News>
artist = Anna & Bo

[encoding main]
rate = 44100
channels = 2
quality = 4

[encoding mobile]
rate = 22050
channels = 1
bitrate = 32
min_bitrate = 24
max_bitrate = 40

[output main]
host = 127.0.0.1
port = ${ICE_PORT[a]}
mount = /live.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD
encoding = main

[output mobile]
host = 127.0.0.1
port = ${ICE_PORT[a]}
mount = /mobile.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD
encoding = mobile

[status]
listen = 127.0.0.1:$STATUS_PORT
token_env = RELAY_TEST_STATUS_TOKEN
poll_icecast = 1s
$extra
EOF
}

status_setup()
{
	if [[ -z $STATUS_PORT ]]; then
		STATUS_PORT=$(free_port) ||
		    fail "no free port for the status server"
	fi
	STATUS_URL=http://127.0.0.1:$STATUS_PORT
	start_icecast a "$@"
	SOURCE_PASSWORD=${ICE_PASSWORD[a]}
	STATUS_TOKEN=$(random_secret)
	export RELAY_TEST_SOURCE_PASSWORD=$SOURCE_PASSWORD
	export RELAY_TEST_STATUS_TOKEN=$STATUS_TOKEN
}

status_up()
{
	status_setup "${@:2}"
	status_config "$T/relay.conf" "$1"
	start_relay "$T/relay.conf"
	wait_for -t 10 -m "the status server on $STATUS_URL" \
	    status_answers || fail "the status server never answered"
	wait_mount "${ICE_PORT[a]}" /live.ogg
	wait_on_air 15
}

status_answers()
{
	relay_alive || fail "relay exited; see $RELAY_LOG"
	curl -sf --max-time 2 -o /dev/null "$STATUS_URL/api/status"
}

http_code()
{
	local url=$1 code
	shift
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" \
	    "$url") || true
	printf '%s\n' "${code:-000}"
}

status_get()
{
	curl -sf --max-time "${2:-5}" "$STATUS_URL$1"
}

status_now()
{
	status_get /api/status "${1:-5}"
}

# True when GET PATH answers CODE.
code_is()
{
	[[ $(http_code "$STATUS_URL$1" --max-time 2) == "$2" ]]
}

# True when /metrics counts N open event streams.
event_streams_are()
{
	[[ $(curl -sf --max-time 2 "$STATUS_URL/metrics" |
	    awk '$1 == "relay_http_event_streams" { print $2 }') == "$1" ]]
}

status_is_on_air()
{
	status_now "${1:-5}" | jq -e '.on_air == true' >/dev/null 2>&1
}

status_is_off_air()
{
	status_now | jq -e '.on_air == false and .state == "off_air"' \
	    >/dev/null 2>&1
}

wait_on_air()
{
	wait_for -t "${1:-15}" -m "on_air true at $STATUS_URL" \
	    status_is_on_air || fail "never on air; status: $(status_now |
	    jq -c '{on_air, state, input, outputs: [.outputs[] | {name,
	    connected, mount_listed, last_error}]}' 2>&1)"
}

wait_off_air()
{
	wait_for -t "${1:-15}" -m "on_air false at $STATUS_URL" \
	    status_is_off_air || fail "still on air; status: $(status_now |
	    jq -c '{on_air, state}' 2>&1)"
}

status_listen()
{
	STATUS_LISTEN_START=$(now)
	listen_bg "http://127.0.0.1:${ICE_PORT[a]}/live.ogg" "$1" \
	    "$T/listen.ogg"
	STATUS_LISTENER=$LISTEN_PID
	wait_for -t 5 -m "the listener to get audio" \
	    size_at_least "$T/listen.ogg" 4096 || fail "the listener got nothing"
}

status_stream_intact()
{
	local what=$1 wall

	listen_wait "$STATUS_LISTENER" || fail "the listener failed"
	wall=$(elapsed_since "$STATUS_LISTEN_START")
	check_vorbis "$T/listen.ogg" 44100 2 5
	note "listened $wall s, decoded $VORBIS_SECONDS s"
	# Icecast's burst-on-connect adds a little; a gap would take some away.
	assert_between "$VORBIS_SECONDS" \
	    "$(awk -v w="$wall" 'BEGIN { print w - 1.5 }')" \
	    "$(awk -v w="$wall" 'BEGIN { print w + 3 }')" \
	    "decoded seconds for $wall s of listening $what"
	curl -sf "$STATUS_URL/metrics" >"$T/metrics.txt" ||
	    fail "/metrics $what"
	python3 "$STATUS_TOOLS/status_metrics_check.py" "$T/metrics.txt" \
	    >"$T/m.json" || fail "/metrics invalid $what"
	jq -e '.relay_input_overflow_frames_total == 0
	    and .["relay_output_dropped_bytes_total{output=\"main\"}"] == 0
	    and .["relay_output_reconnects_total{output=\"main\"}"] == 0
	    and .relay_on_air == 1' "$T/m.json" >/dev/null ||
	    fail "the pipeline lost audio $what: $(jq -c . "$T/m.json")"
}

relay_status()
{
	RS_RC=0
	"$RELAY" status --url "$STATUS_URL" "$@" >"$T/rs.out" 2>"$T/rs.err" ||
	    RS_RC=$?
	RS_OUT=$(cat "$T/rs.out")
	RS_ERR=$(cat "$T/rs.err")
}
