#!/usr/bin/env bash
# serial: starts Chromium
# SPDX-License-Identifier: MIT
#
# 104 an output's last error, once it has connected since, reads as
# history, not as a current problem (found by a new user's review: relay
# started before icecast2 showed "last error: connection refused ... is
# Icecast running?" under a connected output in `relay status`, and in
# red beside a green "connected" on the operator page, with no time).
# relay starts while nothing listens on the Icecast port; then icecast2
# starts there and relay connects.
# - While down: /api/status has last_error (refused) with last_error_at,
#   the operator page shows it in red (class err), `relay status` as
#   "last error: ...".
# - Once connected: last_error is kept (API compatibility) with its
#   last_error_at (UTC ISO 8601, not after since); `relay status` says
#   "earlier, at HH:MM:SSZ (... ago): connection refused ..." and no "last
#   error:"; the operator page's first paint says "earlier, at <time>: ..."
#   (class past, not err), and the page's script writes the same text.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

status_setup
port=${ICE_PORT[a]}
stop_icecast a

cat >"$T/relay.conf" <<EOF
[input]
type = tone
frequency = 500

[encoding main]
quality = 1

[output main]
host = 127.0.0.1
port = $port
mount = /live.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD
reconnect_min = 300ms
reconnect_max = 1s

[status]
listen = 127.0.0.1:$STATUS_PORT
token_env = RELAY_TEST_STATUS_TOKEN
poll_icecast = 1s
EOF
start=$(date +%s)
start_relay "$T/relay.conf"
wait_for -t 10 -m "the status server" status_answers ||
    fail "the status server never answered"
refused() { status_now | jq -e '.outputs[0] | .connected == false and
    (.last_error // "" | test("refused"))' >/dev/null; }
wait_for -t 10 -m "last_error: connection refused" refused ||
    fail "no refused error: $(status_now | jq -c .outputs[0])"

# Down: the error is the current state.
curl -sf --max-time 5 "$STATUS_URL/operator" >"$T/down.html" ||
    fail "GET /operator"
grep -q '<td class="err">connection refused' "$T/down.html" ||
    fail "the operator page does not show the current error in red: $(grep -o '<tr class="down".*</tr>' "$T/down.html")"
relay_status
grep -q '^ *last error: connection refused' <<<"$RS_OUT" ||
    fail "relay status while down: $RS_OUT"

start_icecast a
wait_mount "$port" /live.ogg
connected() { status_now | jq -e '.outputs[0].connected' >/dev/null; }
wait_for -t 10 -m "the output connected" connected ||
    fail "never connected: $(status_now | jq -c .outputs[0])"

# Connected: the error is history, with its time.
out=$(status_now | jq -c .outputs[0]) || fail "no /api/status"
note "output: $out"
jq -e '(.last_error | test("refused"))
    and (.last_error_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"))
    and .last_error_at <= .since' <<<"$out" >/dev/null ||
    fail "/api/status: last_error, last_error_at and since: $out"
at=$(jq -r .last_error_at <<<"$out")
at_s=$(date -u -d "$at" +%s) || fail "last_error_at does not parse: $at"
assert_between "$at_s" "$start" "$(date +%s)" "last_error_at within the run (s)"

relay_status
note "relay status: $RS_OUT"
grep -q 'last error:' <<<"$RS_OUT" &&
    fail "relay status shows a past error as the last error: $RS_OUT"
grep -qE '^ *earlier, at [0-9]{2}:[0-9]{2}:[0-9]{2}Z \(.* ago\): connection refused' <<<"$RS_OUT" ||
    fail "relay status does not show the past error with its time: $RS_OUT"

curl -sf --max-time 5 "$STATUS_URL/operator" >"$T/up.html" ||
    fail "GET /operator"
row=$(grep -o '<tr class="up" data-output="main">.*</tr>' "$T/up.html") ||
    fail "no connected row for main: $(grep -o '<tbody id="outputs-body">.*' "$T/up.html" | head -c 2000)"
grep -q 'class="err"' <<<"$row" &&
    fail "the first paint shows a past error in red: $row"
grep -qE "<td class=\"past\">earlier, at <time datetime=\"$at\" data-date>[0-9-]{10} [0-9:]{8}</time>: connection refused" <<<"$row" ||
    fail "the first paint does not show the past error with its time: $row"

[[ -x /usr/bin/chromium ]] || skip "chromium is not installed (the first paint passed)"
cell="(function () { var r = document.querySelector('#outputs-body tr[data-output=main]'); var c = r.lastElementChild; return [c.className, c.textContent]; })()"
cdp=(python3 "$STATUS_TOOLS/status_cdp.py")
"${cdp[@]}" --no-script open "$STATUS_URL/operator" dom "$T/nojs.html" \
    >"$T/cdp-nojs.out" 2>&1 || fail "Chromium, JavaScript off: $(cat "$T/cdp-nojs.out")"
"${cdp[@]}" open "$STATUS_URL/operator" \
    wait "document.body.dataset.feed === 'events'" 15 \
    eval "$cell" >"$T/cdp-js.out" 2>&1 || fail "operator page: $(cat "$T/cdp-js.out")"
js=$(sed -n 's/^ok eval //p' "$T/cdp-js.out" | jq -r 'fromjson? // . | @json') ||
    fail "probe: $(cat "$T/cdp-js.out")"
first=$(python3 - "$T/nojs.html" <<'PY'
import html.parser, json, sys
# The class and text of the last cell of main's row, JavaScript off.
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.row = False
        self.cell = None
        self.depth = 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'tr' and a.get('data-output') == 'main':
            self.row = True
        elif self.row and tag == 'td':
            self.cell = [a.get('class', ''), '']
    def handle_endtag(self, tag):
        if tag == 'tr':
            self.row = False
    def handle_data(self, d):
        if self.row and self.cell is not None:
            self.cell[1] += d
p = P()
p.feed(open(sys.argv[1], encoding='utf-8').read())
print(json.dumps(p.cell))
PY
) || fail "first paint probe failed"
note "first paint: $first"
note "live page:   $js"
[[ $(jq -r '.[0]' <<<"$first") == past && $(jq -r '.[1]' <<<"$first") == "earlier, at "*": connection refused"* ]] ||
    fail "Chromium, JavaScript off: the last error cell is $first"
[[ "$(jq -c . <<<"$js")" == "$(jq -c . <<<"$first")" ]] ||
    fail "the page's script writes $js where the first paint wrote $first"
relay_alive || fail "relay died"
