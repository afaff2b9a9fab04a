#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 03 stdin: raw s16le PCM, written in real time by ffmpeg into relay's
# standard input (input type = stdin), reaches a listener as Vorbis at the
# right rate and channel count. Left and right carry different tones (523 and
# 784 Hz), so a swapped or mis-interleaved channel shows.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}

cat >"$T/relay.conf" <<EOF
[input]
type = stdin
format = s16le
rate = 44100
channels = 2

[encoding main]
rate = 44100
channels = 2
quality = 3

[output main]
host = 127.0.0.1
port = $port
mount = /stdin.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD

[status]
listen = off
EOF

mkfifo "$T/pcm.fifo"
# -re: the writer sets the pace, like a live feed on a pipe.
bg timeout 120 ffmpeg -nostdin -v error \
    -re -f lavfi -i sine=frequency=523:sample_rate=44100 \
    -re -f lavfi -i sine=frequency=784:sample_rate=44100 \
    -filter_complex '[0:a][1:a]amerge=inputs=2[a]' -map '[a]' \
    -f s16le -acodec pcm_s16le -ar 44100 -ac 2 -y "$T/pcm.fifo"
RELAY_STDIN=$T/pcm.fifo start_relay "$T/relay.conf"

wait_mount "$port" /stdin.ogg
listen "http://127.0.0.1:$port/stdin.ogg" 6 "$T/listen.ogg" ||
    fail "listener failed"
check_vorbis "$T/listen.ogg" 44100 2 3
# The writer paces the input: no more than real time plus a burst.
assert_between "$VORBIS_SECONDS" 3 9 "decoded seconds for 6 s of listening"

read -r freq peak _ < <(audio_stats "$VORBIS_RAW" 44100 2 1) ||
    fail "cannot analyse the decoded audio"
note "left: ~$freq Hz, peak $peak dBFS"
assert_between "$freq" 507 539 "left channel frequency (Hz)"
assert_between "$peak" -40 0 "left channel peak (dBFS): not silence"
read -r freq peak _ < <(audio_stats "$VORBIS_RAW" 44100 2 2) ||
    fail "cannot analyse the decoded audio"
note "right: ~$freq Hz, peak $peak dBFS"
assert_between "$freq" 760 808 "right channel frequency (Hz)"
assert_between "$peak" -40 0 "right channel peak (dBFS): not silence"
relay_alive || fail "relay exited while streaming"
