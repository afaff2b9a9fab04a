#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 14 admin metadata timeout: with metadata = admin, relay asks Icecast to
# show each new title (GET /admin/metadata). That request must never hold
# the output thread for long, or a reload or SIGTERM (which join the
# thread) hangs with it.
# 1. icecast frozen (SIGSTOP), the title changed through POST /api/metadata,
#    then SIGTERM: relay exits within 5 s.
# 2. A proxy in front of icecast (tests/tools/http_gate.py) forwards the
#    stream and the status page but holds every /admin/metadata request
#    unanswered: the server froze between relay's last check and the
#    request. The update gives up within ~2 s with a logged reason, the
#    stream goes on; a second update is in flight when SIGTERM comes, and
#    relay still exits within 5 s.
#
# timeout: 120

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
TOKEN=$(random_secret)
export RELAY_TEST_CONTROL_TOKEN=$TOKEN
status_port=$(free_port) || fail "no free port"
gate_port=$(free_port) || fail "no free port"

# write_config FILE PORT
write_config()
{
	cat >"$1" <<CONF
[input]
type = tone
frequency = 440
title = Studio
[encoding main]
quality = 2
[output ice]
host = 127.0.0.1
port = $2
mount = /admin.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD
metadata = admin
[status]
listen = 127.0.0.1:$status_port
token_env = RELAY_TEST_CONTROL_TOKEN
poll_icecast = 1s
CONF
}

# set_title TITLE: POST /api/metadata, expects 200.
set_title()
{
	local code
	code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 5 \
	    -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/json' \
	    --data "{\"title\":\"$1\",\"artist\":\"Desk\"}" \
	    "http://127.0.0.1:$status_port/api/metadata") || true
	[[ $code == 200 ]] || fail "POST /api/metadata: $code $(cat "$T/body")"
}

title_is() { [[ $(ice_field "$port" /admin.ogg title) == "$1" ]]; }

# --- 1. icecast frozen --------------------------------------------------------
write_config "$T/relay.conf" "$port"
start_relay "$T/relay.conf"
wait_mount "$port" /admin.ogg
set_title "Before the freeze"
wait_for -t 10 -m "icecast to show the title" title_is "Before the freeze" ||
    fail "metadata = admin did not set the title"
note "freezing icecast (SIGSTOP), then a new title and SIGTERM"
pause_icecast a
set_title "During the freeze"
# Give the output thread time to pick the title up and start its request.
wait_for -t 3 -m "relay's audit line for the title" \
    log_has "During the freeze" || true
stop_relay TERM 5 || fail "relay did not exit within 5 s of SIGTERM (icecast frozen)"
note "exited ${RELAY_STOP_SECONDS} s after SIGTERM, icecast frozen"
resume_icecast a
wait_for -t 10 -m "icecast to answer again" icecast_ready "$port" ||
    fail "icecast did not come back after SIGCONT"
mount_gone() { ! mount_live "$port" /admin.ogg; }
wait_for -t 15 -m "icecast to drop the old source" mount_gone || true

# --- 2. /admin/metadata held by a proxy ---------------------------------------
bg python3 "$TOPDIR/tests/tools/http_gate.py" "$gate_port" "$port" \
    --hold-admin >"$T/gate.log" 2>&1
wait_for -t 5 -m "the gate to listen" grep -q listening "$T/gate.log" ||
    fail "http_gate.py did not start: $(cat "$T/gate.log")"
write_config "$T/relay-gated.conf" "$gate_port"
log_mark
start_relay "$T/relay-gated.conf"
wait_mount "$port" /admin.ogg 20
held_at_least() { (($(grep -c '^held GET /admin/metadata' "$T/gate.log") >= $1)); }
failed_at_least() { (($(log_count_since 'title update failed: .*/admin/metadata.*no answer in time') >= $1)); }
set_title "Held once"
wait_for -t 10 -m "the gate to hold the metadata request" held_at_least 1 ||
    fail "relay never sent the metadata request"
held=$(now)
# Bounded: ~2 s, logged with what, which and why.
wait_for -t 5 -m "relay to give up the title update" failed_at_least 1 ||
    fail "the title update did not give up in time"
took=$(elapsed_since "$held")
note "title update gave up $took s after it was sent"
assert_between "$took" 1 4 "seconds until the held title update gave up"
relay_alive || fail "relay exited"
mount_live "$port" /admin.ogg || fail "the stream stopped after the title update failed"
set_title "Held twice"
wait_for -t 10 -m "the second held request" held_at_least 2 ||
    fail "relay never sent the second metadata request"
stop_relay TERM 5 || fail "relay did not exit within 5 s of SIGTERM (request held)"
note "exited ${RELAY_STOP_SECONDS} s after SIGTERM with a request in flight"
assert_between "$RELAY_STOP_SECONDS" 0 4 "seconds from SIGTERM to exit"
check_sanitizer
