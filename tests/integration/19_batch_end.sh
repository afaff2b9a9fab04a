#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 19 batch end: the engine holds up to 0.6 s of programme for its encoders
# (page-batched encoding, encode_batch.h) and must hand it over at the end.
# 3.3 s of stdin read flat out (a regular file, at_end = exit) to a Vorbis
# file and an Opus file: each decodes to the whole 3.3 s, its end included
# (a tone up to the last block, so a lost batch shows as missing seconds
# and a silent end).
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

sox -D -q -n -r 44100 -c 2 -b 16 -e signed-integer -t raw "$T/pcm.raw" \
    synth 3.3 sine 440 vol 0.5 || fail "sox cannot make the input"

stdin_batch_config out 4 64 >"$T/relay.conf"
RELAY_STDIN=$T/pcm.raw start_relay "$T/relay.conf"
wait_for -t 20 -m "relay to end with its input" proc_gone "$RELAY_PID" ||
    fail "relay did not exit at the end of its input"

check_vorbis "$T/out.ogg" 44100 2 3
assert_between "$VORBIS_SECONDS" 3.28 3.32 "Vorbis seconds decoded of 3.3"
read -r _ peak _ < <(audio_stats "$VORBIS_RAW" 44100 2 1 3.1) ||
    fail "cannot analyse the Vorbis file's end"
assert_between "$peak" -8 0 "Vorbis peak of the last 0.2 s (dBFS): the tone"

secs=$(decoded_seconds "$T/out.opus") || fail "cannot decode the Opus file"
note "Opus: $secs s decoded"
assert_between "$secs" 3.28 3.32 "Opus seconds decoded of 3.3"
ffmpeg -nostdin -v error -i "$T/out.opus" -f s16le -acodec pcm_s16le \
    -ar 44100 -ac 2 -y "$T/opus.raw" || fail "ffmpeg cannot decode the Opus file"
read -r _ peak _ < <(audio_stats "$T/opus.raw" 44100 2 1 3.1) ||
    fail "cannot analyse the Opus file's end"
assert_between "$peak" -8 0 "Opus peak of the last 0.2 s (dBFS): the tone"
