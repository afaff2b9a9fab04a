#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 61 lazy libraries: a station that streams a tone to Icecast with the
# status server on and the poller off never maps libcurl, libsndfile,
# alsa-lib, libsystemd or libsoxr and its libgomp (docs/performance.md,
# Memory, and "The resampler": linked, libsoxr was ~0.4 MB in every
# relay). The poller maps libcurl when it starts, and /api/status then
# counts the listener on air; a file input maps libsndfile when it opens;
# listen-back maps libcurl; a 48 kHz programme sent at 44.1 kHz maps
# libsoxr. Asserts which libraries are mapped, never memory figures.
#
# timeout: 120

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
sport=$(free_port) || fail "no free port for the status server"

# $1: [input] lines, $2: extra [output main] lines, $3: poll_icecast.
write_config()
{
	cat >"$T/relay.conf" <<EOF2
[input]
$1

[encoding main]
rate = 44100
channels = 2
quality = 4

[output main]
host = 127.0.0.1
port = $port
mount = /lazy.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD
$2

[status]
listen = 127.0.0.1:$sport
poll_icecast = ${3:-off}
EOF2
}

# Is a library whose file name starts with $1 mapped into relay?
mapped() { grep -q "/$1[.-]" "/proc/$RELAY_PID/maps"; }

status_now() { curl -sf --max-time 2 "http://127.0.0.1:$sport/api/status"; }
counted() { status_now | jq -e '.outputs[0].listeners >= 1 and .on_air' \
    >/dev/null; }

# --- a tone, the poller off ------------------------------------------------
write_config "type = tone
frequency = 440" ""
start_relay "$T/relay.conf"
wait_mount "$port" /lazy.ogg
for lib in libcurl libsndfile libasound libsystemd libFLAC libssh2 libsoxr libgomp; do
	if mapped "$lib"; then
		fail "$lib is mapped although nothing needs it"
	fi
done
mapped libshout || fail "libshout not mapped: is /proc/PID/maps readable?"
relay_alive || fail "relay exited"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"

# --- the poller on: libcurl loaded, and it counts the listener -------------
write_config "type = tone
frequency = 440" "" 1s
start_relay "$T/relay.conf"
wait_mount "$port" /lazy.ogg
listen_bg "http://127.0.0.1:$port/lazy.ogg" 20 "$T/listener.ogg"
wait_for -t 15 -m "the poller to count the listener" counted ||
    fail "/api/status never counted the listener on air: $(status_now)"
mapped libcurl || fail "libcurl not mapped although the poller runs"
for lib in libsndfile libasound libsystemd; do
	if mapped "$lib"; then
		fail "$lib is mapped although nothing needs it"
	fi
done
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"

# --- a file input: libsndfile loaded when it opens -------------------------
sox -n -r 44100 -c 2 -b 16 "$T/in.wav" synth 3 sine 660 gain -6
write_config "type = file
path = $T/in.wav
loop = yes" ""
start_relay "$T/relay.conf"
wait_mount "$port" /lazy.ogg
wait_for -t 10 -m "libsndfile mapped" mapped libsndfile ||
    fail "libsndfile never mapped with a file input"
mapped libcurl && fail "libcurl mapped with a file input and the poller off"
stop_relay TERM 5 || fail "relay did not stop"

# --- listen-back: libcurl loaded when it starts ----------------------------
write_config "type = tone
frequency = 440" "listenback = yes"
start_relay "$T/relay.conf"
wait_mount "$port" /lazy.ogg
wait_for -t 10 -m "libcurl mapped" mapped libcurl ||
    fail "libcurl never mapped with listen-back on"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"

# --- resampling: libsoxr loaded with the encoder that needs it -------------
write_config "type = tone
frequency = 440
rate = 48000" ""
start_relay "$T/relay.conf"
wait_mount "$port" /lazy.ogg
mapped libsoxr || fail "libsoxr not mapped although the encoding resamples"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
