#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# timeout: 60
#
# 48 archive gap: the archive's file system is frozen (fsfreeze on a
# loop-mounted ext4 image) for longer than its queue (queue = 1s), so the
# archive falls behind and audio is dropped. Once the file system thaws,
# the file being written ends cleanly (EOS) and recording goes on in a new
# file beside it (rotate = 1h: 1400.ogg, then 1400-1.ogg): lost audio is a
# file boundary, never a jump inside a file. Both files pass ogginfo with
# no warning and hold one logical stream each; /api/status counts the
# drop. Needs root and a loop device; skipped otherwise.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

[[ $(id -u) -eq 0 ]] || skip "needs root to mount a file system image"
command -v fsfreeze >/dev/null || skip "no fsfreeze"
disk=$T/disk
mkdir "$disk"
truncate -s 16M "$T/disk.img" && mkfs.ext4 -q "$T/disk.img" ||
    skip "cannot make an ext4 image"
mount -o loop "$T/disk.img" "$disk" || skip "cannot loop-mount an image"
unmount_disk()
{
	fsfreeze -u "$disk" 2>/dev/null
	umount "$disk"
}
at_cleanup unmount_disk
sport=$(free_port) || fail "no free port for the status server"

# Noise, so that Vorbis needs many bytes and the 1 s queue (sized for
# 500 kbit/s) overflows within seconds.
sox -n -r 44100 -c 2 -b 16 "$T/noise.wav" synth 4 whitenoise vol 0.5 ||
    fail "sox cannot make the noise file"
cat >"$T/relay.conf" <<EOF2
[input]
type = file
path = $T/noise.wav
loop = yes

[encoding main]
quality = 10

[output archive]
type = file
path = $disk/a/%H%M.ogg
rotate = 1h
timezone = UTC
queue = 1s

[status]
listen = 127.0.0.1:$sport
EOF2

status() { curl -sf --max-time 3 "http://127.0.0.1:$sport/api/status"; }
archive() { status | jq -c '.outputs[] | select(.name == "archive")'; }
recording() { archive | jq -e '.archive.file_bytes > 10000' >/dev/null; }
second_file() { archive | jq -e '.archive.files_written >= 2' >/dev/null; }

start_relay "$T/relay.conf"
wait_for -t 10 -m "the archive to record" recording || fail "no file: $(archive)"
first=$(archive | jq -r .archive.file)
fsfreeze -f "$disk" || fail "fsfreeze failed"
# The output thread is blocked in write(2) meanwhile: it counts the drop
# when it runs again.
sleep 5
fsfreeze -u "$disk" || fail "fsfreeze -u failed"
wait_for -t 10 -m "the drop to be logged" log_has 'out\[archive\].*fell behind' ||
    fail "relay did not report the dropped audio"
wait_for -t 10 -m "a second file" second_file ||
    fail "no new file after the gap: $(archive)"
archive | jq -e '.dropped_bytes > 0 and .connected' >/dev/null ||
    fail "the drop is not shown: $(archive)"
second=$(archive | jq -r .archive.file)
[[ $second == "${first%.ogg}-1.ogg" ]] ||
    fail "after the gap: $second, want ${first%.ogg}-1.ogg (or an hour passed)"
sleep 1
stop_relay TERM 5 || fail "relay did not exit after SIGTERM"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
for f in "$first" "$second"; do
	rc=0
	ogginfo "$f" >"$T/info" 2>&1 || rc=$?
	if [[ $rc -ne 0 ]] || grep -qiE 'warning|error|hole|corrupt' "$T/info"; then
		fail "$f is not a clean Ogg file (ogginfo exit $rc):" \
		    "$(grep -iE 'warning|error|hole|corrupt' "$T/info" | head -3)"
	fi
	n=$(grep -c 'New logical stream' "$T/info") || true
	[[ $n -eq 1 ]] || fail "$f: $n logical streams (want 1)"
done
