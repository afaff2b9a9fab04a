#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 05 alsa: input type = alsa, device = default, captures through alsa-lib's
# "file" plugin reading a FIFO that ffmpeg fills in real time with a 1 kHz
# tone (FIELD-NOTES 5.3; no sound card needed). HOME points at the test
# directory, whose .asoundrc defines the devices, so the machine's ALSA
# configuration is never touched. The listener decodes the 1 kHz tone.
#
# Fixture detail: on a short read from the FIFO the file plugin still
# returns the full frame count it was asked for (measured with alsa-lib
# 1.2.8), so every read must find enough data waiting. ffmpeg therefore
# writes 4096-frame chunks (16 KiB, written in one go), a multiple of relay's
# read size for period_frames = 1024 (S16, 2 ch).
#
# Skipped (77) only when alsa-lib or its file plugin is unavailable.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

asound_conf()
{
	cat <<EOF
pcm.filein {
	type file
	slave.pcm "null"
	file "/dev/null"
	infile "$1"
	format "raw"
}
pcm.!default {
	type plug
	slave {
		pcm "filein"
		format S16_LE
		channels 2
		rate 44100
	}
}
EOF
}

# Is the plugin there at all? Capture 0.1 s from a regular file.
command -v arecord >/dev/null || skip "arecord (alsa-utils) is not installed"
mkdir -p "$T/probe"
head -c 17640 /dev/zero >"$T/probe/in.raw"
asound_conf "$T/probe/in.raw" >"$T/probe/.asoundrc"
if ! HOME=$T/probe timeout 10 arecord -q -D default -f S16_LE -c 2 \
    -r 44100 -s 4410 "$T/probe/out.wav" 2>"$T/probe/err"; then
	skip "ALSA file plugin unavailable: $(head -n 3 "$T/probe/err")"
fi

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}

mkdir -p "$T/home"
mkfifo "$T/capture.fifo"
asound_conf "$T/capture.fifo" >"$T/home/.asoundrc"

cat >"$T/relay.conf" <<EOF
[input]
type = alsa
device = default
period_frames = 1024
buffer_frames = 4096
rate = 44100
channels = 2

[encoding main]
rate = 44100
channels = 2
quality = 4

[output main]
host = 127.0.0.1
port = $port
mount = /alsa.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD

[status]
listen = off
EOF

bg timeout 120 ffmpeg -nostdin -v error -re -f lavfi \
    -i sine=frequency=1000:sample_rate=44100:samples_per_frame=4096 \
    -f s16le -acodec pcm_s16le -ar 44100 -ac 2 -y "$T/capture.fifo"
HOME=$T/home start_relay "$T/relay.conf"

wait_mount "$port" /alsa.ogg
start=$(now)
listen "http://127.0.0.1:$port/alsa.ogg" 6 "$T/listen.ogg" ||
    fail "listener failed"
wall=$(elapsed_since "$start")
check_vorbis "$T/listen.ogg" 44100 2 3
# The FIFO writer sets the pace: real time plus a burst, not a flood.
assert_between "$VORBIS_SECONDS" 3 \
    "$(awk -v w="$wall" 'BEGIN { print w + 3 }')" \
    "decoded seconds for $wall s of listening"
for c in 1 2; do
	read -r freq peak _ < <(audio_stats "$VORBIS_RAW" 44100 2 "$c") ||
	    fail "cannot analyse the decoded audio"
	note "channel $c: ~$freq Hz, peak $peak dBFS"
	assert_between "$freq" 970 1030 "channel $c frequency (Hz)"
	assert_between "$peak" -30 0 "channel $c peak (dBFS): not silence"
done
relay_alive || fail "relay exited while capturing"
