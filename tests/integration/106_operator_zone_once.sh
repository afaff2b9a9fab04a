#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 106 the operator page reads its zone once: one GET /operator opens the
# [schedule] timezone's file under /usr/share/zoneinfo once (strace), and
# the page still names the zone and shows its times in it. Each of the six
# parts of the page that show a time or the zone loaded the file again.
#
# timeout: 40

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

command -v strace >/dev/null || skip "strace is not installed"
zone=Asia/Kolkata
[[ -f /usr/share/zoneinfo/$zone ]] || skip "no $zone zone file"

port=$(free_port) || fail "no free port"
cat >"$T/relay.conf" <<EOF
[input]
type = tone

[output archive]
type = file
path = $T/archive.ogg

[schedule]
timezone = $zone

[status]
listen = 127.0.0.1:$port
poll_icecast = off
EOF
start_relay "$T/relay.conf"
page()
{
	curl -sf --max-time 5 "http://127.0.0.1:$port/operator"
}
wait_for -t 10 -m "the operator page" page >/dev/null ||
    fail "the operator page never answered"

strace -f -qq -e trace=open,openat -p "$RELAY_PID" -o "$T/strace.txt" \
    2>"$T/strace.err" &
strace_pid=$!
at_cleanup kill "$strace_pid"
# strace writes nothing until a call: wait until it has seen a request.
traced()
{
	kill -0 "$strace_pid" 2>/dev/null ||
	    skip "strace cannot attach: $(cat "$T/strace.err")"
	page >/dev/null && grep -q "zoneinfo/$zone\"" "$T/strace.txt"
}
wait_for -t 10 -m "strace to see a request" traced ||
    fail "strace saw no request open the zone file: $(cat "$T/strace.err")"
before=$(grep -c "zoneinfo/$zone\"" "$T/strace.txt") || true
page >"$T/page.html" || fail "GET /operator failed"
# The page is sent after it is built, so its calls are in the trace.
kill "$strace_pid" 2>/dev/null || true
wait "$strace_pid" 2>/dev/null || true
after=$(grep -c "zoneinfo/$zone\"" "$T/strace.txt") || true
n=$((after - before))
((n == 1)) ||
    fail "one GET /operator opened the zone file $n times (want 1)"
grep -qF "data-tz=\"$zone\"" "$T/page.html" ||
    fail "the page does not tell the script its zone: $(grep -o 'data-tz="[^"]*"' "$T/page.html")"
grep -qF "Times in $zone (IST, UTC+05:30)" "$T/page.html" ||
    fail "the page's note does not name the zone: $(grep -o 'Times in[^<]*' "$T/page.html")"
stop_relay TERM 5 || fail "relay did not exit after SIGTERM"
