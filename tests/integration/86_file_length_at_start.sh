#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 86 a file segment without `duration` plays for the length its file has
# when its run comes, not the one it had when the schedule loaded: the
# bulletin replaced under the same name (2 s at start-up, 4 s by its
# start) plays its 4 s and ends as planned. relay read the length once,
# when it loaded the schedule, and cut the new file at 2 s (the docs said
# it learnt the length "when it opens the file").
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
start_icecast a
control_api_setup
sox -n -r 48000 -c 1 -b 16 "$T/bulletin.wav" synth 2 sine 700 vol 0.25 2>/dev/null ||
    fail "sox failed"
t0=$(($(date +%s) + 8))
cat >"$T/schedule.conf" <<EOF
[segment bulletin]
at = $(utc "$t0")
source = file
path = $T/bulletin.wav
title = Bulletin
EOF
api_station_config >"$T/relay.conf"
"$RELAY" schedule -c "$T/relay.conf" --hours 1 | grep -E 'bulletin +file +2 s ' >/dev/null ||
    fail "relay schedule does not list the file's 2 s: $("$RELAY" schedule -c "$T/relay.conf" --hours 1)"
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
# The morning's new bulletin, twice as long, in place (as a copy is
# renamed into place).
sox -n -r 48000 -c 1 -b 16 "$T/new.wav" synth 4 sine 700 vol 0.25 2>/dev/null ||
    fail "sox failed"
mv "$T/new.wav" "$T/bulletin.wav"
wait_for -t 12 -m "bulletin on air" on_air bulletin || fail "the bulletin never went on air"
status_now >"$T/status.json"
len=$(jq -r '(.now.ends_at | sub("\\.[0-9]+Z$"; "Z") | fromdate) - (.now.started_at | sub("\\.[0-9]+Z$"; "Z") | fromdate)' "$T/status.json")
note "now: $(jq -c '.now' "$T/status.json"); $len s"
((len >= 3 && len <= 5)) || fail "the bulletin is on air for $len s, not the file's 4 s: $(jq -c '.now' "$T/status.json")"
log_has 'segment bulletin: .*bulletin.wav is 4 s long now \(2 s before\)' ||
    fail "no line about the new length: $(relay_lines | grep bulletin)"
wait_for -t 8 -m "the bulletin's end" log_has 'segment bulletin (ended|stopped) at' ||
    fail "the bulletin did not end"
log_has 'segment bulletin ended at' ||
    fail "the bulletin did not end as planned: $(relay_lines | grep 'segment bulletin')"
