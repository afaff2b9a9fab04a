#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/tools/status_wrk.sh: the status server under load, measured, for
# docs/performance.md. Not a test: it asserts nothing. Run from the top of
# the tree after make:
#   bash tests/tools/status_wrk.sh [WRK_ARGS...]
# relay streams (tone input, the two encodings of the status tests) to a
# private icecast2 while one listener records /live.ogg and wrk (default
# -c 64 -t 2 -d 10s --latency) fetches /api/status. Prints wrk's report,
# then how much audio the listener decoded against the wall time it
# listened, and relay's own loss counters (lost input frames, dropped
# output bytes, reconnects): a gap in the stream shows in either.
# Set STATUS_WRK_PATH for another path (/metrics, /healthz ...), and
# STATUS_WRK_PERF=FILE to record relay with perf meanwhile (perf report -i
# FILE).
#
# Threads: none.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/status_lib.sh"

command -v wrk >/dev/null || fail "wrk is missing (apt-get install wrk)"
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=(-c 64 -t 2 -d 10s --latency)
path=${STATUS_WRK_PATH:-/api/status}

status_up ''
ice=${ICE_PORT[a]}
start=$(now)
listen_bg "http://127.0.0.1:$ice/live.ogg" 40 "$T/listen.ogg"
listener=$LISTEN_PID
wait_for -t 5 -m "the listener to get audio" size_at_least "$T/listen.ogg" 4096 ||
    fail "the listener got nothing"
perf_pid=
if [[ -n ${STATUS_WRK_PERF:-} ]]; then
	perf record -q -F 499 -g -p "$RELAY_PID" -o "$STATUS_WRK_PERF" &
	perf_pid=$!
fi
wrk "${args[@]}" "$STATUS_URL$path"
if [[ -n $perf_pid ]]; then
	kill -INT "$perf_pid"
	wait "$perf_pid" || true
fi
# Let the listener hear a few seconds after the load, then stop it.
sleep 2
kill "$listener" 2>/dev/null || true
wait "$listener" 2>/dev/null || true
wall=$(elapsed_since "$start")
decoded=$(decoded_seconds "$T/listen.ogg")
printf 'listener: %s s decoded in %s s of wall time (burst-on-connect adds ~0.5 s; a gap takes away)\n' \
    "$decoded" "$wall"
curl -sf "$STATUS_URL/metrics" | grep -E \
    '^relay_(input_overflow_frames_total|output_dropped_bytes_total|output_reconnects_total)' || true
stop_relay TERM 5 || true
