#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 135 one reload, two encodings: an Opus encoding whose bitrate changes
# keeps its Icecast connection (a new chain), while a Vorbis encoding whose
# sample rate changes still restarts its outputs, and its archive stays
# whole. (Before, any encoding change restarted every output of it, and
# Icecast dropped the Opus mount's listeners.)
# - The programme is a 12 s 48 kHz file (440 Hz left, 441 Hz right; loop =
#   no, at_end = exit). Encoding v (Vorbis, 44.1 kHz) feeds an archive (one
#   file) and /v.ogg; encoding o (Opus, 64 kbit/s) feeds /o.opus, with a
#   listener (curl) connected before the reload.
# - 4 s in, a SIGHUP sets v to 48 kHz and o to 96 kbit/s. The log says
#   archive and v restart ("settings changed, restarting"; a rate cannot
#   go on in the same stream: Icecast told its listeners the old one) and
#   o is kept in a new chain.
# - The Opus listener's curl is still running after the reload; its one
#   HTTP capture holds two Opus chains, and tests/tools/ogg_streams.py
#   finds no error in it (sequence, granules, BOS); the two chains'
#   granules add up to the file's 12 s within 0.1 s.
# - The archive holds two chains, 44100 Hz then 48000 Hz, and their
#   lengths (ogginfo) add up to the file's 12 s within 0.1 s: the restart
#   lost no audio (test 130's guarantee, now for a restarted archive).
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
sox -n -r 48000 -c 2 -b 16 "$T/src.wav" synth 12 sine 440 sine 441 vol 0.5 ||
    fail "sox cannot make the source file"
mkdir "$T/archive"

# write_config VORBIS_RATE OPUS_BITRATE: replaced whole, as an editor would.
write_config()
{
	cat >"$T/relay.conf.new" <<CONF
[input]
type = file
path = $T/src.wav
loop = no
at_end = exit
rate = 48000

[encoding v]
rate = $1
quality = 3

[encoding o]
codec = opus
bitrate = $2

[output archive]
type = file
path = $T/archive/a.ogg
encoding = v

$(icecast_output v /v.ogg "encoding = v")

$(icecast_output o /o.opus "encoding = o")

[status]
listen = off
CONF
	mv "$T/relay.conf.new" "$T/relay.conf"
}

write_config 44100 64
start_relay "$T/relay.conf"
wait_mount "$port" /o.opus 10
listen_bg "http://127.0.0.1:$port/o.opus" 30 "$T/o.opus"
listener=$LISTEN_PID
wait_for -t 5 -m "audio on the Opus listener" size_at_least "$T/o.opus" 2000 ||
    fail "the Opus listener gets nothing"
sleep 2
write_config 48000 96
log_mark
kill -HUP "$RELAY_PID"
wait_for -t 5 -m "the reload" log_since 'reloaded:' || fail "no reload line"
relay_lines "$LOG_MARK" | grep -E 'main: |engine: ' | while read -r l; do
	note "log: $l"
done
sleep 1
proc_gone "$listener" && fail "the Opus listener's connection ended at the reload"
size=$(file_size "$T/o.opus")
wait_for -t 5 -m "the Opus capture to grow after the reload" \
    size_at_least "$T/o.opus" $((size + 2000)) ||
    fail "no audio reached the Opus listener after the reload"
log_since '\[output o\]: kept; its encoding \[o\] continues in a new chain on the same connection' ||
    fail "output o was not kept: $(relay_lines "$LOG_MARK" | grep 'output o' | tail -2)"
log_since '\[output v\]: settings changed, restarting' ||
    fail "output v did not restart for a new rate"
log_since '\[output archive\]: settings changed, restarting' ||
    fail "the archive did not restart for a new rate"
log_since 'reloaded: 1 output\(s\) kept streaming \(1 in a new chain\), 2 started, 2 stopped; 2 encoder\(s\) rebuilt' ||
    fail "unexpected reload summary: $(relay_lines "$LOG_MARK" | grep reloaded: | tail -1)"

wait_for -t 20 -m "relay to end at the file's end" proc_gone "$RELAY_PID" ||
    fail "relay did not exit at the end of its file"
wait "$RELAY_PID" || fail "relay exited with $?"
RELAY_PID=
listen_wait "$listener" || fail "the Opus listener's curl failed"

python3 "$(dirname "$0")/../tools/ogg_streams.py" "$T/o.opus" >"$T/o.streams" ||
    fail "the Opus capture is damaged: $(cat "$T/o.streams")"
note "Opus capture: $(tr '\n' ';' <"$T/o.streams")"
n=$(grep -c 'codec=opus' "$T/o.streams") || true
[[ $n == 2 ]] || fail "the Opus capture holds $n Opus chain(s), not 2: $(cat "$T/o.streams")"
# Each chain's granules count its audio from its own start (pre-skip
# included): together the file's 12 s, none lost at the join.
total=$(sed -n 's/.*preskip=\([0-9]*\) last_granule=\([0-9]*\).*/\1 \2/p' "$T/o.streams" |
    awk '{ s += ($2 - $1) / 48000 } END { printf "%.3f\n", s }')
assert_between "$total" 11.9 12.1 "seconds in the Opus chains"

ogginfo "$T/archive/a.ogg" >"$T/arch.info" 2>&1 ||
    fail "ogginfo rejects the archive: $(grep -iE 'error|warn' "$T/arch.info" | head -3)"
rates=$(sed -n 's/^[[:space:]]*Rate: *\([0-9]*\).*/\1/p' "$T/arch.info" | tr '\n' ' ')
[[ $rates == "44100 48000 " ]] || fail "archive chain rates '$rates', not '44100 48000 '"
total=$(sed -n 's/^[[:space:]]*Playback length: \([0-9]*\)m:\([0-9.]*\)s.*/\1 \2/p' \
    "$T/arch.info" | awk '{ s += $1 * 60 + $2 } END { printf "%.3f\n", s }')
note "archive: chains at $rates, $total s in all (the file: 12 s)"
assert_between "$total" 11.9 12.1 "seconds in the archive of a 12 s file"
rm -f "$T/src.wav" "$T/o.opus"
rm -rf "$T/archive"
