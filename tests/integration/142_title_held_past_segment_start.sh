#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 142 a live title held for the 2 s between title changes, with a
# scheduled segment due before those 2 s have passed, is not "on air in
# 1.6 s": it airs when live returns, after the segment (found by
# attack10b: the answer promised "on_air_in_s": 1.6 while listeners then
# heard the whole bulletin under the segment's title first; an automation
# system showed the song as playing during the news). relay plays a tone
# titled Studio to /live.ogg (metadata = chain), a segment (a tone titled
# News, 5 s) is scheduled at a whole second S; a listener captures the
# mount. At S - 1.2 s "First" goes on air (answer on_air true); at
# S - 0.8 s "Second":
# - its answer says on_air false, on_air_in_s null, and that a segment
#   comes first (it goes on air when live returns), not "on air in 1.6 s";
# - /api/status now.title_pending is Second with due_in_s null (waiting
#   for live), not a countdown that ends while the segment plays;
# - the listener hears First, then News, then Second, in that order.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
port=${ICE_PORT[a]}
control_api_setup
seg_at=$(($(date +%s) + 9))
tone_segment news "$seg_at" 5s 660 News >"$T/schedule.conf"
api_station_config >"$T/relay.conf"
sed -i 's/^frequency = 0$/frequency = 440\nlevel_dbfs = -12/' "$T/relay.conf"

start_relay "$T/relay.conf"
wait_mount "$port" /live.ogg 15
wait_for -t 10 -m "input flowing at $URL" status_has '.input.flowing' ||
    fail "relay never read its input: $(status_now)"
listen_bg "http://127.0.0.1:$port/live.ogg" 18 "$T/live.ogg"
lpid=$LISTEN_PID

# Both calls and the status after the second, from one process, timed
# against the segment's start on the wall clock.
python3 - "$URL" "$TOKEN" "$seg_at" >"$T/answers" <<'PY' || fail "the calls failed: $(cat "$T/answers")"
import json, sys, time, urllib.request
url, token, seg_at = sys.argv[1], sys.argv[2], float(sys.argv[3])
def post(title):
    req = urllib.request.Request(url + "/api/metadata", method="POST",
        data=json.dumps({"title": title}).encode(),
        headers={"Authorization": "Bearer " + token,
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())
time.sleep(max(0.0, seg_at - 1.2 - time.time()))
a1 = post("First")
time.sleep(max(0.0, seg_at - 0.8 - time.time()))
a2 = post("Second")
left = seg_at - time.time()
with urllib.request.urlopen(url + "/api/status", timeout=5) as r:
    st = json.loads(r.read())
print(json.dumps({"a1": a1, "a2": a2, "now": st["now"], "left": left}))
PY
note "answers: $(cat "$T/answers")"
a() { jq -r "$@" "$T/answers"; }
left=$(a .left)
awk -v l="$left" 'BEGIN { exit !(l > 0.3) }' ||
    skip "the second call came too close to the segment (${left} s before): machine too slow"
[[ $(a .a1.on_air) == true ]] || fail "First was not on air at once: $(a -c .a1)"
[[ $(a .a2.on_air) == false ]] || fail "Second answered on air: $(a -c .a2)"
[[ $(a .a2.on_air_in_s) == null ]] ||
    fail "Second promised on air in $(a .a2.on_air_in_s) s though segment news starts in $left s: $(a -c .a2)"
[[ $(a .a2.result) == *"when live returns"* ]] ||
    fail "Second's answer does not say it waits for live: $(a .a2.result)"
[[ $(a .now.title_pending.title) == Second ]] ||
    fail "now.title_pending is not Second: $(a -c .now)"
[[ $(a .now.title_pending.due_in_s) == null ]] ||
    fail "now.title_pending.due_in_s counts down to a time the segment plays: $(a -c .now)"

wait_for -t 20 -m "live back titled Second" \
    status_has '.state == "live" and .now.title == "Second"' ||
    fail "live did not return titled Second: $(status_now | jq -c .now)"
listen_wait "$lpid" || fail "the listener failed"
python3 "$(dirname "$0")/../tools/ogg_streams.py" "$T/live.ogg" >"$T/streams" ||
    fail "the capture is damaged: $(cat "$T/streams")"
titles=$(sed -n 's/.* title=\(.*\)$/\1/p' "$T/streams" | uniq | tr '\n' ' ')
note "chains heard: $titles"
[[ $titles == *"First News Second "* ]] ||
    fail "the listener did not hear First, News, Second: '$titles'"
