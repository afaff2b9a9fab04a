#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 119 skip a waiting play-now: a "play now" request for a feed that has
# not answered yet (within [schedule] start_grace) is withdrawn by POST
# /api/skip when nothing is on air to skip: 200 naming the request, the
# request ends done "never aired: withdrawn ...", and it does not go on
# air when the feed answers. relay used to answer 422 "nothing to skip"
# and put the feed on air once it answered. Eight waiting at once are all
# withdrawn; the answer names each whole as far as its text goes, counts
# the rest ("and 1 more") and lists every id in "withdrawn".
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

control_api_setup
ffmpeg -nostdin -v error -f lavfi -i 'sine=frequency=880:duration=20' \
    -ac 2 -ar 44100 -c:a libvorbis -f ogg -y "$T/feed.ogg" ||
    fail "ffmpeg cannot make the feed"
feed_port=$(free_port) || fail "no free port"
# A feed server that holds every request until $T/go exists, then answers.
cat >"$T/feed.py" <<'PY'
import os, socket, sys, threading, time
port, path, gate = int(sys.argv[1]), sys.argv[2], sys.argv[3]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(8)
open(gate + ".ready", "w").close()
def serve(c):
    try:
        c.recv(4096)
        print("held", flush=True)
        while not os.path.exists(gate):
            time.sleep(0.05)
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/ogg\r\n\r\n")
        with open(path, "rb") as f:
            c.sendall(f.read())
        time.sleep(30)
    except OSError:
        pass
    finally:
        c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
bg python3 "$T/feed.py" "$feed_port" "$T/feed.ogg" "$T/go"
feed_pid=$BG_PID
wait_for -t 10 -m "the feed server" test -e "$T/go.ready" ||
    fail "the feed server did not start"
cat >"$T/relay.conf" <<CONF
[input]
type = tone
frequency = 0
rate = 44100
channels = 2
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
code=$(control_post --data "{\"source\":\"stream\",\"url\":\"http://127.0.0.1:$feed_port/feed.ogg\",\"duration\":\"10s\",\"name\":\"partner\"}" \
    "$URL/api/segments")
[[ $code == 202 ]] || fail "POST /api/segments: $code $(cat "$T/body")"
id=$(jq -r .id "$T/body")
sleep 1
status_has "(.now.segment // \"\") == \"\" and (.requests[] | select(.id == $id) | .state == \"pending\")" ||
    fail "the request is not pending with live on air: $(status_now | jq -c '{state, requests}')"

code=$(control_post "$URL/api/skip")
[[ $code == 200 ]] || fail "POST /api/skip with a play-now waiting: $code $(cat "$T/body")"
jq -e --arg r "request $id (partner)" '.result | contains("withdrawn before it aired") and contains($r)' \
    "$T/body" >/dev/null || fail "the skip's answer does not say what was withdrawn: $(cat "$T/body")"
wait_for -t 5 -m "the request over" status_has \
    "(.requests[] | select(.id == $id) | .state == \"done\" and (.reason | startswith(\"never aired: withdrawn through the control API\")))" ||
    fail "request $id: $(status_now | jq -c ".requests[] | select(.id == $id)")"
log_has 'segment partner withdrawn before it started: withdrawn through the control API' ||
    fail "no log line for the withdrawn request"
note "skip withdrew the waiting request: $(jq -r .result "$T/body")"

# The feed answers now: nothing goes on air.
touch "$T/go"
sleep 3
! log_has 'segment partner on air' || fail "the withdrawn request went on air"
status_has '(.now.segment // "") == ""' || fail "not live: $(status_now | jq -c .now)"
# With nothing waiting, a skip is 422 as before.
code=$(control_post "$URL/api/skip")
[[ $code == 422 ]] || fail "a skip with nothing to skip: $code $(cat "$T/body")"
jq -e '.error | startswith("nothing to skip")' "$T/body" >/dev/null ||
    fail "422 body: $(cat "$T/body")"

# Eight waiting at once (the engine's most), each named with 127 bytes:
# the answer names seven whole and counts the eighth ("and 1 more"), and
# "withdrawn" lists all eight ids. It used to stop at ~400 bytes in the
# middle of the fourth name, with nothing to say the rest were left out.
rm -f "$T/go"
# Their `at` leaves time to post all eight on a loaded machine; the skip
# comes just after it, well inside the 5 s a feed may stay silent.
at_s=$(($(date +%s) + 4))
at=$(date -u -d "@$at_s" '+%Y-%m-%dT%H:%M:%SZ')
# One process posts all eight: eight curl and jq runs took 4.7 s under
# load (make check beside helpers' suites), and the first feed's 5 s of
# silence ran out before the skip.
python3 - "$URL/api/segments" "$TOKEN" "$feed_port" "$at" >"$T/ids" 2>"$T/ids.err" <<'PY' ||
import json, sys, urllib.error, urllib.request
url, token, port, at = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
for i in range(1, 9):
    name = "w%d_%s" % (i, "0" * 124)
    body = {"source": "stream", "url": "http://127.0.0.1:%s/w%d.ogg" % (port, i),
            "at": at, "duration": "10s", "name": name}
    req = urllib.request.Request(url, method="POST", data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            code, answer = r.status, json.load(r)
    except urllib.error.HTTPError as e:
        code, answer = e.code, e.read().decode(errors="replace")
    if code != 202:
        sys.exit("POST /api/segments (%d): %d %s" % (i, code, answer))
    print(answer["id"])
PY
    fail "posting the eight: $(tail -n 3 "$T/ids.err")"
mapfile -t ids <"$T/ids"
((${#ids[@]} == 8)) || fail "eight ids expected: ${ids[*]}"
wait_for -t 10 -m "the eight requests due" status_has \
    "[.requests[] | select(.id >= ${ids[0]} and .state == \"pending\")] | length == 8" ||
    fail "not eight pending: $(status_now | jq -c '[.requests[] | {id, state}]')"
while (($(date +%s) <= at_s)); do sleep 0.2; done
code=$(control_post "$URL/api/skip")
[[ $code == 200 ]] || fail "POST /api/skip with eight waiting: $code $(cat "$T/body")"
for i in 1 2 3 4 5 6 7; do
	name=$(printf 'w%d_%0124d' "$i" 0)
	jq -e --arg r "request ${ids[i - 1]} ($name)" '.result | contains($r)' \
	    "$T/body" >/dev/null ||
	    fail "request ${ids[i - 1]} is not named whole: $(jq -r .result "$T/body")"
done
jq -e '.result | endswith(") and 1 more")' "$T/body" >/dev/null ||
    fail "the eighth is not counted: $(jq -r .result "$T/body")"
want=$(printf '%s\n' "${ids[@]}" | jq -sc .)
[[ $(jq -c .withdrawn "$T/body") == "$want" ]] ||
    fail "withdrawn: $(jq -c .withdrawn "$T/body"), expected $want"
touch "$T/go"
stop_relay
[[ $RELAY_RC == 0 ]] || fail "relay exited $RELAY_RC"
kill "$feed_pid" 2>/dev/null || true
