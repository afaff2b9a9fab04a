#!/usr/bin/env bash
# serial: starts Chromium
# SPDX-License-Identifier: MIT
#
# 75 operator view: /operator in real headless Chromium (status_cdp.py).
#  - Read-only without the token: the meters (programme, and each encoding
#    after its mix and resampling) move with the tone (peak near the
#    tone's -12 dBFS, 10 level events a second), the controls are not
#    in the page at all, an API segment that failed at its start (a feed
#    nobody serves) is in the timeline marked FAILED with relay's reason, and the charts (uPlot)
#    carry data after a short run: listeners per mount (a listener is
#    connected), output health, levels per second. History minutes are
#    shortened to 1 s (RELAY_TEST_HISTORY_MINUTE_MS) so that they pass.
#  - With the token: a wrong token is refused (403 shown, no controls); the
#    right one unlocks them. "Play a file now" with a silent file, after
#    its confirmation, answers 202 and every meter stops (-inf); "Skip"
#    answers 200 and the tone moves them again; "Reload" answers 200 and
#    the page shows the reload; "Set the title" changes the live title.
#  - /api/history has the documented shape; a plain /api/events stream
#    (the public page's) gets no levels events.
#  - 32 operator event streams (curl) at once all get ~10 level events a
#    second while /api/status and /healthz answer and a 33rd page polls;
#    no output reconnects or drops a byte, and relay stops cleanly.
# Screenshots (1280x2200, light and dark) go to tests/artifacts/.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

[[ -x /usr/bin/chromium ]] || skip "chromium is not installed"
art=$TOPDIR/tests/artifacts
mkdir -p "$art" "$T/media"
size=1280,2200
cdp=(python3 "$STATUS_TOOLS/status_cdp.py" --size "$size")
json=(-H 'Content-Type: application/json')

# -D: no dither. sox dithers a 16-bit file by default, and its ±1 LSB
# (-90.3 dBFS peaks) kept the meters above -100 now and then.
sox -D -n -r 44100 -c 2 -b 16 "$T/media/silence.wav" trim 0 30 2>/dev/null ||
    fail "sox failed"

export RELAY_TEST_HISTORY_MINUTE_MS=1000
dead_port=$(free_port) || fail "no free port"
status_up "media_dirs = $T/media
feed_hosts = 127.0.0.1
[schedule]
start_grace = 1s"
auth=(-H "Authorization: Bearer $STATUS_TOKEN")
log_has 'RELAY_TEST_HISTORY_MINUTE_MS=1000' ||
    fail "relay did not take the test minute"

# A listener, so that the listeners chart has something to show.
bg curl -s --max-time 80 -o /dev/null "http://127.0.0.1:${ICE_PORT[a]}/live.ogg"

# An API segment from a feed nobody serves: it fails at its start (after
# the 1 s start grace), with relay's reason.
code=$(curl -s -o "$T/seg.json" -w '%{http_code}' --max-time 10 "${auth[@]}" \
    "${json[@]}" -d "{\"source\":\"stream\",\"url\":\"http://127.0.0.1:$dead_port/gone.ogg\",\"duration\":\"20s\",\"name\":\"vanishing\",\"title\":\"Vanishing act\"}" \
    "$STATUS_URL/api/segments") || true
[[ $code == 202 ]] || fail "POST /api/segments: $code $(cat "$T/seg.json")"
failed_reason()
{
	status_now | jq -er '[.requests[] | select(.name == "vanishing" and .state == "failed")][0].reason'
}
wait_for -t 15 -m "the vanishing segment to fail" failed_reason ||
    fail "the segment never failed: $(status_now | jq -c .requests)"
reason=$(failed_reason)
note "failed segment's reason: $reason"
reason_js=$(jq -Rn --arg s "$reason" '$s')

# The public stream carries no levels; an operator stream 10 a second.
timeout 2.5 curl -sN "$STATUS_URL/api/events" >"$T/public.sse" || true
grep -q '^data: {' "$T/public.sse" || fail "no state on the public stream"
! grep -q '^event: levels' "$T/public.sse" ||
    fail "the public event stream carries levels"
timeout 2.5 curl -sN "$STATUS_URL/api/events?levels=1" >"$T/op.sse" || true
n=$(grep -c '^event: levels' "$T/op.sse") || true
assert_between "$n" 15 30 "levels events in 2.5 s"
[[ $(http_code "$STATUS_URL/api/events?levels=yes") == 400 ]] ||
    fail "levels=yes is not refused"

# /api/history after a few seconds.
sleep 2
status_get /api/history >"$T/history.json" || fail "GET /api/history"
jq -e '.minute_s == 1 and (.minutes.start | length) >= 4
    and ([.minutes.outputs[].name] | sort) == ["main", "mobile"]
    and (.minutes.outputs[0].connected | map(select(. != null)) | length) >= 3
    and (.seconds.peak_dbfs | map(select(. > -20)) | length) >= 3
    and ([.events[] | select(.kind == "on_air")] | length) >= 1
    and (.log.events | type) == "array" and .bytes > 0' \
    "$T/history.json" >/dev/null ||
    fail "/api/history: $(jq -c '{minute_s, n: (.minutes.start | length), outputs: [.minutes.outputs[].name], seconds: (.seconds.peak_dbfs | length), events}' "$T/history.json")"

# --- read-only ---------------------------------------------------------------
meter="document.getElementById('meter-programme').dataset"
chart_has() { printf "Number((document.getElementById('%s') || {dataset: {}}).dataset.values) >= %s" "$1" "$2"; }
"${cdp[@]}" open "$STATUS_URL/operator" \
    wait "document.body.dataset.feed === 'events'" 10 \
    wait "Number(document.body.dataset.levels) >= 10" 10 \
    wait "Number($meter.peak) > -14 && Number($meter.peak) < -10" 5 \
    eval "$meter.peak" \
    wait "document.querySelectorAll('.meter').length === 3" 5 \
    wait "[...document.querySelectorAll('.meter')].every(m => Number(m.dataset.peak) > -14 && Number(m.dataset.peak) < -10)" 5 \
    wait "document.getElementById('controls') === null && document.querySelector('#controls-slot form') === null" \
    wait "[...document.querySelectorAll('#timeline li[data-kind=failed] .reason')].some(e => e.textContent === $reason_js)" 10 \
    wait "$(chart_has chart-listeners 3) && Number(document.getElementById('chart-listeners').dataset.max) >= 1" 15 \
    wait "$(chart_has chart-health-0 8) && $(chart_has chart-levels 4)" 10 \
    wait "document.querySelectorAll('.uplot canvas').length >= 4" \
    wait "document.querySelectorAll('#log-list li').length >= 1" \
    shot "$art/operator_view.png" \
    >"$T/cdp-ro.out" 2>&1 || fail "read-only view: $(cat "$T/cdp-ro.out")"
note "read-only view OK: meters, failed segment, charts"

# --- controls ----------------------------------------------------------------
# js_click SELECTOR: scrolls to it and clicks it (a button or a form's).
js_click() { printf "(function(){var e=document.querySelector(%s);e.scrollIntoView();e.click();return true;})()" "$(jq -Rn --arg s "$1" '$s')"; }
setval() { printf "(function(){var e=document.querySelector(%s);e.value=%s;return true;})()" "$(jq -Rn --arg s "$1" '$s')" "$(jq -Rn --arg s "$2" '$s')"; }
answer="document.getElementById('control-answer')"
confirm_send() {
	printf '%s\n' wait "!document.getElementById('confirm').hidden" \
	    eval "$(js_click '#confirm-yes')"
}
mapfile -t yes < <(confirm_send)
"${cdp[@]}" open "$STATUS_URL/operator" \
    wait "document.body.dataset.feed === 'events' && Number(document.body.dataset.levels) > 3" \
    eval "$(setval '#token' 'not-the-token-0123456789')" \
    eval "$(js_click '#unlock button[type=submit]')" \
    wait "/^403/.test(document.getElementById('unlock-answer').textContent)" \
    wait "document.getElementById('controls') === null && document.body.dataset.unlocked === 'false'" \
    eval "$(setval '#token' "$STATUS_TOKEN")" \
    eval "$(js_click '#unlock button[type=submit]')" \
    wait "document.body.dataset.unlocked === 'true' && document.querySelectorAll('#controls form.ctl').length === 4" \
    eval "$(setval 'form[data-action=segment] input[name=path]' 'silence.wav')" \
    eval "$(setval 'form[data-action=segment] input[name=title]' 'Quiet please')" \
    eval "$(js_click 'form[data-action=segment] button')" \
    "${yes[@]}" \
    wait "$answer.dataset.code === '202'" 10 \
    eval "$answer.textContent" \
    wait "[...document.querySelectorAll('.meter')].every(m => Number(m.dataset.peak) <= -100 && Number(m.dataset.rms) <= -100)" 10 \
    eval "$meter.peak" \
    eval "$(js_click 'form[data-action=skip] button')" \
    "${yes[@]}" \
    wait "$answer.dataset.code === '200'" 10 \
    eval "$answer.textContent" \
    wait "[...document.querySelectorAll('.meter')].every(m => Number(m.dataset.peak) > -14)" 10 \
    eval "$(js_click 'form[data-action=reload] button')" \
    "${yes[@]}" \
    wait "$answer.dataset.code === '200'" 35 \
    eval "$answer.textContent" \
    wait "document.getElementById('st-reload').dataset.ok === 'true'" 10 \
    eval "$(setval 'form[data-action=metadata] input[name=title]' 'Operator title')" \
    eval "$(js_click 'form[data-action=metadata] button')" \
    "${yes[@]}" \
    wait "$answer.dataset.code === '200'" 10 \
    wait "document.querySelector('#timeline li[data-kind=now] .title').textContent.indexOf('Operator title') === 0" 10 \
    >"$T/cdp-ctl.out" 2>&1 || fail "controls: $(cat "$T/cdp-ctl.out")"
cat "$T/cdp-ctl.out" >&2
status_now | jq -e '.now.title == "Operator title" and .reload.ok == true' \
    >/dev/null || fail "the controls did not act: $(status_now | jq -c '{now, reload}')"
log_has 'control.*metadata' || note "(no audit line for metadata?)"

"${cdp[@]}" --dark open "$STATUS_URL/operator" \
    wait "Number(document.body.dataset.levels) >= 5 && $(chart_has chart-listeners 3)" 10 \
    shot "$art/operator_view_dark.png" >"$T/cdp-dark.out" 2>&1 ||
    fail "dark view: $(cat "$T/cdp-dark.out")"

# --- 32 operator pages' streams ---------------------------------------------
wait_for -t 10 -m "the browser streams to close" event_streams_are 0 ||
    fail "event streams still open after the browser sessions"
# Open until the 33rd page has been checked (a slow browser start made
# streams of a fixed 8 s end before it looked, and it got a stream), and
# for at least 8 s.
streams=()
streams_from=$(date +%s)
for ((i = 0; i < 32; i++)); do
	bg sh -c "exec curl -sN --max-time 60 '$STATUS_URL/api/events?levels=1' >'$T/op$i.sse'"
	streams+=("$BG_PID")
done
wait_for -t 5 -m "32 operator streams open" event_streams_are 32 ||
    fail "the 32 operator streams never all opened"
[[ $(http_code "$STATUS_URL/api/status") == 200 ]] ||
    fail "/api/status with 32 operator streams open"
[[ $(http_code "$STATUS_URL/healthz") == 200 ]] ||
    fail "/healthz with 32 operator streams open"
# A 33rd page still works: it polls /api/status (no meters then).
"${cdp[@]}" open "$STATUS_URL/operator" \
    wait "document.body.dataset.feed === 'poll' && document.getElementById('st-state').textContent === 'live'" 8 \
    wait "Number(document.getElementById('chart-listeners').dataset.values) >= 3" 5 \
    >"$T/cdp-33.out" 2>&1 || fail "a 33rd page: $(cat "$T/cdp-33.out")"
left=$((streams_from + 8 - $(date +%s)))
((left <= 0)) || sleep "$left"
kill -TERM "${streams[@]}" 2>/dev/null || true
wait_for -t 10 -m "the 32 streams to end" event_streams_are 0 || true
for ((i = 0; i < 32; i++)); do
	n=$(grep -c '^event: levels' "$T/op$i.sse") || true
	((n >= 40)) || fail "operator stream $i got $n level events in 8 s or more"
done
# Nothing broke: on air, no reconnect, no byte dropped.
status_now | jq -e '.input.flowing and .on_air and
    all(.outputs[]; .connected and .reconnects == 0 and .dropped_bytes == 0)' \
    >/dev/null || fail "after the 32 streams: $(status_now | jq -c '[.on_air, .outputs[] | {connected, reconnects, dropped_bytes}]')"

relay_alive || fail "relay died"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
