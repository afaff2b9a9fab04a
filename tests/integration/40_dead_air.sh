#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 40 dead air: [fallback] on a stdin input fed in real time through a pipe
# (tests/tools/pcm_script.py), one relay, one listener on Icecast:
# - speech-like bursts with pauses shorter than `after` never start it;
# - a 15 s silent gap: the filler (a file, 880 Hz) is on air `after` (3 s)
#   into it, with its title, state "fallback" and why in /api/status, and
#   live returns `restore_after` (1 s) after the gap, never before;
# - the producer stalls (3 s, pipe open): the filler at once, on air with
#   state "fallback" while the input has no frames, live back
#   restore_after after the audio resumes;
# - stdin closed: the filler at once, why names the input;
# - the on_dead_air hook writes its environment and then hangs: it is
#   killed at hook_timeout, while the listener hears the filler throughout
#   (no gap in the capture); on_restore ran in between.
# /metrics shows relay_fallback_active and relay_dead_air_seconds_total.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
status_port=$(free_port)
export RELAY_TEST_SOURCE_PASSWORD=${ICE_PASSWORD[a]}

sox -n -r 44100 -c 2 -b 16 "$T/filler.wav" synth 5 sine 880 vol 0.5 ||
    fail "cannot make the filler file"
cat >"$T/hook.sh" <<'EOF2'
#!/bin/sh
# Appends the event's environment as one line, then maybe hangs.
printf 'event=%s since=%s station=%s reason=%s arg=%s\n' "$RELAY_EVENT" \
    "$RELAY_SINCE" "$RELAY_STATION" "$RELAY_REASON" "$2" >>"$1"
[ "$RELAY_EVENT" = dead_air ] && exec sleep 1000
exit 0
EOF2
chmod +x "$T/hook.sh"

{
	printf '[station]\nname = Dead Air FM\n\n'
	stdin_air_config "$port" "$status_port"
	cat <<EOF2
[fallback]
after = 3s
restore_after = 1s
source = file
path = filler.wav
title = Back in a moment
on_dead_air = $T/hook.sh $T/hooks.log "two words"
on_restore = '$T/hook.sh' $T/hooks.log restored
hook_timeout = 2s
EOF2
} >"$T/relay.conf"
"$RELAY" --check -c "$T/relay.conf" >"$T/check.out" 2>&1 ||
    fail "--check refused the config: $(cat "$T/check.out")"
grep -q 'fallback file' "$T/check.out" ||
    fail "--check does not show [fallback]: $(cat "$T/check.out")"

# Speech: 0.5 s bursts, 1.5 s pauses; a 15 s silent gap; live again;
# then stdin closes.
mkfifo "$T/pcm.fifo"
bg python3 "$TOPDIR/tests/tools/pcm_script.py" "$T/pcm.fifo" \
    mark:"$T/speech.start" \
    tone:523:0.5 silence:1.5 tone:523:0.5 silence:2.5 tone:523:0.5 \
    silence:2.5 tone:523:1 \
    mark:"$T/gap.start" silence:15 mark:"$T/gap.end" \
    tone:523:4 mark:"$T/stall.start" stall:3 mark:"$T/stall.end" \
    tone:523:4 mark:"$T/closed" close hold:60
RELAY_STDIN=$T/pcm.fifo start_relay "$T/relay.conf"

api()
{
	curl -s --max-time 2 "http://127.0.0.1:$status_port/api/status"
}
active()
{
	[[ $(api | jq -r '.fallback.active') == true ]]
}
inactive()
{
	[[ $(api | jq -r '.fallback.active') == false ]]
}

wait_mount "$port" /air.ogg
listen_start=$(now)
listen_bg "http://127.0.0.1:$port/air.ogg" 32 "$T/listen.ogg"
listener=$LISTEN_PID

# Speech with pauses: never the filler.
wait_for -t 10 -m "the speech to start" test -s "$T/speech.start" ||
    fail "the producer never started"
while [[ ! -s $T/gap.start ]]; do
	inactive || fail "the filler went on air during speech pauses: $(api | jq -c .fallback)"
	sleep 0.3
done
note "speech with pauses: no fallback"

wait_for -t 8 -m "the filler after 3 s of silence" active ||
    fail "no fallback 8 s into the silent gap: $(api | jq -c .fallback)"
t=$(elapsed_since "$(cat "$T/gap.start")")
note "fallback $t s into the gap"
assert_between "$t" 2.5 5 "seconds from the gap's start to the filler"
doc=$(api)
[[ $(jq -r .state <<<"$doc") == fallback ]] ||
    fail "state is not fallback: $(jq -c '{state, fallback}' <<<"$doc")"
[[ $(jq -r .now.title <<<"$doc") == "Back in a moment" ]] ||
    fail "now.title is not the filler's: $(jq -c .now <<<"$doc")"
jq -e '.fallback.why | test("below -50 dBFS")' <<<"$doc" >/dev/null ||
    fail "fallback.why: $(jq -c .fallback <<<"$doc")"
jq -e '.fallback.since | test("^20")' <<<"$doc" >/dev/null ||
    fail "fallback.since: $(jq -c .fallback <<<"$doc")"
problems=$(jq -c -f "$TOPDIR/tests/tools/status_schema.jq" <<<"$doc") ||
    fail "status_schema.jq failed"
[[ $problems == "[]" ]] || fail "/api/status against the schema: $problems"
# The page whole, then grep: grep -q leaving early made curl fail on
# SIGPIPE, and pipefail failed the test (seen under ASan).
page=$(curl -s --max-time 2 "http://127.0.0.1:$status_port/") || page=
grep -q 'Dead air: filler on air since' <<<"$page" ||
    fail "the Listen Live page does not show the dead air to operators"

# Through the gap: the filler stays; live returns only after it.
while [[ ! -s $T/gap.end ]]; do
	active || fail "live returned during the silent gap"
	relay_alive || fail "relay exited"
	sleep 0.3
done
wait_for -t 6 -m "live to return after the gap" inactive ||
    fail "the filler is still on air 6 s after the gap"
t=$(elapsed_since "$(cat "$T/gap.end")")
note "live back $t s after the gap"
assert_between "$t" 0.8 4 "seconds from the gap's end to live"
[[ $(api | jq -r .state) == live ]] || fail "state after the gap: $(api | jq -r .state)"

# The producer stalls: the filler within the input's 0.4 s gap detection
# (and the 0.2 s main loop), live back after it resumes.
wait_for -t 8 -m "the producer to stall" test -s "$T/stall.start" ||
    fail "the producer never stalled"
wait_for -t 2 -m "the filler during the stall" active ||
    fail "no fallback 2 s into the stall: $(api | jq -c .fallback)"
t=$(elapsed_since "$(cat "$T/stall.start")")
assert_between "$t" 0.3 1.5 "seconds from the stall to the filler"
api | jq -e '.fallback.why | test("stdin input: no audio")' >/dev/null ||
    fail "fallback.why for the stall: $(api | jq -c .fallback)"
# The filler is what listeners hear: on air, state "fallback", once the
# input has been without frames for over a second too (input.flowing
# false; the on-air rule used to want it and said off_air throughout).
# Waited for, not slept: the pipe's buffer holds up to 0.37 s of audio
# past the stall mark, and a busy machine delays the rest.
not_flowing() { api | jq -e '.input.flowing == false' >/dev/null; }
wait_for -t 4 -m "input.flowing false in the stall" not_flowing || true
doc=$(api)
jq -e '.input.flowing == false and .state == "fallback" and .on_air == true' \
    <<<"$doc" >/dev/null ||
    fail "during the stall: $(jq -c '{on_air, state, flowing: .input.flowing, silent_s: .input.silent_s}' <<<"$doc")"
wait_for -t 6 -m "the stall to end" test -s "$T/stall.end" ||
    fail "the producer never resumed"
wait_for -t 4 -m "live after the stall" inactive ||
    fail "the filler is still on air 4 s after the producer resumed"
t=$(elapsed_since "$(cat "$T/stall.end")")
assert_between "$t" 0.8 3.5 "seconds from the resumption to live"

# stdin closes: the filler at once.
wait_for -t 12 -m "stdin to close" test -s "$T/closed" ||
    fail "the producer never closed stdin"
wait_for -t 3 -m "the filler after stdin closed" active ||
    fail "no fallback 3 s after stdin closed"
t=$(elapsed_since "$(cat "$T/closed")")
assert_between "$t" 0 2.5 "seconds from stdin closing to the filler"
api | jq -e '.fallback.why | test("stdin")' >/dev/null ||
    fail "fallback.why does not name the input: $(api | jq -c .fallback)"

metrics=$(curl -s --max-time 2 "http://127.0.0.1:$status_port/metrics")
grep -qx 'relay_fallback_active 1' <<<"$metrics" ||
    fail "metrics: $(grep relay_fallback <<<"$metrics")"
dead=$(sed -n 's/^relay_dead_air_seconds_total //p' <<<"$metrics")
assert_between "$dead" 16 28 "relay_dead_air_seconds_total"

listen_wait "$listener" || fail "the listener was cut"

# Hooks: each ran once per change (the stall's pair in between), with the event in its environment; the
# hanging on_dead_air was killed at hook_timeout.
hook_lines()
{
	[[ -s $T/hooks.log && $(wc -l <"$T/hooks.log") -ge $1 ]]
}
wait_for -t 4 -m "the fifth hook" hook_lines 5 ||
    fail "hooks ran $(wc -l <"$T/hooks.log") times (want 5): $(cat "$T/hooks.log")"
note "hooks: $(cat "$T/hooks.log")"
sed -n 1p "$T/hooks.log" | grep -qE '^event=dead_air since=20[0-9-]+T[0-9:.]+Z station=Dead Air FM reason=the programme stayed below -50 dBFS for 3.[0-9] s arg=two words$' ||
    fail "first hook line: $(sed -n 1p "$T/hooks.log")"
sed -n 2p "$T/hooks.log" | grep -qE '^event=restore since=20.* reason=the live input stayed .* arg=restored$' ||
    fail "second hook line: $(sed -n 2p "$T/hooks.log")"
sed -n 3p "$T/hooks.log" | grep -qE '^event=dead_air .*reason=stdin input: no audio .*arg=two words$' ||
    fail "third hook line: $(sed -n 3p "$T/hooks.log")"
sed -n 4p "$T/hooks.log" | grep -qE '^event=restore .*arg=restored$' ||
    fail "fourth hook line: $(sed -n 4p "$T/hooks.log")"
sed -n 5p "$T/hooks.log" | grep -qE '^event=dead_air .*reason=stdin input: stdin closed arg=two words$' ||
    fail "fifth hook line: $(sed -n 5p "$T/hooks.log")"
[[ $(log_count 'on_dead_air: .* ran past hook_timeout; killed it') -ge 1 ]] ||
    fail "the hanging hook was not killed: $(relay_lines | grep hook | head -5)"
[[ $(log_count 'fallback: dead air: ') -eq 3 ]] ||
    fail "dead air logged $(log_count 'fallback: dead air: ') times (want 3)"
[[ $(log_count 'fallback: dead air over') -eq 2 ]] ||
    fail "the return logged $(log_count 'fallback: dead air over') times (want 2)"

# The listener heard audio throughout: as long as it listened (no gap
# while a hook hung), the filler's 880 Hz in the gap, live's 523 Hz before.
check_vorbis "$T/listen.ogg" 44100 2 20
assert_between "$VORBIS_SECONDS" 29 36 "decoded seconds for 32 s of listening"
s=$(awk -v a="$listen_start" -v b="$(cat "$T/gap.start")" \
    'BEGIN { printf "%.1f", b - a + 3.5 }')
window()
{
	sox -t raw -r 44100 -c 2 -b 16 -e signed-integer "$VORBIS_RAW" \
	    -t raw "$T/window.raw" trim "$1" "$2" &&
	    audio_stats "$T/window.raw" 44100 2 1 0
}
read -r freq peak _ < <(window "$s" 8) || fail "cannot analyse the gap"
note "in the gap ($s s + 8 s): ~$freq Hz, peak $peak dBFS"
assert_between "$freq" 860 900 "the filler's frequency in the gap (Hz)"
assert_between "$peak" -20 0 "the filler's peak in the gap (dBFS)"
# Silence anywhere over 1.5 s would be dead air in the capture.
longest=$(sox -t raw -r 44100 -c 2 -b 16 -e signed-integer "$VORBIS_RAW" \
    -t raw - remix 1 2>/dev/null | python3 -c '
import array, sys
d = array.array("h", sys.stdin.buffer.read())
run = best = 0
for i in range(0, len(d), 441):
    blk = d[i:i + 441]
    if max(abs(v) for v in blk) < 100:
        run += 1
        best = max(best, run)
    else:
        run = 0
print("%.2f" % (best * 441 / 44100))')
note "longest silence in the capture: $longest s"
assert_between "$longest" 0 3.5 "longest silence in the capture (s)"
relay_alive || fail "relay exited"
