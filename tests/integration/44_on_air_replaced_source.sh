#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 44 on air after a replaced source: another source (ffmpeg) holds relay's
# mount while relay retries ("mountpoint in use"); it dies and relay takes the
# mount within Icecast's window. Icecast 2.4.4 keeps listing the dead source
# for ~0.3 s after it left (its stats lag its mounts; measured), and the
# poller had listed it while relay waited, so relay used to say on_air the
# moment it connected, on the old source's listing. on_air must stay false
# until the listing is relay's own: stream_start no earlier than relay's
# connection (2 s of slack).
#
# The test samples on_air as often as it can, and the listing once on_air is
# true: once relay's listing is there it stays, so on_air true followed by the
# old listing (or none yet) means on_air counted a listing that was not ours.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

status_setup
port=${ICE_PORT[a]}

# Not under timeout(1): the test kills ffmpeg itself (-t 120 ends it anyway).
bg ffmpeg -nostdin -v error -re -t 120 \
    -f lavfi -i sine=frequency=440:sample_rate=44100 -ac 2 \
    -c:a libvorbis -q:a 0 -content_type application/ogg -f ogg \
    "icecast://source:${ICE_PASSWORD[a]}@127.0.0.1:$port/taken.ogg"
other=$BG_PID
wait_mount "$port" /taken.ogg
t_other=$(now)
old_start=$(ice_field "$port" /taken.ogg stream_start_iso8601) ||
    fail "no stream_start_iso8601 in the other source's listing"
note "the other source holds /taken.ogg since $old_start"

tone_config /taken.ogg "reconnect_min = 0.1s
reconnect_max = 0.2s" "" "listen = 127.0.0.1:$STATUS_PORT
poll_icecast = 1s" >"$T/relay.conf"

# True once S seconds have passed since time T (now).
older_than() {
	awk -v n="$(now)" -v t="$1" -v s="$2" 'BEGIN { exit !(n - t >= s) }'
}

start_relay "$T/relay.conf"
wait_for -t 15 -m "relay refused: mountpoint in use" \
    log_has "mountpoint /taken.ogg in use" ||
    fail "relay never met the other source on its mount"
# The poller lists the other source's stream for relay's output while relay
# waits, and that listing ages past the slack.
wait_for -t 15 -m "the other source's listing in /api/status" \
    eval "status_now 1 | jq -e '.outputs[0].mount_listed == true' >/dev/null"
wait_for -t 15 -m "the other source listed for 4 s" older_than "$t_other" 4
status_is_on_air 1 && fail "on_air while another source holds the mount"

kill -9 "$other"
t0=$(now)
deadline=$(awk -v n="$t0" -v s="$(scaled 15)" 'BEGIN { printf "%.3f", n + s }')
while awk -v n="$(now)" -v d="$deadline" 'BEGIN { exit !(n < d) }'; do
	air=false
	status_is_on_air 1 && air=true
	if [[ $air == true ]]; then
		start=$(ice_field "$port" /taken.ogg stream_start_iso8601 ||
		    true)
		# Relay's own listing; its audio fields (subtype) follow
		# Icecast's parse of the headers and can show a moment after
		# relay's own poll saw them: wait 1 s for them, not longer.
		if [[ -z $start || $start == "$old_start" ]] ||
		    ! wait_for -t 1 -m "relay's listing with audio" \
		    mount_live "$port" /taken.ogg; then
			fail "on_air $(elapsed_since "$t0") s after the other" \
			    "source died, while Icecast listed" \
			    "${start:-nothing} (the other source: $old_start)"
		fi
		note "on_air $(elapsed_since "$t0") s after the other source" \
		    "died, on relay's own listing ($start)"
		break
	fi
	sleep 0.02
done
[[ $air == true ]] || fail "on_air never came back on relay's own stream"
