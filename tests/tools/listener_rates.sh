#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/tools/listener_rates.sh: what one listener costs an Icecast server
# at each Vorbis quality, measured, for docs/scale-out.md. Not a test: it
# asserts nothing. Run from the top of the tree after make:
#   bash tests/tools/listener_rates.sh
# For each programme (a news mix: speech over a music bed, as tests/bench.py
# makes it; and pink noise, a hard case for any encoder) relay streams one
# looping 60 s file in three encodings, 44.1 kHz stereo at quality 2, 4 and
# 6, to a private icecast2; one listener per mount reads for
# MEASURE_S (30) s after WARMUP_S (5) s, and the bytes it got in that window
# (Ogg pages as Icecast sends them, HTTP body only) give kbit/s. Prints one
# line per programme and quality:
#   PROGRAMME QUALITY KBIT_S LISTENERS_PER_100MBIT LISTENERS_PER_1GBIT
# (listeners at 80 % of the link, leaving room for TCP/IP headers, about
# 4 %, and bursts).
#
# Threads: none.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

MEASURE_S=${MEASURE_S:-30}
WARMUP_S=${WARMUP_S:-5}
QUALITIES=(2 4 6)

for tool in sox espeak-ng; do
	command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install sox espeak-ng)"
done

make_programmes()
{
	local text="Good evening. This is the news at six. The council met today \
to discuss the new bridge over the river, and agreed to fund the first phase \
of the work. In sport, the home side won by two goals to one after a late \
penalty. The weather tonight: cloudy, with showers spreading from the west, \
and a low of eight degrees. "
	espeak-ng -s 165 -w "$T/speech.wav" "$text$text$text" 2>/dev/null
	sox -D -q "$T/speech.wav" -r 44100 -c 2 -b 16 "$T/speech44.wav" \
	    repeat 5 trim 0 60
	sox -D -q -n -r 44100 -c 2 -b 16 "$T/bed.wav" synth 60 \
	    sine 220-660 sine 330-990 pinknoise tremolo 2 40 vol 0.15
	sox -D -q -m "$T/speech44.wav" "$T/bed.wav" "$T/news.wav" trim 0 60
	sox -D -q -n -r 44100 -c 2 -b 16 "$T/noise.wav" synth 60 \
	    pinknoise vol 0.5
}

measure()
{
	local prog=$1 q f a b
	{
		printf '[input]\ntype = file\npath = %s\nloop = true\n\n' \
		    "$T/$prog.wav"
		for q in "${QUALITIES[@]}"; do
			printf '[encoding q%s]\nquality = %s\n\n' "$q" "$q"
			printf '[output q%s]\nhost = 127.0.0.1\nport = %s\n' \
			    "$q" "$ICECAST_PORT"
			printf 'mount = /q%s.ogg\nencoding = q%s\n' "$q" "$q"
			printf 'password_env = RELAY_TEST_SOURCE_PASSWORD\n\n'
		done
		printf '[status]\nlisten = off\n'
	} >"$T/$prog.conf"
	start_relay "$T/$prog.conf"
	for q in "${QUALITIES[@]}"; do
		wait_mount "$ICECAST_PORT" "/q$q.ogg"
	done
	for q in "${QUALITIES[@]}"; do
		listen_bg "http://127.0.0.1:$ICECAST_PORT/q$q.ogg" \
		    "$((WARMUP_S + MEASURE_S + 2))" "$T/$prog-q$q.ogg"
	done
	sleep "$WARMUP_S"
	for q in "${QUALITIES[@]}"; do
		file_size "$T/$prog-q$q.ogg" >"$T/$prog-q$q.a"
	done
	sleep "$MEASURE_S"
	for q in "${QUALITIES[@]}"; do
		a=$(cat "$T/$prog-q$q.a")
		b=$(file_size "$T/$prog-q$q.ogg")
		awk -v p="$prog" -v q="$q" -v n="$((b - a))" -v s="$MEASURE_S" \
		    'BEGIN { k = n * 8 / s / 1000
		             printf "%-6s q%-2s %6.1f kbit/s %6d per 100 Mbit/s %7d per 1 Gbit/s\n",
		                 p, q, k, 0.8 * 100000 / k, 0.8 * 1000000 / k }'
	done
	stop_relay TERM 5 || true
}

make_programmes
start_icecast a
export RELAY_TEST_SOURCE_PASSWORD=$ICECAST_PASSWORD
measure news
measure noise
