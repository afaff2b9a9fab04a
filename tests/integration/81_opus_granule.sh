#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 81 Ogg Opus lengths are exact: a known number of samples goes in on stdin
# (at_end = exit), an archive output (type = file) keeps the whole Opus
# stream from its first packet. Its OpusHead pre-skip is the encoder's
# lookahead, the last granule position minus pre-skip is exactly the
# samples sent (end trimming), the stream ends with EOS, and real decoders
# (ffmpeg, opusdec) produce exactly that many samples of the tone.
# Then the same through the resampler: a 44.1 kHz programme comes out at
# 48 kHz with the length scaled, within one 20 ms frame. Last, an Opus
# archive rotated every 2 s: every whole file decodes to 2 s of whole
# packets (the pre-roll dropped exactly).
#
# timeout: 30

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

command -v opusdec >/dev/null || skip "opusdec (opus-tools) is not installed"

# run_once RATE SAMPLES: relay encodes SAMPLES frames of a 700 Hz tone at
# RATE (mono) into $T/RATE.opus.
run_once()
{
	local rate=$1 samples=$2
	cat >"$T/relay-$rate.conf" <<CONF
[input]
type = stdin
format = s16le
rate = $rate
channels = 1
at_end = exit
title = Length test
[encoding op]
codec = opus
channels = 1
bitrate = 32
[output archive]
type = file
path = $T/$rate.opus
encoding = op
[status]
listen = off
CONF
	sox -r "$rate" -n -r "$rate" -c 1 -b 16 -e signed-integer -t raw \
	    "$T/in-$rate.raw" \
	    synth "${samples}s" sine 700 vol 0.25 ||
	    fail "sox cannot make the input"
	[[ $(file_size "$T/in-$rate.raw") -eq $((samples * 2)) ]] ||
	    fail "input is $(file_size "$T/in-$rate.raw") bytes, expected $((samples * 2))"
	RELAY_STDIN=$T/in-$rate.raw start_relay "$T/relay-$rate.conf"
	wait_for -t 20 -m "relay to finish the input" proc_gone "$RELAY_PID" ||
	    fail "relay did not exit at the end of its input"
	wait "$RELAY_PID" || fail "relay exited $? at the end of its input"
	RELAY_PID=
	[[ -s $T/$rate.opus ]] || fail "no archive written"
}

# stream_field FILE KEY: a field of ogg_streams.py's single stream line.
stream_field()
{
	python3 "$TOPDIR/tests/tools/ogg_streams.py" "$1" >"$1.streams" ||
	    fail "$1: $(grep ERROR "$1.streams" | head -3)"
	[[ $(wc -l <"$1.streams") -eq 1 ]] ||
	    fail "$1: expected one logical stream: $(cat "$1.streams")"
	sed -n "s/.* $2=\([^ ]*\).*/\1/p" "$1.streams"
}

# decoded_samples FILE: 48 kHz mono samples ffmpeg decodes.
decoded_samples()
{
	ffmpeg -nostdin -v error -i "$1" -f s16le -acodec pcm_s16le -ar 48000 \
	    -ac 1 -y "$1.s16le" 2>"$1.ffmpeg.log" ||
	    fail "ffmpeg cannot decode $1: $(head -3 "$1.ffmpeg.log")"
	echo $(($(file_size "$1.s16le") / 2))
}

# --- 48 kHz programme: no resampling, exact to the sample ----------------
sent=100000 # 2.083 s: not a whole number of 20 ms frames
run_once 48000 "$sent"
f=$T/48000.opus
preskip=$(stream_field "$f" preskip)
last=$(stream_field "$f" last_granule)
[[ $(stream_field "$f" eos) == 1 ]] || fail "$f: no EOS page"
# libopus 1.3's lookahead at 48 kHz (application = audio) is 312 samples.
assert_between "$preskip" 100 1000 "pre-skip (samples)"
[[ $((last - preskip)) -eq $sent ]] ||
    fail "last granule $last - pre-skip $preskip = $((last - preskip)), sent $sent"
got=$(decoded_samples "$f")
[[ $got -eq $sent ]] || fail "ffmpeg decodes $got samples, sent $sent"
opusdec --quiet --rate 48000 "$f" "$T/opusdec.wav" 2>"$T/opusdec.log" ||
    fail "opusdec: $(head -3 "$T/opusdec.log")"
got=$(soxi -s "$T/opusdec.wav") || fail "soxi cannot read opusdec's output"
[[ $got -eq $sent ]] || fail "opusdec decodes $got samples, sent $sent"
read -r freq peak _ < <(audio_stats "$f.s16le" 48000 1) || fail "cannot analyse"
assert_between "$freq" 680 720 "decoded frequency (Hz)"
assert_between "$peak" -15 -9 "decoded peak (dBFS)"

# --- 44.1 kHz programme: resampled to 48 kHz ---------------------------
sent=88200 # 2 s
run_once 44100 "$sent"
f=$T/44100.opus
preskip=$(stream_field "$f" preskip)
last=$(stream_field "$f" last_granule)
want=$((sent * 48000 / 44100))
assert_between "$((last - preskip))" $((want - 960)) "$want" \
    "44.1 kHz: last granule - pre-skip (48 kHz samples)"
got=$(decoded_samples "$f")
assert_between "$got" $((want - 960)) "$want" "44.1 kHz: samples ffmpeg decodes"
read -r freq _ _ < <(audio_stats "$f.s16le" 48000 1) || fail "cannot analyse"
assert_between "$freq" 680 720 "44.1 kHz: decoded frequency (Hz)"

# --- an archive rotated every 2 s: every whole file holds 2 s -------------
# Each file after the first is cut from the running encoder: its stream
# starts with the end of the previous file as pre-roll (pre-skip 3840), so
# the files join sample for sample.
mkdir "$T/rot"
cat >"$T/rot.conf" <<CONF
[input]
type = tone
frequency = 700
level_dbfs = -12
[encoding op]
codec = opus
channels = 1
[output archive]
type = file
path = $T/rot/a-%H%M%S.opus
rotate = 2s
encoding = op
[status]
listen = off
CONF
# The second file's pre-roll is the first file's end: the first must hold
# those 80 ms. Started in the last ~0.1 s of a period, it held less, and
# the second file's pre-skip was rightly shorter (all the first file had):
# start just after a boundary of the 2 s period.
python3 -c 'import time; t = time.time(); time.sleep((int(t) // 2 + 1) * 2 + 0.05 - t)'
start_relay "$T/rot.conf"
four_files() { (($(find "$T/rot" -name 'a-*.opus' | wc -l) >= 4)); }
wait_for -t 15 -m "four archive files" four_files ||
    fail "no rotation: $(ls "$T/rot")"
stop_relay TERM 5 || fail "relay did not stop"
mapfile -t files < <(find "$T/rot" -name 'a-*.opus' | sort)
lens=
for f in "${files[@]:1:${#files[@]}-2}"; do
	pre=$(stream_field "$f" preskip)
	[[ $pre -eq 3840 ]] || fail "$f: pre-skip $pre, expected 3840"
	got=$(decoded_samples "$f")
	# The archive cuts before the first packet made at or after the
	# boundary, and an engine block (46 ms) makes up to three packets at
	# once: whole 20 ms packets, 2 s give or take four of them, nothing
	# of the pre-roll left audible.
	((got % 960 == 0)) || fail "$f: $got samples, not whole 20 ms packets"
	assert_between "$got" 92160 99840 "$f: samples (2 s)"
	lens+=" $got"
done
note "${#files[@]} archive files; the whole ones hold$lens samples"
check_sanitizer
