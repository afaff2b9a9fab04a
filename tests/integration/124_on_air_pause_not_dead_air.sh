#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 124 the on-air rule without listen-back follows the station's dead air
# too: a stdin tone fed in real time (tests/tools/pcm_script.py), no
# [fallback] section (so dead air is its default, 10 s) and no listen-back
# (on_air_rule server). A 7 s pause keeps on_air true in /api/status, in
# every /api/events event and in /metrics (it used to turn false after
# 5 s); a 14 s pause turns it false once the programme has been silent
# for 10 s (not before), `relay status` says why, and it is true again
# when the tone returns. /api/status says the bound: fallback.after_s.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
status_port=$(free_port) || fail "no free port"

stdin_pause_config >"$T/relay.conf"

mkfifo "$T/pcm.fifo"
bg python3 "$TOPDIR/tests/tools/pcm_script.py" "$T/pcm.fifo" \
    tone:440:10 mark:"$T/pause.start" silence:7 mark:"$T/pause.end" \
    tone:440:6 mark:"$T/long.start" silence:14 mark:"$T/long.end" \
    tone:440:60 hold:60
RELAY_STDIN=$T/pcm.fifo start_relay "$T/relay.conf"

status_json() { curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status"; }
on_air_is() { [[ $(status_json | jq -r .on_air 2>/dev/null) == "$1" ]]; }

wait_for -t 9 -m "on air" on_air_is true ||
    fail "never on air: $(status_json | jq -c '{on_air, input}')"
doc=$(status_json)
[[ $(jq -r .on_air_rule <<<"$doc") == server ]] || fail "on_air_rule is not server"
[[ ! -e $T/pause.start ]] || fail "the pause began before relay was on air"

bg curl -sN --max-time 30 "http://127.0.0.1:$status_port/api/events" \
    -o "$T/events.txt"
events_pid=$BG_PID
wait_for -t 12 -m "the 7 s pause" test -s "$T/pause.start" ||
    fail "the pause never began"
most_silent=0
deadline=$(awk -v t="$(cat "$T/pause.start")" 'BEGIN { printf "%.3f", t + 8.5 }')
while awk -v d="$deadline" -v n="$(now)" 'BEGIN { exit !(n < d) }'; do
	doc=$(status_json) || fail "no /api/status"
	silent=$(jq -r .input.silent_s <<<"$doc")
	most_silent=$(awk -v a="$most_silent" -v b="$silent" 'BEGIN { print (b > a ? b : a) }')
	[[ $(jq -r .on_air <<<"$doc") == true ]] ||
	    fail "on_air false $(elapsed_since "$(cat "$T/pause.start")") s into a 7 s pause: $(jq -c '{on_air, state, input}' <<<"$doc")"
	curl -sf --max-time 2 "http://127.0.0.1:$status_port/metrics" |
	    grep '^relay_on_air 1$' >/dev/null ||
	    fail "metrics: relay_on_air not 1 in a 7 s pause"
	sleep 0.25
done
note "the 7 s pause: the programme silent for up to $most_silent s, on air throughout"
assert_between "$most_silent" 5.5 8 "the longest silence of the programme"
kill "$events_pid" 2>/dev/null || true
wait "$events_pid" 2>/dev/null || true
grep -q '^data: ' "$T/events.txt" || fail "no /api/events event"
if grep '^data: ' "$T/events.txt" | grep -q '"on_air":false'; then
	fail "an /api/events event had on_air false in a 7 s pause"
fi

# 14 s of silence: off air at the dead-air time.
wait_for -t 15 -m "the 14 s pause" test -s "$T/long.start" ||
    fail "the long pause never began"
wait_for -t 14 -m "off air" on_air_is false ||
    fail "14 s of silence kept on_air true: $(status_json | jq -c '{on_air, input}')"
took=$(elapsed_since "$(cat "$T/long.start")")
doc=$(status_json)
note "off air $took s into the pause: $(jq -c '{state, input}' <<<"$doc")"
assert_between "$took" 9.9 13 "seconds from the pause to off air"
assert_between "$(jq -r .input.silent_s <<<"$doc")" 10 14 "input.silent_s when off air"
rs_rc=0
"$RELAY" status -c "$T/relay.conf" >"$T/rs.out" 2>&1 || rs_rc=$?
[[ $rs_rc -eq 1 ]] || fail "relay status exited $rs_rc while off air: $(cat "$T/rs.out")"
grep -q 'the live input has been silent for 1[0-9] s' "$T/rs.out" ||
    fail "relay status does not say why: $(cat "$T/rs.out")"

wait_for -t 14 -m "the pause's end" test -s "$T/long.end" || fail "the long pause never ended"
wait_for -t 5 -m "on air again" on_air_is true ||
    fail "on_air stayed false after the tone returned"
# The bound is in the document.
doc=$(status_json)
[[ $(jq -r .fallback.after_s <<<"$doc") == 10 ]] ||
    fail "fallback.after_s: $(jq -c .fallback <<<"$doc")"
problems=$(jq -c -f "$TOPDIR/tests/tools/status_schema.jq" <<<"$doc") ||
    fail "status_schema.jq failed"
[[ $problems == "[]" ]] || fail "schema: $problems"
relay_alive || fail "relay exited"
stop_relay
check_sanitizer
