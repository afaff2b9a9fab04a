#!/usr/bin/env bash
# serial: starts Chromium
# SPDX-License-Identifier: MIT
#
# 93 the operator page's State panel speaks to people: the parts of the
# status document it shows as they come (the on-air rule, loudness
# processing, dead air and the filler, edges) carry human labels and
# units ("Dead air since start: 0 s", "Target: -16.0 LUFS"), never the raw
# JSON keys (`dead_air_s`, `true peak dbtp`), while /api/status keeps its
# keys. Found by the operator-view review: the panel printed each key with
# "_" turned into " " and the bare number.
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

[[ -x /usr/bin/chromium ]] || skip "chromium is not installed"

status_up "[processing]
processing = on
loudness_target = -16"

# The API is unchanged: the keys the page labels are still there.
status_now | jq -e '(.fallback | has("dead_air_s")) and
    (.processing | has("true_peak_dbtp") and has("target_lufs"))
    and .on_air_rule == "server"' >/dev/null ||
    fail "/api/status lost a key: $(status_now | jq -c '{fallback, processing, on_air_rule}')"

# label -> value of the State panel's extra rows, as JSON.
rows="JSON.stringify(Object.fromEntries([...document.querySelectorAll('#extra-state dt')].map(dt => [dt.closest('.extra') ? dt.closest('.extra').querySelector('h3').textContent + ': ' + dt.textContent : dt.textContent, dt.nextElementSibling.textContent])))"
heads="[...document.querySelectorAll('#extra-state h3')].map(h => h.textContent).join('|')"
python3 "$STATUS_TOOLS/status_cdp.py" --size 1280,2200 open "$STATUS_URL/operator" \
    wait "document.body.dataset.feed === 'events' && document.querySelectorAll('#extra-state dt').length > 5" 10 \
    eval "$heads" \
    eval "$rows" \
    >"$T/cdp.out" 2>&1 || fail "operator page: $(cat "$T/cdp.out")"
# "ok eval VALUE" lines: the headings, then the rows (JSON strings).
mapfile -t evals < <(sed -n 's/^ok eval //p' "$T/cdp.out")
((${#evals[@]} == 2)) || fail "expected two values: $(cat "$T/cdp.out")"
heads_out=$(jq -r . <<<"${evals[0]}")
jq -r . <<<"${evals[1]}" >"$T/rows.json" || fail "rows: ${evals[1]}"
note "headings: $heads_out"
note "rows: $(cat "$T/rows.json")"

# A raw key, with or without its "_": "dead_air_s", "dead air s",
# "true peak dbtp"; labels start with a capital, units go with values.
jq -e 'keys | all(test("_| (s|ms|lufs|dbtp|dbfs|db|bytes)$|(^|: )[a-z]") | not)' \
    "$T/rows.json" >/dev/null ||
    fail "raw JSON keys in the State panel: $(jq -c 'keys | map(select(test("_| (s|ms|lufs|dbtp|dbfs|db|bytes)$|(^|: )[a-z]")))' "$T/rows.json")"
[[ $heads_out != *_* && ! $heads_out =~ (^|\|)[a-z] ]] ||
    fail "raw JSON keys as headings: $heads_out"
jq -e '.["Dead air and filler: Dead air since start"] | test("^[0-9.]+ (ms|s)$")' \
    "$T/rows.json" >/dev/null || fail "dead air is not a duration: $(cat "$T/rows.json")"
jq -e '.["Loudness processing: Target"] == "-16.0 LUFS"
    and .["Loudness processing: Processing"] == "on"
    and (.["Loudness processing: True peak (last second)"] | test("^(–|-?[0-9.]+ dBTP)$"))
    and (.["Loudness processing: Rider gain"] | test("^(–|-?[0-9.]+ dB)$"))
    and .["Dead air and filler: Dead-air detection"] == "off"
    and .["On-air rule"] == "the input and Icecast'"'"'s status page"' \
    "$T/rows.json" >/dev/null || fail "labels or units: $(cat "$T/rows.json")"

relay_alive || fail "relay died"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
