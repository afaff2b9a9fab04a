#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 66 fallback: two relays feed one Icecast, the primary (440 Hz) to
# /live.ogg and a backup (880 Hz) to /live-backup.ogg; Icecast's <mount>
# for /live.ogg names /live-backup.ogg as <fallback-mount> with
# <fallback-override>1 (docs/scale-out.md, "Redundancy"). One listener on
# /live.ogg, one connection for the whole test (tests/tools/ogg_listen.py
# notes when each Ogg page arrives):
# - the primary relay is killed with SIGKILL: the listener gets the
#   backup's chain with no more than 1 s between the last primary page and
#   the first backup audio page;
# - the primary relay is started again: the listener is moved back to it
#   (a third chain on the same connection) within 3 s of its start
#   (Icecast moves listeners as soon as the source connects, so they wait
#   for its first page: up to 2.5 s between pages is allowed there);
# - ffmpeg decodes the whole capture (three chains, none with EOS) and hears
#   440 Hz, then 880 Hz for about as long as the primary was away, then
#   440 Hz, with no silent half second.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

LISTEN_S=16
KILL_AT_S=5
RESTART_AT_S=10

start_icecast a --fallback /live.ogg /live-backup.ogg
port=${ICE_PORT[a]}
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

bg python3 "$TOPDIR/tests/tools/ogg_listen.py" "http://127.0.0.1:$port/live.ogg" \
    "$LISTEN_S" "$T/l.ogg" >"$T/l.json" 2>"$T/l.err"
listener=$BG_PID
wait_for -t 5 -m "the listener's first page" test -s "$T/l.ogg.pages" ||
    fail "the listener got nothing: $(cat "$T/l.err")"
start=$(now)

sleep "$KILL_AT_S"
kill_at=$(now)
stop_relay KILL 5 || fail "the primary relay did not die on SIGKILL"
note "primary relay killed"
sleep "$((RESTART_AT_S - KILL_AT_S))"
restart_at=$(now)
start_relay "$T/primary.conf"
wait "$listener" || fail "ogg_listen.py failed: $(cat "$T/l.err")"
note "listener: $(cat "$T/l.json")"

# --- page arrival: one connection, three chains, short switches ----------
jq -e --argjson s "$LISTEN_S" '.wall_s >= $s - 0.5' "$T/l.json" >/dev/null ||
    fail "the listener's connection ended early: $(cat "$T/l.json")"
chains=$(jq '.chains | length' "$T/l.json")
[[ $chains == 3 ]] ||
    fail "expected 3 chains (primary, backup, primary): $(jq -c .chains "$T/l.json")"
t0=$(jq '.t0_epoch' "$T/l.json")
# Times on the listener's clock (seconds since its first byte).
kill_t=$(awk -v a="$kill_at" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
restart_t=$(awk -v a="$restart_at" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
serial() { jq -r ".chains[$1].serial" "$T/l.json"; }
# Last page of chain A, first audio page (granule > 0) of chain B.
switch_gap()
{
	awk -v a="$(serial "$1")" -v b="$(serial "$2")" -v from="$3" '
	    $1 >= from && $2 == a { last = $1 }
	    $1 >= from && $2 == b && $3 > 0 && first == "" { first = $1 }
	    END { if (last == "" || first == "") print "none";
	          else printf "%.3f %.3f %.3f\n", first - last, last, first }' \
	    "$T/l.ogg.pages"
}
read -r kill_gap last1 first2 <<<"$(switch_gap 0 1 0)"
note "SIGKILL at ${kill_t} s: last primary page ${last1} s, first backup audio ${first2} s: gap ${kill_gap} s"
[[ $kill_gap != none ]] || fail "no switch from the primary to the backup"
assert_between "$kill_gap" 0 1.0 "gap between the primary's last and the backup's first audio page (s)"
assert_between "$first2" "$kill_t" "$(awk -v k="$kill_t" 'BEGIN { print k + 1.5 }')" \
    "the backup's first page (s on the listener's clock)"
read -r back_gap last2 first3 <<<"$(switch_gap 1 2 "$first2")"
note "restart at ${restart_t} s: last backup page ${last2} s, first primary audio ${first3} s: gap ${back_gap} s"
[[ $back_gap != none ]] || fail "the listener never went back to the primary"
assert_between "$first3" "$restart_t" "$(awk -v k="$restart_t" 'BEGIN { print k + 3 }')" \
    "the restarted primary's first audio page (s on the listener's clock)"
assert_between "$back_gap" 0 2.5 "gap when going back to the primary (s)"

# --- what a decoder hears: 440, then 880, then 440 Hz, no silence ---------
ffmpeg -nostdin -v error -i "$T/l.ogg" -f s16le -acodec pcm_s16le -y \
    "$T/l.s16le" 2>"$T/ffmpeg.log" || fail "ffmpeg cannot decode: $(head -3 "$T/ffmpeg.log")"
python3 "$TOPDIR/tests/tools/ogg_listen.py" --tones "$T/l.s16le" 44100 2 \
    >"$T/tones"
note "half-second tones: $(tr '\n' ' ' <"$T/tones")"
# Runs of the same tone (a window on a switch is neither: skipped).
runs=$(awk '{ f = ($1 > 420 && $1 < 460) ? 440 : ($1 > 860 && $1 < 900) ? 880 : ($1 == 0 ? "silence" : "mixed") }
    f == "mixed" { next }
    f != prev { if (prev != "") printf "%s:%d ", prev, n; prev = f; n = 0 }
    { n++ } END { printf "%s:%d\n", prev, n }' "$T/tones")
note "runs (tone:half-seconds): $runs"
! grep -qx 0 "$T/tones" || fail "the listener heard silence: $runs"
read -r r1 r2 r3 rest <<<"$runs"
[[ ${r1%:*} == 440 && ${r2%:*} == 880 && ${r3%:*} == 440 && -z ${rest:-} ]] ||
    fail "expected 440 Hz, 880 Hz, 440 Hz; heard $runs"
away=$(awk -v a="$first2" -v b="$first3" 'BEGIN { printf "%.1f", b - a }')
assert_between "$(awk -v n="${r2#*:}" 'BEGIN { print n / 2 }')" \
    "$(awk -v a="$away" 'BEGIN { print a - 2.5 }')" \
    "$(awk -v a="$away" 'BEGIN { print a + 1 }')" \
    "seconds of backup audio heard while the primary was away (${away} s)"
decoded=$(awk -v b="$(file_size "$T/l.s16le")" 'BEGIN { printf "%.2f", b / 4 / 44100 }')
assert_between "$decoded" "$((LISTEN_S - 3))" "$((LISTEN_S + 6))" \
    "seconds decoded from a ${LISTEN_S} s connection"

relay_alive || fail "the restarted primary relay exited"
stop_relay TERM 5 || fail "the primary relay did not stop"
kill -TERM "${BG_PIDS[0]}"
wait_for -t 5 -m "the backup relay to exit" proc_gone "${BG_PIDS[0]}" ||
    fail "the backup relay did not stop on SIGTERM"
check_sanitizer "$RELAY_LOG" "$T/backup.log"
