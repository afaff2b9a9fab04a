#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 113 control NUL: a NUL inside a string of a control body (the JSON escape
# \u0000, or a raw 0 byte) is refused with 400 naming the field, and nothing
# is carried out. cJSON ends its strings at the first NUL, so relay used to
# cut the value there and accept the rest: "flash.wav\u0000/../x" played
# flash.wav (202), "News\u0000 at ten" set the title "News", the name
# "a\u0000b" became "a", and the answer said so as if that had been asked.
# An escaped backslash before "u0000" is text, not a NUL: that title is
# taken as written.
#
# timeout: 40

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

control_api_setup
mkdir "$T/media"
sox -n -r 44100 -c 1 -b 16 "$T/media/flash.wav" synth 2 sine 880 gain -6

control_archive_config "media_dirs = $T/media" >"$T/relay.conf"

# post PATH: the body on stdin (bytes as they are); prints the HTTP code,
# the answer goes to $T/body.
post()
{
	curl -s -X POST "${auth[@]}" "${json[@]}" --data-binary @- \
	    -o "$T/body" -w '%{http_code}' --max-time 10 "$URL$1" || true
}

# refused PATH FIELD_TEXT: the body on stdin gets 400 whose error starts
# with FIELD_TEXT.
refused()
{
	local code err
	code=$(post "$1")
	err=$(jq -r .error "$T/body" 2>/dev/null || cat "$T/body")
	[[ $code == 400 && $err == "$2"* ]] ||
	    fail "$1: $code '$err', expected 400 '$2...' for $(od -c "$T/in" | head -3)"
	note "$1: 400 $err"
}

start_relay "$T/relay.conf"
# No Icecast: the state is off_air, but the control API works all the same.
wait_for -t 10 -m "input flowing at $URL" status_has '.input.flowing' ||
    fail "relay never read its input: $(status_now)"

printf '%s' '{"title":"News\u0000 at ten"}' | tee "$T/in" |
    refused /api/metadata "title: must not hold a NUL character"
printf '{"title":"News\0 at ten"}' | tee "$T/in" |
    refused /api/metadata "title: must not hold a NUL character"
printf '%s' '{"title":"x","artist":"Anna\u0000 and Bo"}' | tee "$T/in" |
    refused /api/metadata "artist: must not hold a NUL character"
printf '%s' '{"source":"file","path":"flash.wav\u0000/../x","title":"Flash"}' |
    tee "$T/in" |
    refused /api/segments "path: must not hold a NUL character"
printf '%s' '{"source":"tone","duration":2,"name":"a\u0000b"}' |
    tee "$T/in" |
    refused /api/segments "name: must not hold a NUL character"

# Nothing of that was carried out: the live title stands, no request was
# queued, nothing went on air.
sleep 0.5
status_has '.now.title == "Studio live" and .requests == [] and
    .now.segment == null' ||
    fail "a refused call left a trace: $(status_now | jq -c '{state, now, requests}')"
log_has 'POST /api/segments 400' || fail "no audit line for the refused call"

# "\\u0000" is a backslash and the text u0000: accepted as written.
code=$(printf '%s' '{"title":"C:\\u0000 drive"}' | post /api/metadata)
[[ $code == 200 ]] || fail "an escaped backslash: $code $(cat "$T/body")"
wait_for -t 5 -m 'the title with a backslash' \
    status_has '.now.title == "C:\\u0000 drive"' ||
    fail "title: $(status_now | jq -c .now.title)"

stop_relay
[[ $RELAY_RC == 0 ]] || fail "relay exited $RELAY_RC"
note "every NUL refused with its field, nothing carried out"
