#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 103 an output restarted by a reload under the same name shows no
# listen-back record of the output it replaced. relay streams to
# /live.ogg (output main), listened back to. A SIGHUP moves main to
# /new.ogg (main stops and starts again, in the same status slot) and
# points the [fallback] playlist at a directory of 3000 files, which takes
# the reload a while to list. /api/status, read without pause across the
# reload, must never show main at /new.ogg with a listen-back record of
# /live.ogg. (The old main's listener runs on until the reload reaches the
# listen-back at its end, and its records carried the same slot and name:
# the new main showed the old mount's "ok", URL and counts meanwhile.)
# After the reload main's listen-back is ok at /new.ogg.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
status_port=$(free_port) || fail "no free port"
mkdir "$T/few" "$T/many"
python3 - "$T/few" "$T/many" <<'PY' || fail "cannot make the filler files"
import struct, sys, wave
def put(path):
    with wave.open(path, 'wb') as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(struct.pack('<h', 1000) * 2 * 441)
put(sys.argv[1] + '/a.wav')
for i in range(3000):
    put('%s/%04d.wav' % (sys.argv[2], i))
PY

# conf MOUNT DIR: main at MOUNT, listened back to; the filler over DIR.
conf()
{
	cat <<CONF
[input]
type = tone
frequency = 440

[encoding main]
quality = 2

[output main]
host = 127.0.0.1
port = $port
mount = $1
password_env = RELAY_TEST_SOURCE_PASSWORD
listenback = yes
listenback_timeout = 2s

[fallback]
source = playlist
path = $2

[status]
listen = 127.0.0.1:$status_port
CONF
}

status_json() { curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status"; }
show() { status_json | jq -c '[.outputs[] | {name, url, listenback}]'; }
main_ok_at()
{
	status_json | jq -e --arg m "$1" \
	    '.outputs[] | select(.name == "main") | .listenback.state == "ok" and (.listenback.url | endswith($m))' \
	    >/dev/null 2>&1
}

conf /live.ogg "$T/few" >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_for -t 20 -m "main heard at /live.ogg" main_ok_at /live.ogg ||
	fail "main never heard: $(show)"

# Read /api/status without pause from before the SIGHUP to after the
# reload.
(
	while :; do
		curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status" |
		    jq -c '.outputs[] | select(.name == "main") | {url, lb: .listenback.url, st: .listenback.state}' 2>/dev/null
	done
) >"$T/seen" &
READER=$!
BG_PIDS+=("$READER")
sleep 0.5
conf /new.ogg "$T/many" >"$T/relay.conf"
log_mark
kill -HUP "$RELAY_PID"
wait_for -t 30 -m "the reload" log_since 'reloaded:' || fail "the reload did not finish"
sleep 1
kill "$READER" 2>/dev/null || true
wait "$READER" 2>/dev/null || true
note "reload took: $(relay_lines | grep -E 'main: reload(ing|ed)' | tail -2 | cut -c12-23 | tr '\n' ' ')"
note "documents read: $(wc -l <"$T/seen"), main at /new.ogg in $(grep -c 'new\.ogg"' "$T/seen")"
grep -q '"url":"[^"]*/new\.ogg"' "$T/seen" || fail "main never showed at /new.ogg in /api/status"
if grep -q '"url":"[^"]*/new\.ogg","lb":"[^"]*/live\.ogg"' "$T/seen"; then
	fail "main at /new.ogg showed the old output's listen-back record: $(grep -m1 '"url":"[^"]*/new\.ogg","lb":"[^"]*/live\.ogg"' "$T/seen")"
fi
wait_for -t 20 -m "main heard at /new.ogg" main_ok_at /new.ogg ||
	fail "main's listen-back not ok at /new.ogg after the reload: $(show)"
relay_alive || fail "relay exited"
stop_relay
check_sanitizer
