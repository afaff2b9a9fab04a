#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 132 a telephone-quality report (an 8 kHz WAV) in a 44.1 kHz programme
# plays whole: up-sampled 5.5 times, libsoxr releases blocks of up to
# ~4500 frames more than a call's input times the ratio, and the
# resampler's room had a fixed 4096 frames of slack, so the file's
# resampling failed about a second in ("resampler failed") and the
# segment left the air early.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
start_icecast a
control_api_setup
sox -n -r 8000 -c 1 -b 16 "$T/phone.wav" synth 6 sine 700 vol 0.25 2>/dev/null ||
    fail "sox failed"
t0=$(($(date +%s) + 8))
cat >"$T/schedule.conf" <<EOF
[segment phone]
at = $(utc "$t0")
source = file
path = $T/phone.wav
title = Phone report
EOF
api_station_config >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
wait_for -t 12 -m "the report on air" on_air phone || fail "the report never went on air"
wait_for -t 12 -m "the report's end" log_has 'segment phone (ended|stopped|failed)' ||
    fail "the report did not end: $(relay_lines | grep -i phone)"
! log_has 'resampler failed' ||
    fail "the resampler failed: $(relay_lines | grep 'resampler failed\|segment phone')"
log_has 'segment phone ended at' ||
    fail "the report did not play to its planned end: $(relay_lines | grep -i phone)"
