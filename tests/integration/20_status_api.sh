#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 20 status API: with relay streaming to icecast, GET /api/status matches
# the documented schema field by field (tests/tools/status_schema.jq) and
# reports what is true (on air, the configured station, encodings and
# listener URLs); /metrics passes a strict parser of the Prometheus text
# format and its counters grow; /api/events streams the same document;
# ?levels=1 adds 10 levels events a second, each "fresh" while the tone
# plays (the engine meters every ~100 ms of audio at block times, 46 ms
# apart: a 100 ms tick without a new block is not a stopped engine);
# headers are right (no-store, caching for assets, CSP, nosniff); bad
# requests get 404/405/414/431/400 and leave the server working; no
# endpoint ever shows the source password or the status token; "relay
# status" prints the station and exits 0, its durations in relay's one
# form for people ("12 s", "1 min 05 s"; it printed "12s", "1m 05s"). This
# icecast sends no CORS headers, and /api/status and the log say so.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

status_up ''
ice=${ICE_PORT[a]}
# Let the poller see a listener on /live.ogg.
listen_bg "http://127.0.0.1:$ice/live.ogg" 30 "$T/listener.ogg"
has_listener() { status_now | jq -e '.outputs[0].listeners >= 1' >/dev/null; }
wait_for -t 10 -m "the poller to count the listener" has_listener ||
    fail "listener count never reached 1"

# --- /api/status: schema and values ---------------------------------------
status_now >"$T/status.json" || fail "GET /api/status failed"
problems=$(jq -c -f "$STATUS_TOOLS/status_schema.jq" <"$T/status.json") ||
    fail "jq could not read /api/status: $(head -c 300 "$T/status.json")"
[[ $problems == "[]" ]] || fail "schema: $problems"
jq -e --arg name "$STATION_NAME" --arg ice "$ice" '
    .on_air == true and .state == "live"
    and .station.name == $name
    and .station.description == "News & weather <around> the clock"
    and .station.url == "https://radio.example/"
    and .now.title == "Morning <News>" and .now.artist == "Anna & Bo"
    and .now.source == "live" and .now.segment == null
    and .next == [] and .uptime_s >= 0
    and .input.type == "tone" and .input.flowing == true
    and .input.peak_dbfs > -20 and .input.peak_dbfs < -5
    and .input.silent_s < 1
    and .input.buffer_s > 2 and .input.buffer_peak_s > 0
    and .input.buffer_peak_s < .input.buffer_s and .input.overflow_frames == 0
    and ([.encodings[].name] == ["main", "mobile"])
    and .encodings[0].rate == 44100 and .encodings[0].channels == 2
    and .encodings[0].quality == 4 and .encodings[0].bitrate == null
    and .encodings[1].rate == 22050 and .encodings[1].channels == 1
    and .encodings[1].quality == null and .encodings[1].bitrate == 32
    and ([.outputs[].name] == ["main", "mobile"])
    and .outputs[0].url == "http://127.0.0.1:\($ice)/live.ogg"
    and .outputs[1].url == "http://127.0.0.1:\($ice)/mobile.ogg"
    and all(.outputs[]; .type == "icecast" and .connected
        and .mount_listed and .server_reachable and .bytes_sent > 0
        and .encoding != "" and .since != null
        and .lag_ms != null and .lag_ms >= 0 and .lag_ms < 1000)
    and .outputs[0].listeners >= 1 and .outputs[0].listener_peak >= 1
    and .listeners >= 1' "$T/status.json" >/dev/null ||
    fail "unexpected /api/status values: $(jq -c . "$T/status.json")"
note "/api/status: schema and values OK"

# This icecast sends no CORS headers: relay finds out (a headers-only GET
# of each mount, once) and says so in /api/status and its log.
cors_missing() {
	status_now | jq -e 'all(.outputs[]; .cors_allow_origin == "")' \
	    >/dev/null
}
wait_for -t 10 -m "cors_allow_origin \"\" on both outputs" cors_missing ||
    fail "no CORS verdict: $(status_now | jq -c '[.outputs[].cors_allow_origin]')"
for m in live mobile; do
	[[ $(log_count "icecast: http://127.0.0.1:$ice/$m\.ogg: Icecast sends no Access-Control-Allow-Origin") == 1 ]] ||
	    fail "no single CORS warning for /$m.ogg: $(grep -i access-control "$RELAY_LOG")"
done

# pretty=1 is the same document, indented.
status_get '/api/status?pretty=1' >"$T/pretty.json"
[[ $(wc -l <"$T/pretty.json") -gt 20 ]] || fail "pretty=1 is not indented"
jq -e '.station.name' "$T/pretty.json" >/dev/null || fail "pretty=1 is not JSON"

# --- headers --------------------------------------------------------------
curl -s -D "$T/h.status" -o /dev/null "$STATUS_URL/api/status"
grep -qi '^Content-Type: application/json' "$T/h.status" ||
    fail "/api/status Content-Type: $(cat "$T/h.status")"
grep -qi '^Cache-Control: no-store' "$T/h.status" ||
    fail "/api/status is cacheable: $(cat "$T/h.status")"
grep -qi '^X-Content-Type-Options: nosniff' "$T/h.status" ||
    fail "no nosniff on /api/status"
curl -s -D "$T/h.page" -o "$T/page.html" "$STATUS_URL/"
grep -qi "^Content-Security-Policy: default-src 'none'; script-src 'self' 'wasm-unsafe-eval';.*connect-src 'self' http://127.0.0.1:$ice;.*media-src http://127.0.0.1:$ice blob: data:;" \
    "$T/h.page" || fail "page CSP: $(grep -i content-security "$T/h.page")"
grep -qi '^Content-Type: text/html; charset=utf-8' "$T/h.page" ||
    fail "page Content-Type"
# The page holds no external reference: everything comes from relay
# itself, except the stream on icecast.
if grep -oE '(src|href)="[^"]*"' "$T/page.html" | grep -vE '"(/|#|https://radio\.example/|http://127\.0\.0\.1:'"$ice"'/)' |
    grep -q .; then
	fail "external reference in the page: $(grep -oE '(src|href)="[^"]*"' \
	    "$T/page.html" | grep -vE '"(/|#)' | head -3)"
fi
# Escaped server-side, UTF-8 intact.
grep -qF 'Relay &lt;Test&gt; FM &amp; &quot;Friends&quot; — Ünïcödé' \
    "$T/page.html" || fail "station name not escaped in the page"
! grep -qF '<Test>' "$T/page.html" || fail "unescaped markup in the page"
grep -qF '>ON AIR<' "$T/page.html" || fail "the page does not say ON AIR"
for asset in /app.js /style.css /icon.svg; do
	curl -s -D "$T/h.asset" -o /dev/null "$STATUS_URL$asset"
	grep -qiE '^Cache-Control: public, max-age=[0-9]+' "$T/h.asset" ||
	    fail "$asset has no max-age"
	[[ $(head -1 "$T/h.asset") == *" 200"* ]] || fail "$asset: $(head -1 "$T/h.asset")"
done
total=$(curl -s "$STATUS_URL/" "$STATUS_URL/app.js" "$STATUS_URL/style.css" \
    "$STATUS_URL/icon.svg" | wc -c)
assert_between "$total" 2000 60000 "bytes of the whole page"
[[ $(http_code "$STATUS_URL/embed") == 200 ]] || fail "/embed"

# --- /metrics, parsed strictly --------------------------------------------
curl -sf -D "$T/h.metrics" -o "$T/metrics1.txt" "$STATUS_URL/metrics" ||
    fail "GET /metrics failed"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/h.metrics" ||
    fail "/metrics Content-Type"
req=()
for m in relay_up relay_on_air relay_build_info relay_input_peak_dbfs \
    relay_input_silent_seconds relay_input_xruns_total \
    relay_output_connected relay_output_bytes_sent_total \
    relay_output_reconnects_total relay_output_dropped_bytes_total \
    relay_listeners; do
	req+=(--require "$m")
done
python3 "$STATUS_TOOLS/status_metrics_check.py" "$T/metrics1.txt" \
    "${req[@]}" >"$T/m1.json" || fail "/metrics is not valid exposition text"
jq -e '.relay_up == 1 and .relay_on_air == 1
    and .["relay_output_connected{output=\"main\"}"] == 1
    and .["relay_output_connected{output=\"mobile\"}"] == 1
    and .["relay_listeners{output=\"main\"}"] >= 1
    and .relay_input_peak_dbfs > -20 and .relay_input_xruns_total == 0
    and .["relay_output_bytes_sent_total{output=\"main\"}"] > 0' \
    "$T/m1.json" >/dev/null || fail "unexpected metrics: $(cat "$T/m1.json")"
sent_main='.["relay_output_bytes_sent_total{output=\"main\"}"]'
sent1=$(jq "$sent_main" "$T/m1.json")
sent_grows()
{
	local now
	curl -sf "$STATUS_URL/metrics" >"$T/metrics2.txt" || return 1
	python3 "$STATUS_TOOLS/status_metrics_check.py" "$T/metrics2.txt" \
	    >"$T/m2.json" || fail "/metrics invalid on a second scrape"
	now=$(jq "$sent_main" "$T/m2.json")
	awk -v a="$now" -v b="$sent1" 'BEGIN { exit !(a > b) }'
}
wait_for -t 5 -m "bytes_sent to grow" sent_grows ||
    fail "relay_output_bytes_sent_total does not grow"
note "/metrics: strict parse and values OK"

# --- /api/events ----------------------------------------------------------
curl -sN --max-time 2 -D "$T/h.events" -o "$T/events.txt" \
    "$STATUS_URL/api/events" || true
grep -qi '^Content-Type: text/event-stream' "$T/h.events" ||
    fail "/api/events Content-Type: $(cat "$T/h.events")"
# grep -m1 stops reading at the first event: "sed | head -1" here died of
# SIGPIPE (exit 141) in CI when sed wrote the later events after head quit.
grep -m1 '^data: ' "$T/events.txt" | sed 's/^data: //' >"$T/event1.json"
problems=$(jq -c -f "$STATUS_TOOLS/status_schema.jq" <"$T/event1.json") ||
    fail "first event is not JSON: $(head -c 300 "$T/events.txt")"
[[ $problems == "[]" ]] || fail "event schema: $problems"

# The operator page strikes its meters out while "fresh" is false: with
# the tone playing it must stay true on every tick.
curl -sN --max-time 3 -o "$T/levels.txt" "$STATUS_URL/api/events?levels=1" || true
n=$(grep -c '^event: levels' "$T/levels.txt") || true
assert_between "$n" 20 35 "levels events in 3 s"
stale=$(grep -A1 '^event: levels' "$T/levels.txt" | sed -n 's/^data: //p' |
    jq -s '[.[] | select(.fresh != true)] | length') ||
    fail "levels events are not JSON: $(head -c 300 "$T/levels.txt")"
[[ $stale == 0 ]] || fail "$stale of $n levels events say stale while the tone plays"

# --- bad requests ---------------------------------------------------------
[[ $(http_code "$STATUS_URL/nope") == 404 ]] || fail "unknown path is not 404"
[[ $(http_code "$STATUS_URL/index.html.orig") == 404 ]] || fail "not 404"
[[ $(http_code "$STATUS_URL/..%2f..%2fetc%2fpasswd") == 404 ]] ||
    fail "traversal is not 404"
[[ $(http_code "$STATUS_URL/api/status" -X DELETE) == 405 ]] ||
    fail "DELETE is not 405"
curl -s -D "$T/h.405" -o /dev/null -X POST --data 'x=1' "$STATUS_URL/api/status"
[[ $(head -1 "$T/h.405") == *" 405"* ]] || fail "POST with a body: $(head -1 "$T/h.405")"
grep -qi '^Allow: GET, HEAD' "$T/h.405" || fail "405 without Allow"
head -c 200000 /dev/zero | tr '\0' x >"$T/body"
[[ $(http_code "$STATUS_URL/" -X POST --data-binary @"$T/body") =~ ^(405|000)$ ]] ||
    fail "a large POST body"
long=$(head -c 5000 /dev/zero | tr '\0' a)
[[ $(http_code "$STATUS_URL/$long") == 414 ]] || fail "a 5000-byte URL is not 414"
[[ $(http_code "$STATUS_URL/api/status?x=$long") == 414 ]] || fail "long query"
big=$(head -c 40000 /dev/zero | tr '\0' b)
[[ $(http_code "$STATUS_URL/" -H "X-Big: $big") == 431 ]] ||
    fail "40 kB of headers is not 431"
[[ $(http_code "$STATUS_URL/api/status?pretty=%zz") == 400 ]] ||
    fail "a broken escape is not 400"
[[ $(http_code "$STATUS_URL/api/status?unknown=1") == 400 ]] ||
    fail "an unknown parameter is not 400"
[[ $(http_code "$STATUS_URL/api/status?pretty=maybe") == 400 ]] ||
    fail "a bad value is not 400"
[[ $(http_code "$STATUS_URL/metrics?x") == 400 ]] || fail "/metrics?x"
[[ $(http_code "$STATUS_URL/?utm_source=news") == 200 ]] ||
    fail "the page refuses tracking parameters"
[[ $(http_code "$STATUS_URL/api/status" -I) == 200 ]] || fail "HEAD"
# Garbage and a half-sent request do not hurt it.
printf 'GARBAGE\r\n\r\n' | timeout 3 bash -c "cat >/dev/tcp/127.0.0.1/$STATUS_PORT" || true
exec 7<>"/dev/tcp/127.0.0.1/$STATUS_PORT"
printf 'GET /api/status HTTP/1.1\r\nHost: x\r\n' >&7
[[ $(http_code "$STATUS_URL/api/status") == 200 ]] ||
    fail "the server stopped answering after bad requests"
exec 7>&-
relay_alive || fail "relay died"
note "bad requests: OK"

# --- secrets ----------------------------------------------------------------
for path in / /embed /api/status /api/status?pretty=1 /metrics /healthz \
    /app.js; do
	curl -s "$STATUS_URL$path" >"$T/body.txt"
	! grep -qF "$SOURCE_PASSWORD" "$T/body.txt" ||
	    fail "$path shows the source password"
	! grep -qF "$STATUS_TOKEN" "$T/body.txt" || fail "$path shows the token"
done
! grep -qF "$SOURCE_PASSWORD" "$T/events.txt" || fail "events show the password"

# --- relay status -----------------------------------------------------------
relay_status
[[ $RS_RC -eq 0 ]] || fail "relay status exit $RS_RC (on air): $RS_OUT $RS_ERR"
grep -qF "$STATION_NAME" <<<"$RS_OUT" || fail "relay status: no station name"
grep -qF 'ON AIR' <<<"$RS_OUT" || fail "relay status: no ON AIR"
grep -qF "http://127.0.0.1:$ice/live.ogg" <<<"$RS_OUT" || fail "no mount URL"
[[ $(wc -l <<<"$RS_OUT") -le 24 ]] || fail "relay status is more than a screen"
# Durations as relay writes them for people everywhere else
# (util_format_duration: "12 s", "1 min 05 s"), not "12s" / "1m 05s".
dur='[0-9]+ (d|h|min|s)( [0-9]{2} (h|min|s))*'
grep -Eq "^  up $dur · " <<<"$RS_OUT" ||
    fail "relay status: uptime not in relay's duration form: $(sed -n 2p <<<"$RS_OUT")"
grep -Eq "^Output .* since [0-9:]{8}Z \($dur ago\)$" <<<"$RS_OUT" ||
    fail "relay status: 'ago' not in relay's duration form: $(grep '^Output' <<<"$RS_OUT")"
relay_status --json
[[ $RS_RC -eq 0 ]] || fail "relay status --json exit $RS_RC"
jq -e --arg n "$STATION_NAME" '.station.name == $n' <<<"$RS_OUT" >/dev/null ||
    fail "relay status --json is not the document"
RS_RC=0
"$RELAY" status -c "$T/relay.conf" >"$T/rs.out" 2>&1 || RS_RC=$?
[[ $RS_RC -eq 0 ]] || fail "relay status -c exit $RS_RC: $(cat "$T/rs.out")"
note "relay status: $(head -1 "$T/rs.out")"
grep -Eq '^Input .* buffer peak 0\.[0-9]{2} of 2\.97 s$' "$T/rs.out" ||
    fail "relay status has no input buffer line: $(grep '^Input' "$T/rs.out")"

relay_alive || fail "relay died"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
