#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 125 an [encoding] without channels encodes the programme's channels
# ([input] channels), at most 2, not always 2 (found by review: a mono
# studio was streamed as two identical channels unless every encoding said
# channels = 1).
# - [input] channels = 1, a Vorbis encoding without channels: --check says
#   1 ch with no note, /api/status says 1, and a listener's stream is mono
#   Vorbis. An explicit channels = 2 stays stereo, and --check says it
#   up-mixes. Opus and MP3 without channels are mono too (their default
#   bitrate with them: 32 and 64 kbit/s), and a Vorbis bitrate libvorbisenc
#   cannot encode in mono (256) stays stereo.
# - [input] channels = 8 (7.1): an encoding without channels is the stereo
#   down-mix, and --check notes it; an explicit channels = 8 is kept. (Not
#   5.1: libvorbisenc 1.3.7 leaks 2848 bytes setting up 6 channels, which
#   fails the ASan run of --check.)
#
# timeout: 40

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
status_port=$(free_port) || fail "no free port"
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}

cat >"$T/relay.conf" <<CONF
[input]
type = tone
frequency = 500
level_dbfs = -12
channels = 1

[encoding main]
quality = 2

[encoding wide]
channels = 2
quality = 1

$(icecast_output main /main.ogg "encoding = main")

$(icecast_output wide /wide.ogg "encoding = wide")

[status]
listen = 127.0.0.1:$status_port
CONF

"$RELAY" --check -c "$T/relay.conf" >"$T/check.out" 2>&1 ||
    fail "--check refused the config: $(cat "$T/check.out")"
grep -qE 'encoding main +vorbis 44100 Hz, 1 ch, VBR quality 2$' \
    "$T/check.out" || fail "--check summary (main): $(cat "$T/check.out")"
grep -qE "encoding wide +vorbis 44100 Hz, 2 ch, VBR quality 1 \\(up-mixed from the programme's 1 ch\\)$" \
    "$T/check.out" || fail "--check summary (wide): $(cat "$T/check.out")"

start_relay "$T/relay.conf"
wait_mount "$port" /main.ogg
chans=$(curl -sf --max-time 3 "http://127.0.0.1:$status_port/api/status" |
    jq -c '[.encodings[] | {name, channels}]') || fail "no /api/status"
[[ $chans == '[{"name":"main","channels":1},{"name":"wide","channels":2}]' ]] ||
    fail "/api/status encodings: $chans"
listen "http://127.0.0.1:$port/main.ogg" 3 "$T/main.ogg" ||
    fail "listener failed"
check_vorbis "$T/main.ogg" 44100 1 1.5
read -r freq _ _ < <(audio_stats "$VORBIS_RAW" 44100 1) ||
    fail "cannot analyse the decoded audio"
assert_between "$freq" 485 515 "tone frequency of the mono stream (Hz)"
stop_relay

# The other codecs, and a Vorbis bitrate that mono cannot carry.
cat >"$T/codecs.conf" <<CONF
[input]
type = tone
channels = 1

[encoding o]
codec = opus

[encoding m]
codec = mp3

[encoding hi]
bitrate = 256

$(icecast_output o /o.opus "encoding = o")
CONF
"$RELAY" --check -c "$T/codecs.conf" >"$T/codecs.out" 2>&1 ||
    fail "--check refused the codecs: $(cat "$T/codecs.out")"
grep -qE 'encoding o +opus 48000 Hz, 1 ch, 32 kbit/s' "$T/codecs.out" ||
    fail "--check summary (opus): $(cat "$T/codecs.out")"
grep -qE 'encoding m +mp3 44100 Hz, 1 ch, CBR 64 kbit/s$' "$T/codecs.out" ||
    fail "--check summary (mp3): $(cat "$T/codecs.out")"
grep -qE "encoding hi +vorbis 44100 Hz, 2 ch, managed 256 kbit/s \\(up-mixed from the programme's 1 ch\\)$" \
    "$T/codecs.out" || fail "--check summary (vorbis 256): $(cat "$T/codecs.out")"

# 7.1: stereo unless told otherwise, with a note.
cat >"$T/surround.conf" <<CONF
[input]
type = tone
channels = 8

[encoding mix]
quality = 3

[encoding all]
channels = 8
quality = 3

$(icecast_output mix /mix.ogg "encoding = mix")

$(icecast_output all /all.ogg "encoding = all")
CONF
"$RELAY" --check -c "$T/surround.conf" >"$T/surround.out" 2>&1 ||
    fail "--check refused 7.1: $(cat "$T/surround.out")"
grep -qE "encoding mix +vorbis 44100 Hz, 2 ch, VBR quality 3 \\(mixed down from the programme's 8 ch\\)$" \
    "$T/surround.out" || fail "--check summary (7.1 mix): $(cat "$T/surround.out")"
grep -qE 'encoding all +vorbis 44100 Hz, 8 ch, VBR quality 3$' \
    "$T/surround.out" || fail "--check summary (7.1 kept): $(cat "$T/surround.out")"
