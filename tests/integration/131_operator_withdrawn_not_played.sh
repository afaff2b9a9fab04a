#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 131 the operator page does not call a withdrawn request "played" (found
# by a new user: a "play now" feed withdrawn by POST /api/skip before it
# had audio showed in the day's programme as "PLAYED ... never aired:
# withdrawn through the control API ..."). A request that ends done with a
# "never aired" reason is tagged "not aired" (class tl-withdrawn); the
# page's script draws the timeline, so the page is read through chromium
# (status_cdp.py).
#
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

call()
{
	curl -s -X POST "${auth[@]}" "${json[@]}" -o "$T/body" \
	    -w '%{http_code}' --max-time 10 "$@" || true
}

start_relay "$T/relay.conf"
wait_for -t 10 -m "input flowing at $URL" status_has '.input.flowing' ||
    fail "relay never read its input: $(status_now)"
code=$(call --data "{\"source\":\"stream\",\"url\":\"http://127.0.0.1:$feed_port/feed.ogg\",\"duration\":\"20s\",\"name\":\"partner\",\"title\":\"Partner feed\"}" \
    "$URL/api/segments")
[[ $code == 202 ]] || fail "POST /api/segments: $code $(cat "$T/body")"
id=$(jq -r .id "$T/body")
sleep 1
code=$(call "$URL/api/skip")
[[ $code == 200 ]] || fail "POST /api/skip: $code $(cat "$T/body")"
wait_for -t 5 -m "the request withdrawn" status_has \
    "(.requests[] | select(.id == $id) | .state == \"done\" and (.reason | startswith(\"never aired\")))" ||
    fail "request $id: $(status_now | jq -c ".requests[] | select(.id == $id)")"

# The row of the request, once the script has drawn the day's programme.
row="Array.from(document.querySelectorAll('#timeline li')).filter(function (li) {
    return li.textContent.indexOf('partner (request $id)') >= 0; })[0]"
python3 "$TOPDIR/tests/tools/status_cdp.py" open "$URL/operator" \
    wait "!!$row" 10 \
    wait "$row.dataset.kind === 'withdrawn' && $row.querySelector('.tag').textContent === 'not aired'" 3 \
    >"$T/cdp.out" 2>&1 ||
    fail "request $id (never aired) is not tagged 'not aired' on /operator: $(cat "$T/cdp.out")"
rm -f "$T/cdp.out" "$T/body" "$T/feed.py" "$T/feed.ready" "$T/archive.ogg"
