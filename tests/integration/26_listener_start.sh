#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 26 listener start: a new listener of an Icecast 2.4.4 mount gets its first
# audio within 1.2 s (all but one of them, for a busy machine), before and
# after a reconnection. Icecast's source thread lets listeners in and sends
# to them only when it has re-paged a page (~0.5 s of audio) or when the
# source socket has been quiet for 250 ms (source.c get_next_buffer()). relay pages Vorbis the way Icecast
# re-pages it (muxer.c DESIGN, "Icecast pages"): one page per Icecast page,
# sent the moment Icecast can pass it on, and the socket quiet in between.
# With 50 ms pages (the first try at cutting the delay) the socket was
# never quiet, a listener waited 1 to 2 s for audio, and none of the 1.5 s
# listeners of 12_reconnect_fast got any (measured: 0 bytes for 12 in a
# row; here every listener got audio within ~0.2-0.8 s).
#
# timeout: 120

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

BOUND=$(scaled 1.2)

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}

# A tone at low quality: small packets, the case where Icecast's pages
# follow its sample count and never its 4 KiB byte rule.
tone_config /start.ogg >"$T/relay.conf"

# N listeners one after the other, each given BOUND s: all but one must
# get audio (body bytes) in that time. (One miss is allowed for a machine
# too busy to run curl or Icecast in time; with 50 ms pages every
# listener missed.)
listeners()
{
	local label=$1 n=$2 i out code size got=0
	for ((i = 1; i <= n; i++)); do
		out=$(curl -sN --max-time "$BOUND" -o "$T/$label-$i.ogg" \
		    -w '%{http_code} %{size_download}' \
		    "http://127.0.0.1:$port/start.ogg") || true
		read -r code size <<<"$out"
		note "$label listener $i: HTTP $code, $size bytes in $BOUND s"
		if [[ $code == 200 && ${size:-0} -gt 0 ]]; then
			got=$((got + 1))
			LAST_OK=$T/$label-$i.ogg
		fi
	done
	((got >= n - 1)) ||
	    fail "$label: only $got of $n listeners got audio within $BOUND s"
}

start_relay "$T/relay.conf"
wait_mount "$port" /start.ogg
listeners steady 6
# What they got is a whole Vorbis stream, from its headers on.
check_vorbis "$LAST_OK" 44100 2 0.2

# A short outage: relay connects again as soon as icecast answers, and the
# listeners of the new stream start as fast.
stop_icecast a KILL
sleep 2
start_icecast a
wait_mount "$port" /start.ogg
listeners again 4

relay_alive || fail "relay exited"
stop_relay TERM 5 || fail "relay did not stop"
check_sanitizer
