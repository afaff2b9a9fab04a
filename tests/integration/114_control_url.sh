#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 114 control URL: what the URL says beyond the control path is refused,
# never ignored. A query parameter on a control path is a 400 (JSON, with
# an audit line) and nothing is carried out: "POST /api/segments?dry_run=1"
# used to put the segment on air (202), "POST /api/reload?check=1" to
# reload. An escaped NUL (%00) anywhere in a URL is a 400 like a raw
# control byte: libmicrohttpd decodes it and the path ended there, so
# "POST /api/metadata%00x" set the title and "GET /healthz%00" answered
# "ok".
#
# timeout: 40

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
log_mark

code=$(post '/api/segments?dry_run=1' '{"source":"tone","duration":"30s","title":"Dry"}')
[[ $code == 400 ]] || fail "a query on /api/segments: $code $(cat "$T/body")"
jq -e '.error | startswith("query parameter \"dry_run\"")' "$T/body" \
    >/dev/null || fail "the 400 does not name the parameter: $(cat "$T/body")"
code=$(post '/api/metadata?x' '{"title":"Query title"}')
[[ $code == 400 ]] || fail "a query on /api/metadata: $code $(cat "$T/body")"
code=$(post '/api/reload?check=1' '')
[[ $code == 400 ]] || fail "a query on /api/reload: $code $(cat "$T/body")"
code=$(post '/api/metadata%00x' '{"title":"NUL title"}')
[[ $code == 400 ]] || fail "/api/metadata%00x: $code $(cat "$T/body")"
for u in '/healthz%00' '/api/status%00x' '/api/status?pretty=1%00'; do
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL$u") || true
	[[ $code == 400 ]] || fail "GET $u: $code, expected 400"
done
note "queries on control paths and %00 refused"

# Nothing of it was carried out.
sleep 0.5
status_has '.now.title == "Studio live" and .requests == [] and
    .now.segment == null and .reload == null' ||
    fail "a refused call left a trace: $(status_now | jq -c '{now, requests, reload}')"
log_since 'POST /api/segments 400 .*query parameter "dry_run"' ||
    fail "no audit line for the refused query"
log_since 'reloading' && fail "a refused reload reloaded"

# The same calls without the query work.
code=$(post /api/metadata '{"title":"Plain title"}')
[[ $code == 200 ]] || fail "/api/metadata: $code $(cat "$T/body")"
wait_for -t 5 -m 'the title' status_has '.now.title == "Plain title"' ||
    fail "title: $(status_now | jq -c .now.title)"

stop_relay
[[ $RELAY_RC == 0 ]] || fail "relay exited $RELAY_RC"
