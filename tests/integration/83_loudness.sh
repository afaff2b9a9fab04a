#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 83 [processing]: speech-like audio at -30 LUFS, then music-like audio at
# -10 LUFS, then near-silence (-75 dBFS noise) go through relay with
# processing = on (loudness_target -16, true_peak_max -1) into a Vorbis
# and an Opus archive. Measured by ffmpeg's ebur128 filter on the decoded
# files, after the rider settled (the last 7 s of each 15 s part), both
# parts come out within 1 LU of -16 LUFS; the true peak of the whole
# decoded output, transitions included, is at most -0.5 dBTP; the quiet
# part is not lifted (its level stays at or under the input's). The same
# input with processing = off comes out at its own levels (so the
# measurement would catch a rider that did nothing). Then a live relay
# shows the processing fields in /api/status and /metrics, a reload
# (SIGHUP) applies a new loudness target, and a scheduled segment with
# gain = -6 and normalise = no goes out at its own level, 6 dB down.
#
# timeout: 50

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# ebur FILE [ffmpeg input options]: "INTEGRATED TRUE_PEAK" by ffmpeg.
ebur()
{
	local f=$1
	shift
	ffmpeg -nostdin -hide_banner "$@" -i "$f" -af ebur128=peak=true \
	    -f null - 2>&1 | awk '/Integrated loudness:/ { s = 1 }
		s && / I:/ { i = $2 } /True peak:/ { t = 1 }
		t && /Peak:/ { p = $2 } END { print i, p }'
}

# rms_db FILE START LEN: RMS level (dBFS) of a decoded stretch.
rms_db()
{
	ffmpeg -nostdin -v error -ss "$2" -t "$3" -i "$1" -f wav - |
	    sox -t wav - -n stats 2>&1 | awk '/^RMS lev dB/ { print $4 }'
}

# make_part NAME SECONDS LUFS SYNTH...: a 44.1 kHz stereo part at LUFS.
make_part()
{
	local name=$1 secs=$2 lufs=$3 i
	shift 3
	sox -r 44100 -n -r 44100 -c 2 -b 16 -e signed-integer "$T/$name.0.wav" \
	    synth "$secs" "$@" || fail "sox cannot make $name"
	read -r i _ < <(ebur "$T/$name.0.wav")
	sox "$T/$name.0.wav" "$T/$name.wav" \
	    gain "$(awk -v i="$i" -v t="$lufs" 'BEGIN { print t - i }')" ||
	    fail "sox cannot level $name"
	read -r i _ < <(ebur "$T/$name.wav")
	assert_between "$i" $((lufs - 1)) $((lufs + 1)) "$name input loudness (LUFS)"
}

# Speech-like: band-limited noise in 4 Hz syllables. Music-like: pink noise
# with a steady bass line.
make_part speech 15 -30 pinknoise sinc 200-4000 tremolo 4 100
make_part music 15 -10 pinknoise synth 15 sine mix 110
sox -r 44100 -n -r 44100 -c 2 -b 16 -e signed-integer "$T/quiet.wav" \
    synth 6 whitenoise vol 0.0003 || fail "sox cannot make quiet"
sox "$T/speech.wav" "$T/music.wav" "$T/quiet.wav" -t raw "$T/in.raw" ||
    fail "sox cannot join the parts"
quiet_in=$(sox "$T/quiet.wav" -n stats 2>&1 | awk '/^RMS lev dB/ { print $4 }')

run_relay() # NAME on|off
{
	stdin_batch_config "$1" 6 96 "[processing]
processing = $2
loudness_target = -16
true_peak_max = -1" >"$T/$1.conf"
	RELAY_STDIN=$T/in.raw start_relay "$T/$1.conf"
	wait_for -t 30 -m "relay to finish the input" proc_gone "$RELAY_PID" ||
	    fail "relay did not exit at the end of its input"
	wait "$RELAY_PID" || fail "relay exited $? at the end of its input"
	RELAY_PID=
}

run_relay on on
for f in "$T/on.ogg" "$T/on.opus"; do
	read -r speech _ < <(ebur "$f" -ss 8 -t 7)
	read -r music _ < <(ebur "$f" -ss 23 -t 7)
	read -r _ peak < <(ebur "$f")
	quiet=$(rms_db "$f" 31.5 4)
	note "$f: speech $speech LUFS, music $music LUFS, true peak $peak dBTP, quiet $quiet dBFS (in $quiet_in)"
	assert_between "$speech" -17 -15 "$f: speech part after the rider settled (LUFS)"
	assert_between "$music" -17 -15 "$f: music part after the rider settled (LUFS)"
	assert_between "$peak" -100 -0.5 "$f: true peak of the whole output (dBTP)"
	assert_between "$quiet" -200 "$(awk -v q="$quiet_in" 'BEGIN { print q + 0.5 }')" \
	    "$f: quiet part level (dBFS), input $quiet_in"
done

# processing = off: the parts keep their own loudness.
run_relay off off
read -r speech _ < <(ebur "$T/off.ogg" -ss 8 -t 7)
read -r music _ < <(ebur "$T/off.ogg" -ss 23 -t 7)
assert_between "$speech" -31 -29 "processing off: speech part (LUFS)"
assert_between "$music" -11 -9 "processing off: music part (LUFS)"

# --- a live relay reports what it measures -----------------------------
status_port=$(free_port) || fail "no free port"
# A scheduled feature mastered at its own level: a -6 dBFS tone, gain -6 dB,
# normalise = no. The rider returns to 0 dB for it, so it goes out at -12
# dBFS peak (normalised to -20 or -18 LUFS it would be 6 dB quieter).
# Far enough ahead for the rider, schema, metrics and reload checks below.
lead=$(scaled 5)
t0=$(($(date +%s) + ${lead%.*}))
cat >"$T/sched.conf" <<SCHED
[segment feature]
at = $(date -u -d "@$t0" '+%Y-%m-%d %H:%M:%S')
source = tone
frequency = 500
level_dbfs = -6
duration = 4s
gain = -6
normalise = no
SCHED
cat >"$T/live.conf" <<CONF
[input]
type = tone
frequency = 1000
level_dbfs = -30
[processing]
processing = on
loudness_target = -20
[output f]
type = file
path = $T/live.ogg
[status]
listen = 127.0.0.1:$status_port
poll_icecast = off
[schedule]
file = $T/sched.conf
timezone = UTC
CONF
started=$(date +%s.%N)
start_relay "$T/live.conf"
rider_up()
{
	curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status" \
	    >"$T/status.json" &&
	    jq -e '.processing.enabled and .processing.target_lufs == -20 and
		.processing.gain_db > 1 and .processing.momentary_lufs != null and
		.processing.true_peak_dbtp != null and .processing.frozen == false' \
		"$T/status.json" >/dev/null
}
wait_for -t 10 -m "the rider to lift a -30 dBFS tone" rider_up ||
    fail "/api/status processing: $(jq -c .processing "$T/status.json")"
jq -f "$TOPDIR/tests/tools/status_schema.jq" "$T/status.json" >"$T/schema.json"
[[ $(jq length "$T/schema.json") -eq 0 ]] || fail "schema: $(cat "$T/schema.json")"
curl -sf --max-time 5 "http://127.0.0.1:$status_port/metrics" >"$T/metrics.txt" ||
    fail "GET /metrics failed"
grep -q '^relay_processing_enabled 1$' "$T/metrics.txt" ||
    fail "metrics: $(grep processing "$T/metrics.txt" | head -3)"
grep -qE '^relay_processing_gain_db [0-9.]+$' "$T/metrics.txt" ||
    fail "metrics gain: $(grep processing_gain "$T/metrics.txt")"
# A reload applies a new [processing] without stopping anything.
sed -i 's/^loudness_target = -20$/loudness_target = -18/' "$T/live.conf"
kill -HUP "$RELAY_PID"
target_is()
{
	curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status" |
	    jq -e ".processing.target_lufs == $1" >/dev/null
}
wait_for -t 10 -m "the new loudness target" target_is -18 ||
    fail "reload did not apply loudness_target = -18"
log_has '\[processing\]: settings applied' || fail "no reload log line"
wait_for -t 15 -m "the feature to end" log_has 'feature.*ended' ||
    fail "the feature segment did not play"
stop_relay TERM 5 || fail "relay did not stop"
at=$(awk -v t0="$t0" -v s="$started" 'BEGIN { printf "%.2f", t0 - s }')
# The archive is chained (a new chain at each title change): decode it
# whole, then cut 1.2 s from 2.6 s into the feature (the rider is back at 0
# dB by then: 8 dB/s).
ffmpeg -nostdin -v error -i "$T/live.ogg" -f s16le -acodec pcm_s16le \
    "$T/live.raw" || fail "cannot decode the archive"
skip=$(awk -v a="$at" 'BEGIN { printf "%d", (a + 2.6) * 44100 } ')
dd if="$T/live.raw" of="$T/feature.raw" iflag=skip_bytes,count_bytes \
    skip=$((skip * 4)) count=$((52920 * 4)) status=none ||
    fail "cannot cut the feature"
read -r freq peak _ < <(audio_stats "$T/feature.raw" 44100 2 1 0) ||
    fail "cannot analyse the feature"
note "feature at ${at} s: $freq Hz, peak $peak dBFS"
assert_between "$freq" 480 520 "feature frequency (Hz)"
assert_between "$peak" -13.5 -10.5 "feature peak with normalise = no (dBFS)"
check_sanitizer
