#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 43 the operator page in a station's first minute: /api/history holds one
# point per chart (minutes are 60 s here), and each 24 h chart's time axis
# must span about that minute, not years. uPlot stretches a one-point time
# axis on its own: the 24 h listeners chart of a fresh station drew an axis
# from Jan 2027 to Jul 2029 (found by the new-user review). Checked in
# headless Chromium through the page's data-x-span (seconds the x axis
# spans, set from uPlot's own scale). The minute is the clock's: its
# label is a whole minute (/api/history's slots used to be counted from
# relay's start, 10:41 covering 10:41:23-10:42:23).
#
# timeout: 60

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

[[ -x /usr/bin/chromium ]] || skip "chromium is not installed"
size=1280,2200
cdp=(python3 "$STATUS_TOOLS/status_cdp.py" --size "$size")

# Minutes follow the clock: start early in one, so that the test ends
# before the next begins.
early_in_minute() { (($(date +%-S) < 40)); }
wait_for -t 25 -m "the clock's second under 40" early_in_minute ||
    fail "the clock never reached :00"
status_up ""
curl -sf --max-time 3 "$STATUS_URL/api/history" >"$T/history.json" ||
    fail "GET /api/history"
jq -e '(.minutes.start | length) == 1' "$T/history.json" >/dev/null ||
    fail "expected one minute of history: $(jq -c '.minutes.start' "$T/history.json")"
# The slot is the clock minute relay started in (partial), not the 60 s
# from relay's start: its label is a whole minute.
jq -e '.minutes.start[0] % 60 == 0 and (.seconds.start | all(. % 1 == 0))' \
    "$T/history.json" >/dev/null ||
    fail "slots not on the clock: minutes $(jq -c '.minutes.start' "$T/history.json"), seconds $(jq -c '.seconds.start[:3]' "$T/history.json")"

span="Number((document.getElementById('%s') || {dataset: {}}).dataset.xSpan)"
# shellcheck disable=SC2059
listeners=$(printf "$span" chart-listeners)
# shellcheck disable=SC2059
health=$(printf "$span" chart-health-0)
"${cdp[@]}" open "$STATUS_URL/operator" \
    wait "Number((document.getElementById('chart-listeners') || {dataset: {}}).dataset.points) === 1" 10 \
    wait "$listeners > 0" 5 \
    eval "$listeners" \
    eval "$health" \
    wait "$listeners <= 120 && $health <= 120" 2 \
    >"$T/cdp.out" 2>&1 || fail "first minute's charts: $(cat "$T/cdp.out")"
note "first minute: $(tr '\n' ' ' <"$T/cdp.out")"
