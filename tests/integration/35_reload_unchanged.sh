#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 35 reload with nothing changed: three SIGHUPs with the same file touch no
# encoder and no output. Two encodings, two mounts (metadata = admin and
# none, the modes that keep one logical stream), a listener on each across
# all three reloads: each capture is one logical stream, ogginfo finds no
# decreasing granule position, and relay never logs "settings changed".
# (The second reload used to compare against a dangling encoding name,
# rebuild every encoder, and splice the new encoder's granules into the
# running stream.) Then a reload to an encoding libvorbisenc refuses is
# rejected whole, with the reason, before anything is touched (it used to
# restart outputs and show the new bitrate while the old encoder ran on).
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
conf=$T/relay.conf
cat >"$conf" <<EOF
[input]
type = tone
frequency = 440

[encoding main]
quality = 3

[encoding mobile]
channels = 1
rate = 22050
quality = 0

[output a]
host = 127.0.0.1
port = $port
mount = /a.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD
encoding = main
metadata = admin

[output b]
host = 127.0.0.1
port = $port
mount = /b.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD
encoding = mobile
metadata = none

[status]
listen = off
EOF

start_relay "$conf"
wait_mount "$port" /a.ogg
wait_mount "$port" /b.ogg
listen_bg "http://127.0.0.1:$port/a.ogg" 60 "$T/a.ogg"
la=$LISTEN_PID
listen_bg "http://127.0.0.1:$port/b.ogg" 60 "$T/b.ogg"
lb=$LISTEN_PID
both_hear() { has_seconds "$T/a.ogg" 1 && has_seconds "$T/b.ogg" 1; }
wait_for -t 10 -m "audio on both listeners" both_hear ||
    fail "the listeners get no audio"

for n in 1 2 3; do
	log_mark
	kill -HUP "$RELAY_PID"
	wait_for -t 10 -m "reload $n to finish" log_since 'reloaded:' ||
	    fail "reload $n did not finish"
	log_since 'reloaded: 2 output\(s\) kept streaming, 0 started' ||
	    fail "reload $n restarted outputs: $(relay_lines | grep reloaded: | tail -1)"
	size=$(file_size "$T/a.ogg")
	wait_for -t 5 -m "the capture to grow after reload $n" \
	    size_at_least "$T/a.ogg" $((size + 2000)) ||
	    fail "no audio after reload $n"
done
# An encoding libvorbisenc refuses: rejected, nothing touched.
cp "$conf" "$conf.good"
sed -i 's/^rate = 22050$/rate = 8000\nbitrate = 48/; /^quality = 0$/d' "$conf"
grep -q '^bitrate = 48$' "$conf" || fail "could not write the bad config"
log_mark
kill -HUP "$RELAY_PID"
wait_for -t 10 -m "the reload to be rejected" log_since 'reload rejected' ||
    fail "a reload to an impossible encoding was not rejected"
enc_line=$(grep -n '^\[encoding mobile\]$' "$conf" | cut -d: -f1)
log_since "reload rejected.*relay\\.conf:$enc_line: \\[encoding mobile\\]: libvorbisenc cannot encode 8000 Hz" ||
    fail "the rejection does not say why: $(relay_lines | grep 'reload rejected' | tail -1)"
if log_since 'settings changed|restarting|stream ended'; then
	fail "a rejected reload touched outputs: $(relay_lines | tail -5)"
fi
size=$(file_size "$T/b.ogg")
wait_for -t 5 -m "/b.ogg to keep growing" size_at_least "$T/b.ogg" \
    $((size + 1000)) || fail "no audio on /b.ogg after the rejected reload"
mv "$conf.good" "$conf"

if log_has 'settings changed'; then
	fail "an unchanged reload rebuilt something: $(relay_lines |
	    grep 'settings changed' | head -2)"
fi
proc_gone "$la" && fail "the /a.ogg listener was cut"
proc_gone "$lb" && fail "the /b.ogg listener was cut"
kill -TERM "$la" "$lb" 2>/dev/null || true
wait "$la" "$lb" 2>/dev/null || true

check_vorbis "$T/a.ogg" 44100 2 3
n=$(grep -c 'New logical stream' "$VORBIS_INFO" || true)
[[ $n -eq 1 ]] || fail "/a.ogg capture has $n logical streams, expected 1"
check_vorbis "$T/b.ogg" 22050 1 3
n=$(grep -c 'New logical stream' "$VORBIS_INFO" || true)
[[ $n -eq 1 ]] || fail "/b.ogg capture has $n logical streams, expected 1"
