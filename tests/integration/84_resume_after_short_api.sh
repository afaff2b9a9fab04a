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
# Also the log at that moment: the source's "end of the material" line came
# 2.5 s before the file's last sample went on air (and at every file's
# end): it is debug now; the programme's "will stop at T, before its
# planned end" says it, and its end line comes that much later.
#
# A file shorter than the duration asked is an end, not a failure: it used
# to end "failed" ("its source ended early"), with programme_error set, an
# error event in /api/history and a warning. Now the request is done,
# neither is set, and the end line says it in words (info level).
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
wait_for -t 8 -m "the flash's early end" log_has 'segment flash ended at' ||
    fail "the flash did not end early: $(relay_lines | grep -E 'news|flash' | tail -5)"
wait_for -t 5 -m "news again after the flash" on_air news ||
    fail "the news did not resume after the flash: $(relay_lines | grep -E 'news|flash' | tail -5)"
note "$(relay_lines | grep -E 'flash' | tail -4)"

# The planner knew ahead and says what follows, not "back to live".
log_has 'segment flash will stop at .*before its planned end' ||
    fail "no early notice of the flash's end: $(relay_lines | grep flash)"
log_has 'segment flash ended at .*, [0-9.]+ s before its planned end: its file is 3\.0 s long; segment news follows' ||
    fail "the flash's end does not say it in words: $(relay_lines | grep 'flash ended')"
log_has 'segment flash stopped at' &&
    fail "the flash's clean end is logged as a failure: $(relay_lines | grep 'flash stopped')"
relay_lines | grep -E 'source\[flash\]: read to the end of the material' | grep -qv ' debug ' &&
    fail "the source's 'read to the end' line is not debug: $(relay_lines | grep 'source\[flash\]')"

# The programme's notice comes ahead (the file's last 2.5 s), its end line
# that much later.
ending=$(relay_lines | grep -E 'segment flash will stop at' | head -1)
end=$(relay_lines | grep -E 'segment flash ended at' | head -1)
ms_of() { date -u -d "$(cut -d' ' -f1 <<<"$1")" +%s%3N; }
gap_ms=$(($(ms_of "$end") - $(ms_of "$ending")))
note "the end logged $gap_ms ms after the notice"
((gap_ms >= 1000 && gap_ms <= 3500)) ||
    fail "the end came $gap_ms ms after the notice: $ending / $end"

# No live between: the archive's chains (one per title) go from the flash
# straight to the news.
sleep 1
ogginfo "$T/archive.ogg" >"$T/ogginfo.txt" 2>&1 || true
grep -iE '^[[:space:]]*title=' "$T/ogginfo.txt" | sed 's/^[[:space:]]*//' >"$T/titles.txt"
note "archive chains: $(tr "\n" " " <"$T/titles.txt")"
after=$(awk 'found { print; exit } $0 ~ /=Flash$/ { found = 1 }' "$T/titles.txt")
[[ $after == *News* ]] || fail "after the flash the archive has \"$after\", not the news"

# The request: done (the whole file played), with the early end as its
# reason; no programme error, no error event in the history.
status_now >"$T/status.json"
jq -e '.requests[] | select(.name == "flash") | .state == "done"' "$T/status.json" >/dev/null ||
    fail "the flash's request is not done: $(jq -c '.requests' "$T/status.json")"
jq -e '.requests[] | select(.name == "flash") | .reason | test("before its planned end: its file is 3.0 s long")' \
    "$T/status.json" >/dev/null ||
    fail "the flash's request does not say why it ended early: $(jq -c '.requests' "$T/status.json")"
jq -e '.programme_error == null' "$T/status.json" >/dev/null ||
    fail "programme_error set: $(jq -c '.programme_error' "$T/status.json")"
curl -sf --max-time 3 "$URL/api/history" >"$T/history.json" || fail "GET /api/history"
jq -e '[.events[] | select(.kind == "error")] | length == 0' "$T/history.json" >/dev/null ||
    fail "an error event in the history: $(jq -c '[.events[] | select(.kind == "error")]' "$T/history.json")"
