#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 99 a removed output's listen-back never shows on another output. relay
# streams to /live.ogg (output main) and /other.ogg (output other), both
# listened back to. A SIGHUP removes other and adds a file output
# (archive), which takes other's place in the status table, and points
# the [fallback] playlist at a directory of 3000 files, which takes the
# reload a while to list. /api/status, read without pause across the
# reload, must never show a listen-back record on archive (a file output
# has none). (other's listener kept publishing its record, by place, until
# the reload reached the listen-back at its end: archive showed other's
# "ok" and URL for as long as the rest of the reload took.)
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
status_port=$(free_port) || fail "no free port"
mkdir "$T/few" "$T/many"
python3 - "$T/few" "$T/many" <<'EOF' || fail "cannot make the filler files"
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
EOF

# conf 1: main and other listened back; conf 2: other gone, archive new,
# the filler over the long list.
conf()
{
	cat <<CONF
[input]
type = tone
frequency = 440

[encoding main]
quality = 2

$(icecast_output main /live.ogg "$LISTENBACK_KEYS")

CONF
	if (($1 == 1)); then
		cat <<CONF
$(icecast_output other /other.ogg "$LISTENBACK_KEYS")

[fallback]
source = playlist
path = $T/few
CONF
	else
		cat <<CONF
[output archive]
type = file
path = $T/archive.ogg

[fallback]
source = playlist
path = $T/many
CONF
	fi
	cat <<CONF

[status]
listen = 127.0.0.1:$status_port
CONF
}

status_json() { curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status"; }
show() { status_json | jq -c '[.outputs[] | {name, listenback}]'; }
both_ok()
{
	status_json | jq -e '[.outputs[] | .listenback.state] == ["ok", "ok"]' \
	    >/dev/null 2>&1
}

conf 1 >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_for -t 20 -m "both heard" both_ok || fail "never both heard: $(show)"

# Read /api/status without pause from before the SIGHUP to after the
# reload.
(
	while :; do
		curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status" |
		    jq -c '[.outputs[] | {name, lb: .listenback.url}]' 2>/dev/null
	done
) >"$T/seen" &
READER=$!
BG_PIDS+=("$READER")
sleep 0.5
conf 2 >"$T/relay.conf"
log_mark
kill -HUP "$RELAY_PID"
wait_for -t 30 -m "the reload" log_since 'reloaded:' || fail "the reload did not finish"
sleep 1
kill "$READER" 2>/dev/null || true
wait "$READER" 2>/dev/null || true
note "reload took: $(relay_lines | grep -E 'main: reload(ing|ed)' | tail -2 | cut -c12-23 | tr '\n' ' ')"
note "documents read: $(wc -l <"$T/seen"), archive in $(grep -c archive "$T/seen")"
grep -q '"name":"archive"' "$T/seen" || fail "archive never showed in /api/status"
if grep -q '"name":"archive","lb":"' "$T/seen"; then
	fail "archive showed a listen-back record: $(grep -m1 '"name":"archive","lb":"' "$T/seen")"
fi
status_json | jq -e '[.outputs[] | select(.name == "main") | .listenback.state] == ["ok"]' >/dev/null ||
	fail "main not ok after the reload: $(show)"
relay_alive || fail "relay exited"
stop_relay
check_sanitizer
