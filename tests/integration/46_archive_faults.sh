#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# timeout: 90
#
# 46 archive faults: an archive rotating every 2 s on a small tmpfs, next
# to an Icecast output, survives in turn
# - a full disk: logged, shown in /api/status (not connected, last_error,
#   archive.errors, no file), Icecast streams on; once space is freed it
#   resumes in a new file;
# - a read-only directory (a read-only bind mount over it): the next file
#   cannot be created (EROFS), shown and retried; recording resumes in a
#   new file when it is writable again;
# - its directory removed while a file is written: noticed, and recording
#   goes on in a new file in re-created directories.
# relay never exits, files closed before a fault are never changed, and
# every file left passes ogginfo and ffmpeg without an error (none empty).
# Needs root for the mounts; skipped otherwise.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

[[ $(id -u) -eq 0 ]] || skip "needs root to mount a small tmpfs"
disk=$T/disk
mkdir "$disk"
mount -t tmpfs -o size=2m,mode=0755 tmpfs "$disk" ||
    skip "cannot mount a tmpfs (in a container without CAP_SYS_ADMIN?)"
unmount_disk()
{
	umount "$disk/a" 2>/dev/null
	mkdir -p "$T/kept" && cp -r "$disk/a" "$T/kept/" 2>/dev/null
	umount "$disk"
}
at_cleanup unmount_disk

start_icecast a
ice=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
sport=$(free_port) || fail "no free port for the status server"
# Noise, so that Vorbis needs many bytes and the disk fills in seconds.
sox -n -r 44100 -c 2 -b 16 "$T/noise.wav" synth 4 whitenoise vol 0.5 ||
    fail "sox cannot make the noise file"

cat >"$T/relay.conf" <<EOF2
[input]
type = file
path = $T/noise.wav
loop = yes

[encoding main]
quality = 8

[output live]
host = 127.0.0.1
port = $ice
mount = /live.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD

[output archive]
type = file
path = $disk/a/%Y/%H%M%S.ogg
rotate = 2s
timezone = UTC
reconnect_min = 0.5s
reconnect_max = 1s

[status]
listen = 127.0.0.1:$sport
EOF2

status() { curl -sf --max-time 3 "http://127.0.0.1:$sport/api/status"; }
archive() { status | jq -c '.outputs[] | select(.name == "archive")'; }
live_bytes() { status | jq '.outputs[] | select(.name == "live") | .bytes_sent'; }
recording() { archive | jq -e '.connected and .archive.file != null' >/dev/null; }
# The files closed so far (all but the newest: names sort by time), with
# their checksums.
closed_sums()
{
	find "$disk/a" -type f -name '*.ogg' | sort | head -n -1 |
	    xargs -r md5sum
}
# live_streams: Icecast output connected and its bytes growing.
live_streams()
{
	local b1 b2
	b1=$(live_bytes) && sleep 1 && b2=$(live_bytes) &&
	    ((b2 > b1)) && status | jq -e '.outputs[] | select(.name ==
	    "live") | .connected' >/dev/null
}

start_relay "$T/relay.conf"
wait_mount "$ice" /live.ogg
two_files() { (($(find "$disk/a" -name '*.ogg' | wc -l) >= 2)); }
wait_for -t 10 -m "a closed archive file" two_files || fail "no rotation"

# 1. Disk full. Leave about 150 KiB free.
avail=$(df --output=avail -B1 "$disk" | tail -1)
head -c $((avail - 150 * 1024)) /dev/zero >"$disk/filler" 2>/dev/null || true
closed_sums >"$T/before_full.md5"
wait_for -t 20 -m "the disk to fill" log_has 'out\[archive\].*disk full' ||
    fail "relay never reported the full disk"
archive | jq -e '.connected == false and .archive.file == null
    and .archive.errors >= 1 and (.last_error | test("disk full"))' \
    >/dev/null || fail "disk full not shown: $(archive)"
live_streams || fail "Icecast output stopped while the disk was full"
relay_alive || fail "relay exited on the full disk"
[[ -s $T/before_full.md5 ]] || fail "no closed file before the disk filled"
md5sum --quiet -c "$T/before_full.md5" ||
    fail "a file closed before the disk filled has changed"
files_before=$(archive | jq '.archive.files_written')
rm -f "$disk/filler"
wait_for -t 10 -m "recording to resume" recording ||
    fail "recording did not resume after space was freed: $(archive)"
(($(archive | jq '.archive.files_written') > files_before)) ||
    fail "recording did not resume in a new file"
note "disk full: survived, resumed in $(archive | jq -r .archive.file)"

# 2. Read-only directory: the next file cannot be created.
closed_sums >"$T/before_ro.md5"
mount --bind "$disk/a" "$disk/a" || fail "cannot bind-mount $disk/a"
mount -o remount,ro,bind "$disk/a" || fail "cannot make $disk/a read-only"
wait_for -t 10 -m "the read-only directory" \
    log_has 'out\[archive\].*Read-only file system' ||
    fail "relay never reported the read-only directory"
archive | jq -e '.connected == false and (.last_error |
    test("Read-only"))' >/dev/null || fail "read-only not shown: $(archive)"
live_streams || fail "Icecast output stopped while the archive was read-only"
umount "$disk/a" || fail "cannot unmount the read-only bind mount"
wait_for -t 10 -m "recording to resume" recording ||
    fail "recording did not resume after the directory became writable"
[[ -s $T/before_ro.md5 ]] || fail "no closed file before read-only"
md5sum --quiet -c "$T/before_ro.md5" ||
    fail "a file closed before the read-only fault has changed"

# Every file so far is whole: none empty, none damaged.
mapfile -t files < <(find "$disk/a" -type f -name '*.ogg' | sort | head -n -1)
((${#files[@]} >= 3)) || fail "only ${#files[@]} closed files"
for f in "${files[@]}"; do
	[[ -s $f ]] || fail "$f is empty"
	rc=0
	ogginfo "$f" >"$T/info" 2>&1 || rc=$?
	if [[ $rc -ne 0 ]] || grep -qiE 'warning|error|hole|corrupt' "$T/info"; then
		fail "$f is not a clean Ogg file (ogginfo exit $rc):" \
		    "$(grep -iE 'warning|error|hole|corrupt' "$T/info" | head -3)"
	fi
	ffmpeg -nostdin -v error -i "$f" -f null - 2>"$T/ffmpeg.log" ||
	    fail "ffmpeg cannot decode $f"
	[[ -s $T/ffmpeg.log ]] && fail "ffmpeg on $f: $(head -3 "$T/ffmpeg.log")"
done
note "${#files[@]} files, all clean"

# 3. The directory removed while a file is written (just after a new file
# started, so that relay writes into it for a while).
errors=$(archive | jq '.archive.errors')
log_mark
wait_for -t 5 -m "a new file" log_since 'recording to' || fail "no rotation"
log_mark
rm -rf "$disk/a"
wait_for -t 10 -m "the removal to be noticed" log_since 'was removed' ||
    fail "relay did not notice its file was removed"
wait_for -t 10 -m "recording to resume" log_since 'recording to' ||
    fail "recording did not resume after the directory was removed"
wait_for -t 5 -m "a new file" recording || fail "no new file: $(archive)"
(($(archive | jq '.archive.errors') > errors)) ||
    fail "the removal is not counted in archive.errors: $(archive)"
recorded() { (($(find "$disk/a" -name '*.ogg' -printf '%s\n' |
    awk '{ s += $1 } END { print s + 0 }') >= 60000)); }
wait_for -t 5 -m "the new files to grow" recorded ||
    fail "the archive does not grow after the removal"
live_streams || fail "Icecast output stopped"

stop_relay TERM 5 || fail "relay did not exit after SIGTERM"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC after SIGTERM"
mapfile -t files < <(find "$disk/a" -type f -name '*.ogg' | sort)
((${#files[@]} >= 1)) || fail "no file after the removal"
for f in "${files[@]}"; do
	ogginfo "$f" >"$T/info" 2>&1 || fail "ogginfo: $f: $(head -3 "$T/info")"
	grep -qiE 'warning|error|hole|corrupt' "$T/info" &&
	    fail "$f: $(grep -iE 'warning|error|hole|corrupt' "$T/info" | head -3)"
done
true
