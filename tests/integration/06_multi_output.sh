#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 06 two encodings, three outputs: one programme encoded twice (44100 Hz
# stereo VBR q4, and 22050 Hz mono managed at 48 kbit/s) and pushed to three
# mounts on two icecast servers. Every mount's listener gets Vorbis at the
# rate and channel count of the encoding that output names, and the same
# tone.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
start_icecast b
pa=${ICE_PORT[a]}
pb=${ICE_PORT[b]}
printf '%s\n' "${ICE_PASSWORD[a]}" >"$T/a.pw"
printf '%s\n' "${ICE_PASSWORD[b]}" >"$T/b.pw"
chmod 600 "$T/a.pw" "$T/b.pw"

cat >"$T/relay.conf" <<EOF
[input]
type = tone
frequency = 600
level_dbfs = -12

[encoding hi]
rate = 44100
channels = 2
quality = 4

[encoding lo]
rate = 22050
channels = 1
bitrate = 48

[output a_hi]
host = 127.0.0.1
port = $pa
mount = /hi.ogg
password_file = $T/a.pw
encoding = hi

[output a_lo]
host = 127.0.0.1
port = $pa
mount = /lo.ogg
password_file = $T/a.pw
encoding = lo

[output b_lo]
host = 127.0.0.1
port = $pb
mount = /mobile.ogg
password_file = $T/b.pw
encoding = lo

[status]
listen = off
EOF

start_relay "$T/relay.conf"
wait_mount "$pa" /hi.ogg
wait_mount "$pa" /lo.ogg
wait_mount "$pb" /mobile.ogg

# Three listeners at once.
listen_bg "http://127.0.0.1:$pa/hi.ogg" 6 "$T/a_hi.ogg"
l1=$LISTEN_PID
listen_bg "http://127.0.0.1:$pa/lo.ogg" 6 "$T/a_lo.ogg"
l2=$LISTEN_PID
listen_bg "http://127.0.0.1:$pb/mobile.ogg" 6 "$T/b_lo.ogg"
l3=$LISTEN_PID
listen_wait "$l1" || fail "listener on /hi.ogg failed"
listen_wait "$l2" || fail "listener on /lo.ogg failed"
listen_wait "$l3" || fail "listener on b /mobile.ogg failed"

check_vorbis "$T/a_hi.ogg" 44100 2 3
read -r freq _ _ < <(audio_stats "$VORBIS_RAW" 44100 2) ||
    fail "cannot analyse /hi.ogg"
assert_between "$freq" 580 620 "/hi.ogg frequency (Hz)"

for f in a_lo b_lo; do
	check_vorbis "$T/$f.ogg" 22050 1 3
	# Managed mode: the header carries the nominal bitrate asked for.
	grep -qE 'Nominal bitrate: 48(\.0+)? kb/s' "$VORBIS_INFO" ||
	    fail "$f: nominal bitrate is not 48 kb/s: $(grep -i bitrate \
		"$VORBIS_INFO" | head -n 3)"
	read -r freq _ _ < <(audio_stats "$VORBIS_RAW" 22050 1) ||
	    fail "cannot analyse $f"
	assert_between "$freq" 580 620 "$f frequency (Hz)"
done
relay_alive || fail "relay exited while streaming"
