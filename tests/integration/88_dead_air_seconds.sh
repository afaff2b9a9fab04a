#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 88 dead-air seconds agree: one episode of dead air (the live input goes
# silent for 5 s; [fallback] after = 2s, restore_after = 1s) is counted
# the same, within 0.1 s (their one decimal), by the log line ("dead air
# over after X s"), /api/status fallback.dead_air_s and the archive, where
# it is measured: from the first silent sample to where the returning live
# programme is heard over the filler fading out. The filler is quiet
# (-40 dBFS) and the live tone loud (-3 dBFS), so the live programme
# dominates 15 ms into their crossfade. The log line counted only the
# filler's time on air (2 s short: the silence before it was missing) and
# from the wall clock of its two events, while /api/status counted the
# silence too, block by block.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
status_port=$(free_port)
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
sox -n -r 44100 -c 2 -b 16 "$T/filler.wav" synth 30 sine 880 vol 0.01 ||
    fail "cannot make the filler file"
filler_air_config "$port" "$status_port" file filler.wav 2s >"$T/relay.conf"
mkfifo "$T/pcm.fifo"
bg python3 "$TOPDIR/tests/tools/pcm_script.py" "$T/pcm.fifo" \
    tone:523:3:-3 silence:5 tone:523:30:-3
RELAY_STDIN=$T/pcm.fifo start_relay "$T/relay.conf"
wait_mount "$port" /air.ogg
wait_for -t 20 -m "the dead air over" log_has 'fallback: dead air over' ||
    fail "the filler never left"
# The crossfade back to live (1 s) in the archive too.
sleep 1.5
status=$(curl -sf --max-time 3 "http://127.0.0.1:$status_port/api/status" | jq -r .fallback.dead_air_s) ||
    fail "no /api/status"
logged=$(relay_lines | sed -n 's/.*fallback: dead air over after \([0-9.]*\) s.*/\1/p')
stop_relay
sox "$T/archive.ogg" -r 8000 -c 1 -b 16 -e signed -t raw "$T/archive.raw" ||
    fail "cannot decode the archive"
# In 10 ms windows: silent (rms under 50 of 32768), or the tone's
# frequency from its zero crossings (low: the live 523 Hz, high: the
# filler's 880 Hz). Dead air: from the first silent window after live to
# the first live window after that.
real=$(python3 - "$T/archive.raw" <<'EOF'
import array, sys
a = array.array('h')
a.frombytes(open(sys.argv[1], 'rb').read())
W = 80
kinds = []
for i in range(0, len(a) - W + 1, W):
    w = a[i:i + W]
    if sum(x * x for x in w) / W < 50 * 50:
        kinds.append('silent')
        continue
    zc = sum(1 for j in range(1, W) if (w[j - 1] < 0) != (w[j] < 0))
    kinds.append('high' if zc * 50 > 700 else 'low')
start = kinds.index('silent')
back = kinds.index('low', start)
print(f"{(back - start) * W / 8000:.2f}")
EOF
) || fail "cannot read the archive"
note "dead air: log $logged s, /api/status $status s, archive $real s"
[[ -n $logged ]] || fail "no dead-air length in the log: $(relay_lines | grep fallback)"
d() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; print (d < 0 ? -d : d) }'; }
assert_between "$(d "$logged" "$real")" 0 0.1 "log line vs archive (s)"
assert_between "$(d "$status" "$real")" 0 0.1 "/api/status vs archive (s)"
assert_between "$(d "$logged" "$status")" 0 0.05 "log line vs /api/status (s)"
log_has "dead air over after $logged s \\(2 s of silence, then [0-9.]+ s of filler\\)" ||
    fail "the log line does not say what it counts: $(relay_lines | grep 'dead air over')"
check_sanitizer
note "dead-air seconds agree: OK"
