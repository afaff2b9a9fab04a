#!/usr/bin/env bash
# make bench: what a station pays to run each live source, in real time,
# beside its peers (tests/bench.py holds the method; docs/performance.md the
# figures). Not a test: it asserts nothing about speed.
#   BENCH_SECONDS (120)  length of the news-like mix
#   BENCH_RUNS (3)       interleaved rounds; each figure is their median
#   BENCH_TOOLS          default "oggenc oggenc-rt relay relay-opus
#                        relay-loudness
#                        ices2 ices2-flush ffmpeg darkice liquidsoap fanout
#                        status startup" (relay-opus: Opus 64 kbit/s instead
#                        of Vorbis q4; relay-48k (not in the default): q4
#                        resampled to 48 kHz, CPU and click test;
#                        relay-loudness: q4 with [processing]
#                        on; ices2-flush: click test only, flush-samples
#                        4410; fanout = relay-fan4 relay-fan16 relay-q2
#                        relay-q0 relay-3enc; status: wrk on /api/status
#                        while streaming; startup: exec -> first page and
#                        on_air; oggenc-rt: oggenc fed the real-time
#                        feed on stdin, the floor in real time)
#   BENCH_CLICKS (12)    clicks per live tool in the click test, over all
#                        rounds
#   BENCH_DIR            keep the work dir (mix, logs, results.json: every
#                        click's delay, and its delay beyond the page, per
#                        tool, to pool runs) there
#   RELAY_BEFORE         another relay binary, one more row ("relay-before";
#                        with fanout also relay-before-fan4 and -fan16)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
relay=${RELAY:-$top/build/relay}

# The bench's own dependencies: the peers it measures, the mix makers, the
# load generator (not needed by make test, so not in tests/deps.sh's list;
# its check-and-install is reused: as root it runs apt-get, otherwise it
# prints the exact command and fails).
sh "$top/tests/deps.sh" sox espeak-ng vorbis-tools ffmpeg ices2 icecast2 \
    darkice liquidsoap wrk python3 curl
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
