#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/fuzz/run.sh: runs every libFuzzer target in build/fuzz/bin for
# FUZZ_SECONDS (default 60) each. Each target first replays its regression
# inputs (tests/fuzz/regress/NAME/*: every crash found so far, kept so it
# never comes back), then fuzzes from its seeds (tests/fuzz/seed/NAME/ and
# the test data the project already has) into a scratch corpus. A crash,
# leak, timeout or sanitizer report fails the target; its input is saved
# under build/fuzz/crashes/NAME/ to be added to regress/. Ends with
# "N passed, N failed".
#
# Threads: none.

set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
seconds=${FUZZ_SECONDS:-60}
work=$(mktemp -d "${TMPDIR:-/tmp}/relay-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
n_pass=0
n_fail=0

# Extra seed folders per target: the project's own test data.
extra_seeds()
{
	case $1 in
	fuzz_config) echo tests/data/good tests/data/bad ;;
	fuzz_schedule) echo tests/data/schedule/good tests/data/schedule/bad ;;
	esac
}

# A tiny WAV for the audio file target: 0.1 s of a 440 Hz tone, stereo.
python3 - "$work/wav-seed" <<'PY'
import math, os, struct, sys
os.makedirs(sys.argv[1], exist_ok=True)
rate, n = 8000, 800
pcm = b"".join(struct.pack("<hh", int(8000 * math.sin(i * 0.345)),
                           int(8000 * math.sin(i * 0.5))) for i in range(n))
hdr = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " + \
    struct.pack("<IHHIIHH", 16, 1, 2, rate, rate * 4, 4, 16) + \
    b"data" + struct.pack("<I", len(pcm))
open(os.path.join(sys.argv[1], "tone.wav"), "wb").write(hdr + pcm)
PY

# A short Ogg Vorbis stream, mono and stereo chained, for the feed target.
mkdir -p "$work/ogg-seed"
if command -v oggenc >/dev/null; then
	oggenc -Q -q 0 --raw --raw-chan=1 --raw-rate=8000 \
	    -o "$work/ogg-seed/mono.ogg" "$work/wav-seed/tone.wav" 2>/dev/null ||
	    true
	oggenc -Q -q 0 -o "$work/ogg-seed/stereo.ogg" \
	    "$work/wav-seed/tone.wav" 2>/dev/null || true
	cat "$work/ogg-seed/mono.ogg" "$work/ogg-seed/stereo.ogg" \
	    >"$work/ogg-seed/chained.ogg" 2>/dev/null || true
fi

# Real zone files for the TZif target (tzdata, on every Debian machine).
mkdir -p "$work/tzif-seed"
for z in Europe/London America/New_York Australia/Lord_Howe Asia/Kolkata UTC; do
	[[ -f /usr/share/zoneinfo/$z ]] &&
	    cp "/usr/share/zoneinfo/$z" "$work/tzif-seed/${z//\//_}"
done

for bin in build/fuzz/bin/fuzz_*; do
	[[ -x $bin ]] || continue
	name=$(basename "$bin")
	short=${name#fuzz_}
	log=$work/$name.log
	crashes=build/fuzz/crashes/$name
	mkdir -p "$crashes" "$work/corpus-$name"
	ok=1
	regress=(tests/fuzz/regress/"$short"/*)
	if [[ -e ${regress[0]} ]]; then
		if ! "$bin" -rss_limit_mb=2048 -timeout=10 "${regress[@]}" \
		    >"$log" 2>&1; then
			ok=0
		fi
	fi
	seeds=()
	[[ -d tests/fuzz/seed/$short ]] && seeds+=("tests/fuzz/seed/$short")
	[[ $short == audio_file ]] && seeds+=("$work/wav-seed")
	[[ $short == tzif ]] && seeds+=("$work/tzif-seed")
	[[ $short == feed ]] && seeds+=("$work/ogg-seed")
	# shellcheck disable=SC2207
	seeds+=($(extra_seeds "$name"))
	if ((ok)) && ! TMPDIR=$work "$bin" -max_total_time="$seconds" \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$crashes/" "$work/corpus-$name" "${seeds[@]}" \
	    >>"$log" 2>&1; then
		ok=0
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if ((ok)); then
		n_pass=$((n_pass + 1))
		printf 'PASS  %-22s %s runs in %s s\n' "$name" "${runs:-?}" "$seconds"
	else
		n_fail=$((n_fail + 1))
		printf 'FAIL  %-22s (inputs kept in %s)\n' "$name" "$crashes"
		grep -E -m 20 'ERROR|runtime error|SUMMARY|==[0-9]+==' "$log" |
		    sed 's/^/    /'
	fi
done
echo "$n_pass passed, $n_fail failed"
((n_fail == 0 && n_pass > 0))
