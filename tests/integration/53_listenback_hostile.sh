#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 53 listen-back against a hostile or broken server at listenback_url.
# - "endless": the server sends a valid Ogg stream whose first packet
#   never ends (64 kB continuation pages for ever). libogg would keep the
#   whole packet in memory: relay must drop the connection past its
#   packet limit, say why in last_error, connect again, and stay small.
# - "userinfo": the URL's password holds an "@" not written %40
#   ("user:pa@ss-secret@host"); curl refuses such a URL, and neither the
#   status nor the log may show any part of the password.
# - "drip": one byte that is not Ogg every half second. Bytes arrive but
#   no audio page: past listenback_timeout the listener must start again
#   (it held the connection for good), saying why in last_error.
# No Icecast: the outputs' own connections are refused, which listen-back
# does not care about.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

status_port=$(free_port) || fail "no free port"
hostile_port=$(free_port) || fail "no free port"
dead_port=$(free_port) || fail "no free port"
export RELAY_TEST_SOURCE_PASSWORD=unused

bg python3 "$TOPDIR/tests/tools/ogg_endless_packet.py" "$hostile_port"
# Accepting: curl stops at --max-time (28) instead of being refused (7).
accepting() { local rc=0; curl -s --max-time 0.5 -o /dev/null "http://127.0.0.1:$hostile_port/" || rc=$?; [[ $rc -eq 28 ]]; }
wait_for -t 10 -m "the hostile server" accepting ||
    fail "the hostile server did not start"

cat >"$T/relay.conf" <<CONF
[input]
type = tone
frequency = 440

[encoding main]
quality = 0

[output endless]
host = 127.0.0.1
port = $dead_port
mount = /live.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD
listenback = yes
listenback_url = http://127.0.0.1:$hostile_port/live.ogg
listenback_timeout = 5s

[output userinfo]
host = 127.0.0.1
port = $dead_port
mount = /other.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD
listenback = yes
listenback_url = http://user:pa@ss-secret@127.0.0.1:$hostile_port/live.ogg
listenback_timeout = 2s

[output drip]
host = 127.0.0.1
port = $dead_port
mount = /third.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD
listenback = yes
listenback_url = http://127.0.0.1:$hostile_port/drip.ogg
listenback_timeout = 2s

[status]
listen = 127.0.0.1:$status_port
CONF
start_relay "$T/relay.conf"

lb() { curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status" | jq -c ".outputs[$1].listenback"; }
dropped() { lb 0 | jq -e '(.last_error // "" | test("packet over")) and .connects >= 2' >/dev/null; }
wait_for -t 20 -m "the endless packet dropped" dropped ||
    fail "listen-back kept the endless packet: $(lb 0); VmRSS $(grep VmRSS "/proc/$RELAY_PID/status")"
note "endless: $(lb 0)"
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$RELAY_PID/status")
# 4 MiB per packet at most; ASan adds its own overhead and quarantine.
assert_between "$rss_kb" 1 400000 "relay's VmRSS (kB) after the endless packet"

wait_for -t 10 -m "userinfo flagged" \
    bash -c "curl -sf --max-time 2 http://127.0.0.1:$status_port/api/status | jq -e '.outputs[1].listenback.state == \"no_audio\"'" ||
    fail "userinfo never flagged: $(lb 1)"
doc=$(curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status")
note "userinfo: $(jq -c .outputs[1].listenback <<<"$doc")"
if grep -q 'ss-secret' <<<"$doc"; then
	fail "the status shows part of the password: $(jq -c .outputs[1].listenback.url <<<"$doc")"
fi
if log_has 'ss-secret'; then
	fail "the log shows part of the password: $(relay_lines | grep ss-secret | head -1)"
fi

restarted() { lb 2 | jq -e '(.last_error // "" | test("no audio page")) and .connects >= 2' >/dev/null; }
wait_for -t 15 -m "the drip dropped" restarted ||
    fail "listen-back kept the dripping connection: $(lb 2)"
note "drip: $(lb 2)"

relay_alive || fail "relay exited"
stop_relay || fail "relay did not stop"
check_sanitizer
note "ok"
