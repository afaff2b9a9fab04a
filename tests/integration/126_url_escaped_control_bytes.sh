#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 126 an escaped control byte in a URL path (%0a, %01, %7f, %0d%0a, ...)
# is a 400 that names it, on every path, GET and POST, status and
# control, as %00 is (test 114): it used to be a 404 (the decoded path
# "/api/metadata\n" matched nothing), which told a client its URL was
# unknown rather than broken. Nothing is carried out, and no log line
# carries a raw control byte: a control byte that reaches a control call
# through its query is refused there (400, JSON) and its audit line shows
# it escaped. A page's unknown query parameter with an escape in its value
# is still ignored (utm_source and the like).
#
# timeout: 40

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

control_api_setup
control_archive_config >"$T/relay.conf"

# req METHOD PATH [BODY]: prints the HTTP code; the answer goes to $T/body.
req()
{
	local data=()
	[[ $1 == POST ]] && data=("${json[@]}" --data-binary "${3:-}")
	curl -s -X "$1" "${auth[@]}" "${data[@]}" -o "$T/body" \
	    -w '%{http_code}' --max-time 10 "$URL$2" || true
}

start_relay "$T/relay.conf"
wait_for -t 10 -m "input flowing at $URL" status_has '.input.flowing' ||
    fail "relay never read its input: $(status_now)"
log_mark

for u in '/api/metadata%0a' '/api/metadata%01' '/api/metadata%7F' \
    '/api/skip%0d%0a' '/api/segments%1b' '/api/reload%09x' \
    '/api/metadata%0A?x=1'; do
	code=$(req POST "$u" '{"title":"Escaped title"}')
	[[ $code == 400 ]] || fail "POST $u: $code $(cat "$T/body")"
	want=$(sed -E 's/^[^%]*%(..).*/\1/' <<<"$u" |
	    tr '[:lower:]' '[:upper:]')
	grep -qF "400 Bad Request: an escaped control byte (%$want) in the URL path" \
	    "$T/body" || fail "POST $u: the 400 does not name it: $(cat "$T/body")"
done
for u in '/healthz%0a' '/api/status%0d' '/api/events%01' '/%0a' \
    '/operator%7f' '/metrics%1F' '/api/history%0a?pretty=1' '/nowhere%0a'; do
	code=$(req GET "$u")
	[[ $code == 400 ]] || fail "GET $u: $code $(cat "$T/body")"
	grep -qF '400 Bad Request: an escaped control byte (%' "$T/body" ||
	    fail "GET $u: the 400 does not name it: $(cat "$T/body")"
done
# %00 names itself too.
code=$(req GET '/healthz%00')
[[ $code == 400 ]] || fail "GET /healthz%00: $code"
grep -qF '400 Bad Request: an escaped NUL (%00) in the URL' "$T/body" ||
    fail "GET /healthz%00: $(cat "$T/body")"
note "escaped control bytes in paths refused, named"

# In a query: the endpoint judges it. A control call refuses any query
# (JSON, audited); /api/status refuses a bad value; a page ignores it.
code=$(req POST '/api/metadata?a%0ab=1' '{"title":"Query title"}')
[[ $code == 400 ]] || fail "POST /api/metadata?a%0ab=1: $code $(cat "$T/body")"
jq -e '.error | startswith("query parameter")' "$T/body" >/dev/null ||
    fail "the control 400 is not its JSON: $(cat "$T/body")"
code=$(req GET '/api/status?pretty=%0a')
[[ $code == 400 ]] || fail "GET /api/status?pretty=%0a: $code"
code=$(req GET '/?utm_source=a%0ab')
[[ $code == 200 ]] || fail "GET /?utm_source=a%0ab: $code, expected the page"

# Nothing was carried out.
sleep 0.5
status_has '.now.title == "Studio live" and .requests == [] and
    .now.segment == null and .reload == null' ||
    fail "a refused call left a trace: $(status_now | jq -c '{now, requests, reload}')"
log_since 'reloading' && fail "a refused reload reloaded"
log_since 'POST /api/metadata 400 .*query parameter "a\\x0ab"' ||
    fail "no escaped audit line for the query: $(relay_lines "$LOG_MARK")"
# Every line relay wrote since is one whole log line, with no raw control
# byte in it.
bad=$(relay_lines "$LOG_MARK" | LC_ALL=C grep -c $'[\x01-\x08\x0b-\x1f\x7f]') || true
[[ ${bad:-0} == 0 ]] || fail "a raw control byte in the log: $(relay_lines "$LOG_MARK" | cat -A | head -5)"
bad=$(relay_lines "$LOG_MARK" | grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T') || true
[[ ${bad:-0} == 0 ]] || fail "a log line split by a control byte: $(relay_lines "$LOG_MARK" | grep -vE '^[0-9]{4}-' | head -3)"

stop_relay
[[ $RELAY_RC == 0 ]] || fail "relay exited $RELAY_RC"
