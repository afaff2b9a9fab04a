#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 133 a network feed at 44.1 kHz in a 192 kHz programme (a hi-res studio)
# plays for its whole segment: up-sampled 4.35 times in vorbisfile's
# blocks of up to 1024 frames, libsoxr releases up to ~5200 frames more
# than a block's input times the ratio, and the resampler's fixed 4096
# frames of slack made the feed fail within 2 s ("resampler failed") and
# the segment leave the air early (132: the same with a file;
# test_convert covers the ratios and block sizes).
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
start_icecast a
control_api_setup
bg ffmpeg -nostdin -v error -re -f lavfi -i "sine=f=700:r=44100" -ac 1 \
    -c:a libvorbis -q:a 2 -f ogg -content_type audio/ogg \
    "icecast://source:${ICE_PASSWORD[a]}@127.0.0.1:${ICE_PORT[a]}/partner.ogg"
wait_mount "${ICE_PORT[a]}" /partner.ogg 15
t0=$(($(date +%s) + 6))
cat >"$T/schedule.conf" <<EOF
[segment partner]
at = $(utc "$t0")
source = stream
url = http://127.0.0.1:${ICE_PORT[a]}/partner.ogg
duration = 12s
title = Partner report
EOF
api_station_config | sed 's/^\[input\]$/[input]\nrate = 192000/' >"$T/relay.conf"
grep -q '^rate = 192000$' "$T/relay.conf" || fail "no programme rate in the config"
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
wait_for -t 15 -m "the feed on air" on_air partner || fail "the feed never went on air"
log_has 'partner.ogg: connected .*44100 Hz' ||
    fail "the feed is not at 44100 Hz: $(relay_lines | grep 'partner')"
wait_for -t 20 -m "the segment's end" log_has 'segment partner (ended|stopped|failed)' ||
    fail "the segment did not end: $(relay_lines | grep 'partner')"
! log_has 'resampler failed' ||
    fail "the resampler failed: $(relay_lines | grep 'resampler failed\|segment partner')"
log_has 'segment partner ended at' ||
    fail "the feed did not play to the segment's end: $(relay_lines | grep 'partner')"
