#!/usr/bin/env bash
# serial: floods the status server
# SPDX-License-Identifier: MIT
#
# 22 status burst: 2000 requests to /api/status (plus the page and
# /metrics) at 20-way parallelism, half of them on fresh connections, while
# a listener records the stream. Every request gets 200, and the stream
# has no gap: the listener decodes as much audio as wall time passed, and
# relay counts no lost input frame, no dropped output byte and no
# reconnect. The sustained request rate belongs in the benchmark.
#
# timeout: 120

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

status_up ''
ice=${ICE_PORT[a]}

listen_seconds=20
start=$(now)
listen_bg "http://127.0.0.1:$ice/live.ogg" "$listen_seconds" "$T/listen.ogg"
listener=$LISTEN_PID
wait_for -t 5 -m "the listener to get audio" size_at_least "$T/listen.ogg" 4096 ||
    fail "the listener got nothing"

# 20 workers x 100 requests: 90 /api/status, 5 pages, 5 /metrics each.
workers=20
per_worker=100
for ((w = 0; w < workers; w++)); do
	: >"$T/curl.$w"
	for ((i = 0; i < per_worker; i++)); do
		case $((i % 20)) in
		0) path=/ ;;
		10) path=/metrics ;;
		*) path=/api/status ;;
		esac
		printf 'url = "%s%s"\noutput = "/dev/null"\n' "$STATUS_URL" \
		    "$path" >>"$T/curl.$w"
	done
done
burst_start=$(now)
pids=()
for ((w = 0; w < workers; w++)); do
	extra=()
	# Half the workers open a new connection for every request.
	if ((w % 2)); then
		extra=(-H 'Connection: close')
	fi
	curl -s --max-time 60 "${extra[@]}" -w '%{http_code}\n' -K "$T/curl.$w" \
	    >"$T/codes.$w" 2>"$T/curl-err.$w" &
	pids+=($!)
done
for pid in "${pids[@]}"; do
	wait "$pid" || note "a curl worker exited $?"
done
burst=$(elapsed_since "$burst_start")
total=$(cat "$T"/codes.* | wc -l)
ok=$(cat "$T"/codes.* | grep -c '^200$') || true
note "$total requests in $burst s, $ok answered 200"
[[ $total -eq $((workers * per_worker)) ]] || fail "only $total requests ran"
[[ $ok -eq $total ]] || fail "$((total - ok)) requests did not get 200: $(
    cat "$T"/codes.* | sort | uniq -c | tr '\n' ' ')"
relay_alive || fail "relay died during the burst"

listen_wait "$listener" || fail "the listener failed"
wall=$(elapsed_since "$start")
check_vorbis "$T/listen.ogg" 44100 2 5
note "listened $wall s, decoded $VORBIS_SECONDS s"
# Icecast's burst-on-connect adds a little; a gap would take some away.
assert_between "$VORBIS_SECONDS" "$(awk -v w="$wall" 'BEGIN { print w - 1.5 }')" \
    "$(awk -v w="$wall" 'BEGIN { print w + 3 }')" \
    "decoded seconds for $wall s of listening during the burst"

curl -sf "$STATUS_URL/metrics" >"$T/metrics.txt" || fail "/metrics after the burst"
python3 "$STATUS_TOOLS/status_metrics_check.py" "$T/metrics.txt" >"$T/m.json" ||
    fail "/metrics invalid after the burst"
jq -e '.relay_input_overflow_frames_total == 0
    and .["relay_output_dropped_bytes_total{output=\"main\"}"] == 0
    and .["relay_output_reconnects_total{output=\"main\"}"] == 0
    and .relay_on_air == 1' "$T/m.json" >/dev/null ||
    fail "the pipeline lost audio during the burst: $(jq -c . "$T/m.json")"

stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
