#!/usr/bin/env bash
# serial: asserts how fast relay reconnects
# SPDX-License-Identifier: MIT
#
# 12 reconnect fast: with the default backoff (reconnect_min 1 s,
# reconnect_max 30 s), icecast is killed and kept down until relay has
# scheduled a long retry delay (12 s or more: ~15 s of outage), then started
# again on the same port. A listener must get audio within 2.5 s of the
# server answering /status-json.xsl (measured: 0.5-1 s, most of it Icecast's
# own 0.5 s paging; relay connects within ~0.25 s of the port accepting,
# often before the status page answers), and the mount must be listed with
# audio within 3 s (measured: 1-1.5 s), not after relay has slept out its
# backoff (9-20 s here before the fix): while it waits, relay probes the
# server and connects as soon as it accepts connections again. Then three
# more kill/restart rounds in a row, with outages of ~2 to ~8 s, each
# printing its recovery times.
#
# timeout: 240

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

BOUND=$(scaled 2.5)
# Icecast lists a new source with audio ~0.5 s after its listeners get it.
LISTED_BOUND=$(scaled 3)

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}

# Debug level: every retry logs its delay, which is how the test knows the
# backoff has grown (repeats of a failure are logged at debug).
tone_config /fast.ogg "" "[log]
level = debug" >"$T/relay.conf"

# True once relay has scheduled, since the log mark, a retry at least $1 s
# away ("...; retrying in 16.2 s").
retry_delay_at_least()
{
	relay_lines "${LOG_MARK:-0}" |
	    sed -n 's/.*; retrying in \([0-9.]*\) s$/\1/p' |
	    awk -v min="$1" '$1 + 0 >= min + 0 { found = 1 } END { exit !found }'
}

# Listens to /fast.ogg until a connection gets audio (404 until the source
# is back), for at most $2 s. Sets FIRST_BYTE_AT, the wall time of the
# first byte; the capture (1.5 s) goes to $T/$1.ogg.
first_byte()
{
	local label=$1 deadline t out code size start
	deadline=$(awk -v n="$(now)" -v s="$(scaled "$2")" \
	    'BEGIN { printf "%.3f", n + s }')
	while :; do
		t=$(now)
		out=$(curl -sN --max-time 1.5 -o "$T/$label.ogg" \
		    -w '%{http_code} %{size_download} %{time_starttransfer}' \
		    "http://127.0.0.1:$port/fast.ogg") || true
		read -r code size start <<<"$out"
		if [[ $code == 200 && ${size:-0} -gt 0 ]]; then
			FIRST_BYTE_AT=$(awk -v a="$t" -v b="$start" \
			    'BEGIN { printf "%.3f", a + b }')
			return 0
		fi
		if awk -v n="$(now)" -v d="$deadline" 'BEGIN { exit !(n > d) }'; then
			return 1
		fi
		sleep 0.05
	done
}

# One round: kill icecast, wait until relay's next retry is at least
# MIN_DELAY s away, start icecast again and time relay's return.
round()
{
	local label=$1 min_delay=$2 down up took listed
	log_mark
	stop_icecast a KILL
	down=$(now)
	wait_for -t 60 -m "relay to schedule a retry >= $min_delay s away" \
	    retry_delay_at_least "$min_delay" ||
	    fail "$label: relay never backed off to $min_delay s"
	relay_alive || fail "$label: relay exited while icecast was down"
	start_icecast a
	up=$(now)
	# Both clocks run at once: the status page in the background.
	rm -f "$T/listed_at"
	(wait_for -t 35 -m "relay listed on /fast.ogg" \
	    mount_live "$port" /fast.ogg && now >"$T/listed_at") &
	first_byte "$label" 35 || fail "$label: no listener got audio again"
	took=$(awk -v a="$up" -v b="$FIRST_BYTE_AT" 'BEGIN { printf "%.3f", b - a }')
	wait $! || fail "$label: relay did not come back on the mount"
	listed=$(awk -v a="$up" -v b="$(cat "$T/listed_at")" \
	    'BEGIN { printf "%.3f", b - a }')
	note "$label: outage $(awk -v a="$down" -v b="$up" \
	    'BEGIN { printf "%.1f", b - a }') s; after the server answered: first listener byte in $took s, listed with audio in $listed s"
	printf '%s %s/%s\n' "$label" "$took" "$listed" >>"$T/recovery"
	assert_between "$took" -1 "$BOUND" \
	    "$label: seconds from icecast answering to a listener's first byte"
	assert_between "$listed" 0 "$LISTED_BOUND" \
	    "$label: seconds from icecast answering to the mount listed with audio"
	# What the listener got is audio from the new source (fresh headers).
	check_vorbis "$T/$label.ogg" 44100 2 0.3
}

start_relay "$T/relay.conf"
wait_mount "$port" /fast.ogg

# A long outage: the backoff has grown to 12 s or more (16 s +-25%).
round long 12
# Three in a row, short and long outages.
n=0
for d in 2 8 4; do
	n=$((n + 1))
	round "round$n" "$d"
done

note "recovery times (first byte/listed, s): $(tr '\n' ' ' <"$T/recovery")"
# One line per cut-short wait: logged once per recovery, not per probe.
cuts=$(log_count 'accepts connections again')
assert_between "$cuts" 1 4 "log lines about the server accepting again"
relay_alive || fail "relay exited"
stop_relay TERM 5 || fail "relay did not stop"
check_sanitizer
