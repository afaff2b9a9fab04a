#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# timeout: 30
#
# 109 a new user's config mistakes name the line of the key: relay --check
# on a station config (stdin studio, an archive, a schedule, a filler).
# - A filler directory that does not exist: a warning at the line of
#   [fallback] path (not its section header), exit 0.
# - An archive directory that does not exist: an error at the line of
#   [output archive] path, exit 1.
# - A [schedule] file that does not exist (a typo in its name): an error
#   "relay.conf:LINE: [schedule] file: cannot open ..." at that key's line,
#   exit 1 (it used to say only "shedule.conf: cannot open").
# - A schedule segment started with time = or start = (other schedulers'
#   words): the hint names cron and at, not "did you mean title?"; file =
#   points at path.
# - A status port another program holds: relay exits 1 with "relay.conf:LINE:
#   [status] listen ADDR: Address already in use (another relay, ...)",
#   the line of the listen key (it used to name neither file nor line).

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

[[ -f $RELAY && -x $RELAY ]] || fail "relay binary not found: $RELAY"

problems=()
problem()
{
	problems+=("$*")
	note "PROBLEM: $*"
}

# run_check NAME: relay --check -c $T/NAME/relay.conf; sets rc, err.
run_check()
{
	local name=$1
	err=$T/$name.err
	rc=0
	"$RELAY" --check -c "$T/$name/relay.conf" >"$T/$name.out" 2>"$err" \
	    </dev/null || rc=$?
	SANITIZER_FILES+=("$err")
}

# station NAME FILLER ARCHIVE SCHEDULE: a station config in $T/NAME.
station()
{
	local d=$T/$1
	mkdir -p "$d/media/filler" "$d/archive"
	sox -n -r 48000 -c 2 "$d/media/filler/01.wav" synth 1 sine 523
	cat >"$d/schedule.conf" <<EOF
[segment bulletin]
cron = 50 * * * *
source = tone
duration = 20s
EOF
	cat >"$d/relay.conf" <<EOF
[input]
type = stdin
rate = 48000

[output archive]
type = file
rotate = 1h
path = $3/%Y/%m/%d/%H%M.ogg

[schedule]
timezone = UTC
file = $4

[fallback]
after = 10s
source = playlist
path = $2
EOF
}

# line NAME KEY_RE: the line number of the first line matching KEY_RE.
line()
{
	grep -n -m 1 -E "$2" "$T/$1/relay.conf" | cut -d: -f1
}

station filler_missing media/filer archive schedule.conf
run_check filler_missing
n=$(line filler_missing '^path = media/filer')
[[ $rc -eq 0 ]] || problem "filler_missing: exit $rc, expected 0: $(head -n 2 "$err")"
grep -qF "relay.conf:$n: [fallback] path: " "$err" ||
    problem "filler_missing: no 'relay.conf:$n: [fallback] path:' warning: $(head -n 2 "$err")"

station archive_missing media/filler archives schedule.conf
run_check archive_missing
n=$(line archive_missing '^path = archives/')
[[ $rc -eq 1 ]] || problem "archive_missing: exit $rc, expected 1"
grep -qF "relay.conf:$n: [output archive] path: cannot write in $T/archive_missing/archives: " "$err" ||
    problem "archive_missing: no 'relay.conf:$n: [output archive] path: cannot write in archives': $(head -n 2 "$err")"

station schedule_missing media/filler archive shedule.conf
run_check schedule_missing
n=$(line schedule_missing '^file = shedule.conf')
[[ $rc -eq 1 ]] || problem "schedule_missing: exit $rc, expected 1"
grep -qF "relay.conf:$n: [schedule] file: cannot open $T/schedule_missing/shedule.conf: No such file or directory" "$err" ||
    problem "schedule_missing: no 'relay.conf:$n: [schedule] file: cannot open ...' error: $(head -n 2 "$err")"

station time_key media/filler archive schedule.conf
sed -i 's/^cron = 50 \* \* \* \*$/time = 13:50/' "$T/time_key/schedule.conf"
run_check time_key
[[ $rc -eq 1 ]] || problem "time_key: exit $rc, expected 1"
grep -qF 'schedule.conf:2: [segment bulletin] time: unknown key (a start time is cron (repeating: "50 * * * *") or at (once: "2026-12-24 18:00"))' "$err" ||
    problem "time_key: the hint does not name cron and at: $(head -n 2 "$err")"

station file_key media/filler archive schedule.conf
sed -i 's/^source = tone$/file = news.wav/' "$T/file_key/schedule.conf"
run_check file_key
[[ $rc -eq 1 ]] || problem "file_key: exit $rc, expected 1"
grep -qF 'schedule.conf:3: [segment bulletin] file: unknown key (the audio file is path)' "$err" ||
    problem "file_key: the hint does not name path: $(head -n 2 "$err")"

# A port held by another program (a second relay, an old one still up).
port=$(free_port) || fail "no free port"
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
print("ready", flush=True)
time.sleep(60)
' "$port" >"$T/holder.out" &
holder=$!
BG_PIDS+=("$holder")
wait_for -t 10 -m "the port holder" grep -q ready "$T/holder.out" ||
    fail "the port holder did not start"
mkdir -p "$T/port"
cat >"$T/port/relay.conf" <<EOF
[input]
type = tone

[output archive]
type = file
path = out.ogg

[status]
listen = 127.0.0.1:$port
EOF
rc=0
timeout 20 "$RELAY" -c "$T/port/relay.conf" >"$T/port.log" 2>&1 </dev/null ||
    rc=$?
SANITIZER_FILES+=("$T/port.log")
[[ $rc -eq 1 ]] || problem "port in use: exit $rc, expected 1: $(tail -n 2 "$T/port.log")"
grep -qF "$T/port/relay.conf:9: [status] listen 127.0.0.1:$port: Address already in use (another relay, or another program, listens there" "$T/port.log" ||
    problem "port in use: no 'relay.conf:9: [status] listen ...: Address already in use (another relay...': $(tail -n 2 "$T/port.log")"
[[ ! -e $T/port/out.ogg ]] || problem "port in use: relay wrote its archive before it gave up"
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true

check_sanitizer "${SANITIZER_FILES[@]}"
if [[ ${#problems[@]} -gt 0 ]]; then
	printf '  - %s\n' "${problems[@]}" >&2
	fail "${#problems[@]} problem(s)"
fi
note "every mistake names the line of its key"
