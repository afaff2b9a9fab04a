#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 108 an [encoding] without rate encodes at the programme's rate ([input]
# rate), not at 44100 Hz (found by a new user's review: [input] rate =
# 48000 was resampled to 44.1 kHz unless every [encoding] set rate too).
# - [input] rate = 48000 and a Vorbis encoding without rate: --check
#   says 48000 Hz with no resampling note, /api/status says 48000, and a
#   listener's stream is Vorbis at 48000 Hz with the tone at its pitch.
# - An MP3 encoding without rate under a programme of 32000 Hz (which
#   LAME is not given here: 44100 or 48000 only) is not refused: it takes
#   48000 Hz (the same family), and --check says it resamples; with an
#   explicit rate = 22050 --check still refuses, naming FILE:LINE and the
#   key. An explicit rate still wins over the programme's.
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
rate = 48000

[encoding main]
quality = 2

[encoding low]
rate = 22050
channels = 1
quality = 1

$(icecast_output main /main.ogg "encoding = main")

$(icecast_output low /low.ogg "encoding = low")

[status]
listen = 127.0.0.1:$status_port
CONF

"$RELAY" --check -c "$T/relay.conf" >"$T/check.out" 2>&1 ||
    fail "--check refused the config: $(cat "$T/check.out")"
grep -qE 'encoding main +vorbis 48000 Hz, 2 ch, VBR quality 2$' \
    "$T/check.out" || fail "--check summary (main): $(cat "$T/check.out")"
grep -qE "encoding low +vorbis 22050 Hz, 1 ch, VBR quality 1 \\(resampled from the programme's 48000 Hz\\)" \
    "$T/check.out" || fail "--check summary (low): $(cat "$T/check.out")"

start_relay "$T/relay.conf"
wait_mount "$port" /main.ogg
rates=$(curl -sf --max-time 3 "http://127.0.0.1:$status_port/api/status" |
    jq -c '[.encodings[] | {name, rate}]') || fail "no /api/status"
[[ $rates == '[{"name":"main","rate":48000},{"name":"low","rate":22050}]' ]] ||
    fail "/api/status encodings: $rates"
listen "http://127.0.0.1:$port/main.ogg" 3 "$T/main.ogg" ||
    fail "listener failed"
check_vorbis "$T/main.ogg" 48000 2 1.5
read -r freq _ _ < <(audio_stats "$VORBIS_RAW" 48000 2) ||
    fail "cannot analyse the decoded audio"
assert_between "$freq" 485 515 "tone frequency at 48000 Hz (Hz)"
stop_relay

# MP3: the programme's 32000 Hz is not an MP3 rate here.
cat >"$T/mp3.conf" <<CONF
[input]
type = tone
rate = 32000

[encoding speaker]
codec = mp3

$(icecast_output mp3 /speaker.mp3 "encoding = speaker")
CONF
"$RELAY" --check -c "$T/mp3.conf" >"$T/mp3.out" 2>&1 ||
    fail "--check refused an mp3 encoding without rate: $(cat "$T/mp3.out")"
grep -qE "encoding speaker +mp3 48000 Hz, 2 ch, CBR 128 kbit/s \\(resampled from the programme's 32000 Hz\\)" \
    "$T/mp3.out" || fail "--check summary (mp3): $(cat "$T/mp3.out")"

sed -i 's/^codec = mp3$/codec = mp3\nrate = 22050/' "$T/mp3.conf"
if "$RELAY" --check -c "$T/mp3.conf" >"$T/mp3bad.out" 2>&1; then
	fail "--check took an mp3 rate of 22050: $(cat "$T/mp3bad.out")"
fi
grep -qF 'mp3.conf:7: [encoding speaker] rate: 22050: mp3 encodes at 44100 or 48000 Hz' \
    "$T/mp3bad.out" || fail "--check error: $(cat "$T/mp3bad.out")"
