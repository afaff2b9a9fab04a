#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 39 idle threads: a thread with nothing to do sleeps until it has
# something to do. On a steady station (live on air, a segment scheduled
# later, the status server on and nobody asking) the main thread wakes
# about once a second (it sleeps until its next timed job; engine events
# and the input's state changes wake it through an eventfd, wakeup.h),
# and the status watchdog once a second (the history's second slots;
# request deadlines only while a request is on its way). They woke 5 and
# 2 times a second on 200 ms and 0.5 s ticks. The scheduled segment still
# goes on air at its scheduled second: the main thread plans it
# when it enters the look-ahead, not at some later tick.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
status_port=$(free_port) || fail "no free port"
t0=$(($(date +%s) + 14))
cat >"$T/schedule.conf" <<EOF
[segment bulletin]
at = $(date -u -d "@$t0" '+%Y-%m-%d %H:%M:%S')
source = tone
frequency = 1000
level_dbfs = -12
duration = 2s
title = Bulletin
EOF
silent_schedule_config "" 1 >"$T/relay.conf"
cat >>"$T/relay.conf" <<EOF
[status]
listen = 127.0.0.1:$status_port
EOF
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg

watchdog_task=
for d in /proc/"$RELAY_PID"/task/*; do
	[[ $(cat "$d/comm" 2>/dev/null) == status-watchdog ]] && watchdog_task=$d
done
[[ -n $watchdog_task ]] || fail "no status-watchdog thread"
main_task=/proc/$RELAY_PID/task/$RELAY_PID
switches() { awk '/^voluntary_ctxt_switches/ {print $2}' "$1/status"; }
sleep 1
(($(date +%s) + 6 < t0 - 3)) || fail "too slow to start: no quiet window before the segment is planned"
m0=$(switches "$main_task")
w0=$(switches "$watchdog_task")
sleep 5
m1=$(switches "$main_task")
w1=$(switches "$watchdog_task")
main_rate=$(awk -v a="$m0" -v b="$m1" 'BEGIN { printf "%.1f\n", (b - a) / 5 }')
watchdog_rate=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.1f\n", (b - a) / 5 }')
note "wake-ups a second: main thread $main_rate, status watchdog $watchdog_rate"
assert_between "$main_rate" 0 1.6 "main thread wake-ups a second"
assert_between "$watchdog_rate" 0.6 1.6 "status watchdog wake-ups a second"

# The segment goes on air at its time: started_at is its scheduled start.
want=$(date -u -d "@$t0" '+%Y-%m-%dT%H:%M:%SZ')
wait_for -t 12 -m "the bulletin on air" sh -c \
    "curl -sf 'http://127.0.0.1:$status_port/api/status' | jq -e '.now.segment == \"bulletin\"' >/dev/null"
got=$(curl -sf "http://127.0.0.1:$status_port/api/status" | jq -r '.now.started_at')
note "the bulletin started at $got (scheduled $want)"
[[ $got == "$want" ]] || fail "the bulletin started at $got, not at $want"
