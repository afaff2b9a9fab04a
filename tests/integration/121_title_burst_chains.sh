#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 121 title burst on an Ogg mount: 40 POST /api/metadata in about 2 s (an
# automation system or a script spamming titles). On an Ogg output with
# metadata = chain every title on air is a new logical stream, new codec
# headers a player may stutter at; relay used to start one per title (a
# listener got 29 chains in 8 s). Titles closer than 2 s to the last
# change are now coalesced: the latest one goes on air when the 2 s have
# passed. Checked with a listener on the mount: few chains for the burst
# (one per 2 s at most, plus the first at once), the last chain titled
# with the last title, which is also Icecast's title and /api/status
# now.title; /api/history lists as on air only titles that the listener
# heard a chain of.
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
[output live]
port = $port
mount = /live.ogg
password = ${ICE_PASSWORD[a]}
metadata = chain
[status]
listen = 127.0.0.1:$status_port
token_env = RELAY_TEST_CONTROL_TOKEN
CONF

start_relay "$T/relay.conf"
wait_mount "$port" /live.ogg 15
wait_for -t 10 -m "input flowing at $URL" status_has '.input.flowing' ||
    fail "relay never read its input: $(status_now)"
# 14 s: the burst and the last title's chain (up to 2 s after the burst)
# must fall inside the capture; with 10 s, under ASan and load, the
# capture ended 1.5 s into t1's chain (make check).
listen_bg "http://127.0.0.1:$port/live.ogg" 14 "$T/live.ogg"
lpid=$LISTEN_PID
sleep 1

# 40 calls 50 ms apart, one after the other (python: a curl process per
# call takes longer than that to start on a busy machine). Prints each
# call's HTTP status and the seconds the burst took.
N=40
python3 - "$URL/api/metadata" "$TOKEN" "$N" >"$T/burst" <<'PY' ||
import sys, time, urllib.request, urllib.error
url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.monotonic()
for i in range(1, n + 1):
    req = urllib.request.Request(url, method="POST",
        data=('{"title":"t%d"}' % i).encode(),
        headers={"Authorization": "Bearer " + token,
                 "Content-Type": "application/json"})
    try:
        code = urllib.request.urlopen(req, timeout=10).status
    except urllib.error.HTTPError as e:
        code = e.code
    print("t%d %d" % (i, code))
    time.sleep(max(0.0, t0 + i * 0.05 - time.monotonic()))
print("took %.2f" % (time.monotonic() - t0))
PY
    fail "the burst failed: $(tail -n 3 "$T/burst")"
grep -v '^took ' "$T/burst" | grep -v ' 200$' &&
    fail "a POST /api/metadata was refused"
burst=$(sed -n 's/^took //p' "$T/burst")
burst_s=$(awk -v b="$burst" 'BEGIN { printf "%d\n", b + 0.999 }')
last=t$N
note "$N titles posted in $burst s"

title_now() { status_has ".now.title == \"$last\""; }
wait_for -t 5 -m "/api/status now.title $last" title_now ||
    fail "/api/status now.title: $(status_now | jq -c .now.title)"
ice_title() { [[ $(ice_field "$port" /live.ogg title) == "$last" ]]; }
wait_for -t 10 -m "Icecast's title $last" ice_title ||
    fail "Icecast's title: '$(ice_field "$port" /live.ogg title)'"
curl -sf --max-time 3 "$URL/api/history" >"$T/history.json" ||
    fail "no /api/history"

listen_wait "$lpid" || fail "the listener failed"
python3 "$TOPDIR/tests/tools/ogg_streams.py" "$T/live.ogg" >"$T/streams" ||
    fail "the capture is damaged: $(tail -n 3 "$T/streams")"
titles=$(sed -n 's/.* title=//p' "$T/streams")
n=$(wc -l <"$T/streams")
note "chains heard: $n ($(tr '\n' ' ' <<<"$titles"))"
# The chain the listener joined, the first title at once, then at most
# one per 2 s of the burst, and the last once the burst is over.
max=$(((burst_s + 1) / 2 + 3))
assert_between "$n" 2 "$max" "chains heard for $N titles in ${burst_s} s"
[[ $(tail -n 1 <<<"$titles") == "$last" ]] ||
    fail "the last chain is titled '$(tail -n 1 <<<"$titles")', not $last"
# What /api/history says went on air, the listener heard.
while read -r t; do
	grep -qxF -- "$t" <<<"$titles" ||
	    fail "/api/history: '$t' on air, but no chain of it was heard"
done < <(jq -r '.events[] | select(.kind == "on_air") | .title' \
    "$T/history.json" | grep -x 't[0-9]*')
stop_relay TERM 5 || fail "relay did not stop"
check_sanitizer
