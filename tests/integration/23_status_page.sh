#!/usr/bin/env bash
# serial: starts Chromium
# SPDX-License-Identifier: MIT
#
# 23 status page: the Listen Live page in real headless Chromium, driven
# through the DevTools protocol (tests/tools/status_cdp.py). After its
# JavaScript ran and the event stream delivered a state, the page shows ON
# AIR and the station name; the player plays the stream (currentTime
# advances). When icecast is stopped the same page turns OFF AIR without a
# reload and the player starts reconnecting; when icecast is back the page
# says ON AIR again and the player is playing again by itself. With every
# event-stream slot taken, a new page falls back to polling. /embed works
# too, and relay still stops within 2 s with 32 event streams open.
# Screenshots (412x900, light and dark) go to tests/artifacts/.
#
# timeout: 150

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

[[ -x /usr/bin/chromium ]] || skip "chromium is not installed"
art=$TOPDIR/tests/artifacts
mkdir -p "$art"
cdp=(python3 "$STATUS_TOOLS/status_cdp.py")

status_up ''
name_js=$(jq -Rn --arg s "$STATION_NAME" '$s')
text() { printf "document.getElementById('%s').textContent" "$1"; }
body_is() { printf "document.body.dataset.%s === '%s'" "$1" "$2"; }
audio="document.getElementById('audio')"

# One browser session for the whole on -> off -> on story; it prints a
# line per step, which this script follows.
"${cdp[@]}" --size 412,900 \
    open "$STATUS_URL/" \
    wait "$(body_is feed events)" 10 \
    wait "$(text badge-text) === 'ON AIR' && $(text station-name) === $name_js" \
    wait "!document.getElementById('controls').hidden && $audio.hidden" \
    eval "document.title" \
    shot "$art/status_page_on_air.png" \
    click '#play' \
    wait "$(body_is player playing)" 20 \
    wait "$audio.currentTime > 1" 10 \
    eval "'phase:playing'" \
    wait "$(text badge-text) === 'OFF AIR' && !document.getElementById('off-note').hidden" 30 \
    wait "Number(document.body.dataset.reconnects) >= 1" 30 \
    shot "$art/status_page_off_air.png" \
    eval "'phase:off'" \
    wait "$(text badge-text) === 'ON AIR'" 40 \
    wait "$(body_is player playing)" 40 \
    eval "[$audio.currentTime, document.body.dataset.reconnects]" \
    sleep 1.5 \
    wait "$audio.currentTime > 0.5" 10 \
    eval "$(text player-state)" \
    shot "$art/status_page_recovered.png" \
    >"$T/cdp.out" 2>&1 &
session=$!
BG_PIDS+=("$session")

wait_for -t 45 -m "the page to play" grep -q 'phase:playing' "$T/cdp.out" ||
    fail "the page never played: $(cat "$T/cdp.out")"
note "page on air and playing; stopping icecast"
stop_icecast a
wait_for -t 70 -m "the page to go off air" grep -q 'phase:off' "$T/cdp.out" ||
    fail "the page never showed OFF AIR: $(cat "$T/cdp.out")"
note "page off air, player reconnecting; icecast back"
start_icecast a
rc=0
wait "$session" || rc=$?
cat "$T/cdp.out" >&2
[[ $rc -eq 0 ]] || fail "browser session failed (exit $rc): $(grep FAIL "$T/cdp.out")"

# Dark mode, and /embed. This icecast sends no CORS headers: the
# operator notes say Safari and iPhones cannot play the stream.
"${cdp[@]}" --size 412,900 --dark open "$STATUS_URL/" \
    wait "$(body_is feed events) && $(text badge-text) === 'ON AIR'" \
    wait "!document.getElementById('ops-cors').hidden && !document.getElementById('ops').hidden && $(text ops-cors-text).indexOf('sends no Access-Control-Allow-Origin with http://127.0.0.1:${ICE_PORT[a]}/live.ogg') >= 0" \
    shot "$art/status_page_dark.png" >"$T/cdp-dark.out" 2>&1 ||
    fail "dark page: $(cat "$T/cdp-dark.out")"
"${cdp[@]}" --size 480,120 open "$STATUS_URL/embed" \
    wait "$(body_is feed events) && $(text badge-text) === 'ON AIR'" \
    wait "$(text station-name) === $name_js" \
    shot "$art/status_embed.png" >"$T/cdp-embed.out" 2>&1 ||
    fail "/embed: $(cat "$T/cdp-embed.out")"

# Holds one event stream for up to 60 s, retrying while every slot is
# taken: a stream of the browser sessions above may still be closing (relay
# frees its slot the moment its socket closes).
hold_stream()
{
	local end=$((SECONDS + 20)) rc
	while ((SECONDS < end)); do
		rc=0
		curl -sfN --max-time 60 -o /dev/null "$STATUS_URL/api/events" ||
		    rc=$?
		((rc == 22)) || return 0
		sleep 0.2
	done
}

# Every event-stream slot taken: a new page polls instead. Two holders
# more than the 32 slots, so that a slot that frees up is taken again by a
# holder before the probe below can take it.
for ((i = 0; i < 34; i++)); do
	bg hold_stream
done
# relay counts its open streams in /metrics; once all 32 are held, a
# probe must be refused (a probe sent earlier could take a slot itself).
wait_for -t 20 -m "32 event streams open" event_streams_are 32 ||
    fail "the event-stream slots never filled"
code_is /api/events 503 || fail "a 33rd event stream is not refused"
"${cdp[@]}" open "$STATUS_URL/" \
    wait "$(body_is feed poll) && $(text badge-text) === 'ON AIR'" 15 \
    >"$T/cdp-poll.out" 2>&1 || fail "polling fallback: $(cat "$T/cdp-poll.out")"
[[ $(http_code "$STATUS_URL/api/status") == 200 ]] ||
    fail "/api/status while the event slots are full"
note "polling fallback OK; screenshots in tests/artifacts/"

relay_alive || fail "relay died"
# 32 open event streams do not hold up a clean stop.
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
assert_between "$RELAY_STOP_SECONDS" 0 "$(scaled 2)" \
    "seconds to stop with 32 event streams open"
