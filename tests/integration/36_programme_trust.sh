#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 36 a programme you can trust: what is on air stays on air.
#  - A scheduled feature (tone, 16 s) survives a SIGHUP and a POST
#    /api/reload with the schedule unchanged: it ends at its planned end,
#    never "stopped" or "not played" (a reload used to forget what it had
#    planned and cut the feature after a few seconds).
#  - A reload that changes the feature while it is on air lets it play to
#    its end ("stays on air to its end").
#  - An API segment inside a scheduled segment's window: when it ends, the
#    scheduled segment takes over for the rest of its window (it used to be
#    live); the API request is followed by id to "done".
#  - A "play now" feed whose server takes 1.5 s to answer goes on air when
#    its audio arrives (start-up grace), instead of failing at once with
#    "delivered no audio".
#  - A 2 s bulletin file whose window opened 12 s before relay started:
#    relay says the file ended before it joined (log and /api/status
#    programme_error), not that its source "delivered no audio".
#
# timeout: 120

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
control_api_setup

t0=$(($(date +%s) + 5))

# write_schedule FEATURE_TITLE
write_schedule()
{
	cat >"$T/schedule.conf.new" <<EOF
[segment feature]
at = $(utc "$t0")
source = tone
frequency = 1000
level_dbfs = -12
duration = 16s
title = $1

[segment late-bulletin]
at = $(utc $((t0 - 17)))
source = file
path = $T/bulletin.wav
duration = 30s
title = Bulletin

[segment news]
at = $(utc $((t0 + 20)))
source = tone
frequency = 600
level_dbfs = -12
duration = 16s
title = News
EOF
	mv "$T/schedule.conf.new" "$T/schedule.conf"
}
sox -n -r 44100 -c 1 -b 16 "$T/bulletin.wav" synth 2 sine 500 vol 0.25 \
    2>/dev/null || fail "sox failed"
write_schedule "Feature"

cat >"$T/relay.conf" <<EOF
[station]
name = Trust test
[input]
type = tone
frequency = 0
channels = 1
title = Studio
[encoding e]
channels = 1
quality = 2
[output ice]
port = ${ICE_PORT[a]}
mount = /live.ogg
password = ${ICE_PASSWORD[a]}
encoding = e
[status]
listen = 127.0.0.1:$status_port
poll_icecast = 1s
token_env = RELAY_TEST_CONTROL_TOKEN
# The API may pull the partner feed from this host (a loopback address is
# refused unless listed).
feed_hosts = 127.0.0.1
[schedule]
file = $T/schedule.conf
timezone = UTC
EOF

call()
{
	local method=$1 path=$2
	shift 2
	curl -s -X "$method" -o "$T/body" -w '%{http_code}' --max-time 35 \
	    "$@" "$URL$path" || true
}

start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
wait_for -t 5 -m "the late bulletin reported" \
    log_has 'segment late-bulletin: the file ended [0-9.]+ s before relay joined its window' ||
    fail "no 'file ended before relay joined' line: $(relay_lines | grep late-bulletin | head -2)"
status_has '.programme_error.segment == "late-bulletin" and (.programme_error.text | contains("ended"))' ||
    fail "/api/status programme_error: $(status_now | jq -c .programme_error)"
"$RELAY" status --url "$URL" >"$T/rs.out" 2>&1 || true
grep -q "^Problem .*\[late-bulletin\]: .*ended" "$T/rs.out" ||
    fail "relay status does not show the programme error: $(cat "$T/rs.out")"
if log_has 'late-bulletin.*delivered no audio'; then
	fail "the late bulletin was reported as delivering no audio"
fi
wait_for -t 15 -m "feature on air" on_air feature ||
    fail "the feature never went on air: $(status_now | jq -c .now)"

# 1. Reloads with nothing changed, 3 s and 6 s into the feature.
sleep 3
kill -HUP "$RELAY_PID"
wait_for -t 5 -m "SIGHUP reload" log_has 'main: reloaded' ||
    fail "SIGHUP did not reload"
code=$(call POST /api/reload "${auth[@]}")
[[ $code == 200 ]] || fail "POST /api/reload: $code $(cat "$T/body")"
jq -e '.result | contains("1 planned item(s) kept")' "$T/body" >/dev/null ||
    fail "the reload did not keep the feature: $(cat "$T/body")"
on_air feature || fail "the feature was cut by an unchanged reload: $(status_now | jq -c .now)"

# 2. The feature changes while on air: it plays to its end.
sleep 2
write_schedule "Feature (new edit)"
code=$(call POST /api/reload "${auth[@]}")
[[ $code == 200 ]] || fail "POST /api/reload (changed): $code $(cat "$T/body")"
log_has 'segment feature changed or removed by the reload; it stays on air' ||
    fail "no 'stays on air' line"
on_air feature || fail "the changed feature was cut: $(status_now | jq -c .now)"
wait_for -t 15 -m "the feature to end" log_has 'segment feature ended at' ||
    fail "the feature never ended"
if log_has 'segment feature (stopped|skipped|not played)'; then
	fail "the feature did not play to its end: $(relay_lines | grep 'segment feature' | tail -3)"
fi
ended=$(relay_lines | sed -n 's/.*segment feature ended at [^ ]* \([0-9:]*\).*/\1/p' | head -1)
note "feature ended at $ended (planned $(date -u -d "@$((t0 + 16))" '+%H:%M:%S'))"

# 3. The news segment, broken into by an API segment; news resumes.
wait_for -t 10 -m "news on air" on_air news ||
    fail "news never went on air: $(status_now | jq -c .now)"
sleep 2
code=$(call POST /api/segments "${auth[@]}" "${json[@]}" \
    --data '{"source":"tone","frequency":1500,"duration":"3s","title":"Flash","name":"flash"}')
[[ $code == 202 ]] || fail "POST /api/segments: $code $(cat "$T/body")"
req=$(jq -r .id "$T/body")
wait_for -t 3 -m "flash on air" on_air flash ||
    fail "the flash never went on air: $(status_now | jq -c .now)"
wait_for -t 6 -m "news again after the flash" on_air news ||
    fail "news did not resume after the API segment: $(status_now | jq -c '{state, now}')"
wait_for -t 2 -m "request $req done" status_has \
    ".requests[] | select(.id == $req) | .state == \"done\"" ||
    fail "request $req: $(status_now | jq -c .requests)"
note "API segment inside news: news resumed; request $req done"

# 4. A slow feed played now: on air once its audio arrives.
sox -n -r 44100 -c 1 -b 16 "$T/feed.wav" synth 6 sine 800 vol 0.25 2>/dev/null ||
    fail "sox failed"
oggenc -Q -q 2 -o "$T/feed.ogg" "$T/feed.wav" || fail "oggenc failed"
feed_port=$(free_port) || fail "no free port"
python3 - "$feed_port" "$T/feed.ogg" >"$T/feed.log" 2>&1 <<'PY' &
import http.server, sys, time
data = open(sys.argv[2], "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(1.5)  # a slow partner server
        self.send_response(200)
        self.send_header("Content-Type", "application/ogg")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
feed_pid=$!
BG_PIDS+=("$feed_pid")
wait_for -t 5 -m "feed server" curl -sf -o /dev/null --max-time 5 \
    "http://127.0.0.1:$feed_port/x.ogg" || fail "the feed server did not start"
log_mark
code=$(call POST /api/segments "${auth[@]}" "${json[@]}" \
    --data "{\"source\":\"stream\",\"url\":\"http://127.0.0.1:$feed_port/feed.ogg\",\"duration\":\"4s\",\"name\":\"partner\",\"title\":\"Partner feed\"}")
[[ $code == 202 ]] || fail "POST /api/segments (feed): $code $(cat "$T/body")"
req=$(jq -r .id "$T/body")
wait_for -t 6 -m "the feed on air" on_air partner ||
    fail "the slow feed never went on air: $(status_now | jq -c '{now, requests}')"
wait_for -t 8 -m "request $req done" status_has \
    ".requests[] | select(.id == $req) | .state == \"done\"" ||
    fail "request $req: $(status_now | jq -c .requests)"
if log_since 'delivered no audio'; then
	fail "the slow feed was reported as delivering no audio"
fi
note "slow feed (1.5 s to answer) went on air and played out"
relay_alive || fail "relay died"
stop_relay TERM 5 || fail "relay did not stop"
check_sanitizer
