#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 85 an MP3 mount beside the Ogg Vorbis one: the same 600 Hz programme
# encoded once as Vorbis and once as MP3 (LAME, CBR 96 kbit/s stereo at
# 44.1 kHz). Icecast serves the MP3 mount as audio/mpeg; ffprobe reads it
# as mp3 at the configured bitrate (within 10 %) and ffmpeg decodes the
# tone. The title comes through Icecast's admin interface (MP3 has no Ogg
# chain): the first one at connect, and a change through POST /api/metadata.
# Icecast's poller counts the MP3 mount as on air (no Ogg subtype there).
# Icecast is killed and started again: relay comes back on the MP3 mount
# and a new listener decodes it. /api/status names codec and bitrate; the
# Listen Live page links the MP3 mount "for other players" and keeps it
# out of the in-page player.
#
# timeout: 40

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
status_port=$(free_port) || fail "no free port"
TOKEN=$(random_secret)
export RELAY_TEST_CONTROL_TOKEN=$TOKEN

cat >"$T/relay.conf" <<CONF
[input]
type = tone
frequency = 600
level_dbfs = -12
title = MP3 test
[encoding main]
quality = 2
[encoding speaker]
codec = mp3
bitrate = 96
[output vorbis]
port = $port
mount = /main.ogg
password = ${ICE_PASSWORD[a]}
encoding = main
[output mp3]
port = $port
mount = /speaker.mp3
password = ${ICE_PASSWORD[a]}
encoding = speaker
reconnect_min = 300ms
reconnect_max = 2s
[status]
listen = 127.0.0.1:$status_port
token_env = RELAY_TEST_CONTROL_TOKEN
poll_icecast = 1s
CONF

"$RELAY" --check -c "$T/relay.conf" >"$T/check.out" 2>&1 ||
    fail "--check refused the config: $(cat "$T/check.out")"
grep -q 'encoding speaker *mp3 44100 Hz, 2 ch, CBR 96 kbit/s' \
    "$T/check.out" || fail "--check summary: $(cat "$T/check.out")"

# An MP3 mount has no Ogg subtype in Icecast's status: live is listed
# as audio/mpeg.
mp3_live()
{
	local src
	src=$(ice_source "$port" /speaker.mp3) || return 1
	jq -e '.server_type == "audio/mpeg"' <<<"$src" >/dev/null
}
title_is() { [[ $(ice_field "$port" /speaker.mp3 title) == "$1" ]]; }

# check_mp3 FILE MIN_SECONDS: ffprobe sees MP3 at 96 kbit/s (+-10 %),
# 44.1 kHz stereo; ffmpeg decodes at least MIN_SECONDS of the tone.
check_mp3()
{
	local probe codec srate ch rate secs freq peak
	probe=$(ffprobe -v error -select_streams a:0 -show_entries \
	    stream=codec_name,sample_rate,channels,bit_rate -of csv=p=0 "$1") ||
	    fail "ffprobe cannot read $1"
	IFS=, read -r codec srate ch rate <<<"$probe"
	[[ $codec == mp3 && $srate == 44100 && $ch == 2 ]] ||
	    fail "ffprobe $1: '$probe', expected mp3,44100,2,..."
	assert_between "$rate" 86400 105600 "$1 bit_rate (bit/s)"
	ffmpeg -nostdin -v error -i "$1" -f s16le -acodec pcm_s16le \
	    -ar 44100 -ac 2 -y "$1.s16le" 2>"$T/ffmpeg.log" ||
	    fail "ffmpeg cannot decode $1: $(head -3 "$T/ffmpeg.log")"
	secs=$(awk -v b="$(file_size "$1.s16le")" \
	    'BEGIN { printf "%.2f", b / 176400 }')
	assert_between "$secs" "$2" 20 "$1 decoded seconds"
	read -r freq peak _ < <(audio_stats "$1.s16le" 44100 2) ||
	    fail "cannot analyse $1"
	assert_between "$freq" 580 620 "$1 frequency (Hz)"
	assert_between "$peak" -16 -9 "$1 peak (dBFS)"
	note "$1: MP3 $rate bit/s, $secs s, $freq Hz"
}

start_relay "$T/relay.conf"
wait_mount "$port" /main.ogg
wait_for -t 15 -m "/speaker.mp3 live" mp3_live ||
    fail "/speaker.mp3 never went live"

listen_bg "http://127.0.0.1:$port/main.ogg" 4 "$T/main.ogg"
l1=$LISTEN_PID
curl -sN --max-time 4 -D "$T/mp3.headers" -o "$T/speaker.mp3" \
    "http://127.0.0.1:$port/speaker.mp3" || true
listen_wait "$l1" || fail "listener on /main.ogg failed"

check_vorbis "$T/main.ogg" 44100 2 2
grep -qi '^content-type: audio/mpeg' "$T/mp3.headers" ||
    fail "/speaker.mp3 content type: $(grep -i content-type "$T/mp3.headers")"
check_mp3 "$T/speaker.mp3" 2.5

# The first title reaches Icecast through the admin interface.
wait_for -t 5 -m "icecast title 'MP3 test'" title_is "MP3 test" ||
    fail "/speaker.mp3 title: '$(ice_field "$port" /speaker.mp3 title)'"
# A change through the control API.
code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 5 \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data '{"title":"Breaking news"}' \
    "http://127.0.0.1:$status_port/api/metadata") || true
[[ $code == 200 ]] || fail "POST /api/metadata: $code $(cat "$T/body")"
wait_for -t 5 -m "icecast title 'Breaking news'" title_is "Breaking news" ||
    fail "/speaker.mp3 title: '$(ice_field "$port" /speaker.mp3 title)'"
log_has 'title update failed' && fail "a title update failed"

# The status API and the page.
curl -sf --max-time 5 "http://127.0.0.1:$status_port/api/status" \
    >"$T/status.json" || fail "GET /api/status failed"
jq -e '.encodings[] | select(.name == "speaker") | .codec == "mp3" and
    .bitrate == 96 and .rate == 44100 and .channels == 2 and
    .quality == null' "$T/status.json" >/dev/null ||
    fail "/api/status speaker: $(jq -c '.encodings' "$T/status.json")"
# Icecast's poller sees the MP3 mount as on air (it has no Ogg subtype)
# and does not ask for CORS headers the page never needs for it.
mp3_listed()
{
	curl -sf --max-time 3 "http://127.0.0.1:$status_port/api/status" |
	    jq -e '.outputs[] | select(.name == "mp3") | .mount_listed' \
	    >/dev/null
}
wait_for -t 5 -m "mp3 mount_listed" mp3_listed ||
    fail "/api/status: the MP3 mount is not listed: $(curl -s \
        "http://127.0.0.1:$status_port/api/status" | jq -c '.outputs')"
log_has 'speaker.mp3: Icecast sends no Access-Control' &&
    fail "CORS warning for the MP3 mount, which the page does not play"
curl -sf --max-time 5 "http://127.0.0.1:$status_port/" >"$T/page.html" ||
    fail "GET / failed"
grep -q 'id="mp3-link" href="http://127.0.0.1:[0-9]*/speaker.mp3"[^>]*>MP3 · 96 kbit/s<' \
    "$T/page.html" || fail "page: MP3 link: $(grep -o '<span id="mp3".*' "$T/page.html")"
grep -q 'data-main="[^"]*/main.ogg"' "$T/page.html" ||
    fail "page: main stream: $(grep -o 'data-main="[^"]*"' "$T/page.html")"
grep -q 'data-low="[^"]*mp3' "$T/page.html" &&
    fail "page: the MP3 mount is in the in-page player"

# Icecast killed and started again: relay is back on the MP3 mount.
note "killing icecast"
stop_icecast a KILL
relay_alive || fail "relay exited when icecast died"
start_icecast a
wait_for -t 6 -m "/speaker.mp3 back" mp3_live ||
    fail "relay was not back on /speaker.mp3 after the restart"
curl -sN --max-time 4 -o "$T/after.mp3" \
    "http://127.0.0.1:$port/speaker.mp3" || true
check_mp3 "$T/after.mp3" 2.5
# The title is asked for again on the new connection.
wait_for -t 5 -m "title after the restart" title_is "Breaking news" ||
    fail "title after restart: '$(ice_field "$port" /speaker.mp3 title)'"

relay_alive || fail "relay exited while streaming"
stop_relay TERM 5 || fail "relay did not stop"
check_sanitizer
