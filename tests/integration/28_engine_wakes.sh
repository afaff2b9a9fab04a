#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 28 engine wake-ups: while only the live programme plays and no operator
# page meters it, the engine takes several 2048-frame blocks per wake-up
# (up to the next page close; engine.c, DESIGN), so its thread
# ("relay-engine") wakes well under once per block (21.5 a second at
# 44.1 kHz; voluntary context switches from /proc/PID/task/TID/status).
# With an /api/events?levels=1 stream open it waits for no more than one
# meter reading's worth (two blocks, ~11 wake-ups a second; it woke per
# block, 21.5, before), the stream still gets ten fresh readings a second,
# and after it closes it sleeps longer again.
# A control call wakes it at once (ring_wake()): 40 title changes in 2 s
# add at least 20 wake-ups. The tone input meanwhile still delivers each
# block as it is due (~21.5 reads a second), so the woken engine has the
# audio up to the call to render. Meanwhile a listener decodes every second of
# the stream (no hole from the batches).
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
control_api_setup
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
tone_config /wake.ogg "" "" "listen = 127.0.0.1:$status_port
token_env = RELAY_TEST_CONTROL_TOKEN" >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /wake.ogg

engine_task=
input_task=
for d in /proc/"$RELAY_PID"/task/*; do
	case $(cat "$d/comm" 2>/dev/null) in
	relay-engine) engine_task=$d ;;
	relay-input) input_task=$d ;;
	esac
done
[[ -n $engine_task && -n $input_task ]] || fail "no relay-engine or relay-input thread"
switches() { awk '/^voluntary_ctxt_switches/ {print $2}' "${2:-$engine_task}/status"; }
# wakes_per_s SECONDS: the engine thread's wake-ups a second over that
# long; INPUT_WAKES gets the input thread's.
wakes_per_s()
{
	local a b ia ib
	a=$(switches)
	ia=$(switches x "$input_task")
	sleep "$1"
	b=$(switches)
	ib=$(switches x "$input_task")
	INPUT_WAKES=$(awk -v a="$ia" -v b="$ib" -v s="$1" \
	    'BEGIN { printf "%.1f\n", (b - a) / s }')
	awk -v a="$a" -v b="$b" -v s="$1" 'BEGIN { printf "%.1f\n", (b - a) / s }'
}

listen_bg "http://127.0.0.1:${ICE_PORT[a]}/wake.ogg" 16 "$T/heard.ogg"
sleep 1
wakes_per_s 4 >"$T/quiet"
quiet=$(cat "$T/quiet")
note "no meter watching: $quiet wake-ups a second; the tone input $INPUT_WAKES"
assert_between "$quiet" 0 14 "engine wake-ups a second, nobody metering"
# The tone input still delivers block by block while the engine sleeps, so
# a control call that wakes the engine finds the audio up to that moment
# in the ring (input.c, DESIGN); when it read the engine's whole wait at
# once, titles reached /api/status up to 0.37 s late.
assert_between "$INPUT_WAKES" 17 60 "tone input wake-ups a second"

curl -sN --max-time 20 "$URL/api/events?levels=1" >"$T/events" &
events_pid=$!
BG_PIDS+=("$events_pid")
wait_for -t 5 -m "a levels event" grep -q '^event: levels' "$T/events"
before=$(grep -c '^event: levels' "$T/events")
watched=$(wakes_per_s 3)
after=$(grep -c '^event: levels' "$T/events")
note "an operator page metering: $watched wake-ups a second, $((after - before)) levels events in 3 s"
assert_between "$watched" 8 16 "engine wake-ups a second, metered"
assert_between "$((after - before))" 20 40 "levels events in 3 s"
# Every reading is fresh (a block metered within 0.5 s: the meter moved).
stale=$(grep '^data:' "$T/events" | grep -c '"fresh":false' || true)
[[ $stale -eq 0 ]] || fail "$stale levels events were stale while metering"

kill "$events_pid" 2>/dev/null || true
wait "$events_pid" 2>/dev/null || true
sleep 0.5
again=$(wakes_per_s 3)
note "the page gone: $again wake-ups a second"
assert_between "$again" 0 14 "engine wake-ups a second after the page left"

# Control calls wake it: 40 title changes, 50 ms apart.
a=$(switches)
t0=$(now_us)
for i in $(seq 1 40); do
	curl -sf -o /dev/null --max-time 3 "${auth[@]}" "${json[@]}" \
	    --data "{\"title\":\"Item $i\"}" "$URL/api/metadata" ||
	    fail "POST /api/metadata $i"
	sleep 0.05
done
b=$(switches)
t1=$(now_us)
extra=$(awk -v a="$a" -v b="$b" -v q="$again" -v us=$((t1 - t0)) \
    'BEGIN { printf "%.0f\n", (b - a) - q * us / 1e6 }')
note "40 control calls: $((b - a)) wake-ups, $extra over the quiet rate"
assert_between "$extra" 20 1000 "wake-ups added by 40 control calls"
wait_for -t 3 -m "the last title in /api/status" \
    sh -c "curl -sf '$URL/api/status' | jq -e '.now.title == \"Item 40\"' >/dev/null"

listen_wait "$LISTEN_PID" || fail "listener failed"
# At least 15 of the 16 s (more: Icecast's burst on connect).
check_vorbis "$T/heard.ogg" 44100 2 15
note "the listener decoded $VORBIS_SECONDS s in 16 s"
