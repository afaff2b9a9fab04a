#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 32 control API: a relay with a [status] token, a silent tone input, an
# Icecast output and a file archive. Without a token a control call gets 401
# (with WWW-Authenticate), with a wrong one 403, with GET 405 (Allow: POST).
# POST /api/segments plays a 3 s tone now: /api/status shows segment "api"
# with its title and Icecast's title follows; POST /api/skip ends it early
# (live again before the 3 s are over, and the archive holds a shorter
# burst). POST /api/metadata sets the live title (/api/status and Icecast).
# A missing file gives 422 naming the file; POST /api/reload gives 200 with
# what changed, or 422 with the FILE:LINE error for a broken config (and
# /api/status shows the last reload). A segment's answer carries a request
# id that /api/status "requests" follows (pending, on_air, done); a skip
# with nothing on air is refused (422), never reported as done. A relay without a token refuses control with 403. Every
# call has an audit line in relay's log, and the token appears nowhere.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

start_icecast a
control_api_setup

# write_config FILE TOKEN_LINE
write_config()
{
	cat >"$1" <<EOF
[station]
name = Control test
[input]
type = tone
frequency = 0
rate = 44100
channels = 1
title = Studio live
artist = Desk
[encoding e]
rate = 44100
channels = 1
quality = 4
[output ice]
port = ${ICE_PORT[a]}
mount = /live.ogg
password = ${ICE_PASSWORD[a]}
encoding = e
[output archive]
type = file
path = $T/archive.ogg
encoding = e
[status]
listen = 127.0.0.1:$status_port
poll_icecast = 1s
# API file segments may only come from here (see docs/configuration.md).
media_dirs = $T
$2
EOF
}

# call METHOD PATH [CURL_ARGS...]: prints the HTTP code; the body goes to
# $T/body, the headers to $T/headers.
call()
{
	local method=$1 path=$2
	shift 2
	curl -s -X "$method" -D "$T/headers" -o "$T/body" -w '%{http_code}' \
	    --max-time 10 "$@" "$URL$path" || true
}

relay_status() { RS_OUT=$("$RELAY" status --url "$URL" 2>&1) || true; }
ice_title_is() { [[ $(ice_field "${ICE_PORT[a]}" /live.ogg title) == "$1" ]]; }

write_config "$T/relay.conf" "token_env = RELAY_TEST_CONTROL_TOKEN"
start_relay "$T/relay.conf"
wait_mount "${ICE_PORT[a]}" /live.ogg 15
wait_for -t 10 -m "live at $URL" status_has '.state == "live"' ||
    fail "relay never went live: $(status_now)"
log_has 'control API on' || fail "no 'control API on' line at startup"

# --- refused ----------------------------------------------------------------
code=$(call POST /api/skip)
[[ $code == 401 ]] || fail "no token: $code, expected 401"
grep -qi '^WWW-Authenticate: Bearer realm="relay"' "$T/headers" ||
    fail "401 without WWW-Authenticate: $(cat "$T/headers")"
jq -e '.error | test("bearer token")' "$T/body" >/dev/null ||
    fail "401 body: $(cat "$T/body")"
code=$(call POST /api/skip -H "Authorization: Basic $(printf 'a:%s' "$TOKEN" | base64)")
[[ $code == 401 ]] || fail "Basic auth: $code, expected 401"
code=$(call POST /api/skip -H "Authorization: Bearer ${TOKEN}x")
[[ $code == 403 ]] || fail "wrong token: $code, expected 403"
jq -e '.error == "wrong token"' "$T/body" >/dev/null ||
    fail "403 body: $(cat "$T/body")"
for p in /api/segments /api/skip /api/metadata /api/reload; do
	code=$(call GET "$p" "${auth[@]}")
	[[ $code == 405 ]] || fail "GET $p: $code, expected 405"
	grep -qi '^Allow: POST' "$T/headers" || fail "GET $p: no Allow: POST"
done
code=$(call POST /api/segments "${auth[@]}" "${json[@]}" \
    --data '{"source":"tone","duration":true}')
[[ $code == 400 ]] || fail "a boolean duration: $code, expected 400"
jq -e '.error | startswith("duration:")' "$T/body" >/dev/null ||
    fail "400 does not name the field: $(cat "$T/body")"
head -c 20000 /dev/zero | tr '\0' ' ' >"$T/big"
code=$(call POST /api/metadata "${auth[@]}" --data-binary @"$T/big")
[[ $code == 413 ]] || fail "a 20 kB body: $code, expected 413"
# Nothing went on air (the silent input may be off air by now on a
# loaded machine: that is the on-air rule, not a call).
status_has '.now.segment == null and (.state == "live" or .state == "off_air")' ||
    fail "a refused call changed the state: $(status_now | jq -c '{state, now}')"
note "401 / 403 / 405 / 400 / 413: OK"

# --- a tone segment, then skip ----------------------------------------------
t_post=$(now)
code=$(call POST /api/segments "${auth[@]}" "${json[@]}" \
    --data '{"source":"tone","frequency":1000,"level_dbfs":-12,"duration":"3s","title":"Breaking news","artist":"Newsroom"}')
[[ $code == 202 ]] || fail "POST /api/segments: $code $(cat "$T/body")"
jq -e '.ok == true and .state == "pending" and (.id | type == "number")' \
    "$T/body" >/dev/null || fail "202 body: $(cat "$T/body")"
req_id=$(jq -r .id "$T/body")
relay_status
grep -q "^Request   #$req_id " <<<"$RS_OUT" ||
    fail "relay status does not show request $req_id: $RS_OUT"
wait_for -t 3 -m "now.segment api" status_has \
    '.state == "segment" and .now.segment == "api" and .now.title == "Breaking news" and .now.artist == "Newsroom"' ||
    fail "/api/status does not show the segment: $(status_now | jq -c .now)"
wait_for -t 2.5 -m "Icecast title Breaking news" ice_title_is "Breaking news" ||
    fail "Icecast's title did not follow: $(ice_field "${ICE_PORT[a]}" /live.ogg title)"
status_has ".requests[] | select(.id == $req_id) | .state == \"on_air\"" ||
    fail "request $req_id is not on_air: $(status_now | jq -c .requests)"
code=$(call POST /api/skip "${auth[@]}")
[[ $code == 200 ]] || fail "POST /api/skip: $code $(cat "$T/body")"
wait_for -t 2 -m "live again" status_has \
    '.state == "live" and .now.segment == null' ||
    fail "skip did not end the segment: $(status_now | jq -c .now)"
wait_for -t 2 -m "request $req_id done" status_has \
    ".requests[] | select(.id == $req_id) | .state == \"done\"" ||
    fail "request $req_id is not done: $(status_now | jq -c .requests)"
# Nothing on air any more: a second skip is refused, not "done".
code=$(call POST /api/skip "${auth[@]}")
[[ $code == 422 ]] || fail "skip with live on air: $code $(cat "$T/body")"
jq -e '.error | contains("nothing to skip")' "$T/body" >/dev/null ||
    fail "skip with live on air: $(cat "$T/body")"
# How long the 3 s segment really aired, by relay's own clock (its log
# gives both moments to the millisecond; /api/status only to the second):
# the test's own curl and jq calls take time that has nothing to do with
# relay's answer.
took=$(python3 -c '
import re, sys, datetime
text = open(sys.argv[1]).read()
def at(what):
    m = re.search(r"segment api " + what + r" at (\S+Z)", text)
    return datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00"))
print("%.3f" % (at("skipped") - at("on air")).total_seconds())' "$RELAY_LOG") ||
    fail "no on-air and skip times for segment api in $RELAY_LOG"
note "segment on air, then skipped after $took s (POST to live again: $(elapsed_since "$t_post") s)"
assert_between "$took" 0.1 2.9 "seconds the skipped 3 s segment aired"
log_has 'segment api' || fail "no programme log line for segment api"

# --- the live title -----------------------------------------------------------
code=$(call POST /api/metadata "${auth[@]}" "${json[@]}" \
    --data '{"title":"Morning news \u00fcber alles","artist":"Anna"}')
[[ $code == 200 ]] || fail "POST /api/metadata: $code $(cat "$T/body")"
wait_for -t 3 -m "now.title" status_has \
    '.now.title == "Morning news über alles" and .now.artist == "Anna"' ||
    fail "/api/status title: $(status_now | jq -c .now)"
wait_for -t 5 -m "Icecast title" ice_title_is "Morning news über alles" ||
    fail "Icecast's title: $(ice_field "${ICE_PORT[a]}" /live.ogg title)"
code=$(call POST /api/metadata "${auth[@]}" --data '{"title":7}')
[[ $code == 400 ]] || fail "a number as title: $code"
jq -e '.error | startswith("title:")' "$T/body" >/dev/null ||
    fail "400 does not name title: $(cat "$T/body")"
note "live title: OK"

# --- a missing file -----------------------------------------------------------
code=$(call POST /api/segments "${auth[@]}" "${json[@]}" \
    --data "{\"source\":\"file\",\"path\":\"$T/no-such-news.ogg\",\"title\":\"Gone\"}")
[[ $code == 422 ]] || fail "a missing file: $code, expected 422 $(cat "$T/body")"
jq -e --arg f "$T/no-such-news.ogg" '.error | contains($f)' "$T/body" \
    >/dev/null || fail "422 does not name the file: $(cat "$T/body")"
status_has '.now.segment == null and (.state == "live" or .state == "off_air")' ||
    fail "a missing file changed the state: $(status_now | jq -c '{state, now}')"

# --- reload -------------------------------------------------------------------
log_mark
code=$(call POST /api/reload "${auth[@]}")
[[ $code == 200 ]] || fail "POST /api/reload: $code $(cat "$T/body")"
jq -e '.ok == true and (.result | contains("kept streaming"))' "$T/body" \
    >/dev/null || fail "reload answer: $(cat "$T/body")"
log_since 'main: reloaded' || fail "no reload in the log after POST /api/reload"
log_since 'reloading' || fail "no 'reloading' line"
status_has '.reload.ok == true' ||
    fail "/api/status reload: $(status_now | jq -c .reload)"
# An unchanged reload keeps the title the operator set.
status_has '.now.title == "Morning news über alles"' ||
    fail "the reload dropped the operator's title: $(status_now | jq -c .now)"
# A broken config: 422 with FILE:LINE, nothing changes, status shows it.
cp "$T/relay.conf" "$T/relay.conf.good"
printf '\n[output broken]\nport = 99999\n' >>"$T/relay.conf"
bad_line=$(grep -n '^port = 99999$' "$T/relay.conf" | cut -d: -f1)
code=$(call POST /api/reload "${auth[@]}")
[[ $code == 422 ]] || fail "a broken reload: $code, expected 422 $(cat "$T/body")"
jq -e --arg l "relay.conf:$bad_line: [output broken] port" \
    '.error | contains($l)' "$T/body" >/dev/null ||
    fail "422 does not name relay.conf:$bad_line: $(cat "$T/body")"
status_has ".reload.ok == false and (.reload.detail | contains(\"relay.conf:$bad_line\"))" ||
    fail "/api/status reload after a rejected one: $(status_now | jq -c .reload)"
relay_status
grep -q "^Reload    REJECTED .*relay.conf:$bad_line" <<<"$RS_OUT" ||
    fail "relay status does not show the rejected reload: $RS_OUT"
mv "$T/relay.conf.good" "$T/relay.conf"
# The token survives the reloads.
code=$(call POST /api/metadata "${auth[@]}" "${json[@]}" \
    --data '{"title":"Morning news \u00fcber alles","artist":"Anna"}')
[[ $code == 200 ]] || fail "control after reload: $code"
relay_alive || fail "relay died"

# --- the audit trail ----------------------------------------------------------
audit='control: 127\.0\.0\.1:[0-9]+ '
for re in "warn ${audit}POST /api/skip 401 " \
    "warn ${audit}POST /api/skip 403 skip the segment on air: wrong token" \
    "warn ${audit}GET /api/reload 405 " \
    "warn ${audit}POST /api/segments 400 " \
    "warn ${audit}POST /api/metadata 413 " \
    "info ${audit}POST /api/segments 202 play tone 1000 Hz -12 dBFS 3 s 'Breaking news' by 'Newsroom' \\(request $req_id\\)" \
    "info ${audit}POST /api/skip 200 skip the segment on air" \
    "warn ${audit}POST /api/skip 422 skip the segment on air: nothing to skip" \
    "info ${audit}POST /api/metadata 200 live title 'Morning news über alles' by 'Anna'" \
    "warn ${audit}POST /api/segments 422 play file .*no-such-news.ogg" \
    "info ${audit}POST /api/reload 200 reload config and schedule" \
    "warn ${audit}POST /api/reload 422 reload config and schedule: .*relay.conf:$bad_line"; do
	log_has "$re" || fail "no audit line matching: $re"
done
n=$(log_count "$audit")
assert_between "$n" 18 18 "audit lines (one per control call)"

stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"

# --- the archive: the tone burst ended early ------------------------------------
check_vorbis "$T/archive.ogg" 44100 1 3
oggdec -Q -R -b 16 -e 0 -s 1 -o "$T/archive.raw" "$T/archive.ogg" ||
    fail "oggdec cannot decode the archive"
burst=$(python3 - "$T/archive.raw" <<'PY'
import struct, sys
raw = open(sys.argv[1], "rb").read()
x = struct.unpack("<%dh" % (len(raw) // 2), raw[: len(raw) // 2 * 2])
loud = [i for i, v in enumerate(x) if abs(v) > 200]
print("%.3f" % ((loud[-1] - loud[0]) / 44100.0) if loud else "0")
PY
)
note "tone burst in the archive: $burst s (asked 3 s, skipped)"
assert_between "$burst" 0.2 2.9 "seconds of tone in the archive"

# --- a relay without a token refuses control ----------------------------------
write_config "$T/relay-notoken.conf" ""
start_relay "$T/relay-notoken.conf"
wait_for -t 10 -m "status server" status_has '.station.name == "Control test"' ||
    fail "the relay without a token did not start"
log_has 'control API off' || fail "no 'control API off' line"
code=$(call POST /api/skip "${auth[@]}")
[[ $code == 403 ]] || fail "no token configured: $code, expected 403"
jq -e '.error == "control is disabled: set [status] token, token_file or token_env"' \
    "$T/body" >/dev/null || fail "403 body: $(cat "$T/body")"
log_has "warn ${audit}POST /api/skip 403 skip the segment on air: control is disabled" ||
    fail "no audit line for the refused call"
stop_relay TERM 5 || fail "relay did not stop"

# The token never appears in relay's log (nor does the Basic credential).
! grep -qF "$TOKEN" "$RELAY_LOG" || fail "the token is in relay's log"
! grep -qF "$(printf 'a:%s' "$TOKEN" | base64)" "$RELAY_LOG" ||
    fail "the Basic credential is in relay's log"
check_sanitizer
note "control API: OK"
