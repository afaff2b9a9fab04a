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

status_listen 20

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

status_stream_intact "during the burst"

stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
