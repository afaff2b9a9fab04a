#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/demo.sh (make run): a private icecast2 on a free loopback port, then
# build/relay in the foreground with config/demo.conf (its Icecast port and
# status port replaced by free ones). Prints the stream URL and the Listen
# Live URL. Ctrl-C stops relay (it ends the stream cleanly) and icecast.
#
# Threads: none.

# make runs this with sh; the helpers need bash.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

RELAY=${RELAY:-build/relay}
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

[[ -f $RELAY && -x $RELAY ]] || fail "$RELAY not found: run make first"

# With the CORS header the page's player needs on Safari and iPhones
# (docs/operations.md), as a station's icecast.xml should have it.
start_icecast demo --cors '*'
status_port=$(free_port) || fail "no free port for the status page"
conf=$T/demo.conf
sed -e "s/^port = 8000\$/port = ${ICE_PORT[demo]}/" \
    -e "s/^listen = 127\\.0\\.0\\.1:8080\$/listen = 127.0.0.1:$status_port/" \
    "$TOPDIR/config/demo.conf" >"$conf"
if ! grep -q "^port = ${ICE_PORT[demo]}\$" "$conf" ||
    ! grep -q "^listen = 127.0.0.1:$status_port\$" "$conf"; then
	fail "config/demo.conf no longer has the port lines demo.sh replaces"
fi
mount=$(sed -n 's/^mount = //p' "$conf" | head -n 1)
export RELAY_DEMO_PASSWORD=${ICE_PASSWORD[demo]}

stream_url=http://127.0.0.1:${ICE_PORT[demo]}$mount
page_url=http://127.0.0.1:$status_port/
cat <<EOF

  relay demo (a 440 Hz tone)
    stream:       $stream_url
    Listen Live:  $page_url
    status:       $RELAY status --url http://127.0.0.1:$status_port
    work dir:     $T
  Press Ctrl-C to stop.

EOF

# Says when listeners can tune in (a subshell: it does not inherit the trap).
(
	if wait_for -t 30 -m "$mount to go live" mount_live \
	    "${ICE_PORT[demo]}" "$mount" 2>/dev/null; then
		printf '\n  ON AIR: %s  (Listen Live: %s)\n\n' \
		    "$stream_url" "$page_url" >&2
	else
		printf '\n  %s is not on air after 30 s; see the log above\n\n' \
		    "$mount" >&2
	fi
) &
BG_PIDS+=("$!")

# Ctrl-C reaches relay too; relay ends the stream and exits, then cleanup
# stops icecast. A handler (not an ignore, which relay would inherit) keeps
# this shell alive until relay is done.
# SIGTERM (timeout, kill, a service manager) is passed on the same way:
# relay ends the stream cleanly and the demo exits 0.
trap ':' INT
trap 'kill -TERM "$relay_pid" 2>/dev/null || true' TERM
"$RELAY" -c "$conf" &
relay_pid=$!
rc=0
while :; do
	wait "$relay_pid" && rc=0 || rc=$?
	kill -0 "$relay_pid" 2>/dev/null || break
done
exit "$rc"
