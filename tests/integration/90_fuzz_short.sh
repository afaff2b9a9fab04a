#!/usr/bin/env bash
# serial: fuzzes: CPU-bound
# SPDX-License-Identifier: MIT
#
# 90 a short fuzzing pass: every libFuzzer target (tests/fuzz/, built by
# make test as build/fuzz/bin/*) replays its regression inputs (every
# crash found so far) and fuzzes for FUZZ_SECONDS (2 s here) from its
# seeds. `make fuzz FUZZ_SECONDS=N` is the long run.
#
# timeout: 150

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

compgen -G "$TOPDIR/build/fuzz/bin/fuzz_*" >/dev/null ||
    fail "no fuzz targets in build/fuzz/bin (make fuzz-build)"
FUZZ_SECONDS=${FUZZ_SECONDS:-2} bash "$TOPDIR/tests/fuzz/run.sh" \
    >"$T/fuzz.log" 2>&1 || {
	cat "$T/fuzz.log" >&2
	fail "a fuzz target failed"
}
cat "$T/fuzz.log"
