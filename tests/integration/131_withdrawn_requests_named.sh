#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 131 requests a skip withdrew before they aired are named as such (found
# by a new user: two "play now" feeds withdrawn by one POST /api/skip
# before they had audio).
# - The operator page's day's programme tagged each "PLAYED", next to its
#   reason "never aired: withdrawn through the control API ...". A request
#   that ends done with a "never aired" reason is tagged "not aired" (class
#   tl-withdrawn); the page's script draws the timeline, so the page is
#   read through chromium (status_cdp.py).
# - The log said "segment partner withdrawn before it started: ..." once
#   for the two: the lines were the same, and the log folds repeats. Each
#   now ends with its request, "(request N)".
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

[[ -x /usr/bin/chromium ]] || skip "chromium is not installed"
control_api_setup
feed_port=$(free_port) || fail "no free port"
# A feed server that takes every request and never answers.
cat >"$T/feed.py" <<'PY'
import socket, sys, threading, time
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(8)
open(sys.argv[2], "w").close()
held = []
while True:
    c, _ = srv.accept()
    held.append(c)
PY
bg python3 "$T/feed.py" "$feed_port" "$T/feed.ready"
wait_for -t 10 -m "the feed server" test -e "$T/feed.ready" ||
    fail "the feed server did not start"
cat >"$T/relay.conf" <<CONF
[input]
type = tone
frequency = 440
[output archive]
type = file
path = $T/archive.ogg
[status]
listen = 127.0.0.1:$status_port
token_env = RELAY_TEST_CONTROL_TOKEN
feed_hosts = 127.0.0.1
[schedule]
start_grace = 30s
CONF

start_relay "$T/relay.conf"
wait_for -t 10 -m "input flowing at $URL" status_has '.input.flowing' ||
    fail "relay never read its input: $(status_now)"
declare -a ids
for n in 1 2; do
	code=$(control_post --data "{\"source\":\"stream\",\"url\":\"http://127.0.0.1:$feed_port/feed$n.ogg\",\"duration\":\"20s\",\"name\":\"partner\",\"title\":\"Partner feed $n\"}" \
	    "$URL/api/segments")
	[[ $code == 202 ]] || fail "POST /api/segments: $code $(cat "$T/body")"
	ids[n]=$(jq -r .id "$T/body")
done
sleep 1
log_mark
code=$(control_post "$URL/api/skip")
[[ $code == 200 ]] || fail "POST /api/skip: $code $(cat "$T/body")"
jq -e --argjson a "${ids[1]}" --argjson b "${ids[2]}" '.withdrawn | sort == ([$a, $b] | sort)' \
    "$T/body" >/dev/null || fail "the skip did not withdraw both requests: $(cat "$T/body")"
for id in "${ids[@]}"; do
	wait_for -t 5 -m "request $id withdrawn" status_has \
	    "(.requests[] | select(.id == $id) | .state == \"done\" and (.reason | startswith(\"never aired\")))" ||
	    fail "request $id: $(status_now | jq -c ".requests[] | select(.id == $id)")"
done

# The rows of the requests, once the script has drawn the day's programme.
for id in "${ids[@]}"; do
	row="Array.from(document.querySelectorAll('#timeline li')).filter(function (li) {
	    return li.textContent.indexOf('partner (request $id)') >= 0; })[0]"
	python3 "$TOPDIR/tests/tools/status_cdp.py" open "$URL/operator" \
	    wait "!!$row" 10 \
	    wait "$row.dataset.kind === 'withdrawn' && $row.querySelector('.tag').textContent === 'not aired'" 3 \
	    >"$T/cdp.out" 2>&1 ||
	    fail "request $id (never aired) is not tagged 'not aired' on /operator: $(cat "$T/cdp.out")"
done
for id in "${ids[@]}"; do
	wait_for -t 5 -m "the log line of request $id" log_since \
	    "segment partner withdrawn before it started: withdrawn through the control API .*\\(request $id\\)$" ||
	    fail "no log line naming request $id: $(relay_lines "$LOG_MARK")"
done
rm -f "$T/cdp.out" "$T/body" "$T/feed.py" "$T/feed.ready" "$T/archive.ogg"
