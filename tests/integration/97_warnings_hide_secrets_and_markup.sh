#!/usr/bin/env bash
# serial: starts Chromium
# SPDX-License-Identifier: MIT
#
# 97 what a warning quotes is shown safely. A secret never shows where a
# user can read it: the log, /api/status,
# /api/history and the operator page's first paint (whose "Recent
# warnings and errors" list the log's warnings), for texts that put it
# next to other letters (found by attacking the token-only redaction):
# - the control token in a request's field name after an encoded space
#   ("x%20TOKEN", "TOKEN2"): the audit line is a warning, and a token that
#   did not stand between separators was left in it;
# - a feed URL's password that holds an "@" ("user:p@SECRET@host"): the
#   audit line showed "***@SECRET@host";
# - a feed URL's password in a schedule error ("[segment s] url: ... is
#   not a valid URL"), the detail of a rejected reload: shown whole.
# Broken UTF-8 from a client is written \xNN in the log (it was written
# raw: journald keeps such a line as a blob journalctl does not show).
# And markup a client puts in a request ("<img onerror=...>",
# "</ol><script>", broken UTF-8) reaches the operator page's Recent
# warnings as text: escaped in the first paint, no element and no script
# run in Chromium with the page's script, the page still whole.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

FEED_SECRET=feed$(random_secret)
cat >"$T/schedule.ini" <<EOF
[segment s]
source = tone
cron = 0 3 * * *
duration = 1m
EOF
status_up "
[schedule]
file = $T/schedule.ini
"
auth=(-H "Authorization: Bearer $STATUS_TOKEN")
json=(-H 'Content-Type: application/json')

# post PATH BODY: the HTTP status of a control call.
post()
{
	curl -s --max-time 5 -o "$T/answer.json" -w '%{http_code}' \
	    "${auth[@]}" "${json[@]}" -X POST --data-binary "$2" \
	    "$STATUS_URL$1"
}

code=$(post /api/metadata "{\"x%20$STATUS_TOKEN\": \"a\"}")
[[ $code == 400 ]] || fail "an unknown field: HTTP $code, want 400"
code=$(post /api/metadata "{\"${STATUS_TOKEN}2\": \"a\"}")
[[ $code == 400 ]] || fail "an unknown field: HTTP $code, want 400"
# Refused (127.0.0.2 is no feed host): a warning naming the URL.
code=$(post /api/segments "{\"source\": \"stream\",
    \"url\": \"http://user:p@$FEED_SECRET@127.0.0.2:9/n.ogg\",
    \"duration\": 5}")
[[ $code == 422 ]] || fail "a feed on a host not allowed: HTTP $code, want 422"
cat >"$T/schedule.ini" <<EOF
[segment s]
source = stream
url = http://user:pw $FEED_SECRET@127.0.0.1:9/n.ogg
cron = 0 3 * * *
duration = 1m
EOF
code=$(post /api/reload '')
[[ $code == 422 ]] || fail "a reload with a bad schedule: HTTP $code, want 422"

wait_for -t 5 -m "the audit lines" eval \
    '[[ $(log_count "unknown field") -ge 2 ]] && log_has "127.0.0.2"' ||
    fail "no audit lines: $(relay_lines | tail -5)"
wait_for -t 5 -m "the rejected reload" \
    eval 'status_now | jq -e ".reload.ok == false" >/dev/null' ||
    fail "the reload was not rejected: $(status_now | jq -c .reload)"

curl -sf --max-time 5 "$STATUS_URL/operator" >"$T/operator.html" ||
    fail "GET /operator"
status_get /api/history >"$T/history.json" || fail "GET /api/history"
status_now >"$T/status.json" || fail "GET /api/status"
grep -q 'unknown field' "$T/operator.html" ||
    fail "the first paint lacks the warnings this test needs"
grep -q 'not a valid URL' "$T/status.json" ||
    fail "/api/status lacks the reload's detail: $(jq -c .reload "$T/status.json")"
leaks=
for f in "$RELAY_LOG" "$T/operator.html" "$T/history.json" "$T/status.json"; do
	for s in "$STATUS_TOKEN" "$FEED_SECRET"; do
		if grep -qF -- "$s" "$f"; then
			leaks+="$(basename "$f"): $(grep -F -- "$s" "$f" |
			    sed "s/$s/[SECRET]/g" | grep -o '.\{0,120\}\[SECRET\].\{0,60\}' |
			    head -2)"$'\n'
		fi
	done
done
[[ -z $leaks ]] || fail "secrets shown:"$'\n'"$leaks"

# Markup in the warnings.
post /api/metadata '{"<img src=x onerror=\"window.__x=1\">": 1}' >/dev/null
post /api/metadata '{"</ol><script>window.__x=2</script>&amp;\u0027": 1}' >/dev/null
post /api/metadata "$(printf '{"\xff\xfe<b>bad\xc3": 1}')" >/dev/null
wait_for -t 5 -m "the three audit lines" \
    eval '[[ $(log_count "unknown field") -ge 5 ]]' ||
    fail "no audit lines for the markup: $(relay_lines | tail -3)"
# The log is text: the client's broken UTF-8 written \xNN (journald
# kept the raw line as a blob journalctl does not show).
python3 -c 'import sys; open(sys.argv[1], encoding="utf-8").read()' \
    "$RELAY_LOG" 2>"$T/utf8.err" ||
    fail "the log is not UTF-8: $(tail -1 "$T/utf8.err")"
log_has 'set the live title: \\xff\\xfe<b>bad\\xc3: unknown field' ||
    fail "the broken UTF-8 is not written \\xNN: $(relay_lines | grep -a '<b>bad')"
curl -sf --max-time 5 "$STATUS_URL/operator" >"$T/operator.html" ||
    fail "GET /operator"
grep -q '&lt;img src=x onerror=&quot;' "$T/operator.html" ||
    fail "the first paint lacks the escaped markup"
if grep -aE '<img src=x|<script>window|<b>bad' "$T/operator.html"; then
	fail "markup from a request in the first paint (above)"
fi
[[ -x /usr/bin/chromium ]] || skip "chromium is not installed"
python3 "$STATUS_TOOLS/status_cdp.py" open "$STATUS_URL/operator" \
    wait "document.body.dataset.history" 15 \
    wait "document.querySelectorAll('#log-list li').length >= 5" 10 \
    eval "JSON.stringify({x: window.__x === undefined ? null : window.__x,
        elements: document.querySelectorAll('#log-list img, #log-list script, #log-list b').length,
        texts: [...document.querySelectorAll('#log-list .text')].filter(e =>
            /<img src=x|<\\/ol><script>|<b>bad/.test(e.textContent)).length,
        lists: document.querySelectorAll('ol.log').length,
        outputs: document.querySelectorAll('#outputs-body tr').length})" \
    >"$T/cdp.out" 2>&1 || fail "operator page in Chromium: $(cat "$T/cdp.out")"
got=$(sed -n 's/^ok eval //p' "$T/cdp.out" | jq -r .)
note "Chromium: $got"
jq -e '.x == null and .elements == 0 and .texts == 3 and .lists == 1 and
    .outputs >= 2' <<<"$got" >/dev/null ||
    fail "markup in the warnings ran or broke the page: $got"

relay_alive || fail "relay died"
stop_relay TERM 5 || fail "relay did not stop"
