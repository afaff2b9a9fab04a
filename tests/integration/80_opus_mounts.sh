#!/usr/bin/env bash
# serial: starts Chromium
# SPDX-License-Identifier: MIT
#
# 80 one relay, two codecs: the same 600 Hz programme encoded once as Ogg
# Vorbis and once as Ogg Opus (mono, 24 kbit/s, voip), each on its own
# Icecast mount. Real clients decode both: ogginfo and ffmpeg the Vorbis
# mount; opusinfo, ffprobe and ffmpeg the Opus one (48 kHz mono, the tone's
# frequency, a clean stream with pre-skip). Icecast lists the Opus mount as
# audio/ogg with subtype Opus; /api/status and
# /metrics name the codec and bitrate of each encoding, and the Listen Live
# page offers the Opus mount as low-data stream with its codec; Chromium
# plays it from the page's "Low data" switch.
#
# timeout: 40

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

command -v opusinfo >/dev/null || skip "opusinfo (opus-tools) is not installed"
start_icecast a
port=${ICE_PORT[a]}
status_port=$(free_port) || fail "no free port"

cat >"$T/relay.conf" <<CONF
[input]
type = tone
frequency = 600
level_dbfs = -12
title = Opus test
[encoding main]
quality = 3
[encoding mobile]
codec = opus
channels = 1
bitrate = 24
application = voip
complexity = 5
[output vorbis]
port = $port
mount = /main.ogg
password = ${ICE_PASSWORD[a]}
encoding = main
[output opus]
port = $port
mount = /mobile.opus
password = ${ICE_PASSWORD[a]}
encoding = mobile
[status]
listen = 127.0.0.1:$status_port
poll_icecast = off
CONF

"$RELAY" --check -c "$T/relay.conf" >"$T/check.out" 2>&1 ||
    fail "--check refused the config: $(cat "$T/check.out")"
grep -q 'encoding mobile *opus 48000 Hz, 1 ch, 24 kbit/s, voip' \
    "$T/check.out" || fail "--check summary: $(cat "$T/check.out")"

start_relay "$T/relay.conf"
wait_mount "$port" /main.ogg
wait_mount "$port" /mobile.opus

listen_bg "http://127.0.0.1:$port/main.ogg" 4 "$T/main.ogg"
l1=$LISTEN_PID
curl -sN --max-time 4 -D "$T/opus.headers" -o "$T/mobile.opus" \
    "http://127.0.0.1:$port/mobile.opus" || true
listen_wait "$l1" || fail "listener on /main.ogg failed"

# Vorbis mount: unchanged by the Opus encoding next to it.
check_vorbis "$T/main.ogg" 44100 2 3
read -r freq _ _ < <(audio_stats "$VORBIS_RAW" 44100 2) ||
    fail "cannot analyse /main.ogg"
assert_between "$freq" 580 620 "/main.ogg frequency (Hz)"

# Opus mount.
grep -qi '^content-type: audio/ogg' "$T/opus.headers" ||
    fail "/mobile.opus content type: $(grep -i content-type "$T/opus.headers")"
opusinfo "$T/mobile.opus" >"$T/opusinfo.txt" 2>&1 || true
grep -q 'type opus' "$T/opusinfo.txt" ||
    fail "opusinfo finds no Opus stream: $(head -c 400 "$T/opusinfo.txt")"
# A cut capture lacks EOS; a listener that joins once Icecast's burst
# (8 KiB here) no longer reaches back to the first audio page jumps from
# the headers to a later page ("Got page N when expecting page 2", then
# "discontinuity": seen under make check, where the listener starts late).
# ogg_streams.py below allows that one jump and no other; anything else
# opusinfo complains about is ours.
if grep -iE 'warning|error|hole|corrupt' "$T/opusinfo.txt" |
    grep -viE 'EOS|end-of-stream|ended without|end of stream' |
    grep -vE 'when expecting page 2\. Indicates missing data|^WARNING: discontinuity in stream' |
    grep -q .; then
	fail "opusinfo: $(grep -iE 'warning|error|hole|corrupt' "$T/opusinfo.txt" | head -3)"
fi
grep -q 'Pre-skip: [1-9]' "$T/opusinfo.txt" ||
    fail "no pre-skip in OpusHead: $(grep -i skip "$T/opusinfo.txt")"
grep -q 'TITLE=Opus test' "$T/opusinfo.txt" ||
    fail "OpusTags lacks the title: $(grep -A3 'comments' "$T/opusinfo.txt")"
python3 "$TOPDIR/tests/tools/ogg_streams.py" "$T/mobile.opus" >"$T/streams.txt" ||
    fail "Ogg Opus framing: $(grep ERROR "$T/streams.txt" | head -3)"
probe=$(ffprobe -v error -select_streams a:0 -show_entries \
    stream=codec_name,sample_rate,channels -of csv=p=0 "$T/mobile.opus") ||
    fail "ffprobe cannot read /mobile.opus"
[[ $probe == "opus,48000,1" ]] || fail "ffprobe: '$probe', expected opus,48000,1"
ffmpeg -nostdin -v error -i "$T/mobile.opus" -f s16le -acodec pcm_s16le \
    -ar 48000 -ac 1 -y "$T/mobile.s16le" 2>"$T/ffmpeg.log" ||
    fail "ffmpeg cannot decode /mobile.opus: $(head -3 "$T/ffmpeg.log")"
secs=$(awk -v b="$(file_size "$T/mobile.s16le")" 'BEGIN { printf "%.2f", b / 96000 }')
assert_between "$secs" 3 9 "/mobile.opus decoded seconds"
read -r freq peak _ < <(audio_stats "$T/mobile.s16le" 48000 1) ||
    fail "cannot analyse /mobile.opus"
assert_between "$freq" 580 620 "/mobile.opus frequency (Hz)"
# -12 dBFS tone, summed to mono at the same level (mix keeps the peak).
assert_between "$peak" -16 -9 "/mobile.opus peak (dBFS)"

# What Icecast makes of it.
[[ $(ice_field "$port" /mobile.opus subtype) == Opus ]] ||
    fail "icecast subtype: '$(ice_field "$port" /mobile.opus subtype)'"
# Icecast 2.4.4 reads no title from OpusTags (its Opus plugin only counts
# the headers): players show the title, the server's status page does not.

# The status API and metrics name the codec.
curl -sf --max-time 5 "http://127.0.0.1:$status_port/api/status" \
    >"$T/status.json" || fail "GET /api/status failed"
jq -e '.encodings[] | select(.name == "mobile") | .codec == "opus" and
    .bitrate == 24 and .rate == 48000 and .channels == 1 and .quality == null' \
    "$T/status.json" >/dev/null ||
    fail "/api/status mobile: $(jq -c '.encodings' "$T/status.json")"
jq -e '.encodings[] | select(.name == "main") | .codec == "vorbis" and
    .quality == 3 and .bitrate == null' "$T/status.json" >/dev/null ||
    fail "/api/status main: $(jq -c '.encodings' "$T/status.json")"
curl -sf --max-time 5 "http://127.0.0.1:$status_port/metrics" \
    >"$T/metrics.txt" || fail "GET /metrics failed"
grep -q '^relay_encoding_info{encoding="mobile",codec="opus"} 1$' \
    "$T/metrics.txt" || fail "metrics: $(grep encoding_info "$T/metrics.txt")"
# The Listen Live page: the Opus mount is the low-data stream, and the
# page says which codec each stream is so a browser skips one it cannot
# play (canPlayType in app.js).
curl -sf --max-time 5 "http://127.0.0.1:$status_port/" >"$T/page.html" ||
    fail "GET / failed"
grep -q 'data-main-type="audio/ogg; codecs=&quot;vorbis&quot;"' "$T/page.html" ||
    fail "page: main stream type: $(grep -o 'data-main-type="[^"]*"' "$T/page.html")"
grep -q 'data-low="[^"]*/mobile.opus" data-low-type="audio/ogg; codecs=&quot;opus&quot;"' \
    "$T/page.html" ||
    fail "page: low stream: $(grep -o 'data-low[^>]*' "$T/page.html")"
# Chromium plays it: with the page's "Low data" switch on, the player takes
# the Opus mount instead of the Vorbis main stream.
if [[ -x /usr/bin/chromium ]]; then
	audio="document.getElementById('audio')"
	playing="document.body.dataset.player === 'playing' && $audio.currentTime > 0.5"
	python3 "$TOPDIR/tests/tools/status_cdp.py" \
	    open "http://127.0.0.1:$status_port/" \
	    eval "'opus:' + $audio.canPlayType('audio/ogg; codecs=\"opus\"')" \
	    click '#low' \
	    click '#play' \
	    wait "$playing && $audio.currentSrc.indexOf('/mobile.opus') > 0" 25 \
	    eval "'src:' + $audio.currentSrc" \
	    >"$T/cdp.out" 2>&1 || fail "browser session: $(cat "$T/cdp.out")"
	grep -q '"opus:probably"' "$T/cdp.out" ||
	    fail "Chromium's canPlayType for Ogg Opus: $(cat "$T/cdp.out")"
	note "Chromium played $(sed -n 's/.*"src:\([^"?]*\).*/\1/p' "$T/cdp.out")"
else
	note "no Chromium: the browser check is left out"
fi
relay_alive || fail "relay exited while streaming"
stop_relay TERM 5 || fail "relay did not stop"
check_sanitizer
