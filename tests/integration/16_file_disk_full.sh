#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 12 file output on a full disk: a file output writes onto a small tmpfs
# that fills up. relay cuts the file back to its last whole Ogg page (no
# torn page, the interrupted chain ends with EOS), logs one line when the
# disk fills and one when recording resumes (not one per retry), and after
# space is freed appends a new chain. After SIGTERM, ogginfo and ffmpeg find
# the whole file clean: no hole, no CRC error, every chain ended.
# Needs root to mount the tmpfs; skipped otherwise.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

[[ $(id -u) -eq 0 ]] || skip "needs root to mount a small tmpfs"
disk=$T/disk
mkdir "$disk"
mount -t tmpfs -o size=1m,mode=0755 tmpfs "$disk" ||
    skip "cannot mount a tmpfs (in a container without CAP_SYS_ADMIN?)"
# Keep the file for a failure's post-mortem, then unmount.
unmount_disk()
{
	cp "$disk/archive.ogg" "$T/archive.ogg" 2>/dev/null
	umount "$disk"
}
at_cleanup unmount_disk

# Noise, so that Vorbis needs many bytes and the disk fills in seconds.
sox -n -r 44100 -c 2 -b 16 "$T/noise.wav" synth 4 whitenoise vol 0.5 ||
    fail "sox cannot make the noise file"
# Leave about 100 KiB of the 1 MiB free.
head -c $((900 * 1024)) /dev/zero >"$disk/filler" 2>/dev/null || true

cat >"$T/relay.conf" <<EOF2
[input]
type = file
path = $T/noise.wav
loop = yes

[encoding main]
quality = 8

[output archive]
type = file
path = $disk/archive.ogg
reconnect_min = 0.5s
reconnect_max = 2s

[status]
listen = off
EOF2

start_relay "$T/relay.conf"
wait_for -t 30 -m "the disk to fill" log_has 'No space left' ||
    fail "relay never reported the full disk"
note "disk full after $(file_size "$disk/archive.ogg") bytes"

# While the disk stays full relay retries with backoff (0.5, 1, 2, 2 s ...)
# and stays quiet.
log_mark
start=$(now)
while awk -v e="$(elapsed_since "$start")" 'BEGIN { exit !(e < 6) }'; do
	relay_alive || fail "relay exited while the disk was full"
	sleep 0.5
done
n=$(log_count_since '.')
[[ $n -eq 0 ]] ||
    fail "$n log lines while the disk stayed full (want none): $(relay_lines "$LOG_MARK" | head -3)"
[[ $(log_count 'No space left') -eq 1 ]] ||
    fail "'No space left' logged $(log_count 'No space left') times (want 1)"

# The file ends on a whole page even now, while relay is still running.
ogginfo "$disk/archive.ogg" >"$T/full.ogginfo" 2>&1 || true
if grep -qiE 'hole|corrupt|error|crc' "$T/full.ogginfo"; then
	fail "the file is damaged while the disk is full: $(grep -iE \
	    'hole|corrupt|error|crc' "$T/full.ogginfo" | head -3)"
fi

rm -f "$disk/filler"
size=$(file_size "$disk/archive.ogg")
wait_for -t 10 -m "recording to resume" log_has 'connected again' ||
    fail "relay did not resume recording after space was freed"
wait_for -t 10 -m "the file to grow by 100 KiB" \
    size_at_least "$disk/archive.ogg" $((size + 100 * 1024)) ||
    fail "the file did not grow after space was freed"

stop_relay TERM 5 || fail "relay did not exit after SIGTERM"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC after SIGTERM"
[[ $(log_count 'No space left') -eq 1 ]] ||
    fail "'No space left' logged $(log_count 'No space left') times (want 1)"
[[ $(log_count 'connected again') -eq 1 ]] ||
    fail "'connected again' logged $(log_count 'connected again') times (want 1)"

rc=0
ogginfo "$disk/archive.ogg" >"$T/archive.ogginfo" 2>&1 || rc=$?
if [[ $rc -ne 0 ]] || grep -qiE 'warning|error|hole|corrupt' "$T/archive.ogginfo"; then
	fail "the file is not a clean Ogg file (ogginfo exit $rc):" \
	    "$(grep -iE 'warning|error|hole|corrupt' "$T/archive.ogginfo" | head -n 3)"
fi
chains=$(grep -cE 'New logical stream' "$T/archive.ogginfo") || true
[[ $chains -eq 2 ]] || fail "$chains chains in the file (want 2: before and after the full disk)"
# ffmpeg also notes each new chain ("failed to create or replace stream"):
# only damage counts.
ffmpeg -nostdin -v error -i "$disk/archive.ogg" -f null - 2>"$T/ffmpeg.log" ||
    fail "ffmpeg cannot decode the file: $(head -3 "$T/ffmpeg.log")"
if grep -qiE 'crc|corrupt|invalid data|error while decoding|hole' "$T/ffmpeg.log"; then
	fail "ffmpeg: $(grep -iE 'crc|corrupt|invalid data|error while decoding|hole' \
	    "$T/ffmpeg.log" | head -3)"
fi
# Decoded outside the small disk, which cannot hold the PCM.
cp "$disk/archive.ogg" "$T/final.ogg"
check_vorbis "$T/final.ogg" 44100 2 6
