#!/usr/bin/env bash
# serial: starts Chromium
# SPDX-License-Identifier: MIT
#
# 92 the operator page's first paint: /operator as served, before any
# script runs, already shows the station's state, the item on air and each
# output's state, so a plain `chromium --headless --dump-dom` (which dumps
# at the load event, before the first event of /api/events can arrive)
# and a browser with JavaScript off see the station, not empty panels.
# The page used to fill only from /api/events after load (found by the
# operator-view review). Checked three ways: the HTML itself (curl),
# Chromium with JavaScript off (status_cdp.py --no-script), and
# `chromium --dump-dom` with it on (the script keeps what the server
# rendered until the live feed replaces it); then the live feed still
# updates the page.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

[[ -x /usr/bin/chromium ]] || skip "chromium is not installed"

status_up ""

# check FILE WHAT: the operator page in FILE shows the current state.
check()
{
	local f=$1 what=$2
	python3 - "$f" "$what" <<'EOF' || fail "$what: the first paint lacks the current state (see above)"
import html.parser, sys

path, what = sys.argv[1], sys.argv[2]

class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []      # (tag, attrs) of open elements
        self.text = {}       # id -> text of the element with that id
        self.rows = {}       # data-output -> (class, text)
        self.now = None      # text of the timeline's "now" row
        self.open_ids = []
        self.row = None
        self.now_open = False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ('meta', 'link', 'br', 'input', 'img'):
            return
        self.stack.append(tag)
        if 'id' in a:
            self.open_ids.append((a['id'], len(self.stack)))
            self.text[a['id']] = ''
        if tag == 'tr' and 'data-output' in a:
            self.row = [a['data-output'], a.get('class', ''), '',
                        len(self.stack)]
        if tag == 'li' and a.get('data-kind') == 'now':
            self.now = ''
            self.now_open = len(self.stack)
    def handle_endtag(self, tag):
        if tag in ('meta', 'link', 'br', 'input', 'img'):
            return
        depth = len(self.stack)
        self.open_ids = [(i, d) for (i, d) in self.open_ids if d < depth]
        if self.row and self.row[3] == depth:
            self.rows[self.row[0]] = (self.row[1], self.row[2])
            self.row = None
        if self.now_open == depth:
            self.now_open = False
        if self.stack:
            self.stack.pop()
    def handle_data(self, data):
        for i, _ in self.open_ids:
            self.text[i] += data
        if self.row:
            self.row[2] += data
        if self.now_open:
            self.now += data

p = P()
p.feed(open(path, encoding='utf-8').read())
bad = []
def want(cond, msg):
    if not cond:
        bad.append(msg)
st = p.text.get('st-state', '').strip()
want(st == 'live', f'State panel says {st!r}, not "live"')
inp = p.text.get('st-input', '').strip()
want(inp.startswith('tone') and 'flowing' in inp and 'NOT' not in inp,
     f'Input says {inp!r}')
up = p.text.get('st-uptime', '').strip()
want(up not in ('', '–'), f'Up says {up!r}')
want(p.now is not None and 'Morning <News>' in p.now and
     'Anna & Bo' in p.now,
     f'the timeline\'s on-air row is {p.now!r}')
for name in ('main', 'mobile'):
    r = p.rows.get(name)
    want(r is not None and 'up' in r[0].split() and 'connected' in r[1],
         f'output {name}: {r!r}')
badge = p.text.get('badge-text', '').strip()
want(badge == 'ON AIR', f'badge says {badge!r}')
if bad:
    print(what + ':', *bad, sep='\n  ', file=sys.stderr)
    sys.exit(1)
EOF
}

curl -sf --max-time 5 "$STATUS_URL/operator" >"$T/served.html" ||
    fail "GET /operator"
check "$T/served.html" "the HTML as served"

# JavaScript off: what a browser without scripts, or a scraper, shows.
python3 "$STATUS_TOOLS/status_cdp.py" --no-script open "$STATUS_URL/operator" \
    dom "$T/nojs.html" >"$T/cdp-nojs.out" 2>&1 ||
    fail "Chromium with JavaScript off: $(cat "$T/cdp-nojs.out")"
grep -q 'id="st-state"' "$T/nojs.html" || fail "the JS-off dump is not the page"
check "$T/nojs.html" "Chromium, JavaScript off"

# JavaScript on, a plain --dump-dom (it dumps at the load event): the
# script must not blank what the server rendered before the live feed
# speaks.
bash "$STATUS_TOOLS/status_chromium.sh" dom "$STATUS_URL/operator" 3000 \
    >"$T/js.html" || fail "chromium --dump-dom failed"
check "$T/js.html" "--dump-dom, JavaScript on"

# The live updates still work on top of the first paint: a new title
# reaches the on-air row through /api/events.
cdp=(python3 "$STATUS_TOOLS/status_cdp.py")
code=$(curl -s -o "$T/meta.json" -w '%{http_code}' --max-time 5 \
    -H "Authorization: Bearer $STATUS_TOKEN" -H 'Content-Type: application/json' \
    -d '{"title":"Second item"}' "$STATUS_URL/api/metadata") || true
[[ $code == 200 ]] || fail "POST /api/metadata: $code $(cat "$T/meta.json")"
"${cdp[@]}" open "$STATUS_URL/operator" \
    wait "document.body.dataset.feed === 'events'" 10 \
    wait "document.querySelector('#timeline li[data-kind=now] .title').textContent.indexOf('Second item') === 0" 10 \
    wait "document.querySelectorAll('#outputs-body tr[data-output]').length === 2" 5 \
    >"$T/cdp.out" 2>&1 || fail "live updates: $(cat "$T/cdp.out")"

relay_alive || fail "relay died"
stop_relay TERM 5 || fail "relay did not stop"
[[ $RELAY_RC -eq 0 ]] || fail "relay exit status $RELAY_RC"
