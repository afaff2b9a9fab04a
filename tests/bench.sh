#!/usr/bin/env bash
# make bench: what a station pays to run each live source, in real time,
# beside its peers (tests/bench.py holds the method; docs/performance.md the
# figures). Not a test: it asserts nothing about speed.
#   BENCH_SECONDS (120)  length of the news-like mix
#   BENCH_RUNS (3)       interleaved rounds; each figure is their median
#   BENCH_TOOLS          default "oggenc relay relay-opus relay-loudness
#                        ices2 ffmpeg" (relay-opus: Opus 64 kbit/s instead of
#                        Vorbis q4; relay-loudness: q4 with [processing] on)
#   BENCH_DIR            keep the work dir (mix, logs, results.json) there
#   RELAY_BEFORE         another relay binary, one more row ("relay-before")
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
relay=${RELAY:-$top/build/relay}

# The bench's own dependencies: the peers it measures and the mix makers
# (not needed by make test, so not in tests/deps.sh).
missing=()
for tool in sox espeak-ng oggenc ffmpeg ices2 icecast2 python3; do
	command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
	echo "bench: missing ${missing[*]}; apt-get install sox espeak-ng vorbis-tools ffmpeg ices2 icecast2 python3" >&2
	exit 1
fi
[ -x "$relay" ] || { echo "bench: $relay missing (make)" >&2; exit 1; }

if [ -n "${BENCH_DIR:-}" ]; then
	dir=$BENCH_DIR
	mkdir -p "$dir"
else
	dir=$(mktemp -d /tmp/relay-bench.XXXXXX)
	trap 'rm -rf "$dir"' EXIT
fi
chmod 755 "$dir"
exec python3 "$top/tests/bench.py" "$dir" "$relay"
