#!/usr/bin/env bash
# serial: starts Chromium
# SPDX-License-Identifier: MIT
#
# 65 edges: relay streams to one primary Icecast; two edge Icecast servers
# relay it (docs/scale-out.md): edge 1 with its own <relay> for /live.ogg,
# edge 2 with <master-server> (every mount of the primary). relay's
# [status] listen_urls names both edges.
# - a listener on each edge decodes Vorbis audio (ogginfo + ffmpeg);
# - /api/status counts the audience: one listener on each edge and one on
#   the primary (which also counts the two edges' relay connections) make
#   listeners = 3, edges[].listeners = 1, outputs[0].edge_listeners = 2;
# - the Listen Live page offers both edges and its CSP allows them; in
#   headless Chromium it plays one, and the other after a media error;
# - edge 1 is stopped while relay streams: /api/status shows it
#   unreachable; started again on the same port it pulls the mount by
#   itself, and a listener reconnecting to it decodes audio again.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast primary
# A burst of several seconds (docs/scale-out.md) lets the browser start at once.
ICE_BURST_SIZE=65536 start_icecast e1 --relay primary /live.ogg
ICE_BURST_SIZE=65536 start_icecast e2 --master primary
p=${ICE_PORT[primary]}
e1=${ICE_PORT[e1]}
e2=${ICE_PORT[e2]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[primary]}
status_port=$(free_port) || fail "no free port"

cat >"$T/relay.conf" <<CONF
[input]
type = tone
frequency = 440

[encoding main]
quality = 2

[output main]
host = 127.0.0.1
port = $p
mount = /live.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD

[status]
listen = 127.0.0.1:$status_port
poll_icecast = 1s
listen_urls = http://127.0.0.1:$e1/live.ogg, http://127.0.0.1:$e2/live.ogg
CONF
status_json() { curl -sf --max-time 3 "http://127.0.0.1:$status_port/api/status"; }

start_relay "$T/relay.conf"
wait_mount "$p" /live.ogg
wait_mount "$e1" /live.ogg 20
wait_mount "$e2" /live.ogg 20
note "both edges relay /live.ogg"

listen_bg "http://127.0.0.1:$e1/live.ogg" 5 "$T/e1.ogg"
l1=$LISTEN_PID
listen_bg "http://127.0.0.1:$e2/live.ogg" 5 "$T/e2.ogg"
l2=$LISTEN_PID
listen_bg "http://127.0.0.1:$p/live.ogg" 5 "$T/primary.ogg"
l0=$LISTEN_PID
counted()
{
	status_json | jq -e '.listeners == 3
	    and .outputs[0].listeners == 3 and .outputs[0].edge_listeners == 2
	    and ([.edges[] | .reachable and .mount_listed and .listeners == 1]
	         == [true, true])' >/dev/null
}
wait_for -t 6 -m "/api/status to count 3 listeners (1 per edge, 1 on the primary)" \
    counted || fail "listeners not added up: $(status_json | jq -c '{listeners, outputs: [.outputs[] | {listeners, edge_listeners}], edges}')"
status_json >"$T/status.json"
problems=$(jq -c -f "$TOPDIR/tests/tools/status_schema.jq" <"$T/status.json")
[[ $problems == "[]" ]] || fail "schema: $problems"
jq -e --arg a "http://127.0.0.1:$e1/live.ogg" --arg b "http://127.0.0.1:$e2/live.ogg" \
    '[.edges[].url] == [$a, $b] and [.edges[].mount] == ["/live.ogg", "/live.ogg"]' \
    "$T/status.json" >/dev/null || fail "edges: $(jq -c .edges "$T/status.json")"
note "/api/status: $(jq -c '{listeners, edges: [.edges[] | .listeners]}' "$T/status.json")"

# The page offers both edges and may play them.
curl -s -D "$T/page.h" -o "$T/page.html" "http://127.0.0.1:$status_port/"
grep -q "data-edges=\"http://127.0.0.1:$e1/live.ogg http://127.0.0.1:$e2/live.ogg\"" \
    "$T/page.html" || fail "the page does not list the edges: $(grep -o 'data-edges="[^"]*"' "$T/page.html")"
grep -q "href=\"http://127.0.0.1:$e2/live.ogg\">server 2</a>" "$T/page.html" ||
    fail "the page does not link edge 2"
grep -qi "^Content-Security-Policy:.*media-src http://127.0.0.1:$p http://127.0.0.1:$e1 http://127.0.0.1:$e2[ ;]" \
    "$T/page.h" || fail "CSP: $(grep -i content-security "$T/page.h")"

for pid in "$l1" "$l2" "$l0"; do
	listen_wait "$pid" || fail "a listener failed"
done
check_vorbis "$T/e1.ogg" 44100 2 3
check_vorbis "$T/e2.ogg" 44100 2 3

# --- the page in a browser: it plays an edge, and the next after a failure -
# Headless Chromium presses play: the page plays one of the edges (picked
# at random). A media error (dispatched, as the audio element would) makes
# it reconnect to the other edge.
if [[ -x /usr/bin/chromium ]]; then
	audio="document.getElementById('audio')"
	port_of="new URL($audio.currentSrc).port"
	playing="document.body.dataset.player === 'playing' && $audio.currentTime > 0.5"
	python3 "$TOPDIR/tests/tools/status_cdp.py" \
	    open "http://127.0.0.1:$status_port/" \
	    click '#play' \
	    wait "$playing" 25 \
	    eval "'port:' + $port_of" \
	    eval "window.firstPort = $port_of" \
	    eval "$audio.dispatchEvent(new Event('error'))" \
	    wait "$port_of !== window.firstPort && $playing" 15 \
	    eval "'moved:' + $port_of" \
	    >"$T/cdp.out" 2>&1 || fail "browser session: $(cat "$T/cdp.out")"
	first=$(sed -n 's/.*"port:\([0-9]*\)".*/\1/p' "$T/cdp.out")
	moved=$(sed -n 's/.*"moved:\([0-9]*\)".*/\1/p' "$T/cdp.out")
	[[ ($first == "$e1" && $moved == "$e2") || ($first == "$e2" && $moved == "$e1") ]] ||
	    fail "the page played port '$first', then '$moved': not edge to edge ($e1, $e2)"
	note "the page played the edge on port $first, then the one on $moved"
else
	note "chromium is not installed: the page is not played in a browser"
fi

# --- edge 1 restarts mid-stream --------------------------------------------
stop_icecast e1
unreachable() { status_json | jq -e '.edges[0].reachable == false and .edges[0].listeners == null' >/dev/null; }
wait_for -t 5 -m "/api/status to show edge 1 unreachable" unreachable ||
    fail "edge 1 still shown reachable: $(status_json | jq -c .edges)"
ICE_BURST_SIZE=65536 start_icecast e1
wait_mount "$e1" /live.ogg 20
note "edge 1 relays /live.ogg again"
listen_bg "http://127.0.0.1:$e1/live.ogg" 4 "$T/e1-again.ogg"
l1=$LISTEN_PID
back() { status_json | jq -e '.edges[0].reachable and .edges[0].listeners == 1' >/dev/null; }
wait_for -t 4 -m "/api/status to count the listener on edge 1 again" back ||
    fail "edge 1 not counted again: $(status_json | jq -c .edges)"
listen_wait "$l1" || fail "the listener on the restarted edge failed"
check_vorbis "$T/e1-again.ogg" 44100 2 2
relay_alive || fail "relay exited"
jq -e '.outputs[0].reconnects == 0' <<<"$(status_json)" >/dev/null ||
    fail "relay's output reconnected while an edge restarted"
stop_relay TERM 5 || fail "relay did not stop"
check_sanitizer
