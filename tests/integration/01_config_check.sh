#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 01 config check: `relay --check -c FILE` accepts every tests/data/good/*.conf
# (exit 0, a summary naming each mount) and rejects every
# tests/data/bad/*.conf (exit 1, stderr holding each "# expect: TEXT" line of
# the file's leading comment: "NAME.conf:LINE: [section] key"). Secrets
# (inline, from a file, from the environment) never appear in any output.
# All cases run; every mismatch is listed before the test fails.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

[[ -f $RELAY && -x $RELAY ]] || fail "relay binary not found: $RELAY"

GOOD=$TOPDIR/tests/data/good
BAD=$TOPDIR/tests/data/bad
# Every secret in the data files and below starts with this.
SECRET_MARK=Zq7relaySecret
RELAY_TEST_PASSWORD=$SECRET_MARK-env-$(random_secret)
export RELAY_TEST_PASSWORD
unset RELAY_TEST_SURELY_UNSET_VARIABLE
problems=()

problem()
{
	problems+=("$*")
	note "PROBLEM: $*"
}

# run_check NAME FILE [ARGS]: relay --check -c FILE; sets rc, out, err.
run_check()
{
	local name=$1 file=$2
	shift 2
	out=$T/$name.out
	err=$T/$name.err
	rc=0
	"$RELAY" --check -c "$file" "$@" >"$out" 2>"$err" </dev/null || rc=$?
	SANITIZER_FILES+=("$err")
}

no_secret()
{
	local name=$1 secret
	shift
	for secret in "$SECRET_MARK" "$@"; do
		if grep -qF -- "$secret" "$out" "$err"; then
			problem "$name: a secret appears in the output:" \
			    "$(grep -hF -- "$secret" "$out" "$err" | head -n 2)"
		fi
	done
}

check_good()
{
	local name=$1 file=$2 mount
	run_check "$name" "$file"
	if [[ $rc -ne 0 ]]; then
		problem "$name: exit $rc, expected 0; stderr: $(head -n 3 "$err")"
		return
	fi
	[[ -s $out ]] || problem "$name: --check printed no summary"
	while read -r mount; do
		grep -qF -- "$mount" "$out" ||
		    problem "$name: summary does not mention mount $mount"
	done < <(sed -n 's/^[[:space:]]*mount[[:space:]]*=[[:space:]]*//p' \
	    "$file")
	no_secret "$name" "$RELAY_TEST_PASSWORD"
}

for file in "$GOOD"/*.conf; do
	check_good "good_$(basename "$file" .conf)" "$file"
done

# Cases that need absolute paths or files made here.
secret_file_pw=$SECRET_MARK-file-$(random_secret)
printf '%s\n' "$secret_file_pw" >"$T/source.pw"
chmod 600 "$T/source.pw"
sox -n -r 44100 -c 2 -b 16 "$T/in.wav" synth 1 sine 440
cat >"$T/password_file.conf" <<EOF
[input]
type = file
path = $T/in.wav
loop = no

[output main]
mount = /pwfile.ogg
password_file = $T/source.pw
EOF
check_good generated_password_file "$T/password_file.conf"
no_secret generated_password_file "$secret_file_pw"

RELAY_DEMO_PASSWORD=$SECRET_MARK-demo-$(random_secret) \
    check_good demo "$TOPDIR/config/demo.conf"

n_bad=0
for file in "$BAD"/*.conf; do
	name=bad_$(basename "$file" .conf)
	n_bad=$((n_bad + 1))
	mapfile -t expects < <(sed -n '/^#/!q; s/^# expect: *//p' "$file")
	if [[ ${#expects[@]} -eq 0 ]] ||
	    [[ $(head -n 1 "$file") != "# expect: "* ]]; then
		problem "$name: first line is not '# expect: ...'"
		continue
	fi
	run_check "$name" "$file"
	if [[ $rc -ne 1 ]]; then
		problem "$name: exit $rc, expected 1; stderr: $(head -n 2 "$err")"
	fi
	for e in "${expects[@]}"; do
		e=${e%"${e##*[![:space:]]}"}
		grep -qF -- "$e" "$err" ||
		    problem "$name: stderr lacks '$e'; it says: $(head -n 2 "$err")"
	done
	no_secret "$name"
done
[[ $n_bad -ge 15 ]] || problem "only $n_bad bad configs (want >= 15)"

# FILE in a message is the path as given on the command line.
out=$T/relative.out
err=$T/relative.err
rc=0
(cd "$BAD" && "$RELAY" --check -c bad_port.conf) >"$out" 2>"$err" ||
    rc=$?
SANITIZER_FILES+=("$err")
[[ $rc -eq 1 ]] || problem "relative path: exit $rc, expected 1"
grep -qE '(^|[^/[:alnum:]_.])bad_port\.conf:8: \[output main\] port' "$err" ||
    problem "relative path: stderr does not start its message with" \
	"'bad_port.conf:8: [output main] port': $(head -n 2 "$err")"

# A config file that does not exist.
run_check missing_file "$T/no-such-dir/relay.conf"
[[ $rc -eq 1 ]] || problem "missing file: exit $rc, expected 1"
grep -qF "$T/no-such-dir/relay.conf" "$err" ||
    problem "missing file: stderr does not name the file: $(head -n 2 "$err")"

# A schedule whose file segment is missing: a warning naming the
# schedule's FILE:LINE and the segment, and exit 0 (the file may still
# appear before the segment is due).
mkdir -p "$T/sched"
cat >"$T/sched/schedule.conf" <<EOF
[segment tone-check]
cron = 0 * * * *
source = tone
duration = 10s

[segment bulletin]
cron = 30 * * * *
source = file
path = missing-bulletin.wav
EOF
cat >"$T/sched/relay.conf" <<EOF
[input]
type = tone

[output main]
mount = /live.ogg
password = $SECRET_MARK-sched

[schedule]
file = schedule.conf
EOF
chmod 600 "$T/sched/relay.conf"
run_check segment_missing "$T/sched/relay.conf"
[[ $rc -eq 0 ]] || problem "missing segment file: exit $rc, expected 0: $(head -n 2 "$err")"
grep -qF "schedule.conf:9: [segment bulletin] path: " "$err" ||
    problem "missing segment file: no 'schedule.conf:9: [segment bulletin] path:' warning: $(head -n 3 "$err")"
grep -qF "1 warning(s)" "$err" ||
    problem "missing segment file: no warning count: $(head -n 3 "$err")"

check_sanitizer "${SANITIZER_FILES[@]}"
if [[ ${#problems[@]} -gt 0 ]]; then
	printf '  - %s\n' "${problems[@]}" >&2
	fail "${#problems[@]} problem(s)"
fi
note "all good and bad configs behave"
