#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 10 SIGTERM: while a listener is connected, relay gets SIGTERM. It exits
# with status 0 within 2 s, and every stream it was writing ends with an EOS
# page: the listener's capture (icecast passes the source's last page on)
# and a file output (type = file), which ogginfo must find complete.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}

cat >"$T/relay.conf" <<EOF
[input]
type = tone
frequency = 440

[encoding main]
quality = 4

[output main]
host = 127.0.0.1
port = $port
mount = /term.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD

[output archive]
type = file
path = $T/archive.ogg

[status]
listen = off
EOF

start_relay "$T/relay.conf"
wait_mount "$port" /term.ogg
listen_bg "http://127.0.0.1:$port/term.ogg" 60 "$T/listen.ogg"
listener=$LISTEN_PID
wait_for -t 10 -m "the listener to receive 3 s of audio" \
    has_seconds "$T/listen.ogg" 3 ||
    fail "the listener received too little audio"

stop_relay TERM 2 || fail "relay did not exit within 2 s of SIGTERM"
note "relay exited with status $RELAY_RC after $RELAY_STOP_SECONDS s"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC after SIGTERM"

# icecast drops listeners when the source leaves.
wait_for -t 5 -m "the listener's connection to end" proc_gone "$listener" ||
    fail "the listener was still connected 5 s after relay exited"
listen_wait "$listener" || fail "listener failed"

check_vorbis "$T/listen.ogg" 44100 2 2
if grep -q 'EOS not set' "$VORBIS_INFO"; then
	fail "the listener's stream has no EOS page: $(grep -i eos \
	    "$VORBIS_INFO" | head -n 2)"
fi
grep -qE 'Logical stream [0-9]+ ended' "$VORBIS_INFO" ||
    fail "ogginfo does not see the listener's stream end"

[[ -s $T/archive.ogg ]] || fail "the file output is empty"
rc=0
ogginfo "$T/archive.ogg" >"$T/archive.ogginfo" 2>&1 || rc=$?
if [[ $rc -ne 0 ]] || grep -qiE 'warning|error' "$T/archive.ogginfo"; then
	fail "the file output is not a complete Ogg stream (ogginfo exit $rc):" \
	    "$(grep -iE 'warning|error' "$T/archive.ogginfo" | head -n 3)"
fi
check_vorbis "$T/archive.ogg" 44100 2 2
