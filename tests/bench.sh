#!/usr/bin/env bash
# make bench: CPU cost of relay against the reference encoders on the same
# audio, in one run, as ratios. Not a test: it asserts nothing about speed.
#
# Audio: 300 s of 44.1 kHz stereo (a sine sweep mixed with pink noise, the
# hard case for a Vorbis encoder), made with sox. Every tool encodes the
# same raw PCM at Vorbis quality 4; relay runs its whole pipeline (stdin
# input, engine, encoder, muxer, file output) with [input] at_end = exit.
# CPU = user + sys seconds (bash `times` of the child), best of RUNS.
# Peak RSS is the child's ru_maxrss (python3 getrusage).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
relay=${RELAY:-$top/build/relay}
runs=${BENCH_RUNS:-3}
seconds=${BENCH_SECONDS:-300}
dir=$(mktemp -d /tmp/relay-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT

for tool in sox oggenc ffmpeg; do
	command -v "$tool" >/dev/null || { echo "bench: $tool missing (make deps)" >&2; exit 1; }
done
[ -x "$relay" ] || { echo "bench: $relay missing (make)" >&2; exit 1; }

echo "bench: making ${seconds} s of test audio"
sox -D -n -r 44100 -c 2 -b 16 "$dir/sweep.wav" synth "$seconds" sine 100-8000 vol 0.4
sox -D -n -r 44100 -c 2 -b 16 "$dir/noise.wav" synth "$seconds" pinknoise vol 0.1
sox -D -m "$dir/sweep.wav" "$dir/noise.wav" "$dir/in.wav"
sox -D "$dir/in.wav" -t raw -e signed -b 16 -L "$dir/in.raw"
rm -f "$dir/sweep.wav" "$dir/noise.wav"

cat >"$dir/relay.conf" <<EOF
[input]
type = stdin
format = s16le
rate = 44100
channels = 2
at_end = exit
[encoding q4]
quality = 4
[output file]
type = file
path = $dir/relay.ogg
[status]
listen = off
[log]
level = warn
EOF

# cpu_of CMD...: prints the user+sys CPU seconds of CMD (best of $runs).
cpu_of() {
	local best="" i t
	for ((i = 0; i < runs; i++)); do
		t=$(python3 - "$@" <<'PY' || true
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f %d" % (ru.ru_utime + ru.ru_stime, ru.ru_maxrss))
PY
		)
		[ -n "$t" ] || { echo "bench: run failed: $*" >&2; exit 1; }
		if [ -z "$best" ] || awk -v a="${t% *}" -v b="${best% *}" 'BEGIN{exit !(a<b)}'; then
			best=$t
		fi
	done
	echo "$best"
}

echo "bench: $runs run(s) each, best counts"
oggenc_r=$(cpu_of oggenc -Q -q 4 -r -B 16 -C 2 -R 44100 -o "$dir/oggenc.ogg" "$dir/in.raw")
ffmpeg_r=$(cpu_of ffmpeg -v error -y -f s16le -ar 44100 -ac 2 -i "$dir/in.raw" -c:a libvorbis -q:a 4 "$dir/ffmpeg.ogg")
relay_r=$(cpu_of bash -c "rm -f '$dir/relay.ogg'; exec '$relay' -c '$dir/relay.conf' < '$dir/in.raw'")

# The relay output must be a complete, valid file of the whole input.
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$dir/relay.ogg")

report() {
	local name=$1 cpu=${2% *} rss=${2#* }
	awk -v n="$name" -v c="$cpu" -v r="$rss" -v s="$seconds" -v base="${oggenc_r% *}" \
		'BEGIN { printf "%-8s %7.3f s CPU  %6.3f s per minute of audio  ratio to oggenc %5.3f  max RSS %6.1f MB\n", n, c, c * 60 / s, c / base, r / 1024 }'
}
echo
report oggenc "$oggenc_r"
report ffmpeg "$ffmpeg_r"
report relay "$relay_r"
echo "relay output: $dur s of audio for $seconds s of input"
echo "(goal: relay within 1.05 x oggenc, under 9 MB RSS)"
