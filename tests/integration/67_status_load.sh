#!/usr/bin/env bash
# serial: floods the status server with wrk
# SPDX-License-Identifier: MIT
#
# 67 status load: 64 keep-alive clients (wrk, plus 8
# Python clients that parse every answer) poll /api/status as fast as they
# can for a few seconds while a listener records the stream. Every answer
# is 200 with a JSON document (none refused for want of a slot: before
# the public answers could wait for a slot, wrk saw a few hundred 503s),
# every client keeps its one connection, /healthz still answers at once, a
# control call shows in the very next /api/status (the document cache
# never hides it), and the stream has no gap: the listener decodes as
# much audio as wall time passed, and relay counts no lost input frame,
# no dropped output byte and no reconnect. Speed belongs in the benchmark
# (tests/tools/status_wrk.sh, docs/performance.md), never here.
#
# timeout: 120

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

status_up ''
clients=64
hammer_s=6

status_listen $((hammer_s + 10))

# wrk brings the load (64 connections, as fast as it goes: Python alone
# cannot keep 64 connection threads busy) and counts any answer but 2xx;
# 8 Python clients parse every answer whole and watch their connection.
command -v wrk >/dev/null || fail "wrk is missing (tests/deps.sh installs it)"
py_clients=8
wrk -c "$clients" -t 2 -d "${hammer_s}s" "$STATUS_URL/api/status" \
    >"$T/wrk.txt" 2>&1 &
wrk_pid=$!
python3 "$STATUS_TOOLS/status_hammer.py" 127.0.0.1 "$STATUS_PORT" \
    /api/status "$py_clients" "$hammer_s" >"$T/hammer.json" &
hammer=$!
want=$((py_clients + clients))
wait_for -t 5 -m "the clients to connect" \
    bash -c "[[ \$(curl -sf --max-time 2 '$STATUS_URL/metrics' |
        awk '\$1 == \"relay_http_connections\" { print \$2 }') -ge $want ]]" ||
    fail "the $want clients never connected"

# The health check gets through the storm.
t0=$(now)
[[ $(http_code "$STATUS_URL/healthz" --max-time 5) == 200 ]] ||
    fail "/healthz did not answer 200 under load"
note "/healthz under load: $(elapsed_since "$t0") s"

# A control call's effect is in the next document, cache or no cache: one
# curl posts, then at once reads /api/status on the same connection
# (within a millisecond; the cached document is up to 0.1 s old).
at=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
codes=$(curl -s --max-time 10 -o "$T/post.json" -w '%{http_code} ' \
    -H "Authorization: Bearer $STATUS_TOKEN" -H 'Content-Type: application/json' \
    --data "{\"source\":\"tone\",\"duration\":\"2s\",\"at\":\"$at\",\"title\":\"Later\"}" \
    "$STATUS_URL/api/segments" \
    --next -s --max-time 10 -o "$T/after-post.json" -w '%{http_code}' \
    "$STATUS_URL/api/status") || true
[[ $codes == "202 200" ]] ||
    fail "POST /api/segments then GET /api/status under load: $codes $(cat "$T/post.json")"
req_id=$(jq -r .id "$T/post.json")
jq -e --argjson id "$req_id" \
    'any(.requests[]; .id == $id and .state == "pending")' \
    "$T/after-post.json" >/dev/null ||
    fail "/api/status right after the POST does not list request $req_id: $(
    jq -c .requests "$T/after-post.json")"

wait "$hammer" || fail "the clients failed (exit $?)"
jq -c . "$T/hammer.json" >&2
jq -e --argjson n "$py_clients" '.requests > $n and .ok == .requests
    and .bad == [] and .connections == $n' "$T/hammer.json" >/dev/null ||
    fail "not every request got 200 and JSON on its own keep-alive connection: $(
    cat "$T/hammer.json")"
wait "$wrk_pid" || fail "wrk failed: $(cat "$T/wrk.txt")"
note "wrk: $(grep -E '^Requests/sec|Non-2xx|Socket errors' "$T/wrk.txt" |
    tr '\n' ' ')"
grep -q '^Requests/sec: *[1-9]' "$T/wrk.txt" ||
    fail "wrk got no answers: $(cat "$T/wrk.txt")"
# wrk reports answers other than 2xx/3xx and socket errors (a
# connection reset or closed under it) only when there were some.
! grep -E 'Non-2xx|Socket errors' "$T/wrk.txt" ||
    fail "wrk's $clients connections did not all get 200 (see above)"
relay_alive || fail "relay died under load"

status_stream_intact "under load"

stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
check_sanitizer
