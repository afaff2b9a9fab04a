#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 11 SIGHUP reload:
#  - adding an output: the new mount comes up, the unchanged output keeps
#    its connection (icecast's stream_start for it does not change) and a
#    listener connected to it is not cut (its capture keeps growing and
#    decodes without a gap);
#  - a config with an error: rejected with a log line naming FILE:LINE,
#    section and key; the old config keeps running (both mounts stay up,
#    nothing reconnects, the listener stays connected).
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
conf=$T/relay.conf

# write_config EXTRA_OUTPUT_PORT|"": the base config, plus [output b] on
# /b.ogg when a port is given. Replaced atomically, as an editor would.
write_config()
{
	{
		cat <<EOF
[input]
type = tone
frequency = 440

[encoding main]
quality = 3

[output a]
host = 127.0.0.1
port = $port
mount = /a.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD

[status]
listen = off
EOF
		if [[ -n $1 ]]; then
			cat <<EOF

[output b]
host = 127.0.0.1
mount = /b.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD
port = $1
EOF
		fi
	} >"$conf.new"
	mv "$conf.new" "$conf"
}

write_config ""
start_relay "$conf"
wait_mount "$port" /a.ogg
a_start=$(ice_field "$port" /a.ogg stream_start_iso8601) ||
    fail "no stream_start for /a.ogg"
[[ -n $a_start ]] || fail "empty stream_start for /a.ogg"

listen_bg "http://127.0.0.1:$port/a.ogg" 60 "$T/a.ogg"
listener=$LISTEN_PID
listen_start=$(now)
wait_for -t 10 -m "audio on the listener" has_seconds "$T/a.ogg" 1 ||
    fail "the listener on /a.ogg gets no audio"

# 1. Add an output.
write_config "$port"
log_mark
kill -HUP "$RELAY_PID"
wait_mount "$port" /b.ogg 10
relay_alive || fail "relay exited on SIGHUP"
now_start=$(ice_field "$port" /a.ogg stream_start_iso8601) || now_start=
[[ $now_start == "$a_start" ]] ||
    fail "/a.ogg was restarted by the reload: stream_start $a_start -> $now_start"
if proc_gone "$listener"; then
	fail "the listener on /a.ogg was cut by the reload"
fi
size=$(file_size "$T/a.ogg")
wait_for -t 5 -m "the capture of /a.ogg to grow after the reload" \
    size_at_least "$T/a.ogg" $((size + 1000)) ||
    fail "no audio reached the /a.ogg listener after the reload"
listen "http://127.0.0.1:$port/b.ogg" 4 "$T/b.ogg" ||
    fail "listener on the new /b.ogg failed"
check_vorbis "$T/b.ogg" 44100 2 2

# 2. A broken config: out-of-range port on the line of [output b]'s port.
write_config 80000
bad_line=$(grep -n '^port = 80000$' "$conf" | cut -d: -f1)
log_mark
kill -HUP "$RELAY_PID"
wait_for -t 10 -m "relay to log the rejected config" \
    log_since "relay\\.conf:$bad_line: \\[output b\\] port" ||
    fail "relay did not log 'relay.conf:$bad_line: [output b] port'"
relay_alive || fail "relay exited on a bad reload"
mount_live "$port" /a.ogg || fail "/a.ogg went down after a rejected reload"
mount_live "$port" /b.ogg || fail "/b.ogg went down after a rejected reload"
now_start=$(ice_field "$port" /a.ogg stream_start_iso8601) || now_start=
[[ $now_start == "$a_start" ]] ||
    fail "/a.ogg restarted on a rejected reload: $a_start -> $now_start"
if proc_gone "$listener"; then
	fail "the listener was cut by the rejected reload"
fi
size=$(file_size "$T/a.ogg")
wait_for -t 5 -m "the capture of /a.ogg to keep growing" \
    size_at_least "$T/a.ogg" $((size + 1000)) ||
    fail "no audio reached the /a.ogg listener after the rejected reload"

# The listener heard one unbroken stream through both reloads.
kill -TERM "$listener" 2>/dev/null || true
wait "$listener" 2>/dev/null || true
wall=$(elapsed_since "$listen_start")
check_vorbis "$T/a.ogg" 44100 2 3
assert_between "$VORBIS_SECONDS" \
    "$(awk -v w="$wall" 'BEGIN { print w - 2 }')" \
    "$(awk -v w="$wall" 'BEGIN { print w + 3 }')" \
    "decoded seconds on /a.ogg over $wall s of listening"
