#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 37 heavy schedule: a valid but heavy schedule (1,000 segments, each
# `cron = * * * * *` with a 24 h duration: 1.44 million occurrences compete
# at any instant) must not peg relay. `relay schedule --hours 1` lists its
# 60,000 occurrences within a few seconds; `relay --check` accepts it with
# a warning that too many occurrences overlap; a running relay (silent tone,
# file archive) stays responsive: control calls, which the main thread
# answers, come back within 2 s, it uses well under half a core, and
# SIGTERM stops it within 2 s.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

control_api_setup

for ((i = 0; i < 1000; i++)); do
	printf '[segment s%d]\ncron = * * * * *\nsource = silence\n' "$i"
	printf 'duration = 24h\ntitle = Heavy %d\n\n' "$i"
done >"$T/schedule.conf"
cat >"$T/relay.conf" <<EOF
[input]
type = tone
frequency = 0
channels = 1
title = Studio live
[encoding e]
channels = 1
quality = 0
[output archive]
type = file
path = $T/archive.ogg
[status]
listen = 127.0.0.1:$status_port
token_env = RELAY_TEST_CONTROL_TOKEN
[schedule]
file = schedule.conf
timezone = UTC
EOF

# timed LIMIT OUT ERR CMD...: runs CMD with stdout to OUT and stderr to
# ERR; sets TIMED to the seconds it took, or fails past LIMIT seconds.
timed()
{
	local limit=$1 out=$2 err=$3 start rc=0
	shift 3
	SANITIZER_FILES+=("$err")
	start=$(now)
	timeout "$(scaled "$limit")" "$@" >"$out" 2>"$err" || rc=$?
	[[ $rc -eq 0 ]] || fail "'$*' exit $rc (124: not done in $(scaled "$limit") s)"
	TIMED=$(elapsed_since "$start")
}

timed 20 "$T/listing" "$T/listing.err" \
    "$RELAY" schedule -c "$T/relay.conf" --hours 1
note "relay schedule --hours 1: $TIMED s"
grep -qx '# 60000 occurrences' "$T/listing" ||
    fail "listing does not end with 60000 occurrences: $(tail -n 1 "$T/listing")"
grep -q ' s999  .*\[pre-empted by s0\]$' "$T/listing" ||
    fail "s999 is not shown pre-empted by s0: $(grep -m1 ' s999 ' "$T/listing")"
assert_between "$TIMED" 0 "$(scaled 10)" "relay schedule seconds"

timed 20 "$T/check.out" "$T/check.err" "$RELAY" --check -c "$T/relay.conf"
grep -q 'schedule.conf:1: \[segment s0\] duration: warning: .*more than 16 occurrences of 1000 segment(s) could be on air at once' \
    "$T/check.err" || fail "--check gave no overlap warning: $(head -n 3 "$T/check.err")"

start_relay "$T/relay.conf"
status_has() { curl -sf --max-time 3 "$URL/api/status" | jq -e "$1" >/dev/null 2>&1; }
wait_for -t 15 -m "segment s0 on air" status_has '.now.segment == "s0"' ||
    fail "s0 never went on air: $(curl -s --max-time 3 "$URL/api/status" | head -c 300)"

# CPU over 5 s of steady running (utime + stime in clock ticks).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$RELAY_PID/stat"; }
hz=$(getconf CLK_TCK)
c0=$(cpu_ticks)
t0=$(now)
for ((i = 0; i < 5; i++)); do
	start=$(now)
	code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 10 -X POST \
	    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	    -d '{"title": "Heavy test '"$i"'"}' "$URL/api/metadata") || true
	took=$(elapsed_since "$start")
	[[ $code == 200 ]] || fail "POST /api/metadata: $code $(cat "$T/body")"
	assert_between "$took" 0 2 "control call $i seconds"
	sleep 1
done
c1=$(cpu_ticks)
cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v s="$(elapsed_since "$t0")" \
    'BEGIN { printf "%.2f\n", (b - a) / hz / s }')
note "relay used $cpu of a core with the heavy schedule"
assert_between "$cpu" 0 0.5 "CPU share"

stop_relay TERM "$(scaled 2)" || fail "relay did not stop within 2 s of SIGTERM"
note "SIGTERM to exit: $RELAY_STOP_SECONDS s"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit $RELAY_RC after SIGTERM"
note "heavy schedule: listed, checked, and relay stayed responsive"
