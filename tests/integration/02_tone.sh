#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 02 tone: input type = tone -> Vorbis -> icecast. A listener gets valid
# Vorbis at 44100 Hz stereo, at least 3 s decodable, paced in real time, and
# the decoded audio is the configured tone (750 Hz at -6 dBFS; neither is a
# default, so a relay that ignores the keys fails). The mount carries the
# station name, and a healthy run logs no error line. Its threads carry
# their names.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}

cat >"$T/relay.conf" <<EOF
[station]
name = Tone Test Station

[input]
type = tone
frequency = 750
level_dbfs = -6

[encoding main]
rate = 44100
channels = 2
quality = 4

[output main]
host = 127.0.0.1
port = $port
mount = /tone.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD

[status]
listen = off
EOF

start_relay "$T/relay.conf"
wait_mount "$port" /tone.ogg
relay_alive || fail "relay exited"
# Each thread is named for top -H, ps -L and gdb (docs/operations.md).
assert_threads relay relay-engine relay-input "out[main]"

name=$(ice_field "$port" /tone.ogg server_name) || name=
[[ $name == "Tone Test Station" ]] ||
    fail "icecast shows server_name '$name', expected 'Tone Test Station'"

listen_seconds=6
start=$(now)
listen "http://127.0.0.1:$port/tone.ogg" "$listen_seconds" "$T/listen.ogg" ||
    fail "listener failed"
wall=$(elapsed_since "$start")
check_vorbis "$T/listen.ogg" 44100 2 3
# Real-time pacing: a few seconds of icecast burst at most, not a flood.
assert_between "$VORBIS_SECONDS" 3 "$(awk -v w="$wall" 'BEGIN { print w + 3 }')" \
    "decoded seconds for $wall s of listening"

read -r freq peak rms < <(audio_stats "$VORBIS_RAW" 44100 2 1) ||
    fail "cannot analyse the decoded audio"
note "left channel: ~$freq Hz, peak $peak dBFS, RMS $rms dBFS"
assert_between "$freq" 727 773 "tone frequency (Hz), left"
# -6 dBFS as a peak level gives a -6 dBFS peak; read as RMS, -3 dBFS.
assert_between "$peak" -9 -2 "tone peak level (dBFS), left"
read -r freq peak rms < <(audio_stats "$VORBIS_RAW" 44100 2 2) ||
    fail "cannot analyse the decoded audio"
assert_between "$freq" 727 773 "tone frequency (Hz), right"
assert_between "$peak" -9 -2 "tone peak level (dBFS), right"

relay_alive || fail "relay exited while streaming"
if log_has '^[^ ]+ error '; then
	fail "relay logged errors during a healthy run: $(grep -E '^[^ ]+ error ' \
	    "$RELAY_LOG" | head -n 3)"
fi
stop_relay TERM 5 || fail "relay did not exit after SIGTERM"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC after SIGTERM"
