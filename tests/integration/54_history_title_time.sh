#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 54 history stamps a live title change when it went on air: the live
# programme (titled Studio) plays for a few seconds, then the studio sends
# a new title (POST /api/metadata). /api/history's newest on_air event
# carries the new title and the time of the change (within a second of
# the POST), not the time live began; the first event still has live's
# start. Its times carry milliseconds, and so do the log ring's.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
control_api_setup
: >"$T/schedule.conf"
api_station_config >"$T/relay.conf"
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg

history() { curl -sf --max-time 3 "$URL/api/history"; }
epoch_of() { date -u -d "$1" +%s.%N; }
started=$(status_now | jq -r .now.started_at)
[[ $started != null ]] || fail "no now.started_at"
# Well past live's start, so the two times cannot be confused.
sleep "$(scaled 4)"
posted=$(date +%s.%N)
code=$(curl -s -o "$T/meta.out" -w '%{http_code}' --max-time 3 "${auth[@]}" \
    "${json[@]}" -d '{"title": "Interview", "artist": "Anna"}' \
    "$URL/api/metadata")
[[ $code == 200 ]] || fail "POST /api/metadata: $code $(cat "$T/meta.out")"
title_event() { history | jq -e '[.events[] | select(.kind == "on_air")] | last | .title == "Interview"' >/dev/null; }
wait_for -t 5 -m "the new title in /api/history" title_event ||
    fail "no history event for the new title: $(history | jq -c .events)"
doc=$(history)
note "events: $(jq -c .events <<<"$doc")"
first_at=$(jq -r '[.events[] | select(.kind == "on_air")] | first | .at' <<<"$doc")
at=$(jq -r '[.events[] | select(.kind == "on_air")] | last | .at' <<<"$doc")
[[ $at =~ ^[0-9-]+T[0-9:]+\.[0-9]{3}Z$ ]] || fail "event time without milliseconds: $at"
# The change went on air with the engine's next block after the POST.
assert_between "$(awk -v a="$(epoch_of "$at")" -v p="$posted" 'BEGIN { printf "%.3f\n", a - p }')" \
    -0.2 1.0 "title event time minus the POST's"
assert_between "$(awk -v a="$(epoch_of "$first_at")" -v s="$(epoch_of "$started")" 'BEGIN { printf "%.3f\n", a - s }')" \
    -1.0 1.0 "live's event time minus now.started_at"
# The log ring serves milliseconds too.
jq -e '.log.events | all(.at | test("^[0-9-]+T[0-9:]+\\.[0-9]{3}Z$"))' <<<"$doc" >/dev/null ||
    fail "log events without milliseconds: $(jq -c '[.log.events[].at]' <<<"$doc")"
check_sanitizer
note "history title time: OK"
