#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 115 control blank title: POST /api/metadata with a title of nothing but
# spaces (or a tab, which becomes one) is a 400 like an empty one, and the
# live title stays; so is a segment "name" of spaces. relay used to take
# "   " as a title (200) and send listeners and Icecast a blank one.
# A title with spaces around words is kept as written.
#
# timeout: 30

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

control_api_setup
control_archive_config >"$T/relay.conf"

# post PATH BODY: prints the HTTP code; the answer goes to $T/body.
post()
{
	curl -s -X POST "${auth[@]}" "${json[@]}" --data-binary "$2" \
	    -o "$T/body" -w '%{http_code}' --max-time 10 "$URL$1" || true
}

start_relay "$T/relay.conf"
# No Icecast: the state is off_air, but the control API works all the same.
wait_for -t 10 -m "input flowing at $URL" status_has '.input.flowing' ||
    fail "relay never read its input: $(status_now)"

for body in '{"title":"   "}' '{"title":"\t"}' '{"title":" \u0001 "}'; do
	code=$(post /api/metadata "$body")
	[[ $code == 400 ]] || fail "$body: $code $(cat "$T/body")"
	jq -e '.error | startswith("title: must not be empty")' "$T/body" \
	    >/dev/null || fail "$body: $(cat "$T/body")"
done
code=$(post /api/segments '{"source":"tone","duration":"5s","name":"  "}')
[[ $code == 400 ]] || fail "a blank segment name: $code $(cat "$T/body")"
sleep 0.5
status_has '.now.title == "Studio live" and .requests == []' ||
    fail "a blank title or name was taken: $(status_now | jq -c '{now, requests}')"
note "blank titles and names refused, the live title stays"

code=$(post /api/metadata '{"title":" Morning news "}')
[[ $code == 200 ]] || fail "a title with spaces around: $code $(cat "$T/body")"
wait_for -t 5 -m 'the new title' status_has '.now.title == " Morning news "' ||
    fail "title: $(status_now | jq -c .now.title)"

stop_relay
[[ $RELAY_RC == 0 ]] || fail "relay exited $RELAY_RC"
