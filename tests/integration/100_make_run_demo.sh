#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 100 make run: the demo a new user starts first (tests/demo.sh, which `make
# run` runs once relay is built) comes up by itself: its private icecast,
# the Listen Live URL, then "ON AIR"; the page answers, the stream decodes
# with a real decoder, and relay logs no warning a new user would have to
# act on (only the one about running as root, where the test runs as
# root). The demo's icecast sent no Access-Control-Allow-Origin, so the
# first thing a new user saw was a warning about Safari and iPhones. SIGTERM
# (what a service manager or `timeout` sends) stops relay cleanly, takes the
# demo's icecast down with it and exits 0.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

out=$T/demo.out
( cd "$TOPDIR" && exec env RELAY="$RELAY" bash tests/demo.sh ) >"$out" 2>&1 &
demo_pid=$!
BG_PIDS+=("$demo_pid")

wait_for -t "$(scaled 40)" -m "the demo to say ON AIR" \
    grep -q '^  ON AIR: ' "$out" || fail "no ON AIR line: $(tail -20 "$out")"
page=$(sed -n 's/^    Listen Live: *//p' "$out")
stream=$(sed -n 's/^    stream: *//p' "$out")
[[ $page == http://127.0.0.1:*/ && $stream == http://127.0.0.1:*/live.ogg ]] ||
    fail "the demo printed no Listen Live or stream URL: $(head -12 "$out")"
grep -q "^  ON AIR: $stream  (Listen Live: $page)" "$out" ||
    fail "the ON AIR line names other URLs: $(grep 'ON AIR' "$out")"

curl -sf --max-time 5 -o "$T/page.html" "$page" || fail "$page does not answer"
grep -qi '<html' "$T/page.html" || fail "$page is not a page"
listen "$stream" 4 "$T/demo.ogg" || fail "cannot listen to $stream"
check_vorbis "$T/demo.ogg" 44100 2 2

# What icecast and relay think of each other settles within a few seconds
# (the poller reads Icecast's headers); then the log must hold nothing a
# new user has to fix.
sleep "$(scaled 4)"
warnings=$(grep -E '^[0-9T:.-]+Z (warn|error) ' "$out" |
    grep -v 'warn main: running as root' || true)
[[ -z $warnings ]] || fail "the demo logs warnings: $warnings"

ice_pid=$(sed -n 's/.*icecast demo up on .* (pid \([0-9]*\)).*/\1/p' "$out")
[[ -n $ice_pid ]] || fail "the demo did not say which icecast it started"
kill -TERM "$demo_pid"
wait_for -t "$(scaled 10)" -m "the demo to exit" proc_gone "$demo_pid" ||
    fail "the demo did not exit on SIGTERM"
rc=0
wait "$demo_pid" || rc=$?
[[ $rc == 0 ]] || fail "the demo exited $rc on SIGTERM: $(tail -5 "$out")"
grep -q 'info main: stopped cleanly' "$out" ||
    fail "relay did not stop cleanly: $(tail -5 "$out")"
wait_for -t "$(scaled 5)" proc_gone "$ice_pid" ||
    fail "the demo's icecast (pid $ice_pid) is still running"
note "make run's demo: on air, page and stream OK, no warnings, clean stop"
