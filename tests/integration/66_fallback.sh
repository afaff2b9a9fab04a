#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 66 fallback: two relays feed one Icecast, the primary (440 Hz) to
# /live.ogg and a backup (880 Hz) to /live-backup.ogg; Icecast's <mount>
# for /live.ogg names /live-backup.ogg as <fallback-mount> with
# <fallback-override>1 (docs/scale-out.md, "Redundancy"); an edge Icecast
# relays /live.ogg. One listener on the primary's /live.ogg and one on the
# edge's, one connection each for the whole test (tests/tools/ogg_listen.py
# notes when each Ogg page arrives):
# - the primary relay is killed with SIGKILL: each listener gets the
#   backup's chain with less than 1 s without audio: from the end of the
#   audio in the last primary page (pages hold 0.5 s) to the arrival of the
#   first backup audio page, as a player that buffers nothing more would
#   hear it (and less than 1.5 s between the two pages' arrivals);
# - the primary relay is started again: the listeners are moved back to it
#   (a third chain on the same connection) within 4 s of its start
#   (Icecast moves listeners as soon as the source connects, so they wait
#   for its first page: up to 2.5 s without audio is allowed there);
# - ffmpeg and ogg123 (libvorbisfile) decode each whole capture (three
#   chains, none with EOS) and hear 440 Hz, then 880 Hz for about as long
#   as the primary was away, then 440 Hz, with no silent half second. The
#   edge's pull is a listener of the primary, moved like the others.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

LISTEN_S=16
KILL_AT_S=5
RESTART_AT_S=10

start_icecast a --fallback /live.ogg /live-backup.ogg
start_icecast edge --relay a /live.ogg
port=${ICE_PORT[a]}
edge_port=${ICE_PORT[edge]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}

relay_conf()
{
	cat >"$T/$1.conf" <<CONF
[input]
type = tone
frequency = $2

[encoding main]
quality = 2

[output main]
host = 127.0.0.1
port = $port
mount = $3
password_env = RELAY_TEST_SOURCE_PASSWORD

[status]
listen = off
CONF
}
relay_conf primary 440 /live.ogg
relay_conf backup 880 /live-backup.ogg

bg "$RELAY" -c "$T/backup.conf" >"$T/backup.log" 2>&1
SANITIZER_FILES+=("$T/backup.log")
start_relay "$T/primary.conf"
wait_mount "$port" /live.ogg
wait_mount "$port" /live-backup.ogg

wait_mount "$edge_port" /live.ogg 20

bg python3 "$TOPDIR/tests/tools/ogg_listen.py" "http://127.0.0.1:$edge_port/live.ogg" \
    "$LISTEN_S" "$T/e.ogg" >"$T/e.json" 2>"$T/e.err"
edge_listener=$BG_PID
bg python3 "$TOPDIR/tests/tools/ogg_listen.py" "http://127.0.0.1:$port/live.ogg" \
    "$LISTEN_S" "$T/l.ogg" >"$T/l.json" 2>"$T/l.err"
listener=$BG_PID
wait_for -t 5 -m "the listeners' first pages" \
    test -s "$T/l.ogg.pages" -a -s "$T/e.ogg.pages" ||
    fail "a listener got nothing: $(cat "$T/l.err" "$T/e.err")"

sleep "$KILL_AT_S"
kill_at=$(now)
stop_relay KILL 5 || fail "the primary relay did not die on SIGKILL"
note "primary relay killed"
sleep "$((RESTART_AT_S - KILL_AT_S))"
restart_at=$(now)
start_relay "$T/primary.conf"
wait "$listener" || fail "ogg_listen.py failed: $(cat "$T/l.err")"
wait "$edge_listener" || fail "ogg_listen.py (edge) failed: $(cat "$T/e.err")"

# The switch from chain A to chain B in capture C (l or e), from time FROM
# on:  switch_gap C A B FROM  prints "ARRIVAL AUDIBLE LAST FIRST": LAST is
# when the last page of A arrived, FIRST the first audio page (granule > 0)
# of B, ARRIVAL = FIRST - LAST, and AUDIBLE = ARRIVAL less the audio the
# last page of A carried: the silence a player that buffers nothing beyond
# the page in hand would hear. "none" when there is no such switch.
switch_gap()
{
	local a b
	a=$(jq -r ".chains[$2].serial" "$T/$1.json")
	b=$(jq -r ".chains[$3].serial" "$T/$1.json")
	awk -v a="$a" -v b="$b" -v from="$4" -v rate=44100 '
	    $2 == a && $3 > 0 {
		d = ($2 in prev && $3 > prev[$2]) ? ($3 - prev[$2]) / rate : 0
		if ($1 >= from) { last = $1; last_d = d }
	    }
	    $3 > 0 { prev[$2] = $3 }
	    $1 >= from && $2 == b && $3 > 0 && first == "" { first = $1 }
	    END { if (last == "" || first == "") print "none";
	          else { g = first - last - last_d; if (g < 0) g = 0
	                 printf "%.3f %.3f %.3f %.3f\n", first - last, g, last, first } }' \
	    "$T/$1.ogg.pages"
}

# check_tones WHAT S16LE AWAY_S: 440, then 880 (about AWAY_S), then 440 Hz.
check_tones()
{
	local what=$1 pcm=$2 away=$3 runs r1 r2 r3 rest decoded
	python3 "$TOPDIR/tests/tools/ogg_listen.py" --tones "$pcm" 44100 2 \
	    >"$pcm.tones"
	# Runs of the same tone (a window on a switch is neither: skipped).
	runs=$(awk '{ f = ($1 > 420 && $1 < 460) ? 440 : ($1 > 860 && $1 < 900) ? 880 : ($1 == 0 ? "silence" : "mixed") }
	    f == "mixed" { next }
	    f != prev { if (prev != "") printf "%s:%d ", prev, n; prev = f; n = 0 }
	    { n++ } END { printf "%s:%d\n", prev, n }' "$pcm.tones")
	note "$what: runs (tone:half-seconds): $runs"
	! grep -qx 0 "$pcm.tones" || fail "$what: heard silence: $runs"
	read -r r1 r2 r3 rest <<<"$runs"
	[[ ${r1%:*} == 440 && ${r2%:*} == 880 && ${r3%:*} == 440 && -z ${rest:-} ]] ||
	    fail "$what: expected 440 Hz, 880 Hz, 440 Hz; heard $runs"
	assert_between "$(awk -v n="${r2#*:}" 'BEGIN { print n / 2 }')" \
	    "$(awk -v a="$away" 'BEGIN { print a - 2.5 }')" \
	    "$(awk -v a="$away" 'BEGIN { print a + 1 }')" \
	    "$what: seconds of backup audio heard while the primary was away (${away} s)"
	decoded=$(awk -v b="$(file_size "$pcm")" 'BEGIN { printf "%.2f", b / 4 / 44100 }')
	assert_between "$decoded" "$((LISTEN_S - 3))" "$((LISTEN_S + 6))" \
	    "$what: seconds decoded from a ${LISTEN_S} s connection"
}

# check_listener C: the capture of listener C (l: primary, e: edge).
check_listener()
{
	local c=$1 chains t0 kill_t restart_t kill_gap kill_silence last1 first2
	local back_gap back_silence last2 first3 away decoder
	note "listener $c: $(cat "$T/$c.json")"
	# --- page arrival: one connection, three chains, short switches ---
	jq -e --argjson s "$LISTEN_S" '.wall_s >= $s - 0.5' "$T/$c.json" \
	    >/dev/null ||
	    fail "listener $c: the connection ended early: $(cat "$T/$c.json")"
	chains=$(jq '.chains | length' "$T/$c.json")
	[[ $chains == 3 ]] ||
	    fail "listener $c: expected 3 chains (primary, backup, primary): $(jq -c .chains "$T/$c.json")"
	t0=$(jq '.t0_epoch' "$T/$c.json")
	# Times on the listener's clock (seconds since its first byte).
	kill_t=$(awk -v a="$kill_at" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
	restart_t=$(awk -v a="$restart_at" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
	read -r kill_gap kill_silence last1 first2 <<<"$(switch_gap "$c" 0 1 0)"
	note "listener $c: SIGKILL at ${kill_t} s: last primary page ${last1:-} s, first backup audio ${first2:-} s: ${kill_gap} s between pages, ${kill_silence:-} s without audio"
	[[ $kill_gap != none ]] || fail "listener $c: no switch from the primary to the backup"
	assert_between "$kill_silence" 0 1.0 \
	    "listener $c: time without audio when the primary died (s)"
	assert_between "$kill_gap" 0 1.5 \
	    "listener $c: time between the primary's last and the backup's first audio page (s)"
	assert_between "$first2" "$kill_t" "$(awk -v k="$kill_t" 'BEGIN { print k + 1.5 }')" \
	    "listener $c: the backup's first page (s on its clock)"
	read -r back_gap back_silence last2 first3 <<<"$(switch_gap "$c" 1 2 "$first2")"
	note "listener $c: restart at ${restart_t} s: last backup page ${last2:-} s, first primary audio ${first3:-} s: ${back_gap} s between pages, ${back_silence:-} s without audio"
	[[ $back_gap != none ]] || fail "listener $c: never went back to the primary"
	assert_between "$first3" "$restart_t" "$(awk -v k="$restart_t" 'BEGIN { print k + 4 }')" \
	    "listener $c: the restarted primary's first audio page (s on its clock)"
	assert_between "$back_silence" 0 2.5 \
	    "listener $c: time without audio when going back to the primary (s)"

	# --- what decoders hear: 440, then 880, then 440 Hz, no silence ---
	away=$(awk -v a="$first2" -v b="$first3" 'BEGIN { printf "%.1f", b - a }')
	ffmpeg -nostdin -v error -i "$T/$c.ogg" -f s16le -acodec pcm_s16le -y \
	    "$T/$c.ffmpeg.s16le" 2>"$T/$c.ffmpeg.log" ||
	    fail "listener $c: ffmpeg cannot decode: $(head -3 "$T/$c.ffmpeg.log")"
	ogg123 -q -d raw -f "$T/$c.ogg123.s16le" "$T/$c.ogg" \
	    2>"$T/$c.ogg123.log" ||
	    fail "listener $c: ogg123 cannot decode: $(head -3 "$T/$c.ogg123.log")"
	for decoder in ffmpeg ogg123; do
		check_tones "listener $c ($decoder)" "$T/$c.$decoder.s16le" "$away"
	done
}

check_listener l
check_listener e

relay_alive || fail "the restarted primary relay exited"
stop_relay TERM 5 || fail "the primary relay did not stop"
kill -TERM "${BG_PIDS[0]}"
wait_for -t 5 -m "the backup relay to exit" proc_gone "${BG_PIDS[0]}" ||
    fail "the backup relay did not stop on SIGTERM"
check_sanitizer "$RELAY_LOG" "$T/backup.log"
