#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 129 a dead air the filler covers raises no listen-back alarm: a stdin
# tone with listenback = yes and a [fallback] file filler after 3 s. The
# studio falls silent for 12 s: after 3 s the filler goes on air, fading
# in over 1 s, and listeners hear it. Listen-back flags a mount silent
# after the station's dead-air time of silence ([fallback] after), the
# time at which the filler also starts: the filler's first block must
# count as sound for listeners, so that listen-back never calls the mount
# silent, not even for a moment (no warning, no on_listenback run, ok
# after the pause). The station's own dead-air warning is the alarm for
# a dead air the filler covered. (Written as a guard when listen-back's
# silence time became [fallback] after: it held on the first build too.)
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}
status_port=$(free_port) || fail "no free port"
sox -n -r 44100 -c 2 "$T/filler.wav" synth 30 sine 330 vol 0.3 || fail "sox: filler"

stdin_pause_config "$LISTENBACK_KEYS
on_listenback = \"$T/hook.sh\"" "[fallback]
after = 3s
restore_after = 1s
source = file
path = $T/filler.wav" >"$T/relay.conf"

hook_logger "$T/hook.sh"

mkfifo "$T/pcm.fifo"
bg python3 "$TOPDIR/tests/tools/pcm_script.py" "$T/pcm.fifo" \
    tone:440:12 mark:"$T/pause.start" silence:12 mark:"$T/pause.end" \
    tone:440:60 hold:60
RELAY_STDIN=$T/pcm.fifo start_relay "$T/relay.conf"

status_json() { curl -sf --max-time 2 "http://127.0.0.1:$status_port/api/status"; }
lb_state_is() { [[ $(status_json | jq -r .outputs[0].listenback.state 2>/dev/null) == "$1" ]]; }

wait_for -t 11 -m "listen-back ok" lb_state_is ok ||
    fail "listen-back never reported ok: $(status_json | jq -c .outputs[0].listenback)"
[[ ! -e $T/pause.start ]] || fail "the pause began before listen-back was ok"
wait_for -t 15 -m "the pause" test -s "$T/pause.start" || fail "the pause never began"
wait_for -t 10 -m "the filler on air" log_has 'fallback: dead air' ||
    fail "the filler never went on air: $(relay_lines | tail -3)"
wait_for -t 15 -m "the pause's end" test -s "$T/pause.end" || fail "the pause never ended"
sleep "$(scaled 3)" # listeners hear the studio again (the lag, restore_after)
relay_lines | grep -E 'listen\[|fallback' | sed 's/^/    /'
if log_has 'listen\[main\].*(silence|silent)'; then
	fail "listen-back called a dead air the filler covered silent: $(relay_lines | grep -E 'listen\[main\]' | tail -3)"
fi
[[ ! -s $T/hook.log ]] || fail "on_listenback ran for a dead air the filler covered: $(cat "$T/hook.log")"
lb_state_is ok || fail "listen-back is not ok after the pause: $(status_json | jq -c .outputs[0].listenback)"
