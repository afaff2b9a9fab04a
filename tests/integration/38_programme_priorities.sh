#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 38 priorities and reloads that touch what waits:
#  - a segment on air whose window was cut short by a higher-priority
#    segment gets its window back when a reload removes that segment (it
#    used to end at the removed segment's start, and live played instead);
#  - an API segment (default priority 100) asked for while a priority 200
#    segment is on air waits for its end instead of cutting it, says so in
#    its answer, then airs in full and is "done";
#  - an API segment too short to hear is refused.
#
# timeout: 120

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
control_api_setup
t0=$(($(date +%s) + 5))

# write_schedule WITH_R
write_schedule()
{
	{
		cat <<EOF
[segment A]
at = $(utc "$t0")
source = tone
frequency = 1000
duration = 16s

[segment filler]
at = $(utc $((t0 + 28)))
source = playlist
path = $T/filler
duration = 24s
priority = -1

[segment HI]
at = $(utc $((t0 + 18)))
source = tone
frequency = 500
duration = 6s
priority = 200
EOF
		if [[ $1 == yes ]]; then
			cat <<EOF

[segment R]
at = $(utc $((t0 + 8)))
source = tone
frequency = 3000
duration = 4s
priority = 5
EOF
		fi
	} >"$T/schedule.conf.new"
	mv "$T/schedule.conf.new" "$T/schedule.conf"
}
mkdir -p "$T/filler"
for n in 1 2; do
	sox -n -r 44100 -c 1 -b 16 "$T/filler/track$n.wav" synth 3 sine \
	    $((300 * n)) vol 0.2 2>/dev/null || fail "sox failed"
done
write_schedule yes
cat >"$T/relay.conf" <<EOF
[input]
type = tone
frequency = 0
channels = 1
[encoding e]
channels = 1
quality = 1
[output ice]
port = ${ICE_PORT[a]}
mount = /live.ogg
password = ${ICE_PASSWORD[a]}
encoding = e
[status]
listen = 127.0.0.1:$status_port
token_env = RELAY_TEST_CONTROL_TOKEN
[schedule]
file = $T/schedule.conf
timezone = UTC
EOF

call()
{
	curl -s -X POST -o "$T/body" -w '%{http_code}' --max-time 10 \
	    "${auth[@]}" "${json[@]}" "$@" || true
}
sleep_until() { while (($(date +%s) < $1)); do sleep 0.2; done; }

start_relay "$T/relay.conf"
wait_for -t 15 -m "A on air" on_air A || fail "A never went on air"

# R is prepared 3 s ahead (at t0 + 5); remove it at t0 + 6.5.
sleep_until $((t0 + 6))
sleep 0.5
write_schedule no
kill -HUP "$RELAY_PID"
wait_for -t 5 -m "the reload" log_has 'main: reloaded' || fail "no reload"
sleep_until $((t0 + 9))
on_air A || fail "A was cut where the removed R would have started: $(status_now | jq -c .now)"
sleep_until $((t0 + 13))
on_air A || fail "A did not get its window back: $(status_now | jq -c .now)"
if log_has 'segment R on air'; then fail "the removed R aired"; fi
wait_for -t 6 -m "A to end" log_has 'segment A ended at' || fail "A never ended"
log_has "segment A ended at $(utc $((t0 + 16))) UTC" ||
    fail "A did not end at its planned end: $(relay_lines | grep 'segment A ended')"

# HI (priority 200) on air from t0 + 18: an API segment waits for it.
wait_for -t 12 -m "HI on air" on_air HI || fail "HI never went on air"
code=$(call --data '{"source":"tone","frequency":2000,"duration":"2s","name":"flash"}' \
    "$URL/api/segments")
[[ $code == 202 ]] || fail "POST /api/segments: $code $(cat "$T/body")"
jq -e '.result | contains("waits: segment HI (priority 200)")' "$T/body" \
    >/dev/null || fail "the answer does not say it waits: $(cat "$T/body")"
req=$(jq -r .id "$T/body")
sleep 1.5
on_air HI || fail "the API segment cut the higher-priority HI: $(status_now | jq -c .now)"
wait_for -t 8 -m "flash on air after HI" on_air flash ||
    fail "flash never aired: $(status_now | jq -c '{now, requests}')"
wait_for -t 5 -m "request $req done" status_has \
    ".requests[] | select(.id == $req) | .state == \"done\" and .reason == null" ||
    fail "request $req: $(status_now | jq -c .requests)"

# A 6 s playlist looping through a 24 s window, broken into by an API
# segment: it comes back afterwards (it used to be taken for a file that
# had ended, and live played).
wait_for -t 15 -m "filler on air" on_air filler ||
    fail "the filler never went on air: $(status_now | jq -c .now)"
sleep_until $((t0 + 35))
code=$(call --data '{"source":"tone","frequency":1500,"duration":"2s","name":"flash2"}' \
    "$URL/api/segments")
[[ $code == 202 ]] || fail "POST /api/segments: $code $(cat "$T/body")"
wait_for -t 4 -m "flash2 on air" on_air flash2 || fail "flash2 never aired"
wait_for -t 5 -m "filler again" on_air filler ||
    fail "the playlist did not come back after the API segment: $(status_now | jq -c .now) $(relay_lines | grep filler | tail -2)"
if log_has 'segment filler: the file ended'; then
	fail "the playlist was taken for a file that had ended"
fi

# Too short to hear.
code=$(call --data '{"source":"tone","duration":"1ms"}' "$URL/api/segments")
[[ $code == 422 ]] || fail "a 1 ms segment: $code $(cat "$T/body")"
jq -e '.error | contains("at least 0.1 s")' "$T/body" >/dev/null ||
    fail "1 ms: $(cat "$T/body")"
relay_alive || fail "relay died"
stop_relay TERM 5 || fail "relay did not stop"
check_sanitizer
