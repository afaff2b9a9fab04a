#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 04 file: input type = file plays a WAV and a FLAC made with sox, looped, in
# real time. The WAV is 44100 Hz stereo with different tones left and right
# (660/990 Hz); the FLAC is 48000 Hz mono (880 Hz), so it must be converted
# to the 44100 Hz stereo programme. Each file is 4 s long and the listener
# decodes more than that, so looping works.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}

sox -n -r 44100 -c 2 -b 16 "$T/in.wav" synth 4 sine 660 sine 990 gain -6
sox -n -r 48000 -c 1 -b 16 "$T/in.flac" synth 4 sine 880 gain -6

# play FILE MOUNT: streams FILE with relay and captures 7 s of MOUNT.
play()
{
	cat >"$T/relay.conf" <<EOF2
[input]
type = file
path = $1
loop = yes
rate = 44100
channels = 2

[encoding main]
rate = 44100
channels = 2
quality = 4

[output main]
host = 127.0.0.1
port = $port
mount = $2
password_env = RELAY_TEST_SOURCE_PASSWORD

[status]
listen = off
EOF2
	local cap=$T/listen_${2#/}
	start_relay "$T/relay.conf"
	wait_mount "$port" "$2"
	listen "http://127.0.0.1:$port$2" 7 "$cap" ||
	    fail "listener on $2 failed"
	relay_alive || fail "relay exited while playing $1"
	stop_relay TERM 5 || fail "relay did not exit after SIGTERM"
	[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
	# More than the 4 s file, at most 7 s + burst: real time.
	check_vorbis "$cap" 44100 2 5
	assert_between "$VORBIS_SECONDS" 5 10 "decoded seconds of $2"
	# The file ended at least once during the capture; it looped, so the
	# last seconds still hold the tone, not silence.
	read -r _ peak _ < <(audio_stats "$VORBIS_RAW" 44100 2 1 -1.5) ||
	    fail "cannot analyse the end of $2"
	assert_between "$peak" -30 0 "peak (dBFS) of the last 1.5 s of $2"
}

play "$T/in.wav" /wav.ogg
read -r freq _ _ < <(audio_stats "$VORBIS_RAW" 44100 2 1) ||
    fail "cannot analyse /wav.ogg"
assert_between "$freq" 640 680 "WAV left channel frequency (Hz)"
read -r freq _ _ < <(audio_stats "$VORBIS_RAW" 44100 2 2) ||
    fail "cannot analyse /wav.ogg"
assert_between "$freq" 960 1020 "WAV right channel frequency (Hz)"

play "$T/in.flac" /flac.ogg
# Resampled 48 kHz -> 44.1 kHz: the pitch must not move (880, not 808).
for c in 1 2; do
	read -r freq peak _ < <(audio_stats "$VORBIS_RAW" 44100 2 "$c") ||
	    fail "cannot analyse /flac.ogg"
	note "FLAC channel $c: ~$freq Hz, peak $peak dBFS"
	assert_between "$freq" 854 906 "FLAC channel $c frequency (Hz)"
	assert_between "$peak" -30 0 "FLAC channel $c peak (dBFS): not silence"
done
