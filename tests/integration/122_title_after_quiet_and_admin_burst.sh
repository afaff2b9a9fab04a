#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 122 titles on an Ogg mount (metadata = chain) and an MP3 mount (metadata
# = admin: each title on air is an /admin/metadata request to Icecast,
# which holds up that output's thread while it runs):
# - one title after a quiet period goes on air at once, not held for the
#   2 s that coalesce a burst: /api/history stamps it on air within 1 s of
#   the call, a listener of the Ogg mount hears a chain of it, and both
#   mounts show it in Icecast;
# - a burst of 20 titles in 1 s then reaches Icecast's admin interface a
#   few times (one per 2 s at most), not once per title as it used to,
#   and the last title is the one both mounts and /api/status show.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
control_api_setup
cat >"$T/relay.conf" <<CONF
[input]
type = tone
frequency = 500
level_dbfs = -20
title = Studio
[encoding main]
quality = 2
[encoding speaker]
codec = mp3
bitrate = 64
[output live]
port = $port
mount = /live.ogg
password = ${ICE_PASSWORD[a]}
encoding = main
metadata = chain
[output mp3]
port = $port
mount = /speaker.mp3
password = ${ICE_PASSWORD[a]}
encoding = speaker
[status]
listen = 127.0.0.1:$status_port
token_env = RELAY_TEST_CONTROL_TOKEN
CONF

# post FIRST LAST SPACING_S: titles tFIRST..tLAST, one after the other,
# SPACING_S apart; prints the wall time (s) just before the first call.
post()
{
	python3 - "$URL/api/metadata" "$TOKEN" "$@" <<'PY'
import sys, time, urllib.request, urllib.error
url, token = sys.argv[1], sys.argv[2]
first, last, spacing = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
t0 = time.monotonic()
print("%.3f" % time.time(), flush=True)
for i in range(first, last + 1):
    req = urllib.request.Request(url, method="POST",
        data=('{"title":"t%d"}' % i).encode(),
        headers={"Authorization": "Bearer " + token,
                 "Content-Type": "application/json"})
    try:
        code = urllib.request.urlopen(req, timeout=10).status
    except urllib.error.HTTPError as e:
        code = e.code
    if code != 200:
        sys.exit("t%d: HTTP %d" % (i, code))
    time.sleep(max(0.0, t0 + (i - first + 1) * spacing - time.monotonic()))
PY
}

title_is() { [[ $(ice_field "$port" "$1" title) == "$2" ]]; }
# ms since the Unix epoch of the on_air event of title $1 in /api/history.
aired_ms()
{
	curl -sf --max-time 3 "$URL/api/history" | jq -r --arg t "$1" \
	    '[.events[] | select(.kind == "on_air" and .title == $t) | .at]
	    | first // empty
	    | (sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000
	      + (capture("\\.(?<ms>[0-9]+)Z$").ms | tonumber)'
}

start_relay "$T/relay.conf"
wait_mount "$port" /live.ogg 15
# An MP3 mount has no Ogg subtype in Icecast's status (test 85).
mp3_live() { ice_source "$port" /speaker.mp3 | jq -e '.server_type == "audio/mpeg"' >/dev/null; }
wait_for -t 15 -m "/speaker.mp3 live" mp3_live ||
    fail "/speaker.mp3 never went live"
wait_for -t 10 -m "Icecast's MP3 title Studio" title_is /speaker.mp3 Studio ||
    fail "/speaker.mp3 title: '$(ice_field "$port" /speaker.mp3 title)'"
listen_bg "http://127.0.0.1:$port/live.ogg" 8 "$T/live.ogg"
lpid=$LISTEN_PID

# One title, after more than 2 s without any.
sleep 3
sent=$(post 0 0 0) || fail "POST /api/metadata t0 failed"
aired() { [[ -n $(aired_ms t0) ]]; }
wait_for -t 5 -m "t0 on air in /api/history" aired ||
    fail "t0 never on air: $(curl -s "$URL/api/history" | jq -c .events)"
delay_ms=$(($(aired_ms t0) - $(awk -v s="$sent" 'BEGIN { printf "%.0f", s * 1000 }')))
note "one title after quiet: on air ${delay_ms} ms after the call"
assert_between "$delay_ms" -50 1000 "ms from the call to t0 on air"
for m in /live.ogg /speaker.mp3; do
	wait_for -t 10 -m "Icecast's $m title t0" title_is "$m" t0 ||
	    fail "$m title: '$(ice_field "$port" "$m" title)'"
done
listen_wait "$lpid" || fail "the listener failed"
python3 "$TOPDIR/tests/tools/ogg_streams.py" "$T/live.ogg" >"$T/streams" ||
    fail "the capture is damaged: $(tail -n 3 "$T/streams")"
grep -q ' title=t0$' "$T/streams" ||
    fail "no chain titled t0 in the capture: $(cat "$T/streams")"

# A burst, 3 s later: 20 titles in 1 s.
sleep 3
access=${ICE_DIR[a]}/log/access.log
before=$(grep -c 'GET /admin/metadata' "$access") || true
post 1 20 0.05 >/dev/null || fail "the burst failed"
for m in /live.ogg /speaker.mp3; do
	wait_for -t 10 -m "Icecast's $m title t20" title_is "$m" t20 ||
	    fail "$m title: '$(ice_field "$port" "$m" title)'"
done
status_has '.now.title == "t20"' ||
    fail "/api/status now.title: $(status_now | jq -c .now.title)"
sleep 1 # Icecast writes an access line when the request's connection ends
n=$(($(grep -c 'GET /admin/metadata' "$access") - before)) || true
note "20 titles in 1 s: $n /admin/metadata request(s)"
# The first at once, at most one per 2 s after it, the last after the burst.
assert_between "$n" 1 3 "/admin/metadata requests for 20 titles in 1 s"
! log_has 'title update failed' || fail "a title update failed"
stop_relay TERM 5 || fail "relay did not stop"
check_sanitizer
