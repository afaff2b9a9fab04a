#!/usr/bin/env bash
# A network feed (another Icecast mount, pulled over HTTP and decoded) plays
# as a scheduled segment; when the feed drops mid-segment, relay falls back
# to the live programme at once, with a log line, and the stream goes on.
. "$(dirname "$0")/../lib.sh"

start_icecast a
status_port=$(free_port)

# The "network": a 1500 Hz feed on /feed.ogg of the same server.
bg ffmpeg -nostdin -v error -re -f lavfi -i "sine=f=1500:r=44100" -ac 1 \
    -c:a libvorbis -q:a 2 -f ogg -content_type audio/ogg \
    "icecast://source:${ICE_PASSWORD[a]}@127.0.0.1:${ICE_PORT[a]}/feed.ogg"
feeder=$BG_PID
wait_mount "${ICE_PORT[a]}" /feed.ogg 15

t0=$(($(date +%s) + 6))
cat >"$T/schedule.conf" <<EOF
[segment network-news]
at = $(date -u -d "@$t0" '+%Y-%m-%d %H:%M:%S')
source = stream
url = http://127.0.0.1:${ICE_PORT[a]}/feed.ogg
duration = 20s
title = Network news
EOF

silent_schedule_config "[status]
listen = 127.0.0.1:$status_port" >"$T/relay.conf"

start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
wait_for -t 20 -m "the feed segment on air" log_has 'segment network-news on air' ||
    fail "the feed segment never started"
seg=$(curl -s "http://127.0.0.1:$status_port/api/status" | jq -r '.now.segment')
[[ $seg == network-news ]] || fail "/api/status now.segment is '$seg'"
# Let it play 3 s, then cut the feed (the network goes away).
wait_for -t 10 -m "3 s into the feed" \
    bash -c "[[ \$(date +%s) -ge $((t0 + 3)) ]]"
kill -KILL "$feeder"
wait_for -t 20 -m "fallback to live" log_has 'segment network-news stopped.*back to the live programme' ||
    fail "relay did not fall back when the feed dropped"
relay_alive || fail "relay died when the feed dropped"
seg_live() {
	[[ $(curl -s "http://127.0.0.1:$status_port/api/status" | jq -r '.state') != segment ]]
}
wait_for -t 5 -m "/api/status back to live" seg_live || fail "/api/status still shows the segment"
# The live programme keeps the mount up.
wait_for -t 5 -m "/live.ogg listed" mount_live "${ICE_PORT[a]}" /live.ogg ||
    fail "/live.ogg went away"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit code $RELAY_RC"
check_sanitizer

check_vorbis "$T/archive.ogg" 44100 1 6
oggdec -Q -R -b 16 -e 0 -s 1 -o "$T/archive.raw" "$T/archive.ogg" ||
    fail "oggdec cannot decode the archive"
# How long the 1500 Hz feed was heard, and whether it really was the feed.
read -r feed_s freq < <(python3 - "$T/archive.raw" <<'PY'
import struct, sys
raw = open(sys.argv[1], "rb").read()
n = len(raw) // 2
x = struct.unpack("<%dh" % n, raw[: n * 2])
rate, thr = 44100, 300
on = [i for i in range(0, n, 441) if max(abs(v) for v in x[i:i + 441]) > thr]
if not on:
    print(0, 0)
else:
    a, b = on[0], on[-1]
    z = sum(1 for i in range(a + 4410, b - 4410) if (x[i] < 0) != (x[i + 1] < 0))
    print(round((b - a) / rate, 2), round(z / 2 / ((b - a - 8820) / rate)))
PY
)
note "feed heard for $feed_s s at $freq Hz"
assert_between "$freq" 1450 1550 "feed frequency (Hz)"
# About 3 s of feed, plus what was buffered when it dropped; far less than
# the scheduled 20 s.
assert_between "$feed_s" 2 12 "seconds of feed in the programme"
