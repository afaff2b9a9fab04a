#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 84 a control-API file segment cut short by its source (a 3 s file asked
# to play for 8 s) inside the news: the news comes back at the frame the
# file runs out, with no live between. The planner used to hear of the end
# only when the file ran dry, and prepared the rest of the news then: the
# studio was on air for 40-120 ms before it (the archive had a chain of
# the live programme between the flash and the news). The engine now tells
# it as soon as the file has been read to its end (2.5 s ahead), and the
# news is prepared for that moment like any planned end.
#
# Also the source's log line at that moment: it said "end of the material"
# 2.5 s before the file's last sample went on air. It now says the file
# was read to its end and how much of it is still to play, and the
# programme's line about the end comes that much later.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
start_icecast a
control_api_setup
t0=$(($(date +%s) + 5))
news_segment "$t0" >"$T/schedule.conf"
api_station_config "[output archive]
type = file
path = $T/archive.ogg
encoding = e" >"$T/relay.conf"
sox -n -r 48000 -c 1 -b 16 "$T/flash.wav" synth 3 sine 1500 vol 0.25 2>/dev/null ||
    fail "sox failed"
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
wait_for -t 10 -m "news on air" on_air news || fail "the news never went on air"
sleep 1

curl -sf -o "$T/post.json" "${auth[@]}" "${json[@]}" \
    --data "{\"source\":\"file\",\"path\":\"$T/flash.wav\",\"duration\":\"8s\",\"name\":\"flash\",\"title\":\"Flash\"}" \
    "$URL/api/segments" || fail "POST /api/segments (flash)"
wait_for -t 5 -m "flash on air" on_air flash || fail "the flash never went on air"
wait_for -t 8 -m "the flash's early end" log_has 'segment flash stopped at' ||
    fail "the flash did not end early: $(relay_lines | grep -E 'news|flash' | tail -5)"
wait_for -t 5 -m "news again after the flash" on_air news ||
    fail "the news did not resume after the flash: $(relay_lines | grep -E 'news|flash' | tail -5)"
note "$(relay_lines | grep -E 'flash' | tail -4)"

# The planner knew ahead and says what follows, not "back to live".
log_has 'segment flash will stop at .*before its planned end' ||
    fail "no early notice of the flash's end: $(relay_lines | grep flash)"
log_has 'segment flash stopped at .*segment news follows' ||
    fail "the flash's end does not say the news follows: $(relay_lines | grep 'flash stopped')"

# The source's line: read to the end, N s still to play; the programme's
# end line comes about N s after it (it came 2.5 s after "end of the
# material", which read as the end on air).
src=$(relay_lines | grep -E 'source\[flash\]: read to the end of the material; its last [0-9.]+ s are still to play' | head -1)
[[ -n $src ]] || fail "no 'read to the end' line: $(relay_lines | grep 'source\[flash\]')"
end=$(relay_lines | grep -E 'segment flash stopped at' | head -1)
ms_of() { date -u -d "$(cut -d' ' -f1 <<<"$1")" +%s%3N; }
left_ms=$(sed -E 's/.*its last ([0-9.]+) s are.*/\1/' <<<"$src" | awk '{ printf "%d", $1 * 1000 }')
gap_ms=$(($(ms_of "$end") - $(ms_of "$src")))
note "source line $left_ms ms still to play; the end logged $gap_ms ms later"
((left_ms >= 1000)) || fail "only $left_ms ms said to be still to play: $src"
((gap_ms >= left_ms - 300 && gap_ms <= left_ms + 700)) ||
    fail "the end came $gap_ms ms after the source line, which said $left_ms ms"

# No live between: the archive's chains (one per title) go from the flash
# straight to the news.
sleep 1
ogginfo "$T/archive.ogg" >"$T/ogginfo.txt" 2>&1 || true
grep -iE '^[[:space:]]*title=' "$T/ogginfo.txt" | sed 's/^[[:space:]]*//' >"$T/titles.txt"
note "archive chains: $(tr "\n" " " <"$T/titles.txt")"
after=$(awk 'found { print; exit } $0 ~ /=Flash$/ { found = 1 }' "$T/titles.txt")
[[ $after == *News* ]] || fail "after the flash the archive has \"$after\", not the news"

# The request: failed (cut short by its source), with the early end.
status_now >"$T/status.json"
jq -e '.requests[] | select(.name == "flash") | .state == "failed"' "$T/status.json" >/dev/null ||
    fail "the flash's request is not failed: $(jq -c '.requests' "$T/status.json")"
