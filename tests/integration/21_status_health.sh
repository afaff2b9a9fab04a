#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 21 status health: /healthz answers 200 "ok" while relay streams, and 503
# with the reason once icecast is stopped; on_air follows (the poller stops
# listing the mount) and comes back when icecast does. "relay status"
# exits 0 on air, 1 off air (printing why), 2 when relay is unreachable.
# A second relay whose [status] listen address is taken exits 1 at startup
# with "[status] listen ADDR: Address already in use".
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

status_up ''

body=$(curl -s -D "$T/h.health" "$STATUS_URL/healthz")
[[ $(head -1 "$T/h.health") == *" 200"* ]] ||
    fail "/healthz on air: $(head -1 "$T/h.health") $body"
[[ $body == ok ]] || fail "/healthz body '$body'"
grep -qi '^Cache-Control: no-store' "$T/h.health" || fail "/healthz cacheable"
relay_status
[[ $RS_RC -eq 0 ]] || fail "relay status on air: exit $RS_RC: $RS_ERR"
[[ $(curl -s "$STATUS_URL/metrics" | sed -n 's/^relay_on_air //p') == 1 ]] ||
    fail "relay_on_air is not 1"

# The status address is taken: a second relay refuses to start.
cp "$T/relay.conf" "$T/second.conf"
sed -i 's#^mount = /live.ogg#mount = /second.ogg#; s#^mount = /mobile.ogg#mount = /second-m.ogg#' \
    "$T/second.conf"
rc=0
timeout 10 "$RELAY" -c "$T/second.conf" >"$T/second.log" 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "second relay on a taken status port: exit $rc: $(tail -3 "$T/second.log")"
grep -qF "[status] listen 127.0.0.1:$STATUS_PORT: Address already in use" \
    "$T/second.log" || fail "no clear message: $(tail -3 "$T/second.log")"
SANITIZER_FILES+=("$T/second.log")

note "stopping icecast"
stop_icecast a
wait_for -t 15 -m "/healthz to answer 503" code_is /healthz 503 ||
    fail "/healthz still $(http_code "$STATUS_URL/healthz") without icecast"
body=$(curl -s "$STATUS_URL/healthz")
[[ $body == *"no output connected"* ]] || fail "/healthz reason: '$body'"
wait_off_air 15
# The poller's next round (1 s) must see the server gone first.
outputs_down() {
	status_now | jq -e 'all(.outputs[]; .connected == false and
	    .mount_listed == false and .last_error != null)' >/dev/null
}
wait_for -t 5 -m "outputs shown down" outputs_down ||
    fail "outputs after icecast stopped: $(status_now | jq -c .outputs)"
[[ $(curl -s "$STATUS_URL/metrics" | sed -n 's/^relay_on_air //p') == 0 ]] ||
    fail "relay_on_air is not 0"
relay_status
[[ $RS_RC -eq 1 ]] || fail "relay status off air: exit $RS_RC: $RS_OUT"
grep -qF 'OFF AIR' <<<"$RS_OUT" || fail "relay status does not say OFF AIR"
grep -qF 'Off air because' <<<"$RS_OUT" || fail "relay status gives no reason"
relay_status --json
[[ $RS_RC -eq 1 ]] || fail "relay status --json off air: exit $RS_RC"

note "icecast back"
start_icecast a
wait_on_air 30
[[ $(http_code "$STATUS_URL/healthz") == 200 ]] || fail "/healthz after recovery"
relay_status
[[ $RS_RC -eq 0 ]] || fail "relay status after recovery: exit $RS_RC"

relay_alive || fail "relay died"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
relay_status
[[ $RS_RC -eq 2 ]] || fail "relay status with relay stopped: exit $RS_RC"
[[ -n $RS_ERR ]] || fail "relay status unreachable: no message on stderr"
note "unreachable: $RS_ERR"
RS_RC=0
"$RELAY" status --url "http://127.0.0.1:$(free_port)" >/dev/null 2>&1 || RS_RC=$?
[[ $RS_RC -eq 2 ]] || fail "relay status on a closed port: exit $RS_RC"
