#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 87 listen-back hears an Opus mount: relay streams a 1 kHz tone peaking at
# -20 dBFS as Ogg Opus to /live.opus with listenback = yes. Listen-back
# must decode it (libopus): state ok, decoded true, peak near -20 dBFS
# (not the -120 a counted-but-unheard stream showed), silent_s near 0.
# icecast is frozen until listen-back says no_audio (last_error says why)
# and thawed: once our audio is heard again last_error is null. Then a
# reload turns the tone into digital silence: listen-back must flag the
# Opus mount silent once listeners have heard 10 s of it (the programme is
# silent too: dead air, 10 s without [fallback]), with a warn line, and
# on_air false.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
status_port=$(free_port) || fail "no free port"

conf()
{
	cat <<CONF
[input]
type = tone
frequency = $1
level_dbfs = -20

[encoding main]
codec = opus
channels = 2
bitrate = 64

$(icecast_output main /live.opus "$LISTENBACK_KEYS")
stall_timeout = 30s
encoding = main

[status]
listen = 127.0.0.1:$status_port
poll_icecast = 1s
CONF
}

status_json() { curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status"; }
lb() { status_json | jq -r ".outputs[0].listenback.$1"; }
lb_state_is() { [[ $(lb state 2>/dev/null) == "$1" ]]; }

conf 1000 >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_for -t 15 -m "listen-back ok" lb_state_is ok ||
    fail "listen-back never reported ok: $(status_json | jq -c .outputs[0].listenback)"
sleep 1 # a few ~100 ms level blocks after the first page
doc=$(status_json)
note "opus, tone: $(jq -c .outputs[0].listenback <<<"$doc")"
problems=$(jq -c -f "$TOPDIR/tests/tools/status_schema.jq" <<<"$doc") ||
    fail "status_schema.jq failed"
[[ $problems == "[]" ]] || fail "schema: $problems"
[[ $(jq -r .outputs[0].listenback.decoded <<<"$doc") == true ]] ||
    fail "the Opus mount was not decoded"
[[ $(jq -r .outputs[0].listenback.ours <<<"$doc") == true ]] || fail "ours false"
# A sine peaking at -20 dBFS has an RMS of -23 dBFS; Opus at 64 kbit/s
# keeps a steady tone within ~1 dB.
assert_between "$(jq -r .outputs[0].listenback.peak_dbfs <<<"$doc")" -22 -18 "peak_dbfs"
assert_between "$(jq -r .outputs[0].listenback.rms_dbfs <<<"$doc")" -25 -21 "rms_dbfs"
assert_between "$(jq -r .outputs[0].listenback.silent_s <<<"$doc")" 0 0.5 "silent_s"
grep -q 'listeners hear our audio (.*RMS -2[0-9]\.[0-9] dBFS)' "$RELAY_LOG" ||
    fail "the ok line does not give the level: $(grep 'hear our audio' "$RELAY_LOG")"
metrics=$(curl -sf --max-time 2 "http://127.0.0.1:$status_port/metrics")
grep -Eq '^relay_listenback_peak_dbfs\{output="main"\} -(19|2[01])' <<<"$metrics" ||
    fail "metrics: $(grep listenback_peak <<<"$metrics")"

# A connection error is kept while it applies, and cleared once our audio
# is heard again.
pause_icecast a
wait_for -t 10 -m "no_audio while frozen" lb_state_is no_audio ||
    { resume_icecast a; fail "frozen icecast not noticed: $(status_json | jq -c .outputs[0].listenback)"; }
resume_icecast a
wait_for -t 20 -m "ok again" lb_state_is ok ||
    fail "listen-back did not recover: $(status_json | jq -c .outputs[0].listenback)"
doc=$(status_json)
note "after the freeze: $(jq -c .outputs[0].listenback <<<"$doc")"
[[ $(jq -r .outputs[0].listenback.connects <<<"$doc") -ge 2 ]] ||
    fail "no reconnect after the freeze"
[[ $(jq -r .outputs[0].listenback.last_error <<<"$doc") == null ]] ||
    fail "last_error kept while ok: $(jq -c .outputs[0].listenback <<<"$doc")"

# Digital silence on the Opus mount: flagged silent.
conf 0 >"$T/relay.conf"
kill -HUP "$RELAY_PID"
wait_for -t 20 -m "listen-back silent" lb_state_is silent ||
    fail "listen-back did not hear the silence: $(status_json | jq -c .outputs[0].listenback)"
doc=$(status_json)
note "opus, silence: $(jq -c .outputs[0].listenback <<<"$doc")"
[[ $(jq -r .outputs[0].listenback.flagged <<<"$doc") == true ]] || fail "silence not flagged"
[[ $(jq -r .on_air <<<"$doc") == false ]] || fail "on_air true while listeners hear silence"
assert_between "$(jq -r .outputs[0].listenback.silent_s <<<"$doc")" 10 60 "silent_s"
assert_between "$(jq -r .outputs[0].listenback.rms_dbfs <<<"$doc")" -120 -60 "rms_dbfs"
grep -q 'warn listen\[main\].*listeners hear silence' "$RELAY_LOG" ||
    fail "no warn line about silence"
relay_alive || fail "relay exited"
stop_relay
check_sanitizer
