#!/usr/bin/env bash
# serial: starts Chromium
# SPDX-License-Identifier: MIT
#
# 96 the operator page says the same thing before and after its script
# runs, and /api/status and the log agree with it (found by a new user's
# review of the operator view). A stdin input is fed 3 s of tone, then
# 4 s of silence at once (faster than real time: the input buffer passes
# half full), then silence in real time, so the filler (a playlist) goes
# on air. relay runs with TZ=Asia/Kolkata and no [schedule] timezone.
# - The first paint (the HTML as served, no script) lists the recent
#   warnings (the dead air's); it was an empty list until the script
#   loaded /api/history.
# - The same rows read the same with the script: the State panel's
#   silence row (label and value: never "Silent for: not silent"), the
#   on-air row's name for the filler ("fallback", as the badge, the state
#   and the day's past rows say; it said "playlist"), and each time shown:
#   both in the server's zone (named in the page's note), rounded to the
#   second, the same text (the first paint said "10:16:30 UTC", the
#   script "10:16:30 AM" in the browser's zone, and cut a log event's
#   10:16:30.623 to :30 where relay rounds to :31).
# - /api/status says when the buffer peak was (input.buffer_peak_at, UTC,
#   within the run) and the log has one warning for the buffer passing
#   half full, written while the input thread only records it.
#
# timeout: 90

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/tools/status_lib.sh
. "$(dirname "$0")/../tools/status_lib.sh"

[[ -x /usr/bin/chromium ]] || skip "chromium is not installed"
[[ -f /usr/share/zoneinfo/Asia/Kolkata ]] || skip "no Asia/Kolkata zone file"

status_setup
mkdir "$T/filler"
sox -n -r 44100 -c 2 -b 16 "$T/filler/a.wav" synth 30 sine 880 vol 0.1 ||
    fail "cannot make the filler file"
cat >"$T/relay.conf" <<EOF
[station]
name = Consistency FM

[input]
type = stdin
format = s16le
rate = 44100
channels = 2

[encoding main]
quality = 1

[output main]
host = 127.0.0.1
port = ${ICE_PORT[a]}
mount = /live.ogg
password_env = RELAY_TEST_SOURCE_PASSWORD

[status]
listen = 127.0.0.1:$STATUS_PORT
token_env = RELAY_TEST_STATUS_TOKEN
poll_icecast = 1s

[fallback]
after = 2s
restore_after = 1s
source = playlist
path = $T/filler
EOF
mkfifo "$T/pcm.fifo"
start=$(date +%s)
# 4 s of s16le stereo zeros (44100 * 4 * 4 bytes): more than the 2.97 s
# ring, so it fills (stdin waits, nothing is lost).
bg bash -c "{ python3 '$TOPDIR/tests/tools/pcm_script.py' /dev/stdout tone:440:3 &&
    head -c 705600 /dev/zero &&
    python3 '$TOPDIR/tests/tools/pcm_script.py' /dev/stdout silence:80; } >'$T/pcm.fifo' 2>/dev/null"
RELAY_STDIN=$T/pcm.fifo TZ=Asia/Kolkata start_relay "$T/relay.conf"
wait_for -t 10 -m "the status server" status_answers ||
    fail "the status server never answered"
# The filler on air for the silence after the burst (a first, short
# dead air at start, before the tone flows, has ended by then).
wait_for -t 20 -m "the filler on air" \
    eval 'status_now | jq -e ".state == \"fallback\" and .input.buffer_peak_s > 2" >/dev/null' ||
    fail "the filler never went on air: $(status_now | jq -c '{state, now}')"
wait_for -t 10 -m "the dead-air warning in the log" \
    log_has 'warn fallback: dead air' || fail "no dead-air warning"

# What the operator reads, as JSON: the live page's (this probe, in
# Chromium) and the first paint's (the same fields, read by the parser
# below from Chromium's DOM with JavaScript off).
read -r -d '' probe <<'EOF' || true
JSON.stringify({
  silentLabel: document.getElementById('st-silent').previousElementSibling.textContent,
  silent: document.getElementById('st-silent').textContent,
  nowWhat: (document.querySelector('#timeline li[data-kind=now] .what') || {}).textContent,
  since: [...document.querySelectorAll('#outputs-body time')].map(t => [t.getAttribute('datetime'), t.textContent]),
  nowAt: [...document.querySelectorAll('#timeline li[data-kind=now] time')].map(t => [t.getAttribute('datetime'), t.textContent]),
  log: [...document.querySelectorAll('#log-list li')].map(li => li.textContent),
  logTimes: [...document.querySelectorAll('#log-list time')].map(t => [t.getAttribute('datetime'), t.textContent]),
  tzNote: document.getElementById('tz-note').textContent,
  tz: document.body.dataset.tz
})
EOF
cdp=(python3 "$STATUS_TOOLS/status_cdp.py")
"${cdp[@]}" --no-script open "$STATUS_URL/operator" dom "$T/nojs.html" \
    >"$T/cdp-nojs.out" 2>&1 || fail "Chromium, JavaScript off: $(cat "$T/cdp-nojs.out")"
"${cdp[@]}" open "$STATUS_URL/operator" \
    wait "document.body.dataset.feed === 'events' && document.body.dataset.history" 15 \
    wait "document.querySelectorAll('#log-list li.lv-warn').length > 0" 10 \
    eval "$probe" >"$T/cdp-js.out" 2>&1 || fail "operator page: $(cat "$T/cdp-js.out")"
sed -n 's/^ok eval //p' "$T/cdp-js.out" | jq -r . >"$T/js.json" ||
    fail "probe: $(cat "$T/cdp-js.out")"
python3 - "$T/nojs.html" >"$T/first.json" <<'PY' || fail "first paint probe failed"
import html.parser, json, sys
# The probe's fields from the JS-off DOM.
path = sys.argv[1]
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []
        self.out = {'since': [], 'nowAt': [], 'log': [], 'logTimes': [],
                    'silent': '', 'silentLabel': '', 'nowWhat': None,
                    'tzNote': '', 'tz': None}
        self.last_dt = ''
        self.prev_dt = ''
        self.cur = None
    def ctx(self, key):
        return any(key in s for s in self.stack)
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'body':
            self.out['tz'] = a.get('data-tz')
        if tag in ('meta', 'link', 'br', 'input', 'img'):
            return
        marks = set()
        if a.get('id'):
            marks.add('#' + a['id'])
        if tag == 'li' and a.get('data-kind') == 'now':
            marks.add('now')
        if tag == 'li' and self.stack and '#log-list' in self.stack[-1]:
            self.out['log'].append('')
            marks.add('logli')
        if tag == 'span' and a.get('class') == 'what' and self.ctx('now'):
            self.out['nowWhat'] = ''
            marks.add('what')
        if tag == 'dt':
            self.last_dt = ''
            marks.add('dt')
        if tag == 'time':
            self.cur = [a.get('datetime'), '']
            marks.add('time')
            if self.ctx('#outputs-body'):
                self.out['since'].append(self.cur)
            elif self.ctx('now'):
                self.out['nowAt'].append(self.cur)
            elif self.ctx('#log-list'):
                self.out['logTimes'].append(self.cur)
        self.stack.append(marks)
    def handle_endtag(self, tag):
        if tag in ('meta', 'link', 'br', 'input', 'img'):
            return
        marks = self.stack.pop() if self.stack else set()
        if '#st-silent' in marks:
            self.out['silentLabel'] = self.prev_dt
        if 'time' in marks:
            self.cur = None
    def handle_data(self, d):
        if self.ctx('dt'):
            self.last_dt += d
            self.prev_dt = self.last_dt
        if self.ctx('#st-silent'):
            self.out['silent'] += d
        if self.ctx('what'):
            self.out['nowWhat'] += d
        if self.ctx('logli'):
            self.out['log'][-1] += d
        if self.ctx('#tz-note'):
            self.out['tzNote'] += d
        if self.cur is not None:
            self.cur[1] += d
p = P()
p.feed(open(path, encoding='utf-8').read())
print(json.dumps(p.out))
PY
note "first paint: $(cat "$T/first.json")"
note "live page:   $(jq -c . "$T/js.json")"

python3 - "$T/first.json" "$T/js.json" <<'PY' || fail "the first paint and the live page disagree (above)"
import json, sys
first = json.load(open(sys.argv[1]))
js = json.load(open(sys.argv[2]))
bad = []
def want(cond, msg):
    if not cond:
        bad.append(msg)
# Recent warnings: in the first paint too.
want(any('dead air' in t for t in first['log']),
     f"first paint's Recent warnings lack the dead-air warning: {first['log']!r}")
want(any('dead air' in t for t in js['log']),
     f"live page's Recent warnings lack it: {js['log']!r}")
# The silence row: one wording, never "not silent".
for name, d in (('first paint', first), ('live page', js)):
    want('not silent' not in d['silent'].lower(),
         f"{name}: {d['silentLabel']}: {d['silent']}")
want(first['silentLabel'] == js['silentLabel'],
     f"silence label: {first['silentLabel']!r} vs {js['silentLabel']!r}")
# The filler on air: "fallback" both ways, as the badge, the state and
# the day's past rows (history) call it.
want(first['nowWhat'] == 'fallback' and js['nowWhat'] == 'fallback',
     f"on-air row: first paint {first['nowWhat']!r}, live {js['nowWhat']!r}")
# Times: the same zone and text for the same instant, the zone stated.
want(first['tz'] == 'Asia/Kolkata' and js['tz'] == 'Asia/Kolkata',
     f"page zone: {first['tz']!r} / {js['tz']!r}")
want('Asia/Kolkata' in first['tzNote'] and 'Asia/Kolkata' in js['tzNote'],
     f"zone note: {first['tzNote']!r} / {js['tzNote']!r}")
for key in ('since', 'nowAt', 'logTimes'):
    f = dict(first[key])
    shown = 0
    for iso, text in js[key]:
        if iso in f:
            shown += 1
            want(f[iso] == text, f"{key} {iso}: first paint {f[iso]!r}, live {text!r}")
    want(shown > 0, f"{key}: no common time to compare: {first[key]!r} / {js[key]!r}")
# Rounded to the second, never truncated: 10:00:00.600 shows as :01.
import datetime
for iso, text in js['logTimes'] + first['logTimes']:
    t = datetime.datetime.strptime(iso, '%Y-%m-%dT%H:%M:%S.%fZ')
    sec = (t.second + (1 if t.microsecond >= 500000 else 0)) % 60
    want(text.endswith(':%02d' % sec), f"log time {iso} shown as {text!r}")
if bad:
    print(*bad, sep='\n', file=sys.stderr)
    sys.exit(1)
PY

wait_for -t 10 -m "the buffer's warning in the log" \
    log_has 'input buffer passed half full' ||
    fail "no warning for the input buffer passing half full"

# /api/status: when the peak was, in UTC, within the run.
status_now >"$T/status.json" || fail "GET /api/status"
jq -e --argjson t0 "$start" --argjson t1 "$(date +%s)" '
    .input.buffer_peak_s > 1.49 and
    (.input.buffer_peak_at | test("^[0-9-]{10}T[0-9:]{8}Z$")) and
    (.input.buffer_peak_at | fromdateiso8601) >= $t0 - 1 and
    (.input.buffer_peak_at | fromdateiso8601) <= $t1 + 1' \
    "$T/status.json" >/dev/null ||
    fail "input.buffer_peak_at: $(jq -c .input "$T/status.json")"
[[ $(log_count 'input buffer passed half full') -eq 1 ]] ||
    fail "the buffer warning is not one line: $(relay_lines | grep 'half full')"

relay_alive || fail "relay died"
stop_relay TERM 5 || fail "relay did not stop"
