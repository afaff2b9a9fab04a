#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 79 a file segment that runs back to back (every minute, a 58 s file: the
# next run enters the planner's 3 s look-ahead while this one plays) plays
# each run for the length its file has when that run comes: the file,
# replaced by a 59 s one during a run, plays 59 s at the next, and the run
# on air meanwhile plays its own window to its end. relay read a file's
# length again as each run came close (86), but not while an earlier run
# of the segment was on air, so a segment that loops was never read again
# and kept the length it had when the schedule loaded.
#
# timeout: 150

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
start_icecast a
control_api_setup
sox -n -r 48000 -c 1 -b 16 "$T/loop.wav" synth 58 sine 700 vol 0.25 2>/dev/null ||
    fail "sox failed"
cat >"$T/schedule.conf" <<EOF
[segment loop]
cron = * * * * *
source = file
path = $T/loop.wav
title = Loop
EOF
api_station_config >"$T/relay.conf"
# Start inside a run, well before the next one enters the look-ahead (at
# 57 s past the minute).
sec=$((10#$(date +%S)))
if ((sec >= 45)); then
	sleep $((61 - sec))
fi
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
wait_for -t 10 -m "the run in progress on air" on_air loop ||
    fail "the run in progress never went on air"
first=$(status_now | jq -r .now.started_at)
# The new file, a second longer, in place (a copy renamed into place).
sox -n -r 48000 -c 1 -b 16 "$T/new.wav" synth 59 sine 700 vol 0.25 2>/dev/null ||
    fail "sox failed"
mv "$T/new.wav" "$T/loop.wav"
next_run() { status_has ".state == \"segment\" and .now.started_at != \"$first\""; }
wait_for -t 70 -m "the next run on air" next_run || fail "the next run never went on air"
status_now >"$T/status.json"
len=$(jq -r '(.now.ends_at | sub("\\.[0-9]+Z$"; "Z") | fromdate) - (.now.started_at | sub("\\.[0-9]+Z$"; "Z") | fromdate)' "$T/status.json")
note "now: $(jq -c '.now' "$T/status.json"); $len s"
((len == 59)) || fail "the next run is on air for $len s, not the file's 59 s: $(jq -c '.now' "$T/status.json")"
log_has 'segment loop: .*loop.wav is 59 s long now \(58 s before\)' ||
    fail "no line about the new length: $(relay_lines | grep 'segment loop')"
# The run that was on air played its own window to its end, once.
n=$(log_count 'segment loop on air')
((n == 2)) || fail "$n starts of segment loop, not 2: $(relay_lines | grep 'segment loop')"
log_has 'segment loop ended at' ||
    fail "the first run did not end as planned: $(relay_lines | grep 'segment loop')"
check_sanitizer
note "a looping file segment's new length: OK"
