#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# timeout: 40
#
# 47 archive keep and restarts: an archive with rotate = 1d and keep = 36h.
# - A second start in the same period writes 0000-1.ogg beside 0000.ogg and
#   leaves the first file untouched.
# - keep removes only old files of this output: copies of a relay file
#   under names the pattern makes, 10 days old (and the directories that
#   leaves empty). It keeps a foreign Ogg file under such a name, a file
#   under another name, a symbolic link, a copy outside the pattern's
#   directory, a recent file, and the file being written. /api/status and
#   /metrics count the removals.
# - After a crash (SIGKILL) the file decodes cleanly to its last page, and
#   the next start writes 0000-2.ogg without touching it.
# - --check refuses a bad pattern field, a period that does not divide a
#   day and an unknown time zone, naming the key, and a fixed directory
#   that does not exist; it accepts dated directories that do not exist yet
#   (relay creates them).

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

sport=$(free_port) || fail "no free port for the status server"
dir=$T/arch
conf()
{
	cat <<EOF2
[input]
type = tone

[encoding main]
quality = 0

[output archive]
type = file
path = $dir/%Y/%m/%d/%H%M.ogg
rotate = ${1:-1d}
keep = 36h
timezone = ${2:-UTC}

[status]
listen = 127.0.0.1:$sport
EOF2
}
status() { curl -sf --max-time 3 "http://127.0.0.1:$sport/api/status"; }
archive() { status | jq -c '.outputs[] | select(.name == "archive")'; }
recording() { archive | jq -e '.archive.file != null and .archive.file_bytes > 4000' >/dev/null; }

# --check refuses bad archive keys.
check_refused()
{
	local out rc=0
	conf "$1" "$2" >"$T/bad.conf"
	out=$("$RELAY" --check -c "$T/bad.conf" 2>&1) || rc=$?
	[[ $rc -eq 1 ]] || fail "--check accepted rotate=$1 timezone=$2 (exit $rc)"
	grep -qE -- "$3" <<<"$out" || fail "--check said: $out (want $3)"
}
check_refused 7m UTC 'rotate: 420s does not divide a day'
check_refused 1h Mars/Olympus 'timezone: "Mars/Olympus" is not'
conf >"$T/relay.conf"
sed -i 's|%H%M.ogg|%H%q.ogg|' "$T/relay.conf"
out=$("$RELAY" --check -c "$T/relay.conf" 2>&1) && fail "--check accepted %q"
grep -q 'path: .*%q is not a supported field' <<<"$out" ||
    fail "--check said: $out"

# A good one passes once the pattern's fixed directory exists, though the
# dated ones below it do not.
conf >"$T/relay.conf"
out=$("$RELAY" --check -c "$T/relay.conf" 2>&1) &&
    fail "--check accepted a missing $dir"
grep -q "path: cannot write in $dir" <<<"$out" || fail "--check said: $out"
mkdir "$dir"
out=$("$RELAY" --check -c "$T/relay.conf" 2>&1) ||
    fail "--check refused a good archive: $out"
[[ -z $(ls -A "$dir") ]] || fail "--check created $(ls -A "$dir")"
grep -q "output   archive .*, rotate 1d, keep 36h, time zone " <<<"$out" ||
    fail "--check's summary lacks rotate and keep: $(grep 'output ' <<<"$out")"
start_relay "$T/relay.conf"
wait_for -t 10 -m "the first file" recording || fail "no file: $(archive)"
first=$(archive | jq -r .archive.file)
stop_relay TERM 5 || fail "relay did not exit after SIGTERM"
[[ $first == "$dir/$(date -u +%Y/%m/%d)/0000.ogg" ]] ||
    fail "first file $first, want $dir/$(date -u +%Y/%m/%d)/0000.ogg"
sum=$(md5sum <"$first")

# Old files of ours, and what keep must leave alone.
d1=$dir/2020/01/01
mkdir -p "$d1" "$dir/2019/12/31" "$dir/2020/01/02" "$T/other"
cp "$first" "$d1/0000.ogg"
cp "$first" "$d1/0100-1.ogg"
cp "$first" "$dir/2019/12/31/2300.ogg"
sox -n -r 44100 -c 1 "$d1/0200.ogg" synth 0.5 sine 440 ||
    fail "sox cannot make the foreign file"
echo notes >"$d1/notes.txt"
cp "$first" "$d1/0300.ogg.bak"
cp "$first" "$d1/0400.ogg.tmp"
cp "$first" "$T/other/0000.ogg"
cp "$first" "$T/other/linked.ogg"
ln -s "$T/other/linked.ogg" "$d1/0500.ogg"
cp "$first" "$dir/2020/01/02/0000.ogg"
touch -d '10 days ago' "$d1"/* "$dir/2019/12/31/2300.ogg" "$T/other/"*
touch -h -d '10 days ago' "$d1/0500.ogg"
touch -d '1 day ago' "$dir/2020/01/02/0000.ogg"

start_relay "$T/relay.conf"
wait_for -t 10 -m "the second file" recording || fail "no file: $(archive)"
second=$(archive | jq -r .archive.file)
[[ $second == "${first%.ogg}-1.ogg" ]] ||
    fail "second start wrote $second, want ${first%.ogg}-1.ogg beside $first"
[[ $(md5sum <"$first") == "$sum" ]] || fail "the first file has changed"
for f in "$d1/0000.ogg" "$d1/0100-1.ogg" "$dir/2019"; do
	[[ ! -e $f ]] || fail "keep did not remove $f"
done
for f in "$d1/0200.ogg" "$d1/notes.txt" "$d1/0300.ogg.bak" \
    "$d1/0400.ogg.tmp" "$d1/0500.ogg" "$T/other/0000.ogg" \
    "$T/other/linked.ogg" "$dir/2020/01/02/0000.ogg" "$first"; do
	[[ -e $f ]] || fail "keep removed $f"
done
archive | jq -e '.archive.files_removed == 3 and .archive.keep_s == 129600
    and .archive.errors == 0' >/dev/null ||
    fail "unexpected /api/status: $(archive)"
curl -sf --max-time 3 "http://127.0.0.1:$sport/metrics" |
    grep -qx 'relay_archive_files_removed_total{output="archive"} 3' ||
    fail "relay_archive_files_removed_total is not 3"
[[ $(log_count 'keep: removed') -eq 3 ]] ||
    fail "$(log_count 'keep: removed') 'keep: removed' lines (want 3)"
# The age in the line is keep written for people (36h: 1 d 12 h), not
# whole days rounded down.
[[ $(log_count 'keep: removed .* \(older than 1 d 12 h\)$') -eq 3 ]] ||
    fail "keep lines: $(relay_lines | grep 'keep: removed' | head -n 1)"

# A crash leaves a file that decoders play to its last page, and the next
# start never touches it.
stop_relay KILL 5 || fail "relay did not die on SIGKILL"
ogginfo "$second" >"$T/info" 2>&1 || true
grep -qiE 'hole|corrupt|crc' "$T/info" &&
    fail "$second damaged: $(grep -iE 'hole|corrupt|crc' "$T/info" | head -3)"
oggdec -Q -R -o "$T/second.raw" "$second" || fail "oggdec cannot decode $second"
ffmpeg -nostdin -v error -i "$second" -f null - 2>"$T/ffmpeg.log" ||
    fail "ffmpeg cannot decode $second"
[[ -s $T/ffmpeg.log ]] && fail "ffmpeg on $second: $(head -3 "$T/ffmpeg.log")"
[[ -s $T/second.raw ]] || fail "nothing decoded from $second"
sum2=$(md5sum <"$second")
start_relay "$T/relay.conf"
wait_for -t 10 -m "the third file" recording || fail "no file: $(archive)"
third=$(archive | jq -r .archive.file)
[[ $third == "${first%.ogg}-2.ogg" ]] ||
    fail "third start wrote $third, want ${first%.ogg}-2.ogg"
stop_relay TERM 5 || fail "relay did not exit after SIGTERM"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
[[ $(md5sum <"$second") == "$sum2" ]] || fail "the crashed file was changed"
ogginfo "$third" >"$T/info" 2>&1 || fail "ogginfo $third: $(head -3 "$T/info")"

# keep frees a name of the current period (its file is old): the next
# start must not take that name again, or the period's files would no
# longer be in time order by suffix. The new file goes after the others.
touch -d '10 days ago' "$first"
start_relay "$T/relay.conf"
wait_for -t 10 -m "the fourth file" recording || fail "no file: $(archive)"
fourth=$(archive | jq -r .archive.file)
[[ $fourth == "${first%.ogg}-3.ogg" ]] ||
    fail "fourth start wrote $fourth, want ${first%.ogg}-3.ogg (keep freed ${first##*/})"
wait_for -t 5 -m "keep to remove the old file" test ! -e "$first" ||
    fail "keep left $first"
stop_relay TERM 5 || fail "relay did not exit after SIGTERM"
